"""Cases whose point is change or absence.

  update   snapshot sequences: every step is recompiled, reloaded over the previous rules
           and probed after a conntrack flush (policies, pod labels and namespace labels change)
  ghosts   pods that take no part (Succeeded/Failed, no IP, hostNetwork) yet carry matching
           labels and often an address a live endpoint now uses
"""

from cases import EXT_IP, NAMESPACES, Case, Step, labels, policy, rule


def family_update():
    C = []

    def add(name, build, hand=None):
        C.append(Case("update/" + name, build, hand))

    deny_x = policy("deny", "x", {}, types=["Ingress"])
    allow_a = policy("allow", "x", labels(pod="a"), ingress=[
        rule("ingress", [{"namespaceSelector": labels(ns="y")}], [{"port": 80}])])
    add("deny-then-allow-then-remove", lambda ip: [
        Step([deny_x]), Step([deny_x, allow_a]), Step([allow_a]), Step([])],
        lambda s, a, b, p: True if s == 3 else (not b.startswith("x/") if s == 0 else None))

    def port_step(ports):
        return Step([policy("ports", "y", {}, ingress=[rule("ingress", None, ports)])])
    add("port-changes", lambda ip: [port_step([{"port": 80}]),
                                    port_step([{"protocol": "UDP", "port": 81}]),
                                    port_step([{"protocol": "SCTP", "port": "serve-80-sctp"}]),
                                    port_step([{"protocol": "TCP", "port": 80, "endPort": 81}])])

    iso_a = policy("iso", "x", labels(pod="a"), types=["Ingress"])
    add("relabel-pod", lambda ip: [
        Step([iso_a]),
        Step([iso_a], pod_labels={"x/b": {"pod": "a", "app": "db"}}),
        Step([iso_a], pod_labels={"x/b": {"pod": "a", "app": "db"}, "x/a": {"pod": "q"}})])

    from_y = policy("from-y", "x", {},
                    ingress=[rule("ingress", [{"namespaceSelector": labels(ns="y")}])])
    add("relabel-namespace", lambda ip: [
        Step([from_y]),
        Step([from_y], ns_labels={"z": {"ns": "y"}}),
        Step([from_y], ns_labels={"z": {"ns": "y"}, "y": {"tier": "back"}})])

    def egress_ext(block):
        return Step([policy("out", n, {}, egress=[rule("egress", [{"ipBlock": block}])],
                            types=["Egress"]) for n in NAMESPACES])
    add("egress-ext-cidr-changes", lambda ip: [
        egress_ext({"cidr": ip.ext}),
        egress_ext({"cidr": ip.ext_net, "except": [ip.ext]}),
        egress_ext({"cidr": ip.world})])

    add("direction-swap", lambda ip: [
        Step([policy("d", "y", labels(pod="b"), types=["Ingress"])]),
        Step([policy("d", "y", labels(pod="b"), types=["Egress"])]),
        Step([policy("d", "y", labels(pod="b"), types=["Ingress", "Egress"])])])

    p1 = policy("p1", "x", {}, ingress=[rule("ingress", [{"podSelector": {}}])])
    p2 = policy("p2", "y", labels(pod="a"), types=["Egress"],
                egress=[rule("egress", [{"namespaceSelector": labels(ns="x")}])])
    p3 = policy("p3", "x", {}, ingress=[
        rule("ingress", [{"namespaceSelector": labels(ns="y")}], [{"protocol": "UDP"}])])
    add("stack-grows", lambda ip: [Step([p1]), Step([p1, p2]), Step([p1, p2, p3])])

    def peer_step(peers):
        return Step([policy("peer", "z", {}, ingress=[rule("ingress", peers, [{"port": 81}])])])
    add("peer-kind-changes", lambda ip: [
        peer_step([{"podSelector": labels(pod="b")}]),
        peer_step([{"namespaceSelector": labels(ns="x")}]),
        peer_step([{"ipBlock": {"cidr": ip.namespace("y")}}]),
        peer_step([{"ipBlock": {"cidr": ip.ext_net}}])])

    add("policy-types-change", lambda ip: [
        Step([policy("t", "x", {}, ingress=[{"from": [{"podSelector": {}}]}], egress=[{}])]),
        Step([policy("t", "x", {}, ingress=[{"from": [{"podSelector": {}}]}], egress=[{}],
                     types=["Ingress", "Egress"])]),
        Step([policy("t", "x", {}, ingress=[{"from": [{"podSelector": {}}]}], egress=[],
                     types=["Egress"])])])

    allow_all = [policy("a", n, {}, ingress=[{}], egress=[{}]) for n in NAMESPACES]
    deny_all = [policy("a", n, {}, types=["Ingress", "Egress"]) for n in NAMESPACES]
    add("allow-deny-allow", lambda ip: [Step(allow_all), Step(deny_all), Step(allow_all)],
        lambda s, a, b, p: s != 1)

    def named(ports):
        return Step([policy("named", n, {}, ingress=[rule("ingress", None, ports)])
                     for n in NAMESPACES])
    add("named-port-changes", lambda ip: [
        named([{"port": "web"}]), named([{"protocol": "UDP", "port": "dns"}]),
        named([{"port": "serve-81-tcp"}, {"protocol": "SCTP", "port": "serve-81-sctp"}])])

    add("egress-named-to-ext", lambda ip: [
        Step([policy("e", "x", {}, egress=[rule("egress", [{"ipBlock": {"cidr": ip.world}}],
                                                [{"port": "serve-80-tcp"}])], types=["Egress"])]),
        Step([policy("e", "x", {}, egress=[rule("egress", [{"ipBlock": {"cidr": ip.world}}],
                                                [{"port": 80}])], types=["Egress"])])])
    return C


def ghost(ns, name, pod_labels, phase="Running", ip=None, host_network=False, node="node-1"):
    """A Pod document that must take no part in policy (finished, not yet running, or on the
    host network), often holding an address a live pod or the external host now uses."""
    spec = {"nodeName": node, "containers": [{"name": "c", "image": "busybox", "ports": [
        {"name": "serve-80-tcp", "containerPort": 80, "protocol": "TCP"}]}]}
    if host_network:
        spec["hostNetwork"] = True
    status = {"phase": phase}
    if ip:
        status["podIP"] = ip
        status["podIPs"] = [{"ip": ip}]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": pod_labels},
            "spec": spec, "status": status}


def family_ghosts():
    """Pods that take no part (Succeeded/Failed, no IP, hostNetwork) are neither targets nor
    peers, even when they hold an address a live endpoint now uses (IP reuse)."""
    C = []

    def add(name, build, hand=None):
        C.append(Case("ghosts/" + name, build, hand))

    add("succeeded-pod-reusing-ip-is-not-a-target", lambda ip: [Step(
        [policy("iso-old", "x", labels(pod="old"), types=["Ingress", "Egress"])],
        ghosts=[ghost("x", "old", {"pod": "old"}, "Succeeded", ip.ip("x/a"))])],
        lambda s, a, b, p: True)
    add("failed-pod-reusing-ip-is-not-a-peer", lambda ip: [Step(
        [policy("from-old", "y", {}, ingress=[rule("ingress", [
            {"namespaceSelector": {}, "podSelector": labels(pod="old")}])])],
        ghosts=[ghost("x", "old", {"pod": "old"}, "Failed", ip.ip("x/b"))])],
        lambda s, a, b, p: False if b.startswith("y/") else True)
    add("pending-pod-without-ip", lambda ip: [Step(
        [policy("to-new", "z", labels(pod="new"), types=["Ingress"]),
         policy("from-new", "z", {},
                ingress=[rule("ingress", [{"podSelector": labels(pod="new")}])])],
        ghosts=[ghost("z", "new", {"pod": "new"}, "Pending")])],
        lambda s, a, b, p: False if b.startswith("z/") else True)
    # The external host stands for another node; a host-network pod there carries its IP.
    add("host-network-pod-is-not-a-peer", lambda ip: [Step(
        [policy("from-b", "x", {}, ingress=[rule("ingress", [{"podSelector": labels(pod="b")}])]),
         policy("to-b", "x", labels(pod="b"), types=["Egress"], egress=[
             rule("egress", [{"podSelector": labels(pod="b")}])])],
        ghosts=[ghost("x", "hostnet", {"pod": "b"}, "Running", EXT_IP, host_network=True,
                      node="node-3")])])
    add("ghost-and-live-pod-share-labels", lambda ip: [
        Step([policy("a-only", "y", {}, ingress=[rule("ingress", [{"podSelector": labels(pod="a")}],
                                                        [{"port": "serve-80-tcp"}])])],
             ghosts=[ghost("y", "a-old", {"pod": "a"}, "Succeeded", ip.ip("y/b"))]),
        Step([policy("a-only", "y", {}, ingress=[rule("ingress", [{"podSelector": labels(pod="a")}],
                                                        [{"port": "serve-80-tcp"}])])],
             ghosts=[ghost("y", "a-old", {"pod": "a"}, "Succeeded", ip.ip("y/b"))],
             pod_labels={"y/b": {"pod": "a"}})])
    return C

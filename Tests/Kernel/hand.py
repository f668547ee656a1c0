"""Cases whose expected verdicts are written by hand, for the semantic corners (hand/, drop/).

`policyc matrix` is computed by the same program the rules come from, so a misreading of the API
in both would go unseen. Each case here states, as a plain Python rule read from the
NetworkPolicy documentation and the model cluster (model.py), which probes must arrive; the
suite checks the kernel against it AND the matrix against it (suite.run_case). The corners:

  - NotIn / DoesNotExist / Exists / In, multi-key selectors (a pod without the key matches NotIn);
  - named ports that resolve to different numbers per pod ("web" is TCP 80 on a, 81 on b and 80
    on c through a sidecar; "dns" is UDP 81 on a, 80 on c, and on b only in a plain init
    container, which does not count), on ingress (resolved on the target) and egress (resolved
    on the destination), and a name whose protocol does not match;
  - ipBlock except lists;
  - port ranges (endPort) on TCP, UDP and SCTP;
  - one peer with namespaceSelector AND podSelector versus two peers (OR), and a podSelector
    alone (the policy's own namespace);
  - policyTypes defaulting (Ingress always, Egress only with an egress section) and explicit
    policyTypes that ignore the section not listed;
  - the drop/ cases: compiled with --deny drop, where a denied probe must time out.

The model: namespaces x (tier=front), y (tier=back), z (no tier), each labelled ns=<name>;
pods a (app=web), b (app=db), c (no app), labelled pod=<name>; the external host is not a pod.
"""

from cases import EXT_IP, Case, Step, expr, labels, policy, rule

# Named ports of the model cluster (model.pod_doc): pod name -> number, per name.
WEB_TCP = {"a": 80, "b": 81, "c": 80}
DNS_UDP = {"a": 81, "c": 80}   # b's "dns" is only in a plain init container


def pod(e):
    """(namespace, pod name) of an endpoint, None for the external host."""
    return None if e == EXT_IP else tuple(e.split("/"))


def ns(e):
    p = pod(e)
    return p and p[0]


def name(e):
    p = pod(e)
    return p and p[1]


def port(p):
    num, proto = p.split("/")
    return int(num), proto


def _case(cname, pols, claim, deny="reject"):
    """claim(src, dst, port) -> bool: True when the probe must arrive."""
    return Case(cname, lambda ip, pols=pols: [Step(pols(ip))],
                hand=lambda si, s, d, p: claim(s, d, p), deny=deny)


def _in(target_ns, target_fn, ingress_ok):
    """Allowed unless the destination is a selected pod of target_ns whose ingress rules do
    not admit the probe."""
    def claim(s, d, p):
        if ns(d) == target_ns and target_fn(name(d)):
            return ingress_ok(s, d, p)
        return True
    return claim


def _out(source_ns, target_fn, egress_ok):
    def claim(s, d, p):
        if ns(s) == source_ns and target_fn(name(s)):
            return egress_ok(s, d, p)
        return True
    return claim


ALL = lambda n: True  # noqa: E731
NEVER = lambda s, d, p: False  # noqa: E731


def family_hand():
    C = []

    def add(cname, pols, claim, deny="reject"):
        C.append(_case("hand/" + cname, pols, claim, deny))

    # --- selector operators -------------------------------------------------------------------
    add("target-pod-notin-c",
        lambda ip: [policy("p", "x", expr("pod", "NotIn", "c"), types=["Ingress"])],
        _in("x", lambda n: n != "c", NEVER))
    # NotIn matches pods that lack the key: y/b (app=db) and y/c (no app), not y/a (app=web).
    add("target-app-notin-web-missing-key",
        lambda ip: [policy("p", "y", expr("app", "NotIn", "web"), types=["Ingress"])],
        _in("y", lambda n: n in ("b", "c"), NEVER))
    add("target-app-doesnotexist",
        lambda ip: [policy("p", "z", expr("app", "DoesNotExist"), types=["Ingress"])],
        _in("z", lambda n: n == "c", NEVER))
    # A podSelector peer alone selects pods of the policy's own namespace only.
    add("peer-app-exists-own-namespace",
        lambda ip: [policy("p", "x", {}, ingress=[rule("ingress", [
            {"podSelector": expr("app", "Exists")}])])],
        _in("x", ALL, lambda s, d, p: ns(s) == "x" and name(s) in ("a", "b")))
    # tier NotIn [front]: y (back) and z (no tier at all).
    add("peer-ns-tier-notin-front",
        lambda ip: [policy("p", "y", {}, ingress=[rule("ingress", [
            {"namespaceSelector": expr("tier", "NotIn", "front")}])])],
        _in("y", ALL, lambda s, d, p: ns(s) in ("y", "z")))
    add("peer-ns-tier-doesnotexist",
        lambda ip: [policy("p", "x", {}, ingress=[rule("ingress", [
            {"namespaceSelector": expr("tier", "DoesNotExist")}])])],
        _in("x", ALL, lambda s, d, p: ns(s) == "z"))
    add("peer-pod-notin-a-b-all-namespaces",
        lambda ip: [policy("p", "y", {}, ingress=[rule("ingress", [
            {"namespaceSelector": {}, "podSelector": expr("pod", "NotIn", "a", "b")}])])],
        _in("y", ALL, lambda s, d, p: name(s) == "c"))
    # matchLabels and matchExpressions together: both must hold.
    add("target-multi-key",
        lambda ip: [policy("p", "y", {"matchLabels": {"pod": "b"}, "matchExpressions": [
            {"key": "app", "operator": "In", "values": ["db", "web"]}]}, types=["Ingress"]),
                    policy("q", "z", {"matchLabels": {"pod": "a"}, "matchExpressions": [
                        {"key": "app", "operator": "In", "values": ["db"]}]},
                        types=["Ingress"])],
        _in("y", lambda n: n == "b", NEVER))
    add("target-pod-in-a-b-from-ns-in-x",
        lambda ip: [policy("p", "z", expr("pod", "In", "a", "b"), ingress=[rule("ingress", [
            {"namespaceSelector": expr("ns", "In", "x")}])])],
        _in("z", lambda n: n in ("a", "b"), lambda s, d, p: ns(s) == "x"))

    # --- named ports --------------------------------------------------------------------------
    # Ingress: the name is resolved on each target pod.
    add("named-web-ingress-per-pod",
        lambda ip: [policy("p", "x", {}, ingress=[rule("ingress", [{"namespaceSelector": {}}],
                                                        [{"port": "web"}])])],
        _in("x", ALL, lambda s, d, p: pod(s) is not None
            and port(p) == (WEB_TCP[name(d)], "TCP")))
    add("named-dns-ingress-init-container-does-not-count",
        lambda ip: [policy("p", "z", {}, ingress=[rule("ingress", [{"namespaceSelector": {}}],
                                                        [{"protocol": "UDP", "port": "dns"}])])],
        _in("z", ALL, lambda s, d, p: pod(s) is not None and name(d) in DNS_UDP
            and port(p) == (DNS_UDP[name(d)], "UDP")))
    # Egress: the name is resolved on each destination pod; the external host has no ports.
    add("named-web-egress-per-destination",
        lambda ip: [policy("p", "y", {}, egress=[rule("egress", [{"namespaceSelector": {}}],
                                                      [{"port": "web"}])], types=["Egress"])],
        _out("y", ALL, lambda s, d, p: pod(d) is not None
             and port(p) == (WEB_TCP[name(d)], "TCP")))
    add("named-port-protocol-mismatch-matches-nothing",
        lambda ip: [policy("p", "x", {}, ingress=[rule("ingress", None, [
            {"protocol": "UDP", "port": "serve-80-tcp"}])])],
        _in("x", ALL, NEVER))
    add("named-upstream-name-any-source",
        lambda ip: [policy("p", "z", {}, ingress=[rule("ingress", None, [
            {"protocol": "SCTP", "port": "serve-81-sctp"}])])],
        _in("z", ALL, lambda s, d, p: p == "81/SCTP"))

    # --- ipBlock except -----------------------------------------------------------------------
    add("except-one-host-ingress",
        lambda ip: [policy("p", "x", {}, ingress=[rule("ingress", [
            {"ipBlock": {"cidr": ip.pod_net, "except": [ip.host("y/a")]}}])])],
        _in("x", ALL, lambda s, d, p: pod(s) is not None and s != "y/a"))
    add("except-external-egress",
        lambda ip: [policy("p", "z", {}, egress=[rule("egress", [
            {"ipBlock": {"cidr": ip.world, "except": [ip.ext]}}])], types=["Egress"])],
        _out("z", ALL, lambda s, d, p: d != EXT_IP))
    add("except-two-hosts-egress",
        lambda ip: [policy("p", "x", {}, egress=[rule("egress", [
            {"ipBlock": {"cidr": ip.pod_net, "except": [ip.host("z/a"), ip.host("y/c")]}}])],
            types=["Egress"])],
        _out("x", ALL, lambda s, d, p: pod(d) is not None and d not in ("z/a", "y/c")))
    add("ipblock-external-only-ingress",
        lambda ip: [policy("p", "x", {}, ingress=[rule("ingress", [
            {"ipBlock": {"cidr": ip.ext}}])])],
        _in("x", ALL, lambda s, d, p: s == EXT_IP))

    # --- endPort --------------------------------------------------------------------------------
    add("endport-tcp-80-81",
        lambda ip: [policy("p", "x", {}, ingress=[rule("ingress", [{"namespaceSelector": {}}], [
            {"protocol": "TCP", "port": 80, "endPort": 81}])])],
        _in("x", ALL, lambda s, d, p: pod(s) is not None and port(p)[1] == "TCP"))
    add("endport-udp-81-90",
        lambda ip: [policy("p", "y", {}, ingress=[rule("ingress", None, [
            {"protocol": "UDP", "port": 81, "endPort": 90}])])],
        _in("y", ALL, lambda s, d, p: p == "81/UDP"))
    add("endport-sctp-79-80-egress",
        lambda ip: [policy("p", "x", {}, egress=[rule("egress", [{"namespaceSelector": {}}], [
            {"protocol": "SCTP", "port": 79, "endPort": 80}])], types=["Egress"])],
        _out("x", ALL, lambda s, d, p: pod(d) is not None and p == "80/SCTP"))

    # --- namespaceSelector AND podSelector versus two peers ------------------------------------
    add("ns-and-pod-one-peer",
        lambda ip: [policy("p", "x", {}, ingress=[rule("ingress", [
            {"namespaceSelector": labels(ns="y"), "podSelector": labels(pod="b")}])])],
        _in("x", ALL, lambda s, d, p: s == "y/b"))
    add("ns-or-pod-two-peers",
        lambda ip: [policy("p", "x", {}, ingress=[rule("ingress", [
            {"namespaceSelector": labels(ns="y")}, {"podSelector": labels(pod="b")}])])],
        _in("x", ALL, lambda s, d, p: ns(s) == "y" or s == "x/b"))
    add("ns-and-pod-expressions",
        lambda ip: [policy("p", "z", {}, ingress=[rule("ingress", [
            {"namespaceSelector": expr("tier", "Exists"),
             "podSelector": expr("app", "In", "db")}])])],
        _in("z", ALL, lambda s, d, p: s in ("x/b", "y/b")))

    # --- policyTypes ----------------------------------------------------------------------------
    # Defaulted with only an ingress section: Ingress only, egress stays open.
    add("types-default-ingress-section",
        lambda ip: [policy("p", "x", {}, ingress=[rule("ingress", [{"podSelector": {}}])])],
        _in("x", ALL, lambda s, d, p: ns(s) == "x"))

    # Defaulted with an egress section: Ingress AND Egress, ingress without rules.
    def types_default_egress(s, d, p):
        if ns(d) == "y":
            return False
        if ns(s) == "y":
            return ns(d) == "z"
        return True
    add("types-default-egress-section",
        lambda ip: [policy("p", "y", {}, egress=[rule("egress", [
            {"namespaceSelector": labels(ns="z")}])])],
        types_default_egress)
    # Explicit [Egress]: the ingress section is ignored, ingress stays open.
    add("types-egress-ignores-ingress-section",
        lambda ip: [policy("p", "x", {}, ingress=[rule("ingress", None, None)], egress=[],
                           types=["Egress"])],
        _out("x", ALL, NEVER))

    def both_empty(s, d, p):
        return ns(s) != "z" and ns(d) != "z"
    add("types-both-no-rules",
        lambda ip: [policy("p", "z", {}, types=["Ingress", "Egress"])], both_empty)

    # Egress allowed by the source's policy and ingress denied by the destination's: denied.
    def both_sides(s, d, p):
        return ns(d) != "y"
    add("egress-allow-meets-ingress-deny",
        lambda ip: [policy("out", "x", {}, egress=[rule("egress")], types=["Egress"]),
                    policy("in", "y", {}, types=["Ingress"])], both_sides)

    # Two policies on one pod: their rules add up.
    add("two-policies-union",
        lambda ip: [policy("p", "x", labels(pod="a"), ingress=[rule("ingress", [
            {"namespaceSelector": labels(ns="y")}], [{"port": 80}])]),
                    policy("q", "x", labels(pod="a"), ingress=[rule("ingress", [
                        {"namespaceSelector": labels(ns="z")}], [{"protocol": "UDP"}])])],
        _in("x", lambda n: n == "a", lambda s, d, p: (ns(s) == "y" and p == "80/TCP")
            or (ns(s) == "z" and p.endswith("/UDP"))))

    # --- --deny drop: a denied probe must time out ----------------------------------------------
    def drop(cname, pols, claim):
        C.append(_case("drop/" + cname, pols, claim, deny="drop"))

    drop("deny-ingress-x",
         lambda ip: [policy("p", "x", {}, types=["Ingress"])], _in("x", ALL, NEVER))
    drop("ns-and-pod-one-peer-tcp-80",
         lambda ip: [policy("p", "y", {}, ingress=[rule("ingress", [
             {"namespaceSelector": labels(ns="z"), "podSelector": labels(pod="a")}],
             [{"port": 80}])])],
         _in("y", ALL, lambda s, d, p: s == "z/a" and p == "80/TCP"))
    drop("egress-except-external",
         lambda ip: [policy("p", "z", {}, egress=[rule("egress", [
             {"ipBlock": {"cidr": ip.world, "except": [ip.ext]}}], [{"protocol": "SCTP"},
                                                                    {"protocol": "UDP"}])],
             types=["Egress"])],
         _out("z", ALL, lambda s, d, p: d != EXT_IP and not p.endswith("/TCP")))
    return C

"""The generated cases: sequences of NetworkPolicy snapshots over the model cluster.

A case is a name and a builder that, given the topology's addresses (IPPlan, needed for ipBlock
peers), returns its steps; a step is the list of policies in force plus optional label changes
of pods/namespaces. Single-step cases vary one thing at a time; update cases are sequences whose
every step is recompiled, reloaded and probed. Some cases also state a hand-written expectation,
checked in addition to `policyc matrix`: the obvious outcomes (basic/), the admin tiers (anp/,
with their own evaluator) and the semantic corners (hand/ and drop/, hand.py).

This module holds the parts (targets, peer kinds, port forms, builders); the families that
combine them are in families.py (single, ports, basic, stack, random) and sequences.py (update,
ghosts); admin.py holds the AdminNetworkPolicy family (anp/), with its own port set, containers
and evaluator; hand.py the hand/ and drop/ cases. All are deterministic; the random ones use a
fixed seed.
"""

from netns import EXT_IP, NAMESPACES, POD_NAMES
from probe import PORT_PROTOCOLS

POD_KEYS = ["%s/%s" % (n, p) for n in NAMESPACES for p in POD_NAMES]


class Step:
    """Policies in force; label overrides; ghost pods (extra Pod documents with no namespace
    behind them: they must take no part, so probes never target them)."""

    def __init__(self, policies, pod_labels=None, ns_labels=None, ghosts=None):
        self.policies, self.pod_labels, self.ns_labels = policies, pod_labels, ns_labels
        self.ghosts = ghosts or []


class Case:
    """name; build(ipplan) -> [Step]; hand(step, src, dst, port) -> True/False/None (no claim).

    ports: the (port, protocol) pairs every step probes (default probe.PORT_PROTOCOLS, 80 and 81
    of TCP, UDP and SCTP); containers: the container set of the cluster's pods ("default" or
    "conformance", see model.py); judge(ipplan, step, cluster_docs) -> claim(src, dst, port):
    a hand expectation that needs the step's documents and addresses (the anp/ cases' own
    evaluator); it must claim True or False for every probe, None counts as a failure.
    deny: "reject" (policyc's default: a denied probe must meet the administratively-prohibited
    REJECT) or "drop" (compiled with `--deny drop`: a denied probe must time out)."""

    def __init__(self, name, build, hand=None, ports=None, containers="default", judge=None,
                 deny="reject"):
        self.name, self.build, self.hand = name, build, hand
        self.deny = deny
        self.ports = list(ports or PORT_PROTOCOLS)
        self.containers, self.judge = containers, judge


def policy(name, ns, target, ingress=None, egress=None, types=None):
    spec = {"podSelector": target}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    if types is not None:
        spec["policyTypes"] = types
    meta = {"name": name}
    if ns is not None:  # None: left out, so the policy lands in "default" (no pods there)
        meta["namespace"] = ns
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": meta, "spec": spec}


def rule(direction, peers=None, ports=None):
    r = {}
    if peers is not None:
        r["from" if direction == "ingress" else "to"] = peers
    if ports is not None:
        r["ports"] = ports
    return r


def labels(**kv):
    return {"matchLabels": kv}


def expr(key, op, *values):
    e = {"key": key, "operator": op}
    if values:
        e["values"] = list(values)
    return {"matchExpressions": [e]}


TARGETS = [
    ("all", {}),
    ("pod-a", labels(pod="a")),
    ("pod-in-ab", expr("pod", "In", "a", "b")),
    ("pod-notin-c", expr("pod", "NotIn", "c")),
    ("app-exists", expr("app", "Exists")),
    ("app-absent", expr("app", "DoesNotExist")),
    ("app-notin-web", expr("app", "NotIn", "web")),
    ("pod-b-app-db", {"matchLabels": {"pod": "b"},
                      "matchExpressions": [{"key": "app", "operator": "In", "values": ["db"]}]}),
]

# Peer kinds, as functions of the IPPlan (ipBlocks need the topology's addresses).
PEERS = [
    ("pod-b", lambda ip: [{"podSelector": labels(pod="b")}]),
    ("pod-all", lambda ip: [{"podSelector": {}}]),
    ("pod-notin-a", lambda ip: [{"podSelector": expr("pod", "NotIn", "a")}]),
    ("pod-app-absent", lambda ip: [{"podSelector": expr("app", "DoesNotExist")}]),
    ("ns-y", lambda ip: [{"namespaceSelector": labels(ns="y")}]),
    ("ns-all", lambda ip: [{"namespaceSelector": {}}]),
    ("ns-tier-notin", lambda ip: [{"namespaceSelector": expr("tier", "NotIn", "front")}]),
    ("ns-metaname-z", lambda ip: [
        {"namespaceSelector": labels(**{"kubernetes.io/metadata.name": "z"})}]),
    ("ns-and-pod", lambda ip: [{"namespaceSelector": expr("ns", "In", "y", "z"),
                                "podSelector": labels(pod="c")}]),
    ("ns-and-pod-expr", lambda ip: [{"namespaceSelector": expr("tier", "Exists"),
                                     "podSelector": expr("app", "In", "web", "db")}]),
    ("ip-hosts", lambda ip: [{"ipBlock": {"cidr": ip.host("y/a")}},
                             {"ipBlock": {"cidr": ip.host("z/b")}}]),
    ("ip-cover-x", lambda ip: [{"ipBlock": {"cidr": ip.namespace("x")}}]),
    ("ip-except", lambda ip: [{"ipBlock": {"cidr": ip.pod_net,
                                           "except": [ip.host("x/b"), ip.cover(["z/a", "z/c"])]}}]),
    ("ip-ext", lambda ip: [{"ipBlock": {"cidr": ip.ext_net}}]),
    ("ip-world-except", lambda ip: [{"ipBlock": {"cidr": ip.world,
                                                 "except": [ip.ext, ip.host("y/c")]}}]),
    ("ip-blocks-independent", lambda ip: [
        {"ipBlock": {"cidr": ip.pod_net, "except": [ip.host("y/b"), ip.host("x/a")]}},
        {"ipBlock": {"cidr": ip.host("y/b")}}]),
    ("pod-a+ns-z", lambda ip: [{"podSelector": labels(pod="a")},
                               {"namespaceSelector": labels(ns="z")}]),
    ("ns-y+ip-ext", lambda ip: [{"namespaceSelector": labels(ns="y")},
                                {"ipBlock": {"cidr": ip.ext}}]),
    ("pod-c+ns-and-pod", lambda ip: [{"podSelector": labels(pod="c")},
                                     {"namespaceSelector": labels(ns="x"),
                                      "podSelector": labels(pod="b")}]),
]

PORT_FORMS = [
    ("any", None),
    ("empty-list", []),
    ("80-default-tcp", [{"port": 80}]),
    ("81-udp", [{"protocol": "UDP", "port": 81}]),
    ("80-sctp", [{"protocol": "SCTP", "port": 80}]),
    ("named-81-tcp", [{"port": "serve-81-tcp"}]),
    ("named-80-udp", [{"protocol": "UDP", "port": "serve-80-udp"}]),
    ("named-81-sctp", [{"protocol": "SCTP", "port": "serve-81-sctp"}]),
    ("proto-udp", [{"protocol": "UDP"}]),
    ("proto-sctp", [{"protocol": "SCTP"}]),
    ("range-tcp-80-81", [{"protocol": "TCP", "port": 80, "endPort": 81}]),
    ("range-sctp-79-80", [{"protocol": "SCTP", "port": 79, "endPort": 80}]),
    ("range-udp-81-90", [{"protocol": "UDP", "port": 81, "endPort": 90}]),
    ("named-proto-mismatch", [{"protocol": "UDP", "port": "serve-80-tcp"}]),
    ("named-undefined", [{"port": "nobody-has-it"}]),
    ("named-web-varies", [{"port": "web"}]),
    ("named-dns-varies", [{"protocol": "UDP", "port": "dns"}]),
    ("two-entries", [{"port": 81}, {"protocol": "UDP", "port": "serve-80-udp"}]),
    ("three-protocols", [{"protocol": "TCP", "port": 80}, {"protocol": "UDP", "port": 80},
                         {"protocol": "SCTP", "port": 81}]),
]


def all_cases():
    import families  # the families build on the parts above
    import sequences
    import admin
    import hand
    return (families.family_basic() + families.family_single() + families.family_ports() +
            families.family_stack() + sequences.family_update() + families.family_random() +
            sequences.family_ghosts() + admin.family_anp() + hand.family_hand())


if __name__ == "__main__":
    import model
    cs = all_cases()
    plan = model.IPPlan(dict({k: "10.244.0.%d" % (10 + i) for i, k in enumerate(POD_KEYS)},
                             **{EXT_IP: EXT_IP}))
    print(len(cs), "cases,", sum(len(c.build(plan)) for c in cs), "steps")

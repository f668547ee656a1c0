"""Single-snapshot case families over the parts in cases.py.

  single   direction x peer kind x a rotating window of port forms; targets, namespaces and
           policyTypes (explicit or defaulted) rotate, so every part meets many others
  ports    every port form with an unrestricted peer, both directions
  basic    deny-all / allow-all / policyTypes corner cases, with hand expectations
  stack    two or three policies at once (seeded)
  random   random policies with several rules in both directions (seeded)
"""

import random

from cases import (EXT_IP, NAMESPACES, PEERS, PORT_FORMS, TARGETS, Case, Step, policy,
                   rule)


def _one_policy_case(name, direction, target, ns, peers_fn, ports, types):
    def build(ip):
        peers = peers_fn(ip) if peers_fn else None
        r = rule(direction, peers, ports)
        kw = {direction: [r]}
        return [Step([policy("p", ns, target, types=types, **kw)])]
    return Case(name, build)


def family_single():
    cases, counter = [], 0
    for d_i, direction in enumerate(("ingress", "egress")):
        types_cycle = ([None, ["Ingress"]] if direction == "ingress"
                       else [["Egress"], None, ["Egress"]])
        for p_i, (pname, peers_fn) in enumerate(PEERS):
            for k in range(5):
                fname, ports = PORT_FORMS[(p_i * 5 + k + d_i * 3) % len(PORT_FORMS)]
                tname, target = TARGETS[counter % len(TARGETS)]
                ns = NAMESPACES[(counter + counter // len(TARGETS)) % 3]
                types = types_cycle[counter % len(types_cycle)]
                counter += 1
                name = "single/%s/%s/%s/target-%s/ns-%s/types-%s" % (
                    direction, pname, fname, tname, ns, "-".join(types) if types else "default")
                cases.append(_one_policy_case(name, direction, target, ns, peers_fn, ports, types))
    return cases


def family_ports():
    cases = []
    for direction in ("ingress", "egress"):
        types = ["Ingress"] if direction == "ingress" else ["Egress"]
        for i, (fname, ports) in enumerate(PORT_FORMS):
            tname, target = TARGETS[i % len(TARGETS)]
            ns = NAMESPACES[i % 3]
            name = "ports/%s/%s/target-%s/ns-%s" % (direction, fname, tname, ns)
            cases.append(_one_policy_case(name, direction, target, ns, None, ports, types))
    return cases


def _is_pod(e):
    return e != EXT_IP


def family_basic():
    """Cases with obvious outcomes, checked against a hand expectation too."""
    every = NAMESPACES
    deny_in = [policy("deny-in", n, {}, types=["Ingress"]) for n in every]
    deny_out = [policy("deny-out", n, {}, types=["Egress"]) for n in every]
    allow_in = [policy("allow-in", n, {}, ingress=[{}]) for n in every]
    allow_out = [policy("allow-out", n, {}, egress=[{}], types=["Egress"]) for n in every]
    C = []

    def add(name, pols, hand):
        C.append(Case("basic/" + name, lambda ip, pols=pols: [Step(pols)], hand))

    add("no-policies", [], lambda s, a, b, p: True)
    add("deny-all-ingress", deny_in, lambda s, a, b, p: not _is_pod(b))
    add("deny-all-egress", deny_out, lambda s, a, b, p: not _is_pod(a))
    add("deny-all-both", deny_in + deny_out, lambda s, a, b, p: False)
    add("deny-all-both-one-policy",
        [policy("deny", n, {}, types=["Ingress", "Egress"]) for n in every],
        lambda s, a, b, p: False)
    add("allow-all-ingress", allow_in, lambda s, a, b, p: True)
    add("allow-all-both", allow_in + allow_out, lambda s, a, b, p: True)
    add("deny-plus-allow-ingress", deny_in + allow_in, lambda s, a, b, p: True)
    add("deny-plus-allow-egress", deny_out + allow_out, lambda s, a, b, p: True)
    add("empty-ingress-list", [policy("e", n, {}, ingress=[]) for n in every],
        lambda s, a, b, p: not _is_pod(b))
    add("spec-only-selector", [policy("d", n, {}) for n in every],
        lambda s, a, b, p: not _is_pod(b))
    add("default-namespace-only", [policy("d", None, {}, types=["Ingress", "Egress"])],
        lambda s, a, b, p: True)
    add("deny-ingress-x-only", [policy("d", "x", {}, types=["Ingress"])],
        lambda s, a, b, p: not b.startswith("x/"))
    add("deny-egress-z-only", [policy("d", "z", {}, egress=[], types=["Egress"])],
        lambda s, a, b, p: not a.startswith("z/"))
    # policyTypes honoured as written: the section that is not listed is ignored.
    add("types-egress-ignores-ingress",
        [policy("t", n, {}, ingress=[{}], types=["Egress"]) for n in every],
        lambda s, a, b, p: not _is_pod(a))
    add("types-ingress-ignores-egress",
        [policy("t", n, {}, egress=[{}], types=["Ingress"]) for n in every],
        lambda s, a, b, p: not _is_pod(b))
    # Defaulted policyTypes with an egress section: Ingress is included, and has no rules.
    add("types-defaulted-with-egress",
        [policy("t", n, {}, egress=[{}]) for n in every], lambda s, a, b, p: not _is_pod(b))
    add("ingress-empty-rule-ports-only", [policy("t", n, {}, ingress=[{"ports": [{"port": 80}]}])
                                          for n in every],
        lambda s, a, b, p: (not _is_pod(b)) or p == "80/TCP")
    add("egress-from-empty-list", [policy("t", n, {}, egress=[{"to": [], "ports": [
        {"protocol": "UDP"}]}], types=["Egress"]) for n in every],
        lambda s, a, b, p: (not _is_pod(a)) or p.endswith("/UDP"))
    # The whole address space of the run's family: 0.0.0.0/0 or ::/0.
    C.append(Case("basic/allow-world-cidr", lambda ip: [Step([
        policy("w", n, {}, ingress=[{"from": [{"ipBlock": {"cidr": ip.world}}]}],
               egress=[{"to": [{"ipBlock": {"cidr": ip.world}}]}], types=["Ingress", "Egress"])
        for n in every])], lambda s, a, b, p: True))
    return C


def _stack_pool(rng):
    direction = rng.choice(["ingress", "egress"])
    tname, target = rng.choice(TARGETS)
    ns = rng.choice(NAMESPACES)
    pname, peers_fn = rng.choice(PEERS + [("none", None)])
    fname, ports = rng.choice(PORT_FORMS)
    types = rng.choice([None, [direction.capitalize()]]) if direction == "ingress" else \
        rng.choice([["Egress"], ["Ingress", "Egress"], None])
    return (direction, target, ns, peers_fn, ports, types,
            "%s:%s:%s:%s:%s" % (direction[0], ns, tname, pname, fname))


def family_stack(n=40, seed=7):
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        parts = [_stack_pool(rng) for _ in range(rng.choice([2, 2, 3]))]

        def build(ip, parts=parts):
            pols = []
            for j, (direction, target, ns, peers_fn, ports, types, _) in enumerate(parts):
                r = rule(direction, peers_fn(ip) if peers_fn else None, ports)
                pols.append(policy("s%d" % j, ns, target, types=types, **{direction: [r]}))
            return [Step(pols)]
        cases.append(Case("stack/%02d/%s" % (i, "+".join(p[-1] for p in parts)), build))
    return cases


def _random_rules(rng, direction):
    rules = []
    for _ in range(rng.choice([0, 1, 1, 2])):
        peers_fn = rng.choice([None] + [f for _, f in PEERS])
        ports = rng.choice(PORT_FORMS)[1]
        rules.append((peers_fn, ports))
    return rules


def family_random(n=50, seed=11):
    rng = random.Random(seed)
    cases = []
    for i in range(n):
        specs = []
        for j in range(rng.choice([1, 2, 3])):
            ns = rng.choice(NAMESPACES)
            target = rng.choice(TARGETS)[1]
            types = rng.choice([None, ["Ingress"], ["Egress"], ["Ingress", "Egress"]])
            ing = _random_rules(rng, "ingress") if rng.random() < 0.8 else None
            eg = _random_rules(rng, "egress") if rng.random() < 0.6 else None
            specs.append((ns, target, types, ing, eg))

        def build(ip, specs=specs):
            pols = []
            for j, (ns, target, types, ing, eg) in enumerate(specs):
                mk = lambda d, rs: None if rs is None else [
                    rule(d, f(ip) if f else None, ports) for f, ports in rs]
                pols.append(policy("r%d" % j, ns, target, ingress=mk("ingress", ing),
                                   egress=mk("egress", eg), types=types))
            return [Step(pols)]
        cases.append(Case("random/%02d" % i, build))
    return cases

#!/usr/bin/env python3
"""Adds AdminNetworkPolicies and the BaselineAdminNetworkPolicy to a gen.py dump.

    python3 bench/gen_admin.py --base FILE --admins N [--seed S] --out FILE

Reads a `kind: List` YAML file written by bench/gen.py and writes it again
with N AdminNetworkPolicies (priorities 0-999, names anp-00000 ...) and one
BaselineAdminNetworkPolicy `default` appended to its items, printed as
`kubectl get anp,banp -o yaml` prints them (keys sorted, go-yaml quoting,
managed fields and a status). Every peer kind policyc models appears
(namespaces, pods, networks), every port kind (portNumber, portRange,
namedPort), every action (Allow, Deny, Pass; Allow and Deny in the
baseline). Namespace labels are the ones gen.py gives (`team`,
`kubernetes.io/metadata.name`). Python 3 standard library only; the same
input, N and seed always give the same bytes.
"""
import argparse
import random

TEAMS = ["team-%02d" % i for i in range(40)]
APPS = ["frontend", "backend", "database", "cache", "worker", "monitoring"]


def selector(rng, indent, key, labels):
    pad = " " * indent
    if not labels:
        return f"{pad}{key}: {{}}\n"
    out = f"{pad}{key}:\n{pad}  matchLabels:\n"
    for k, v in sorted(labels.items()):
        out += f"{pad}    {k}: {v}\n"
    return out


def peer(rng, egress):
    kinds = ["namespaces", "pods"] + (["networks"] if egress else [])
    kind = rng.choice(kinds)
    if kind == "namespaces":
        if rng.random() < 0.2:
            return "        - namespaces: {}\n"
        return "        - namespaces:\n            matchExpressions:\n            - key: team\n              operator: In\n" \
            f"              values:\n              - {rng.choice(TEAMS)}\n              - {rng.choice(TEAMS)}\n"
    if kind == "pods":
        return "        - pods:\n" + selector(rng, 12, "namespaceSelector", {"team": rng.choice(TEAMS)}) \
            + selector(rng, 12, "podSelector", {"app.kubernetes.io/component": rng.choice(APPS)})
    nets = sorted({f"10.{rng.randrange(200, 256)}.{rng.randrange(256)}.0/24" for _ in range(rng.randint(1, 4))})
    if rng.random() < 0.3:
        nets.append(f"fd00:{rng.randrange(1 << 16):x}::/64")
    return "        - networks:\n" + "".join(f"          - {n}\n" for n in nets)


def ports(rng, named_ok):
    out = "        ports:\n"
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["portNumber", "portRange"] + (["namedPort"] if named_ok else []))
        if kind == "portNumber":
            out += f"        - portNumber:\n            port: {rng.choice([53, 80, 443, 5432, 6379, 8080, 9090])}\n" \
                f"            protocol: {rng.choice(['TCP', 'TCP', 'UDP', 'SCTP'])}\n"
        elif kind == "portRange":
            start = rng.randrange(1024, 30000)
            out += f"        - portRange:\n            end: {start + rng.randint(1, 2000)}\n" \
                f"            protocol: {rng.choice(['TCP', 'UDP'])}\n            start: {start}\n"
        else:
            out += f"        - namedPort: {rng.choice(['http', 'https', 'metrics', 'dns'])}\n"
    return out


def rules(rng, egress, baseline):
    out = ""
    for i in range(rng.randint(1, 4)):
        actions = ["Allow", "Deny"] if baseline else ["Allow", "Deny", "Pass"]
        peers = "".join(peer(rng, egress) for _ in range(rng.randint(1, 3)))
        has_networks = "networks:" in peers
        out += f"      - action: {rng.choice(actions)}\n"
        out += f"        name: {'egress' if egress else 'ingress'}-{i}\n"
        if rng.random() < 0.7:
            out += ports(rng, not has_networks)
        out += f"        {'to' if egress else 'from'}:\n" + peers
    return out


def policy(rng, name, priority):
    baseline = priority is None
    kind = "BaselineAdminNetworkPolicy" if baseline else "AdminNetworkPolicy"
    subject = rng.random()
    if subject < 0.6:
        subj = "      namespaces:\n        matchLabels:\n" f"          team: {rng.choice(TEAMS)}\n"
    else:
        subj = "      pods:\n" + selector(rng, 8, "namespaceSelector", {"team": rng.choice(TEAMS)}) \
            + selector(rng, 8, "podSelector", {"app.kubernetes.io/component": rng.choice(APPS)})
    spec = ""
    if rng.random() < 0.8:
        spec += "    egress:\n" + rules(rng, True, baseline)
    if rng.random() < 0.8 or not spec:
        spec += "    ingress:\n" + rules(rng, False, baseline)
    if not baseline:
        spec += f"    priority: {priority}\n"
    spec += "    subject:\n" + subj
    return (
        f"- apiVersion: policy.networking.k8s.io/v1alpha1\n  kind: {kind}\n  metadata:\n"
        f"    creationTimestamp: \"2026-01-01T00:00:00Z\"\n    generation: 1\n    managedFields:\n"
        f"    - apiVersion: policy.networking.k8s.io/v1alpha1\n      fieldsType: FieldsV1\n      fieldsV1:\n"
        f"        f:spec:\n          .: {{}}\n          f:subject: {{}}\n      manager: kubectl-client-side-apply\n"
        f"      operation: Update\n      time: \"2026-01-01T00:00:00Z\"\n    name: {name}\n"
        f"    resourceVersion: \"{rng.randrange(10**6, 10**7)}\"\n    uid: {rng.getrandbits(64):016x}\n"
        f"  spec:\n{spec}  status:\n    conditions:\n    - lastTransitionTime: \"2026-01-01T00:00:00Z\"\n"
        f"      message: the policy is ready\n      reason: SetupSucceeded\n      status: \"True\"\n      type: Ready\n"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True)
    ap.add_argument("--admins", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(args.base) as f:
        text = f.read()
    footer = text.rindex("\nkind: List\n") + 1
    rng = random.Random(args.seed)
    items = [policy(rng, "anp-%05d" % i, rng.randrange(1000)) for i in range(args.admins)]
    items.append(policy(rng, "default", None))
    with open(args.out, "w") as f:
        f.write(text[:footer] + "".join(items) + text[footer:])


if __name__ == "__main__":
    main()

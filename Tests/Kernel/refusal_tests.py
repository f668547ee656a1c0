"""`policyc apply` refuses input that cannot be the cluster, and the kernel keeps its rules.

A node namespace first gets good rules (iptables with ipsets, then in a second pass the nft
table), then apply is fed, one at a time, what a broken pipeline or a typo produces:
  - empty standard input (`kubectl ... | policyc apply -` with kubectl failing), an empty file,
    an empty directory, a directory without YAML, a Deployment-only file;
  - NetworkPolicies without any Pod;
  - `--node` naming a node no pod runs on (a typo of a real node: the message suggests it);
  - `--family ipv6` over pods that have only IPv4 addresses (iptables only: nft holds both).
Each must exit 2 with its message and leave iptables-save, ip6tables-save, `ipset list` (with
members), `nft list ruleset` and the state file exactly as they were, byte for byte.
`--allow-empty` alone then meets apply's large-drop guard (every enforced pod would lose its
rules): still refused, nothing changed. With `--allow-empty --force` the empty input applies as
the user asked: exit 0, and no pod is enforced.
"""

import os
import subprocess

import netns
from suite import Outcome, _write

NODE = "node-1"

CLUSTER = """---
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  nodeName: node-1
  containers: [{name: c, image: x, ports: [{name: http, containerPort: 80}]}]
status:
  phase: Running
  podIP: 10.77.0.10
  podIPs: [{ip: 10.77.0.10}]
---
apiVersion: v1
kind: Pod
metadata:
  name: api
  namespace: shop
  labels: {app: api}
spec:
  nodeName: node-1
  containers: [{name: c, image: x}]
status:
  phase: Running
  podIP: 10.77.0.11
  podIPs: [{ip: 10.77.0.11}]
---
apiVersion: v1
kind: Pod
metadata:
  name: db
  namespace: shop
  labels: {app: db}
spec:
  nodeName: node-2
  containers: [{name: c, image: x}]
status:
  phase: Running
  podIP: 10.77.1.12
  podIPs: [{ip: 10.77.1.12}]
"""

POLICIES = """---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api-from-web
  namespace: shop
spec:
  podSelector:
    matchLabels: {app: api}
  ingress:
  - from:
    - podSelector:
        matchLabels: {app: web}
    - podSelector:
        matchLabels: {app: db}
    - ipBlock: {cidr: 192.0.2.0/24, except: [192.0.2.128/25]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-egress
  namespace: shop
spec:
  podSelector:
    matchLabels: {app: web}
  egress:
  - to:
    - podSelector: {}
    - namespaceSelector: {}
      podSelector:
        matchLabels: {app: db}
"""

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers: [{name: c, image: x}]
"""

CHECK_NAMES = ["refuse/iptables", "refuse/nft"]


class RefusalRunner:
    def __init__(self, pc, tmp, stop):
        self.pc, self.tmp, self.stop = pc, tmp, stop
        self.state = os.path.join(tmp, "refusal.state")
        self.node = None

    def file(self, name, text):
        path = os.path.join(self.tmp, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        _write(path, text)
        return path

    def kernel(self):
        """Everything apply may touch, as text; comment lines of *-save carry a timestamp."""
        def run(cmd):
            p = self.node.exec(cmd, check=False)
            return "$ %s (exit %d)\n%s" % (" ".join(cmd), p.returncode, p.stdout)

        def save(cmd):
            return "\n".join(l for l in run(cmd).splitlines() if not l.startswith("#"))
        state = open(self.state).read() if os.path.exists(self.state) else "(no state file)"
        return "\n".join([save(["iptables-save"]), save(["ip6tables-save"]),
                          run(["ipset", "list"]), run(["nft", "list", "ruleset"]),
                          "state file:\n" + state])

    def apply(self, backend, paths, extra=(), stdin=None):
        args = ["apply", "--state", self.state] + ([] if "--node" in extra else ["--node", NODE])
        args += ["--backend", "nft"] if backend == "nft" else ["--ipsets"]
        cmd = ["ip", "netns", "exec", self.node.name, self.pc.path] + args + list(extra) + paths
        p = subprocess.run(cmd, input=stdin if stdin is not None else "", capture_output=True,
                           text=True, timeout=120)
        return cmd, p

    def bad_inputs(self, backend):
        """(label, paths, extra flags, stdin, phrase the error must contain)."""
        empty_dir = os.path.join(self.tmp, "empty-dir")
        os.makedirs(empty_dir, exist_ok=True)
        no_yaml = os.path.join(self.tmp, "no-yaml")
        self.file("no-yaml/notes.txt", "kind: Pod\n")
        cluster = self.file("good/cluster.yaml", CLUSTER)
        policies = self.file("good/policies.yaml", POLICIES)
        cases = [
            ("empty stdin", ["-"], [], "", "<stdin>: no Kubernetes objects read; nothing changed"),
            ("empty file", [self.file("empty.yaml", "")], [], None,
             "no Kubernetes objects read; nothing changed"),
            ("empty directory", [empty_dir], [], None,
             "no Kubernetes objects read; nothing changed"),
            ("directory without YAML", [no_yaml], [], None,
             "no Kubernetes objects read; nothing changed"),
            ("Deployment only", [self.file("deployment.yaml", DEPLOYMENT)], [], None,
             "no Pod objects read (read 1 Deployment)"),
            ("policies without pods", [policies], [], None,
             "no Pod objects read (read 2 NetworkPolicies)"),
            ("unknown node", [cluster, policies], ["--node", "node-l"], None,
             'did you mean "node-1"?'),
        ]
        if backend == "iptables":
            cases.append(("ipv6 on an IPv4-only cluster", [cluster, policies],
                          ["--family", "ipv6"], None,
                          "--family ipv6: no pod in"))
        return cases

    def check_backend(self, backend, out):
        good = [self.file("good/cluster.yaml", CLUSTER), self.file("good/policies.yaml", POLICIES)]
        cmd, p = self.apply(backend, good)
        if p.returncode != 0:
            out.fail("good apply failed: %s\n%s" % (" ".join(cmd), p.stderr))
            return
        before = self.kernel()
        if "POLICYC" not in before.upper():
            out.fail("the good apply loaded no policyc rules:\n" + before[:2000])
            return
        # Each bad input would also be a large drop: --force shows the input check alone stops it.
        for label, paths, extra, stdin, phrase in self.bad_inputs(backend):
            extra = list(extra) + ["--force"]
            out.steps += 1
            cmd, p = self.apply(backend, paths, extra, stdin)
            if p.returncode != 2:
                out.fail("%s: exit %d, expected 2\n%s" % (label, p.returncode, p.stderr))
            if phrase not in p.stderr or "--allow-empty" not in p.stderr:
                out.fail("%s: stderr lacks %r and the --allow-empty hint:\n%s"
                         % (label, phrase, p.stderr))
            after = self.kernel()
            if after != before:
                out.fail("%s: the kernel changed although apply refused\n%s"
                         % (label, _first_difference(before, after)))
        # --allow-empty passes the input check, but taking every pod's rules away at once is
        # still a large drop: refused without --force, the kernel unchanged.
        cmd, p = self.apply(backend, ["-"], ["--allow-empty"], "")
        if p.returncode != 2 or "--force" not in p.stderr:
            out.fail("--allow-empty alone: exit %d, expected 2 with the large-drop refusal\n%s"
                     % (p.returncode, p.stderr))
        if self.kernel() != before:
            out.fail("--allow-empty alone changed the kernel although the drop was refused")
        # Both overrides: the user means it (a drained node).
        cmd, p = self.apply(backend, ["-"], ["--allow-empty", "--force"], "")
        if p.returncode != 0:
            out.fail("--allow-empty with empty input: exit %d\n%s" % (p.returncode, p.stderr))
        after = self.kernel()
        if after == before:
            out.fail("--allow-empty with empty input changed nothing; it should apply as asked")
        pod_chains = [l for l in after.splitlines() if l.startswith(":POLICYC-IP-")
                      or l.startswith(":POLICYC-EP-")]
        if pod_chains:
            out.fail("--allow-empty with empty input left pod chains: %s" % pod_chains[:5])

    def run(self):
        results = []
        for name in CHECK_NAMES:
            if self.stop.is_set():
                break
            backend = name.split("/", 1)[1]
            out = Outcome(name, "node")
            self.node = netns.Netns.create("refuse-" + backend)
            try:
                if os.path.exists(self.state):
                    os.unlink(self.state)
                self.check_backend(backend, out)
            except Exception as e:
                out.fail("%s raised %s: %s" % (name, type(e).__name__, e))
            finally:
                netns.delete_namespace(self.node.name)
            results.append(out)
        return results


def _first_difference(a, b):
    la, lb = a.splitlines(), b.splitlines()
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else "(end)"
        y = lb[i] if i < len(lb) else "(end)"
        if x != y:
            return "first difference at line %d:\n  before: %s\n  after:  %s" % (i + 1, x, y)
    return "(no line differs)"


def run(pc, tmp, stop):
    return RefusalRunner(pc, tmp, stop).run()

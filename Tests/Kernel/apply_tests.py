"""`policyc apply` in a node namespace that already holds other software's rules.

The node first gets kube-proxy-like and CNI-like rules (filter chains KUBE-FORWARD, CNI-FORWARD,
KUBE-FIREWALL, rules in FORWARD/INPUT/OUTPUT, a nat table with KUBE-SERVICES), then apply is run
through a series of checks, each reported as its own case (apply/...):
  - foreign rules are byte-identical before/after (iptables-save without POLICYC lines);
  - the FORWARD jump exists exactly once, and comes back once if deleted or duplicated;
  - the POLICYC chains are exactly those `compile` declares (stale ones removed on change);
  - applying twice leaves iptables-save identical;
  - a failed load (iptables-restore replaced on PATH by a failing wrapper, or by one that feeds
    the real iptables-restore a corrupted file) exits 2 and leaves the previous rules in force;
  - --dry-run prints the rules and changes nothing; bad input exits 2 and changes nothing;
  - packets behave per `policyc matrix` after every successful apply;
  - with --ipsets: the kernel holds exactly the sets `compile --ipset-out` describes, with their
    members; a change that only moves pods in and out of peer sets is loaded incrementally (no
    chain reloaded, sets updated in place) and leaves the kernel exactly as a full load does;
    going back to plain rules removes policyc's sets.
  - --log-denied (both backends, both families): an NFLOG listener in the node (nflog.py) sees
    exactly one entry per denied probe, with the prefix `policyc:in:<ns>/<pod>` or
    `policyc:eg:<ns>/<pod>` and the probe's addresses, protocol and port, and none for allowed
    probes; with --log-rate 1/hour, eight denied packets give exactly the burst of five entries.
    With --deny audit (and no --log-denied) every probe gets through, and the listener sees the
    same one entry per probe a policy would have denied, and none for the others.
  - AdminNetworkPolicies and the baseline (both backends, after everything above is removed):
    the first apply loads exactly the compiled chains (or table), a second changes nothing, a
    change of priorities and actions replaces what changed, and packets follow the matrix after
    each apply (IPv4; nft also IPv6); kube-proxy's mark bit 0x4000 and the foreign rules stay.
  - with --backend nft (after the iptables rules and sets are gone): the kernel holds exactly the
    chains and sets the compiled file defines, another program's nft table and the iptables rules
    stay as they were, a second apply changes nothing, a change replaces the table (no stale
    chain or set), a file nft refuses leaves the previous table in force, and packets of both
    families behave per `policyc matrix`.
  - apply_safety.py adds, in this sequence: large drops refused, the summary line, a failing
    ipset at every call rolled back, both backends at once refused, and `policyc remove`.
Every apply keeps its state file in the run's own folder (--state), never in /var/lib/policyc.
"""

import json
import os
import re
import stat
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import apply_safety
import model
import netns
import probe
from cases import labels, policy, rule
from netns import EXT_IP, SetupError
from suite import Outcome, _write

NODE = "node-1"

FOREIGN_RULES = """*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MASQUERADE
-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp -m tcp --dport 443 -j DNAT --to-destination 192.168.250.1:6443
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-FORWARD - [0:0]
:CNI-FORWARD - [0:0]
:KUBE-FIREWALL - [0:0]
-A INPUT -j KUBE-FIREWALL
-A INPUT -p tcp -m tcp --dport 10250 -j ACCEPT
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD
-A FORWARD -s 10.98.0.0/16 -j DROP
-A OUTPUT -j KUBE-FIREWALL
-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A CNI-FORWARD -d 10.99.0.0/16 -j ACCEPT
-A CNI-FORWARD -m comment --comment "cni: nothing else" -j RETURN
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:KUBE-PROXY-CANARY - [0:0]
COMMIT
"""


# In order: each check builds on the state the previous one left.
CHECK_NAMES = [
    "apply/first-apply",
    "apply/idempotent",
    "apply/change-removes-stale-chains",
    "apply/failed-load-wrapper-exits-1",
    "apply/failed-load-kernel-rejects",
    "apply/dry-run-changes-nothing",
    "apply/bad-input-exits-2",
    "apply/restores-deleted-jump",
    "apply/collapses-duplicate-jump",
    "apply/empty-snapshot",
    "apply/ipset-first-apply",
    "apply/ipset-idempotent",
    "apply/ipset-churn-equals-full-load",
    "apply/ipset-back-to-rules",
    "apply/ipv6-beside-ipv4",
    "apply/both-families-in-one-call",
    "apply/nft-first-apply",
    "apply/nft-idempotent",
    "apply/nft-change-replaces-table",
    "apply/nft-failed-load-keeps-table",
    "apply/nft-dry-run-changes-nothing",
    "log/iptables-ipv4",
    "log/iptables-ipv6",
    "log/nft-ipv4",
    "log/nft-ipv6",
    "log/rate-limit-iptables",
    "log/rate-limit-nft",
    "log/audit-iptables-ipv4",
    "log/audit-iptables-ipv6",
    "log/audit-nft-ipv4",
    "log/audit-nft-ipv6",
    "apply/admin-tiers-iptables",
    "apply/admin-tiers-nft",
]

CHECK_NAMES = apply_safety.ordered(CHECK_NAMES)

LOG_GROUP = 7

# Another program's nftables table, hooked at forward like policyc's: apply --backend nft must
# leave it exactly as it was.
FOREIGN_NFT = """table inet foreign {
	chain filter_forward {
		type filter hook forward priority filter; policy accept;
		ip daddr 10.98.0.0/16 counter drop
		ip6 daddr fd00:98::/32 counter drop
	}
}
"""


def snapshots(ip):
    """Policy sets the checks switch between; each yields a different chain set."""
    s1 = ([policy("deny", "x", {}, types=["Ingress"]),
           policy("from-y", "x", labels(pod="a"), ingress=[
               rule("ingress", [{"namespaceSelector": labels(ns="y")}], [{"port": 80}])]),
           policy("out", "z", labels(pod="a"), egress=[
               rule("egress", [{"ipBlock": {"cidr": ip.ext}}], [{"protocol": "UDP"}])],
               types=["Egress"])])
    s2 = [policy("only-b", "y", {}, ingress=[rule("ingress", [{"podSelector": labels(pod="b")}],
                                                   [{"protocol": "SCTP", "port": 81}])])]
    s3 = [policy("all-z", "z", {}, ingress=[{}], egress=[{}])]
    return {"s1": s1, "s2": s2, "s3": s3, "empty": []}


# s1 again, but namespace z now carries ns=y and pod y/c gains app=web: pods move in and out
# of the peer sets of s1's policies, while no policy or chain changes.
CHURN = {"ns_labels": {"z": {"ns": "y"}}, "pod_labels": {"y/c": {"pod": "c", "app": "web"}}}


def kernel_sets(node):
    """policyc's sets in a node namespace: name -> sorted members (ipset save)."""
    sets = {}
    for l in node.exec(["ipset", "save"]).stdout.splitlines():
        w = l.split()
        if len(w) >= 2 and w[1].startswith("POLICYC-"):
            if w[0] == "create":
                sets.setdefault(w[1], [])
            elif w[0] == "add" and len(w) >= 3:
                sets.setdefault(w[1], []).append(_member(w[2]))
    return {k: sorted(v) for k, v in sets.items()}


def script_sets(text):
    """The sets an `ipset restore` script from policyc leaves behind: members are added to a
    temporary set that is then swapped with the real one."""
    adds, sets = {}, {}
    for l in text.splitlines():
        w = l.split()
        if len(w) >= 3 and w[0] == "add":
            adds.setdefault(w[1], []).append(_member(w[2]))
        elif len(w) == 3 and w[0] == "swap":
            sets[w[2]] = sorted(adds.get(w[1], []))
    return sets


def _member(text):
    return text[:-3] if text.endswith("/32") else text


normalize = apply_safety.normalize


def foreign(lines):
    return [l for l in lines if "POLICYC" not in l]


def policyc_chains(lines):
    """Declared POLICYC chains, per table: {"filter": {...}, ...}."""
    table, out = None, {}
    for l in lines:
        if l.startswith("*"):
            table = l[1:]
        elif l.startswith(":POLICYC-"):
            out.setdefault(table, set()).add(l[1:].split()[0])
    return out


def forward_jumps(lines):
    table, n = None, 0
    for l in lines:
        if l.startswith("*"):
            table = l[1:]
        elif (table == "filter" and l.startswith("-A FORWARD ")
              and l.split()[-2:] == ["-j", "POLICYC-FORWARD"]):
            n += 1
    return n


def _wrapper(dirpath, body):
    os.makedirs(dirpath, exist_ok=True)
    for name in ("iptables-restore", "iptables-nft-restore", "iptables-legacy-restore"):
        p = os.path.join(dirpath, name)
        _write(p, body)
        os.chmod(p, os.stat(p).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


class ApplyRunner(apply_safety.SafetyChecks):
    def __init__(self, pc, tmp, stop):
        self.pc, self.tmp, self.stop = pc, tmp, stop
        self.topo = netns.Topology("routed", "ap", tmp)
        self.node = None
        self.pool = None
        self.plan = None
        self.snap_paths = {}
        self.state = os.path.join(tmp, "apply.state")

    def save(self):
        return normalize(self.node.exec(["iptables-save"]).stdout)

    def write_snapshot(self, key, policies, **labels):
        d = os.path.join(self.tmp, key)
        os.makedirs(d, exist_ok=True)
        cluster, pols = os.path.join(d, "cluster.yaml"), os.path.join(d, "policies.yaml")
        _write(cluster, model.dump_all(model.cluster_docs(self.topo.pods, **labels)))
        _write(pols, model.dump_all(policies) if policies else "")
        self.snap_paths[key] = [cluster, pols]

    def apply(self, key, dry_run=False, env=None, ipsets=False, full=False, verbose=False,
              force=True, extra=()):
        return self.pc_apply(self.snap_paths[key], self.topo.nodes[NODE], node=NODE,
                             dry_run=dry_run, env=env, state=self.state, ipsets=ipsets,
                             full=full, verbose=verbose, force=force, extra=extra)

    def pc_apply(self, paths, netns, node=None, dry_run=False, env=None, state=None,
                 ipsets=False, full=False, verbose=False, family="ipv4", backend=None,
                 force=True, extra=()):
        """`policyc apply`; with --force unless told otherwise, since most checks switch
        between snapshots that enforce different pods on purpose (apply/large-drop-refused
        checks the refusal)."""
        args = (["apply"] + (["--node", node] if node else []) + (["--dry-run"] if dry_run else [])
                + (["--backend", backend] if backend else [])
                + (["--family", family] if family != "ipv4" else [])
                + (["--state", state] if state else []) + (["--ipsets"] if ipsets else [])
                + (["--full"] if full else []) + (["--verbose"] if verbose else [])
                + (["--force"] if force else []) + list(extra))
        return self.pc.run(args + list(paths), netns=netns, env=env)

    def compiled_chains(self, key, ipsets=False):
        sets = os.path.join(self.tmp, "compiled-sets.txt") if ipsets else None
        text = self.pc.compile(self.snap_paths[key], NODE, ipset_out=sets)
        return policyc_chains(text.splitlines()).get("filter", set())

    def compiled_sets(self, key):
        path = os.path.join(self.tmp, "compiled-sets.txt")
        self.pc.compile(self.snap_paths[key], NODE, ipset_out=path)
        with open(path) as f:
            return script_sets(f.read())

    def check_sets(self, out, key, what):
        want, have = self.compiled_sets(key), kernel_sets(self.node)
        if want != have:
            lines = ["%s: policyc's sets in the kernel differ from `compile --ipset-out`" % what]
            for name in sorted(set(want) | set(have)):
                if want.get(name) != have.get(name):
                    lines.append("    %s: compiled %s, kernel %s"
                                 % (name, want.get(name), have.get(name)))
            out.fail("\n".join(lines[:20]))
        return have

    def probe_against_matrix(self, key, out, family="ipv4"):
        """Probes every pair over `family` (the node is dual-stack) against the matrix."""
        self.topo.family = family
        try:
            ext = self.topo.ext_address
            _eps, allowed = self.pc.matrix(self.snap_paths[key], [ext], family=family,
                                           names={ext: EXT_IP})
            self.topo.flush_conntrack()
            ours = list(self.topo.endpoints())
            observed = probe.run_probes(self.topo, ours, pool=self.pool, expected=allowed)
        finally:
            self.topo.family = "ipv4"
        out.probes += len(observed)
        out.expected_allowed += sum(1 for k in observed if k in allowed)
        bad = probe.compare(observed, allowed, set(ours))
        for s, d, p, w, g, det in bad[:10]:
            out.fail("after applying %s (%s): %s -> %s %s expected %s, actual %s (%s)"
                     % (key, family, s, d, p, "allowed" if w else "denied",
                        "allowed" if g else "denied", det))
        if len(bad) > 10:
            out.fail("... %d more probe mismatches" % (len(bad) - 10))

    def expect_exit(self, out, p, code, what):
        cmd, proc = p
        if proc.returncode != code:
            out.fail("%s: `%s` exited %d, expected %d\nstdout: %s\nstderr: %s" % (
                what, " ".join(cmd), proc.returncode, code, proc.stdout.strip()[:1500],
                proc.stderr.strip()[:1500]))
            return False
        return True

    def check_state(self, out, key, before_foreign, what, ipsets=False):
        after = self.save()
        if foreign(after) != before_foreign:
            out.fail("%s: non-POLICYC rules changed\n%s"
                     % (what, _diff(before_foreign, foreign(after))))
        n = forward_jumps(after)
        if n != 1:
            out.fail("%s: %d FORWARD jumps to POLICYC-FORWARD, expected exactly 1" % (what, n))
        want = self.compiled_chains(key, ipsets)
        have = policyc_chains(after).get("filter", set())
        if have != want:
            out.fail("%s: POLICYC chains in the kernel differ from `compile` "
                     "(stale: %s, missing: %s)"
                     % (what, sorted(have - want), sorted(want - have)))
        others = {t: c for t, c in policyc_chains(after).items() if t != "filter"}
        if others:
            out.fail("%s: POLICYC chains outside the filter table: %s" % (what, others))
        return after

    # --- the checks, in order; each builds on the state the previous one left -------------

    def run(self):
        results = []
        self.topo.build()
        self.node = self.topo.nodes[NODE]
        self.pool = ThreadPoolExecutor(max_workers=len(self.topo.pods) + 1)
        self.plan = model.IPPlan(self.topo.endpoints())
        for key, pols in snapshots(self.plan).items():
            self.write_snapshot(key, pols)
        self.write_snapshot("s1-churn", snapshots(self.plan)["s1"], **CHURN)
        self.write_snapshot("s1-plus", snapshots(self.plan)["s1"] + snapshots(self.plan)["s3"])
        self.write_snapshot("log", [policy("deny-in", "x", labels(pod="a"), types=["Ingress"]),
                                    policy("deny-eg", "x", labels(pod="c"), types=["Egress"])])
        for key, pols in self.admin_snapshots().items():
            self.write_snapshot(key, pols)
        self.node.exec(["iptables-restore"], input=FOREIGN_RULES)
        self.foreign0 = foreign(self.save())
        for name in CHECK_NAMES:
            fn = getattr(self, "c_" + name.split("/", 1)[1].replace("-", "_"))
            if self.stop.is_set():
                break
            out = Outcome(name, "routed")
            out.steps = 1
            try:
                fn(out)
            except Exception as e:
                out.fail("%s raised %s: %s" % (name, type(e).__name__, e))
            results.append(out)
        return results

    def c_first_apply(self, out):
        if self.expect_exit(out, self.apply("s1"), 0, "apply s1"):
            self.check_state(out, "s1", self.foreign0, "after apply s1")
            self.probe_against_matrix("s1", out)

    def c_idempotent(self, out):
        before = self.save()
        if self.expect_exit(out, self.apply("s1"), 0, "second apply s1"):
            after = self.save()
            if after != before:
                out.fail("applying s1 twice changed iptables-save:\n" + _diff(before, after))

    def c_change_removes_stale_chains(self, out):
        if self.expect_exit(out, self.apply("s2"), 0, "apply s2"):
            self.check_state(out, "s2", self.foreign0, "after apply s2 (s1 was in force)")
            self.probe_against_matrix("s2", out)

    def _failed_load(self, out, body, label):
        wrap = tempfile.mkdtemp(prefix="wrap-", dir=self.tmp)
        marker = os.path.join(wrap, "called")
        _wrapper(wrap, body.replace("@MARKER@", marker))
        path = os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        env = dict(os.environ, PATH=wrap + ":" + path)
        before = self.save()
        cmd, p = self.apply("s1", env=env)
        if not os.path.exists(marker):
            out.fail("%s: policyc apply never ran iptables-restore from PATH, so the failure "
                     "could not be injected (exit %d; stderr: %s)"
                     % (label, p.returncode, p.stderr.strip()[:500]))
            if p.returncode == 0:  # it loaded s1 by other means: put s2 back for later checks
                self.apply("s2")
            return
        self.expect_exit(out, (cmd, p), 2, label)
        after = self.save()
        if after != before:
            out.fail("%s: the failed load changed the rules:\n%s" % (label, _diff(before, after)))
        self.probe_against_matrix("s2", out)

    def c_failed_load_wrapper_exits_1(self, out):
        self._failed_load(out, "#!/bin/sh\ntouch '@MARKER@'\ncat >/dev/null\n"
                          "echo 'injected failure' >&2\nexit 1\n",
                          "apply s1 with a failing iptables-restore")

    def c_failed_load_kernel_rejects(self, out):
        # Feeds the real iptables-restore the input with a rule the kernel refuses inserted
        # before the last COMMIT, so the transaction itself fails.
        real = None
        for d in ("/usr/sbin", "/sbin", "/usr/bin", "/bin"):
            if os.access(os.path.join(d, "iptables-restore"), os.X_OK):
                real = os.path.join(d, "iptables-restore")
                break
        if real is None:
            out.fail("no real iptables-restore found")
            return
        body = ("#!/bin/sh\ntouch '@MARKER@'\n"
                "awk '{ l[NR] = $0 } END { last = 0; for (i = 1; i <= NR; i++) "
                "if (l[i] == \"COMMIT\") last = i; for (i = 1; i <= NR; i++) { "
                "if (i == last) print \"-A POLICYC-NO-SUCH-CHAIN-X -j ACCEPT\"; print l[i] } }' "
                "| %s \"$@\"\n" % real)
        self._failed_load(out, body, "apply s1 with a load the kernel rejects")

    def c_dry_run_changes_nothing(self, out):
        before = self.save()
        cmd, p = self.apply("s3", dry_run=True)
        if self.expect_exit(out, (cmd, p), 0, "apply --dry-run s3"):
            if "POLICYC-" not in p.stdout:
                out.fail("apply --dry-run printed no POLICYC rules:\n" + p.stdout[:1000])
        after = self.save()
        if after != before:
            out.fail("apply --dry-run changed the rules:\n" + _diff(before, after))

    def c_bad_input_exits_2(self, out):
        d = os.path.join(self.tmp, "bad")
        os.makedirs(d, exist_ok=True)
        bad = os.path.join(d, "policies.yaml")
        _write(bad, model.dump_all([policy("bad", "x", {}, ingress=[
            rule("ingress", [{"ipBlock": {"cidr": "10.0.0.0/33"}}])])]))
        self.snap_paths["bad"] = [self.snap_paths["s1"][0], bad]
        before = self.save()
        self.expect_exit(out, self.apply("bad"), 2, "apply with an invalid ipBlock cidr")
        after = self.save()
        if after != before:
            out.fail("a rejected input changed the rules:\n" + _diff(before, after))

    def c_restores_deleted_jump(self, out):
        self.node.exec(["iptables", "-D", "FORWARD", "-j", "POLICYC-FORWARD"])
        if self.expect_exit(out, self.apply("s2"), 0, "apply s2 after the jump was deleted"):
            self.check_state(out, "s2", self.foreign0, "after re-apply")
            self.probe_against_matrix("s2", out)

    def c_collapses_duplicate_jump(self, out):
        self.node.exec(["iptables", "-A", "FORWARD", "-j", "POLICYC-FORWARD"])
        if self.expect_exit(out, self.apply("s1"), 0, "apply s1 with a duplicate jump"):
            self.check_state(out, "s1", self.foreign0, "after apply with a duplicate jump")

    def c_empty_snapshot(self, out):
        if self.expect_exit(out, self.apply("empty"), 0, "apply with no policies"):
            self.check_state(out, "empty", self.foreign0, "after apply of an empty snapshot")
            self.probe_against_matrix("empty", out)


    # --- the same node, now with --ipsets --------------------------------------------------

    def c_ipset_first_apply(self, out):
        if self.expect_exit(out, self.apply("s1", ipsets=True), 0, "apply --ipsets s1"):
            self.check_state(out, "s1", self.foreign0, "after apply --ipsets s1", ipsets=True)
            if not self.check_sets(out, "s1", "after apply --ipsets s1"):
                out.fail("apply --ipsets s1 loaded no sets: the check would prove nothing")
            self.probe_against_matrix("s1", out)

    def c_ipset_idempotent(self, out):
        before = (self.save(), kernel_sets(self.node))
        p = self.apply("s1", ipsets=True, verbose=True)
        if self.expect_exit(out, p, 0, "second apply --ipsets s1"):
            if (self.save(), kernel_sets(self.node)) != before:
                out.fail("applying s1 twice with --ipsets changed the rules or sets")
            summary = p[1].stderr
            if "0 chains loaded" not in summary or "0 created, 0 swapped, 0 updated" not in summary:
                out.fail("the second apply did work it did not need: %s" % summary.strip())

    def c_ipset_churn_equals_full_load(self, out):
        before_chains = [l for l in self.save() if "POLICYC" in l]
        p = self.apply("s1-churn", ipsets=True, verbose=True)
        if not self.expect_exit(out, p, 0, "apply --ipsets after pods moved between peer sets"):
            return
        summary = p[1].stderr.strip()
        m = re.search(r"incremental apply: (\d+) chains? loaded.*sets: (\d+) created, "
                      r"(\d+) swapped, (\d+) updated", summary)
        if not m:
            out.fail("apply --verbose did not report an incremental apply: %r" % summary)
        elif m.group(1) != "0" or int(m.group(4)) + int(m.group(3)) == 0:
            out.fail("a membership-only change should load no chain and update sets: %r" % summary)
        after_chains = [l for l in self.save() if "POLICYC" in l]
        if after_chains != before_chains:
            out.fail("a membership-only change changed POLICYC rules:\n"
                     + _diff(before_chains, after_chains))
        incremental = (self.save(), self.check_sets(out, "s1-churn", "after the incremental apply"))
        self.probe_against_matrix("s1-churn", out)
        if self.expect_exit(out, self.apply("s1-churn", ipsets=True, full=True), 0,
                            "apply --ipsets --full of the same input"):
            full = (self.save(), kernel_sets(self.node))
            if full != incremental:
                out.fail("the incremental apply left the kernel different from a full load:\n"
                         + _diff(incremental[0], full[0])
                         + "\n    sets incremental %s\n    sets full %s" % (incremental[1], full[1]))

    def c_ipset_back_to_rules(self, out):
        if self.expect_exit(out, self.apply("s2"), 0, "apply s2 without --ipsets"):
            self.check_state(out, "s2", self.foreign0, "after going back to plain rules")
            left = kernel_sets(self.node)
            if left:
                out.fail("policyc's sets remain after going back to plain rules: %s" % sorted(left))
            self.probe_against_matrix("s2", out)


    # --- IPv6: apply --family ipv6 next to the IPv4 rules ------------------------------------

    def c_ipv6_beside_ipv4(self, out):
        state6 = self.state + ".ipv6"  # where `--family both --state FILE` keeps IPv6's
        v4_before = self.save()
        cmd, p = self.pc_apply(self.snap_paths["s1"], self.node, node=NODE, state=state6,
                               ipsets=True, family="ipv6")
        if not self.expect_exit(out, (cmd, p), 0, "apply --family ipv6 --ipsets s1"):
            return
        if self.save() != v4_before:
            out.fail("apply --family ipv6 changed the IPv4 rules:\n" + _diff(v4_before, self.save()))
        saved6 = normalize(self.node.exec(["ip6tables-save"]).stdout)
        if forward_jumps(saved6) != 1:
            out.fail("ip6tables FORWARD jumps to POLICYC-FORWARD: %d, expected 1"
                     % forward_jumps(saved6))
        sets = os.path.join(self.tmp, "compiled-sets6.txt")
        text = self.pc.compile(self.snap_paths["s1"], NODE, ipset_out=sets, family="ipv6")
        want = policyc_chains(text.splitlines()).get("filter", set())
        have = policyc_chains(saved6).get("filter", set())
        if want != have:
            out.fail("POLICYC chains in ip6tables differ from `compile --family ipv6` "
                     "(stale: %s, missing: %s)" % (sorted(have - want), sorted(want - have)))
        with open(sets) as f:
            want_sets = script_sets(f.read())
        have_sets = {k: v for k, v in kernel_sets(self.node).items() if k.startswith("POLICYC-6")}
        if not want_sets or want_sets != have_sets:
            out.fail("IPv6 sets in the kernel differ from the compiled ones:\n    compiled %s\n"
                     "    kernel %s" % (want_sets, have_sets))
        self.probe_against_matrix("s1", out, family="ipv6")
        self.saved6 = saved6

    def c_both_families_in_one_call(self, out):
        # IPv4 holds s2 in plain rules, IPv6 s1 with sets: one call brings IPv4 to s1 with sets
        # and finds nothing to do for IPv6.
        cmd, p = self.pc_apply(self.snap_paths["s1"], self.node, node=NODE, state=self.state,
                               ipsets=True, family="both", verbose=True)
        if not self.expect_exit(out, (cmd, p), 0, "apply --family both --ipsets s1"):
            return
        if normalize(self.node.exec(["ip6tables-save"]).stdout) != getattr(self, "saved6", None):
            out.fail("apply --family both changed the IPv6 rules it had already loaded")
        if not re.search(r"ipv6 incremental apply: 0 chains? loaded", p.stderr):
            out.fail("the IPv6 half reloaded what it had: %s" % p.stderr.strip())
        self.check_state(out, "s1", self.foreign0, "after apply --family both", ipsets=True)
        self.probe_against_matrix("s1", out)


    # --- the nft backend: one table replaced in one transaction ------------------------------

    def nft_table(self):
        p = self.node.exec(["nft", "list", "table", "inet", "policyc"], check=False)
        return p.stdout if p.returncode == 0 else None

    def nft_foreign(self):
        return self.node.exec(["nft", "list", "table", "inet", "foreign"]).stdout

    def check_nft(self, out, key, what):
        """The kernel's policyc table has exactly the compiled file's chains and sets; the other
        program's table and the iptables rules are unchanged."""
        text = self.pc.compile_nft(self.snap_paths[key], NODE)
        names = lambda t, kind: {l.split()[1] for l in t.splitlines()
                                 if l.strip().startswith(kind + " ") and l.rstrip().endswith("{")
                                 and l.startswith("\t")}
        table = self.nft_table()
        if table is None:
            out.fail("%s: no table inet policyc in the kernel" % what)
            return
        for kind in ("chain", "set"):
            want, have = names(text, kind), names(table, kind)
            if want != have or not want and kind == "chain":
                out.fail("%s: %ss in the kernel differ from the compiled file (stale: %s, "
                         "missing: %s)" % (what, kind, sorted(have - want), sorted(want - have)))
        if self.nft_foreign() != self.foreign_nft:
            out.fail("%s: the other program's nft table changed" % what)
        if foreign(self.save()) != self.foreign0 or policyc_chains(self.save()):
            out.fail("%s: the iptables rules changed" % what)

    def only_foreign_rules(self):
        """Remove everything policyc loaded in the node (iptables chains of both families, its
        sets, its nft table); other software's rules and tables stay."""
        self.node.exec(["iptables-restore"], input=FOREIGN_RULES)
        self.node.exec(["ip6tables-restore"], input="*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n")
        self.node.exec(["ipset", "destroy"], check=False)
        self.node.exec(["nft", "delete", "table", "inet", "policyc"], check=False)

    def c_nft_first_apply(self, out):
        self.only_foreign_rules()
        self.node.exec(["nft", "-f", "-"], input=FOREIGN_NFT)
        self.foreign_nft = self.nft_foreign()
        if self.expect_exit(out, self.pc_apply(self.snap_paths["s1"], self.node, node=NODE,
                                               backend="nft"), 0, "apply --backend nft s1"):
            self.check_nft(out, "s1", "after apply --backend nft s1")
            self.probe_against_matrix("s1", out)
            self.probe_against_matrix("s1", out, family="ipv6")

    def c_nft_idempotent(self, out):
        before = self.nft_table()
        if self.expect_exit(out, self.pc_apply(self.snap_paths["s1"], self.node, node=NODE,
                                               backend="nft"), 0, "second apply --backend nft"):
            if self.nft_table() != before:
                out.fail("applying s1 twice with --backend nft changed the table:\n"
                         + _diff((before or "").splitlines(), (self.nft_table() or "").splitlines()))

    def c_nft_change_replaces_table(self, out):
        if self.expect_exit(out, self.pc_apply(self.snap_paths["s2"], self.node, node=NODE,
                                               backend="nft"), 0, "apply --backend nft s2"):
            self.check_nft(out, "s2", "after apply --backend nft s2 (s1 was in force)")
            self.probe_against_matrix("s2", out)

    def c_nft_failed_load_keeps_table(self, out):
        before = self.nft_table()
        # nft gets the real file with a defect in the last chain: one nft's parser refuses, and
        # one only the kernel refuses inside the transaction (the base chain jumps into a chain
        # that jumps to itself: ELOOP), after the transaction's delete of the old table. Either
        # way the whole transaction must fail and the table in force stay.
        defects = {
            "parser": "{ sed '$d'; printf '\\tchain broken {\\n\\t\\tip saddr nonsense drop"
                      "\\n\\t}\\n}\\n'; }",
            "kernel": "{ sed '$d; s/jump v6-FORWARD$/jump broken/'; printf '\\tchain broken {"
                      "\\n\\t\\tjump broken\\n\\t}\\n}\\n'; }",
        }
        for what, script in sorted(defects.items()):
            wrapper = os.path.join(self.tmp, "bad-nft-" + what)
            _write(wrapper, "#!/bin/sh\n[ \"$1\" = -f ] || exec nft \"$@\"\n%s | nft -f -\n" % script)
            os.chmod(wrapper, 0o755)
            cmd, p = self.pc.run(["apply", "--backend", "nft", "--force", "--node", NODE, "--nft", wrapper]
                                 + self.snap_paths["s1"], netns=self.node)
            if self.expect_exit(out, (cmd, p), 2, "apply --backend nft, file refused by the " + what):
                if self.nft_table() != before:
                    out.fail("a file refused by the %s changed the table in force" % what)
        self.probe_against_matrix("s2", out)

    def c_nft_dry_run_changes_nothing(self, out):
        before = self.nft_table()
        cmd, p = self.pc.run(["apply", "--backend", "nft", "--dry-run", "--node", NODE]
                             + self.snap_paths["s1"], netns=self.node)
        if self.expect_exit(out, (cmd, p), 0, "apply --backend nft --dry-run"):
            if "delete table inet policyc" not in p.stdout:
                out.fail("--dry-run did not print the nft file: %r" % p.stdout[:300])
            if self.nft_table() != before:
                out.fail("--dry-run changed the table")


    # --- --log-denied: what an NFLOG listener in the node sees ----------------------------------

    def load_logging(self, backend, family, rate="1000/second", audit=False):
        """Only policyc's rules for snapshot `log`, compiled with --log-denied (or with
        --deny audit, which logs without it), in the node."""
        self.only_foreign_rules()
        args = ["compile", "--node", NODE] + (["--deny", "audit"] if audit else ["--log-denied"])
        args += ["--log-group", str(LOG_GROUP), "--log-rate", rate]
        args += ["--backend", "nft"] if backend == "nft" else ["--family", family]
        cmd, p = self.pc.run(args + self.snap_paths["log"])
        if p.returncode != 0:
            raise SetupError("%s failed: %s" % (" ".join(cmd), p.stderr.strip()))
        tool = {"nft": ["nft", "-f", "-"], "ipv4": ["iptables-restore", "--noflush"],
                "ipv6": ["ip6tables-restore", "--noflush"]}["nft" if backend == "nft" else family]
        self.node.exec(tool, input=p.stdout)
        self.topo.flush_conntrack()

    def logged(self, family, probes):
        """Sends `probes` ((src, dst, proto, port), one packet each, in order) over `family`
        with an NFLOG listener bound in the node; returns (entries it printed, probe results)."""
        listener = subprocess.Popen(
            ["ip", "netns", "exec", self.node.name, "python3",
             os.path.join(os.path.dirname(os.path.abspath(__file__)), "nflog.py"), str(LOG_GROUP)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        results = []
        try:
            if listener.stdout.readline().strip() != "ready":
                raise SetupError("nflog listener did not start: %s" % listener.stderr.read())
            self.topo.family = family
            ips = self.topo.endpoints()
            for n, (src, dst, proto, port) in enumerate(probes):
                reply = self.topo.agents[src].request({"op": "probe", "timeout": 1.5, "probes": [
                    {"id": str(n), "proto": proto, "dst": ips[dst], "port": port, "tag": 9000 + n}]})
                results.append(reply["results"][str(n)])
            time.sleep(0.3)
        finally:
            self.topo.family = "ipv4"
            try:
                out, err = listener.communicate(input="", timeout=10)  # EOF on stdin ends it
            except subprocess.TimeoutExpired:
                listener.kill()
                out, err = listener.communicate()
        if listener.returncode != 0:
            raise SetupError("nflog listener exited %d: %s" % (listener.returncode, err.strip()[-800:]))
        return [json.loads(l) for l in out.splitlines() if l.strip()], results

    def check_logging(self, out, backend, family):
        self.load_logging(backend, family)
        self.topo.family = family
        ips = self.topo.endpoints()
        self.topo.family = "ipv4"
        denied = [("y/b", "x/a", "udp", 80, "policyc:in:x/a"), ("x/c", "y/b", "udp", 81, "policyc:eg:x/c")]
        if family == "ipv4":
            # Over IPv6 the kernel retransmits a rejected SYN once (see README): two entries.
            denied.append(("y/b", "x/a", "tcp", 81, "policyc:in:x/a"))
        allowed = [("y/b", "x/b", "udp", 80), ("y/b", "x/b", "tcp", 80), ("x/a", "y/b", "udp", 80)]
        probes = [d[:4] for d in denied] + allowed
        entries, results = self.logged(family, probes)
        out.probes += len(probes)
        for (src, dst, proto, port), (arrived, detail) in zip(probes, results):
            if bool(arrived) != ((src, dst, proto, port) in allowed):
                out.fail("%s %s: %s -> %s %s/%s %s (%s)" % (backend, family, src, dst, port, proto,
                         "arrived" if arrived else "was blocked", detail))
        want = sorted((p, ips[s], ips[d], pr, po, family) for s, d, pr, po, p in denied)
        have = sorted((e.get("prefix"), e.get("src"), e.get("dst"), e.get("proto"), e.get("dport"),
                       e.get("family")) for e in entries)
        if want != have:
            out.fail("%s %s: NFLOG group %d saw\n    %s\nexpected exactly\n    %s"
                     % (backend, family, LOG_GROUP, "\n    ".join(map(str, have)) or "(nothing)",
                        "\n    ".join(map(str, want))))

    def c_iptables_ipv4(self, out):
        self.check_logging(out, "iptables", "ipv4")

    def c_iptables_ipv6(self, out):
        self.check_logging(out, "iptables", "ipv6")

    def c_nft_ipv4(self, out):
        self.check_logging(out, "nft", "ipv4")

    def c_nft_ipv6(self, out):
        self.check_logging(out, "nft", "ipv6")

    def check_audit(self, out, backend, family):
        """--deny audit: what would be denied is logged as --log-denied logs it, then let
        through (TCP too: the SYN passes, so no retransmit logs twice)."""
        self.load_logging(backend, family, audit=True)
        self.topo.family = family
        ips = self.topo.endpoints()
        self.topo.family = "ipv4"
        would_deny = [("y/b", "x/a", "udp", 80, "policyc:in:x/a"), ("x/c", "y/b", "udp", 81, "policyc:eg:x/c"),
                      ("y/b", "x/a", "tcp", 81, "policyc:in:x/a"), ("x/c", "y/b", "tcp", 80, "policyc:eg:x/c")]
        allowed = [("y/b", "x/b", "udp", 80), ("y/b", "x/b", "tcp", 80), ("x/a", "y/b", "udp", 80)]
        probes = [d[:4] for d in would_deny] + allowed
        entries, results = self.logged(family, probes)
        out.probes += len(probes)
        for (src, dst, proto, port), (arrived, detail) in zip(probes, results):
            if not arrived:
                out.fail("%s %s --deny audit: %s -> %s %s/%s was blocked (%s)"
                         % (backend, family, src, dst, port, proto, detail))
        want = sorted((p, ips[s], ips[d], pr, po, family) for s, d, pr, po, p in would_deny)
        have = sorted((e.get("prefix"), e.get("src"), e.get("dst"), e.get("proto"), e.get("dport"),
                       e.get("family")) for e in entries)
        if want != have:
            out.fail("%s %s --deny audit: NFLOG group %d saw\n    %s\nexpected exactly\n    %s"
                     % (backend, family, LOG_GROUP, "\n    ".join(map(str, have)) or "(nothing)",
                        "\n    ".join(map(str, want))))

    def c_audit_iptables_ipv4(self, out):
        self.check_audit(out, "iptables", "ipv4")

    def c_audit_iptables_ipv6(self, out):
        self.check_audit(out, "iptables", "ipv6")

    def c_audit_nft_ipv4(self, out):
        self.check_audit(out, "nft", "ipv4")

    def c_audit_nft_ipv6(self, out):
        self.check_audit(out, "nft", "ipv6")

    def check_rate_limit(self, out, backend):
        self.load_logging(backend, "ipv4", rate="1/hour")
        entries, _ = self.logged("ipv4", [("y/b", "x/a", "udp", 80)] * 8)
        out.probes += 8
        if len(entries) != 5 or any(e.get("prefix") != "policyc:in:x/a" for e in entries):
            out.fail("%s: 8 denied packets at --log-rate 1/hour gave %d entries (%s), expected "
                     "the burst of 5" % (backend, len(entries), entries[:8]))

    def c_rate_limit_iptables(self, out):
        self.check_rate_limit(out, "iptables")

    def c_rate_limit_nft(self, out):
        self.check_rate_limit(out, "nft")

    def admin_snapshots(self):
        """a1: an ANP allowing y into x on TCP 80 (priority 10) over a NetworkPolicy that
        isolates x; an ANP passing x's own traffic to that NetworkPolicy, denying z, and denying
        egress to the external host (priority 20); the baseline denying ingress into y.
        a2: the priorities swapped (the Pass now comes first) and the egress Deny an Allow."""
        import admin as A
        deny_x = policy("deny-x", "x", {}, types=["Ingress"])
        base = A.banp(A.ns_subject(A.ns("y")), ingress=[A.in_rule("deny-all", "Deny", [A.namespaces({})])])

        def tiers(allow_priority, tiers_priority, egress_action):
            return [
                A.anp("allow-y-web", allow_priority, A.ns_subject(A.ns("x")),
                      ingress=[A.in_rule("web", "Allow", [A.namespaces(A.ns("y"))],
                                         [A.number("TCP", 80)])]),
                A.anp("tiers", tiers_priority, A.ns_subject({}),
                      ingress=[A.in_rule("pass-x", "Pass", [A.namespaces(A.ns("x"))]),
                               A.in_rule("deny-z", "Deny", [A.namespaces(A.ns("z"))]),
                               A.in_rule("pass-y", "Pass", [A.namespaces(A.ns("y"))])],
                      egress=[A.out_rule("ext", egress_action, [A.networks(self.plan.ext)])]),
                base, deny_x]
        return {"a1": tiers(10, 20, "Deny"), "a2": tiers(20, 10, "Allow")}

    def check_admin(self, out, backend):
        self.only_foreign_rules()
        def apply(key, step):
            if backend == "nft":
                return self.pc_apply(self.snap_paths[key], self.node, node=NODE, backend="nft")
            # The first one full: the state file still describes the earlier checks' rules.
            return self.apply(key, full=step == 0)
        for step, key in enumerate(["a1", "a1", "a2"]):
            before = self.nft_table() if backend == "nft" else self.save()
            if not self.expect_exit(out, apply(key, step), 0, "apply %s (%s)" % (key, backend)):
                return
            if step == 1:
                after = self.nft_table() if backend == "nft" else self.save()
                if after != before:
                    out.fail("%s: applying a1 twice changed the kernel" % backend)
                continue
            what = "after apply %s (%s)" % (key, backend)
            if backend == "nft":
                self.check_nft(out, key, what)
                self.probe_against_matrix(key, out, family="ipv6")
            else:
                self.check_state(out, key, self.foreign0, what)
            self.probe_against_matrix(key, out)

    def c_admin_tiers_iptables(self, out):
        self.check_admin(out, "iptables")

    def c_admin_tiers_nft(self, out):
        self.check_admin(out, "nft")


def _diff(a, b):
    import difflib
    d = list(difflib.unified_diff(a, b, "before", "after", lineterm="", n=1))
    return "\n".join("    " + l for l in d[:60]) + ("\n    ..." if len(d) > 60 else "")


def run(pc, tmp, stop):
    runner = ApplyRunner(pc, tmp, stop)
    try:
        return runner.run()
    except SetupError as e:
        out = Outcome("apply/setup", "routed")
        out.fail("could not build the apply topology: %s" % e)
        return [out]
    finally:
        if runner.pool:
            runner.pool.shutdown(wait=False)
        runner.topo.teardown()

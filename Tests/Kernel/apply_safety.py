"""The apply checks that make `policyc apply` safe to run on a node (apply/...), mixed into
apply_tests.ApplyRunner and run in its sequence:
  - large drops: an apply that would unenforce more than half of the enforced pods exits 2,
    names them, and leaves iptables-save, ipset and nft byte for byte as they were;
  - feedback: one summary line on success ("no change" when there is none), nothing with
    --quiet, "nothing to do" from a dry run with nothing to do;
  - all or nothing with sets: an `ipset` wrapper (--ipset PROG) fails on its Nth call, for
    every N up to the number of calls an apply with set swaps, member deltas and stale-set
    removal makes; each time apply exits 2 and the kernel (iptables-save, `ipset list` with
    members) and the state file are exactly as before, with no temporary set left. The same
    when iptables-restore fails after the sets were committed;
  - both backends at once: iptables while table inet policyc is loaded, and nft while POLICYC
    chains or sets are loaded, are refused with exit 2 and nothing changes;
  - `policyc remove` (the nft check runs its other spelling, `policyc apply --remove`): deletes
    policyc's nft table, chains and FORWARD jumps (iptables and ip6tables), sets and state
    files, next to kube-proxy-like rules and another nft table that stay; a second run and a run on a clean node change
    nothing and exit 0.
"""

import os
import re
import shutil

import netns

SAFETY_CHECKS = {
    # check name -> the existing check it runs after
    "apply/large-drop-refused": "apply/idempotent",
    "apply/feedback": "apply/large-drop-refused",
    "apply/ipset-fails-at-every-call": "apply/ipset-churn-equals-full-load",
    "apply/ipset-rollback-when-rules-fail": "apply/ipset-fails-at-every-call",
    "apply/both-families-all-or-nothing": "apply/both-families-in-one-call",
    "apply/nft-feedback": "apply/nft-idempotent",
    "apply/iptables-refused-while-nft-loaded": "apply/nft-dry-run-changes-nothing",
    "apply/nft-refused-while-iptables-loaded": "apply/admin-tiers-iptables",
    "apply/nft-large-drop-refused": "apply/admin-tiers-nft",
    "apply/remove-nft": "apply/nft-large-drop-refused",
    "apply/remove-iptables-both-families": "apply/remove-nft",
    "apply/remove-twice-and-clean-node": "apply/remove-iptables-both-families",
}


def ordered(names):
    """The check names with the safety checks placed after the ones they build on."""
    out = list(names)
    for name, after in SAFETY_CHECKS.items():
        out.insert(out.index(after) + 1, name)
    return out


def normalize(save_text):
    """iptables-save's lines without its comment lines and with the chains' packet counters
    zeroed: traffic moves those (IPv6 neighbour discovery, other probes) while no rule changes."""
    return [re.sub(r"\[\d+:\d+\]", "[0:0]", l) for l in save_text.splitlines()
            if not l.startswith("#")]


def _saved_rules(text):
    return "\n".join(normalize(text))


class SafetyChecks:
    """Methods of ApplyRunner (self.node, self.pc, self.apply, ... come from there)."""

    def picture(self):
        """Everything of the node's netfilter state a failed apply must not change: both
        families' iptables (all but the packet counters), every ipset with header and members,
        the nft tables of family inet (policyc's and the other program's; iptables-nft's own
        tables are what iptables-save shows, and their packet counters move with traffic)."""
        ex = lambda cmd: self.node.exec(cmd, check=False).stdout
        return {"iptables": _saved_rules(ex(["iptables-save"])),
                "ip6tables": _saved_rules(ex(["ip6tables-save"])),
                "ipset": ex(["ipset", "list"]),
                "nft": ex(["nft", "list", "ruleset", "inet"])}

    def same_picture(self, out, before, what):
        after = self.picture()
        for k in sorted(before):
            if before[k] != after[k]:
                out.fail("%s: %s changed:\n%s" % (what, k, _diff_lines(before[k], after[k])))
        return after

    # --- large drops ------------------------------------------------------------------

    def c_large_drop_refused(self, out):
        # With the state file, and without (--full ignores it): the enforced pods are read
        # from the kernel either way.
        for extra in ([], ["--full"]):
            before = self.picture()
            cmd, p = self.apply("empty", force=False, extra=extra)
            what = "apply %sof a snapshot without policies, no --force" % " ".join(extra + [""])
            if self.expect_exit(out, (cmd, p), 2, what):
                self.check_drop_message(out, p.stderr, what)
            self.same_picture(out, before, what)

    def check_drop_message(self, out, stderr, what):
        m = re.search(r"remove enforcement from (\d+) of the (\d+) pods enforced on this node "
                      r"\(more than half\): ([^;]*); nothing changed", stderr)
        if not m:
            out.fail("%s: the refusal does not say which pods: %r" % (what, stderr))
        elif m.group(1) != m.group(2) or "x/a" not in m.group(3) or "--force" not in stderr:
            out.fail("%s: the refusal names the wrong pods or no way out: %r" % (what, stderr))

    def c_nft_large_drop_refused(self, out):
        before = self.picture()
        if self.nft_table() is None:
            out.fail("no policyc table: the check would prove nothing")
        what = "apply --backend nft of no policies, no --force"
        cmd, p = self.pc_apply(self.snap_paths["empty"], self.node, node=NODE_NAME,
                               backend="nft", force=False)
        if self.expect_exit(out, (cmd, p), 2, what):
            self.check_drop_message(out, p.stderr, what)
        self.same_picture(out, before, what)

    # --- feedback ---------------------------------------------------------------------

    def c_feedback(self, out):
        cmd, p = self.apply("s1")
        if self.expect_exit(out, (cmd, p), 0, "apply s1 again"):
            if p.stdout != "policyc: ipv4: no change\n":
                out.fail("an apply that changes nothing printed %r, expected "
                         "'policyc: ipv4: no change'" % p.stdout)
        cmd, p = self.apply("s1", extra=["--quiet"])
        if self.expect_exit(out, (cmd, p), 0, "apply --quiet s1") and (p.stdout or p.stderr):
            out.fail("apply --quiet printed %r / %r" % (p.stdout, p.stderr))
        cmd, p = self.apply("s1", dry_run=True)
        if self.expect_exit(out, (cmd, p), 0, "apply --dry-run s1") and "nothing to do" not in p.stdout:
            out.fail("a dry run with nothing to do printed %r" % p.stdout)
        before = self.picture()
        cmd, p = self.apply("s2")
        if self.expect_exit(out, (cmd, p), 0, "apply s2"):
            lines = p.stdout.splitlines()
            if len(lines) != 1 or not re.match(r"policyc: ipv4: (full|incremental) apply, loaded "
                                               r"\d+ chains?, removed \d+", lines[0]):
                out.fail("a changing apply printed %r, expected one summary line" % p.stdout)
        if self.expect_exit(out, self.apply("s1"), 0, "apply s1 after s2"):
            self.check_state(out, "s1", self.foreign0, "after apply s1 (s2 was in force)")

    def c_nft_feedback(self, out):
        cmd, p = self.pc_apply(self.snap_paths["s1"], self.node, node=NODE_NAME, backend="nft")
        if self.expect_exit(out, (cmd, p), 0, "apply --backend nft s1 again"):
            if p.stdout != "policyc: nft: no change\n":
                out.fail("an nft apply that changes nothing printed %r" % p.stdout)
        cmd, p = self.pc_apply(self.snap_paths["s1"], self.node, node=NODE_NAME, backend="nft",
                               extra=["--quiet"])
        if self.expect_exit(out, (cmd, p), 0, "apply --backend nft --quiet") and p.stdout:
            out.fail("apply --backend nft --quiet printed %r" % p.stdout)

    # --- all or nothing, sets included ------------------------------------------------

    def ipset_wrapper(self, fail_at, tag):
        """An ipset that logs its calls and fails (exit 1, doing nothing) on call `fail_at`."""
        d = os.path.join(self.tmp, "ipset-wrap-%s-%d" % (tag, fail_at))
        os.makedirs(d, exist_ok=True)
        real = shutil.which("ipset") or "/usr/sbin/ipset"
        path = os.path.join(d, "ipset")
        with open(path, "w") as f:
            f.write("#!/bin/sh\nc=%s/count\nn=$(( $(cat $c 2>/dev/null || echo 0) + 1 ))\n"
                    "echo $n > $c\necho \"$n $*\" >> %s/log\n"
                    "if [ $n -eq %d ]; then cat >/dev/null; echo \"injected failure on call $n\" >&2;"
                    " exit 1; fi\nexec %s \"$@\"\n" % (d, d, fail_at, real))
        os.chmod(path, 0o755)
        return path, d

    def setup_set_transaction(self):
        """From s1-churn with sets (and its state file): the apply of s1-plus (s1 and one more
        policy) with sets loads new chains, updates members in place, swaps the set whose
        record is left out of the state, and removes a stale set. Returns the state text that
        apply gets each time."""
        self.node.exec(["ipset", "create", "POLICYC-4STALE-LEFTOVER", "hash:net", "family", "inet"])
        self.node.exec(["ipset", "add", "POLICYC-4STALE-LEFTOVER", "10.123.0.0/16"])
        with open(self.state) as f:
            lines = f.read().splitlines(True)
        names = [l.split()[1] for l in lines if l.startswith("set ")]
        if not names:
            return None
        drop = names[0]
        # The kernel now holds the leftover set too: the state describes it (fingerprint).
        saved = self.node.exec(["iptables-save", "-t", "filter"]).stdout
        sets = self.node.exec(["ipset", "list", "-n"]).stdout.split()
        print_ = "fingerprint %s\n" % fingerprint(saved, [n for n in sets if not n.startswith("POLICYC-6")])
        return "".join(print_ if l.startswith("fingerprint ") else l for l in lines
                       if l.split()[:2] not in (["set", drop], ["member", drop]))

    def c_ipset_fails_at_every_call(self, out):
        state = self.setup_set_transaction()
        if state is None:
            out.fail("the state file lists no sets: nothing to swap")
            return
        before = self.picture()
        n, calls = 0, None
        while calls is None and n < 40:
            n += 1
            with open(self.state, "w") as f:
                f.write(state)
            wrapper, d = self.ipset_wrapper(n, "every")
            cmd, p = self.apply("s1-plus", ipsets=True, verbose=True, extra=["--ipset", wrapper])
            if p.returncode == 0:
                calls = n - 1
                break
            if not self.expect_exit(out, (cmd, p), 2, "apply with ipset failing on call %d" % n):
                return
            if ("injected failure on call %d" % n not in p.stderr
                    or not re.search(r"rolled back|nothing changed", p.stderr)):
                out.fail("call %d: the error does not say what failed and that it was rolled back: %r"
                         % (n, p.stderr.strip()))
            self.same_picture(out, before, "ipset failing on call %d" % n)
            with open(self.state) as f:
                if f.read() != state:
                    out.fail("ipset failing on call %d changed the state file" % n)
            left = [l for l in self.picture()["ipset"].splitlines()
                    if l.startswith("Name: POLICYC") and l.endswith(("-T", "-R"))]
            if left:
                out.fail("ipset failing on call %d left temporary sets: %s" % (n, left))
        if calls is None:
            out.fail("apply never succeeded with a failing ipset")
            return
        m = re.search(r"sets: (\d+) created, (\d+) swapped, (\d+) updated, (\d+) removed", p.stderr)
        if not m or m.group(2) == "0" or m.group(3) == "0" or m.group(4) == "0":
            out.fail("the apply under test did not swap, update and remove sets: %r" % p.stderr)
        with open(os.path.join(d, "log")) as f:
            log = f.read()
        if calls < 4:
            out.fail("only %d ipset calls: expected save, prepare, commit and cleanup\n%s" % (calls, log))
        out.steps = calls + 1
        if not re.search(r"apply: [1-9]\d* chains? loaded", p.stderr):
            out.fail("the apply under test loaded no chain: the rules rollback is not exercised")
        self.check_state(out, "s1-plus", self.foreign0, "after the apply that succeeded", ipsets=True)
        self.check_sets(out, "s1-plus", "after the apply that succeeded")

    def c_ipset_rollback_when_rules_fail(self, out):
        """The sets are committed (swaps and deltas), then iptables-restore fails: the sets go
        back to what they were."""
        state = self.setup_set_transaction()
        with open(self.state, "w") as f:
            f.write(state)
        before = self.picture()
        d = os.path.join(self.tmp, "restore-fails")
        os.makedirs(d, exist_ok=True)
        wrapper = os.path.join(d, "iptables-restore")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nif [ ! -e %s/failed ]; then touch %s/failed; cat >/dev/null; "
                    "echo 'injected failure' >&2; exit 1; fi\nexec iptables-restore \"$@\"\n" % (d, d))
        os.chmod(wrapper, 0o755)
        cmd, p = self.apply("s1-churn", ipsets=True, extra=["--iptables-restore", wrapper])
        if self.expect_exit(out, (cmd, p), 2, "apply with iptables-restore failing"):
            if "rolled back" not in p.stderr:
                out.fail("no rollback reported: %r" % p.stderr)
        self.same_picture(out, before, "iptables-restore failing after the set commit")
        with open(self.state) as f:
            if f.read() != state:
                out.fail("the failed apply changed the state file")
        self.node.exec(["ipset", "destroy", "POLICYC-4STALE-LEFTOVER"], check=False)

    def c_both_families_all_or_nothing(self, out):
        """--family both: IPv4 is loaded, then ip6tables-restore fails; IPv4 goes back too, and
        neither state file changes."""
        states = [self.state, self.state + ".ipv6"]
        saved = {}
        for path in states:
            with open(path) as f:
                saved[path] = f.read()
        d = os.path.join(self.tmp, "ip6-restore-fails")
        os.makedirs(d, exist_ok=True)
        wrapper = os.path.join(d, "ip6tables-restore")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\ntouch %s/called\ncat >/dev/null\necho 'injected failure' >&2\nexit 1\n" % d)
        os.chmod(wrapper, 0o755)
        env = dict(os.environ, PATH=d + ":" + os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"))
        before = self.picture()
        cmd, p = self.pc_apply(self.snap_paths["s2"], self.node, node=NODE_NAME, state=self.state,
                               ipsets=True, family="both", env=env, verbose=True)
        if not os.path.exists(os.path.join(d, "called")):
            out.fail("ip6tables-restore from PATH was never run: nothing was injected (%r)" % p.stderr)
        if self.expect_exit(out, (cmd, p), 2, "apply --family both with ip6tables-restore failing"):
            if "ipv4 rolled back" not in p.stderr:
                out.fail("the IPv4 half was not reported rolled back: %r" % p.stderr)
        self.same_picture(out, before, "apply --family both with the IPv6 half failing")
        for path in states:
            with open(path) as f:
                if f.read() != saved[path]:
                    out.fail("the failed apply changed %s" % path)

    # --- both backends ----------------------------------------------------------------

    def c_iptables_refused_while_nft_loaded(self, out):
        before = self.picture()
        cmd, p = self.apply("s1")
        if self.expect_exit(out, (cmd, p), 2, "apply --backend iptables while nft is loaded"):
            if "table inet policyc" not in p.stderr or "policyc remove" not in p.stderr:
                out.fail("the refusal does not say what is loaded and how to remove it: %r"
                         % p.stderr)
        self.same_picture(out, before, "a refused iptables apply")

    def c_nft_refused_while_iptables_loaded(self, out):
        before = self.picture()
        cmd, p = self.pc_apply(self.snap_paths["a1"], self.node, node=NODE_NAME, backend="nft")
        if self.expect_exit(out, (cmd, p), 2, "apply --backend nft while iptables is loaded"):
            if "POLICYC chain" not in p.stderr or "policyc remove" not in p.stderr:
                out.fail("the refusal does not say what is loaded and how to remove it: %r"
                         % p.stderr)
        self.same_picture(out, before, "a refused nft apply")

    # --- remove -----------------------------------------------------------------------

    def remove(self, node=None, via_apply=False):
        """`policyc remove`, or with via_apply its other spelling `policyc apply --remove`."""
        command = ["apply", "--remove"] if via_apply else ["remove"]
        return self.pc.run(command + ["--state", self.state], netns=node or self.node)

    def c_remove_nft(self, out):
        if self.nft_table() is None:
            out.fail("no policyc table before remove: the check would prove nothing")
        cmd, p = self.remove(via_apply=True)
        if self.expect_exit(out, (cmd, p), 0, "policyc apply --remove (nft)"):
            if not p.stdout.startswith("policyc: removed table inet policyc"):
                out.fail("remove printed %r" % p.stdout)
        if self.nft_table() is not None:
            out.fail("table inet policyc is still loaded after remove")
        if self.nft_foreign() != self.foreign_nft:
            out.fail("remove changed the other program's nft table")
        if foreign_of(self.save()) != self.foreign0 or "POLICYC" in "\n".join(self.save()):
            out.fail("remove changed the iptables rules")

    def c_remove_iptables_both_families(self, out):
        cmd, p = self.pc_apply(self.snap_paths["s1"], self.node, node=NODE_NAME, state=self.state,
                               ipsets=True, family="both")
        if not self.expect_exit(out, (cmd, p), 0, "apply --family both --ipsets s1"):
            return
        pic = self.picture()
        if "POLICYC" not in pic["ip6tables"] or "Name: POLICYC" not in pic["ipset"]:
            out.fail("apply --family both loaded no IPv6 rules or no sets: remove proves nothing")
        states = [self.state, self.state + ".ipv6"]
        if not all(os.path.exists(s) for s in states):
            out.fail("apply wrote no state files %s: remove proves nothing about them" % states)
        cmd, p = self.remove()
        if self.expect_exit(out, (cmd, p), 0, "policyc remove (iptables)"):
            if not re.match(r"policyc: removed \d+ chains in iptables, \d+ chains in ip6tables, "
                            r"\d+ ipsets?, 2 state files\n$", p.stdout):
                out.fail("remove printed %r" % p.stdout)
        after = self.picture()
        for k in ("iptables", "ip6tables", "ipset"):
            if "POLICYC" in after[k]:
                out.fail("policyc's %s remain after remove" % k)
        if foreign_of(self.save()) != self.foreign0:
            out.fail("remove changed other software's iptables rules")
        if self.nft_foreign() != self.foreign_nft:
            out.fail("remove changed the other program's nft table")
        left = [s for s in states if os.path.exists(s)]
        if left:
            out.fail("state files remain after remove: %s" % left)
        self.after_remove = after

    def c_remove_twice_and_clean_node(self, out):
        cmd, p = self.remove()
        if self.expect_exit(out, (cmd, p), 0, "policyc remove a second time"):
            if not p.stdout.startswith("policyc: nothing to remove"):
                out.fail("a second remove printed %r" % p.stdout)
        self.same_picture(out, getattr(self, "after_remove", self.picture()), "a second remove")
        clean = netns.Netns.create("ap-clean")
        before = {k: clean.exec(c, check=False).stdout for k, c in
                  (("iptables", ["iptables-save"]), ("ipset", ["ipset", "list"]),
                   ("nft", ["nft", "list", "ruleset"]))}
        cmd, p = self.remove(node=clean)
        if self.expect_exit(out, (cmd, p), 0, "policyc remove on a clean node"):
            if not p.stdout.startswith("policyc: nothing to remove"):
                out.fail("remove on a clean node printed %r" % p.stdout)
        for k, c in (("iptables", ["iptables-save"]), ("ipset", ["ipset", "list"]),
                     ("nft", ["nft", "list", "ruleset"])):
            if _saved_rules(clean.exec(c, check=False).stdout) != _saved_rules(before[k]):
                out.fail("remove on a clean node changed %s" % k)


NODE_NAME = "node-1"


def fingerprint(saved, set_names):
    """ApplyState.fingerprint: FNV-1a and MurmurHash3's finaliser over policyc's rule lines
    (sorted, without quotes) and set names, as policyc writes it into the state file."""
    lines = sorted(l.replace('"', "") for l in saved.split("\n") if l.startswith("-A POLICYC-"))
    names = sorted(n for n in set_names if n.startswith("POLICYC-"))
    h, m = 0xcbf29ce484222325, (1 << 64) - 1
    for b in "\n".join(lines + ["--sets--"] + names).encode():
        h = ((h ^ b) * 0x100000001b3) & m
    for k in (0xff51afd7ed558ccd, 0xc4ceb9fe1a85ec53):
        h = ((h ^ (h >> 33)) * k) & m
    h ^= h >> 33
    return "%x" % h


def foreign_of(lines):
    return [l for l in lines if "POLICYC" not in l]


def _diff_lines(a, b):
    import difflib
    d = list(difflib.unified_diff(a.splitlines(), b.splitlines(), "before", "after", lineterm="", n=1))
    return "\n".join("    " + l for l in d[:40]) + ("\n    ..." if len(d) > 40 else "")

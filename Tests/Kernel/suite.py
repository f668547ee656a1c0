"""Running one case (all its steps) on one topology, and the machinery checks.

Per step: write the cluster and policy YAML, ask `policyc matrix` for the reference verdict (once
per step and topology family: the rules, ipset and nft runs share it), compile per node, load
with `iptables-restore --noflush` (the first step of a case starts from an empty filter table;
later steps reload over the previous one, as an update would), flush conntrack so no earlier
connection masks a new deny (load, flush and reset are one shell per node), probe every ordered
pair on every port/protocol, and compare: every probe must end in the status its verdict
predicts (probe.py: arrived; rejected by policyc's REJECT; or, for --deny drop cases, timeout).
Cases with a hand expectation are checked against it too, for both the kernel and the matrix.

The machinery checks use hand-written rules instead of policyc, to prove that the probes can see
an arrival and a REJECT on every protocol in this topology before any verdict is trusted, and
(broken-route) that a timeout or another error is never taken for a REJECT.
"""

import os
import re
import threading
import time
from contextlib import contextmanager

import model
import probe
from netns import EXT_IP, SetupError
from policyc import ContractError

MAX_MISMATCHES_SHOWN = 12

# Wall time per phase of a step, summed over all units (printed with --profile).
PROFILE = {}
_profile_lock = threading.Lock()


@contextmanager
def phase(name):
    t = time.monotonic()
    try:
        yield
    finally:
        with _profile_lock:
            total, count = PROFILE.get(name, (0.0, 0))
            PROFILE[name] = (total + time.monotonic() - t, count + 1)

MAX_RULE_LINES_SHOWN = 150


class Outcome:
    """Result of one case on one topology."""

    def __init__(self, name, topology):
        self.name, self.topology = name, topology
        self.failures = []     # human-readable blocks
        self.probes = 0
        self.expected_allowed = 0
        self.steps = 0

    @property
    def passed(self):
        return not self.failures

    def fail(self, text):
        self.failures.append(text)


def safe_name(name):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:150]


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def restore_tool(topo):
    return "ip6tables-restore" if topo.family == "ipv6" else "iptables-restore"


def load_and_flush(topo, node, mode, rules_path, sets_path=None, reset=False):
    """Load one node's compiled files and flush its conntrack table, in one shell in the node
    namespace: `ipset restore` (mode ipset) then `iptables-restore --noflush` (or
    ip6tables-restore), or `nft -f` (mode nft, one transaction that replaces table inet
    policyc). With reset, the node's tables and sets are emptied first (a case's first step
    starts from an empty filter table). A loader that refuses policyc's output is a
    ContractError (the case fails); a reset or conntrack failure is a SetupError."""
    lines = [topo.RESET_SCRIPT] if reset else []
    if sets_path:
        lines.append("ipset restore < '%s' || exit 20" % sets_path)
    if mode == "nft":
        lines.append("nft -f '%s' || exit 22" % rules_path)
    else:
        lines.append("%s --noflush < '%s' || exit 21" % (restore_tool(topo), rules_path))
    lines += ["conntrack -F -f ipv4 2>&1 >/dev/null || exit 10",
              "conntrack -F -f ipv6 2>&1 >/dev/null || exit 11"]
    p = topo.nodes[node].exec(["sh", "-c", "\n".join(lines) + "\n"], check=False)
    if p.returncode == 0:
        return
    story = (p.stderr or p.stdout).strip()
    tool = {20: "ipset restore", 21: restore_tool(topo) + " --noflush", 22: "nft -f"}
    if p.returncode in tool:
        raise ContractError("%s rejected the compiled %s for %s (%s)\nexit: %s"
                            % (tool[p.returncode], "sets" if p.returncode == 20 else "rules",
                               node, sets_path if p.returncode == 20 else rules_path, story))
    raise SetupError("loading and flushing conntrack on %s: exit %d: %s"
                     % (node, p.returncode, story))


# The reference verdict of a step depends only on its inputs (and the topology's addresses,
# which are in the cluster file), not on the mode: the rules, ipset and nft runs of a step
# share one `policyc matrix` call.
_matrix_cache = {}
_matrix_lock = threading.Lock()


def cached_matrix(pc, paths, topo, port_keys):
    texts = []
    for path in paths:
        with open(path) as f:
            texts.append(f.read())
    key = (pc.path, topo.family, topo.ext_address, tuple(port_keys), tuple(texts))
    with _matrix_lock:
        slot = _matrix_cache.setdefault(key, [threading.Lock(), None])
    with slot[0]:   # one call per key; the other modes wait for it
        if slot[1] is None:
            with phase("matrix"):
                slot[1] = pc.matrix(paths, [topo.ext_address], family=topo.family,
                                    names={topo.ext_address: EXT_IP}, port_keys=port_keys)
        return slot[1]


def _show_rules(paths):
    out = []
    for path in paths:
        with open(path) as f:
            lines = f.read().splitlines()
        out.append("    --- %s (%d lines)" % (path, len(lines)))
        out += ["    | " + l for l in lines[:MAX_RULE_LINES_SHOWN]]
        if len(lines) > MAX_RULE_LINES_SHOWN:
            out.append("    | ... (%d more lines)" % (len(lines) - MAX_RULE_LINES_SHOWN))
    return "\n".join(out)


MODES = ("rules", "ipset", "nft")


def label(kind, mode, family="ipv4"):
    """How a topology run in a mode and family is reported: `routed`, `routed+ipset`,
    `routed+ipv6`, `routed+ipset+ipv6`, `routed+nft+ipv6`."""
    return kind + ("" if mode == "rules" else "+" + mode) + ("" if family == "ipv4" else "+" + family)


def run_case(topo, case, pc, workdir, stop_event, pool, mode="rules"):
    """mode "rules": plain rules; "ipset": `--ipset-out`, the sets loaded with `ipset restore`
    before the rules (over the previous step's sets, through the script's own swaps); "nft":
    `--backend nft`, loaded with `nft -f` (over the previous step's table, as an update is)."""
    out = Outcome(case.name, label(topo.kind, mode, topo.family))
    plan = model.IPPlan(topo.endpoints())
    ours = list(topo.endpoints())
    deny_arg = None if case.deny == "reject" else case.deny
    case_dir = os.path.join(workdir, safe_name(case.name))
    os.makedirs(case_dir, exist_ok=True)
    try:
        steps = case.build(plan)
    except Exception as e:  # a bug in a case builder is a failure, not a crash of the run
        out.fail("case builder raised %r" % e)
        return out
    for si, step in enumerate(steps):
        if stop_event.is_set():
            out.fail("interrupted")
            return out
        out.steps += 1
        sdir = os.path.join(case_dir, "step%d" % si)
        os.makedirs(sdir, exist_ok=True)
        cluster = os.path.join(sdir, "cluster.yaml")
        policies = os.path.join(sdir, "policies.yaml")
        docs = model.cluster_docs(topo.pods, step.pod_labels, step.ns_labels, step.ghosts,
                                  containers=case.containers)
        _write(cluster, model.dump_all(docs))
        _write(policies, model.dump_all(step.policies) if step.policies else "")
        paths = [cluster, policies]
        where = "[%s] %s step %d" % (label(topo.kind, mode, topo.family), case.name, si)
        rule_files = []
        try:
            endpoints, allowed = cached_matrix(pc, paths, topo, probe.port_keys(case.ports))
            missing = [e for e in ours if e not in endpoints]
            unknown = [e for e in endpoints if e not in ours]
            if missing or unknown:
                out.fail("%s: matrix endpoints differ from the cluster: missing %s, unknown %s"
                         % (where, missing, unknown))
                return out
            loads = []
            for node in topo.nodes:
                # Single-node topologies alternate between --node and "every pod local".
                node_arg = node if (topo.kind != "routed") else None
                sp = None
                if mode == "nft":
                    with phase("compile"):
                        text = pc.compile_nft(paths, node_arg, deny=deny_arg)
                    rp = os.path.join(sdir, "rules-%s.nft" % node)
                else:
                    sp = os.path.join(sdir, "sets-%s.txt" % node) if mode == "ipset" else None
                    with phase("compile"):
                        text = pc.compile(paths, node_arg, ipset_out=sp, family=topo.family,
                                          deny=deny_arg)
                    rp = os.path.join(sdir, "rules-%s.txt" % node)
                _write(rp, text)
                rule_files.append(rp)
                if sp:
                    rule_files.append(sp)
                loads.append((node, rp, sp))
            with phase("load"):
                for node, rp, sp in loads:
                    load_and_flush(topo, node, mode, rp, sp, reset=(si == 0))
        except (ContractError, SetupError) as e:
            out.fail("%s: %s" % (where, e))
            return out
        with phase("probe"):
            observed = probe.run_probes(topo, ours, pool=pool, expected=allowed,
                                        port_protocols=case.ports)
        out.probes += len(observed)
        out.expected_allowed += sum(1 for k in observed if k in allowed)
        bad = probe.compare(observed, allowed, set(ours), case.deny)
        hand_bad = []
        claim_of = None
        if case.judge:
            try:
                claim_of = case.judge(plan, step, docs)
            except Exception as e:  # an evaluator or a case outside its subset: a failure
                out.fail("%s: the hand evaluator raised %r" % (where, e))
                return out
        elif case.hand:
            claim_of = lambda s, d, p, si=si: case.hand(si, s, d, p)
        if claim_of:
            for (src, dst, port), (status, detail) in sorted(observed.items()):
                arrived = status == "arrived"
                claim = claim_of(src, dst, port)
                if claim is None:
                    if case.judge:
                        hand_bad.append("the hand evaluator makes no claim for %s -> %s %s"
                                        % (src, dst, port))
                    continue
                if claim != ((src, dst, port) in allowed):
                    hand_bad.append("matrix says %s but the hand expectation is %s: %s -> %s %s"
                                    % (_word((src, dst, port) in allowed), _word(claim),
                                       src, dst, port))
                if claim != bool(arrived):
                    hand_bad.append("kernel %s but the hand expectation is %s: %s -> %s %s (%s)"
                                    % ("delivered" if arrived else "blocked", _word(claim),
                                       src, dst, port, detail))
        if bad or hand_bad:
            lines = ["%s: %d probe mismatches of %d, %d hand-expectation disagreements"
                     % (where, len(bad), len(observed), len(hand_bad))]
            for src, dst, port, want, got, detail in bad[:MAX_MISMATCHES_SHOWN]:
                lines.append("    %s -> %s %s: expected %s, actual %s (%s)"
                             % (src, dst, port, _word(want), _word(got), detail))
            if len(bad) > MAX_MISMATCHES_SHOWN:
                lines.append("    ... %d more" % (len(bad) - MAX_MISMATCHES_SHOWN))
            lines += ["    " + h for h in hand_bad[:MAX_MISMATCHES_SHOWN]]
            lines.append("    inputs: %s %s" % (cluster, policies))
            lines.append("    rules file(s): %s" % " ".join(rule_files))
            lines.append(_show_rules(rule_files))
            out.fail("\n".join(lines))
    return out


def _word(b):
    return "allowed" if b else "denied"


ESTABLISHED = "-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n"


MACHINERY_NAMES = ["no-rules", "reject-all", "selective", "selective-conformance-ports",
                   "broken-route"]


def machinery_checks(topo):
    """(name, rules per node as text, expectation(src, dst, port) -> bool, probed (port,
    protocol) pairs), hand-written.

    "selective" also rejects conntrack-INVALID packets first, so every SCTP INIT that arrives
    there also proves its CRC32c was right (conntrack marks a bad checksum INVALID).
    "selective-conformance-ports" does the same on the port set of the anp/ cases (TCP 80/8080,
    UDP 53/5353, SCTP 9003/9005), so the agents are known to serve those too."""
    ips = topo.endpoints()
    xb = ips["x/b"]
    REJECT = "-j REJECT --reject-with " + (
        "icmp6-adm-prohibited" if topo.family == "ipv6" else "icmp-admin-prohibited")
    selective = ("-A FORWARD -m conntrack --ctstate INVALID %s\n" % REJECT + ESTABLISHED +
                 "-A FORWARD -d %s -p tcp --dport 80 %s\n" % (xb, REJECT) +
                 "-A FORWARD -d %s -p udp --dport 81 %s\n" % (xb, REJECT) +
                 "-A FORWARD -d %s -p sctp --dport 81 %s\n" % (xb, REJECT) +
                 "-A FORWARD -s %s -d %s %s\n" % (ips[EXT_IP], ips["z/c"], REJECT))
    yb = ips["y/b"]
    conformance = ("-A FORWARD -m conntrack --ctstate INVALID %s\n" % REJECT + ESTABLISHED +
                   "-A FORWARD -d %s -p tcp --dport 8080 %s\n" % (yb, REJECT) +
                   "-A FORWARD -d %s -p udp --dport 5353 %s\n" % (yb, REJECT) +
                   "-A FORWARD -d %s -p sctp --dport 9005 %s\n" % (yb, REJECT) +
                   "-A FORWARD -s %s -d %s -p udp --dport 53 %s\n" % (ips["z/a"], ips[EXT_IP],
                                                                       REJECT) +
                   "-A FORWARD -d %s -p sctp --dport 9003 %s\n" % (ips["x/c"], REJECT))
    default, conf = probe.PORT_PROTOCOLS, probe.CONFORMANCE_PORT_PROTOCOLS
    return [
        ("no-rules", "", lambda s, d, p: True, default),
        ("reject-all", ESTABLISHED + "-A FORWARD %s\n" % REJECT, lambda s, d, p: False, default),
        ("selective", selective,
         lambda s, d, p: not ((d == "x/b" and p in ("80/TCP", "81/UDP", "81/SCTP"))
                              or (s == EXT_IP and d == "z/c")), default),
        ("selective-conformance-ports", conformance,
         lambda s, d, p: not ((d == "y/b" and p in ("8080/TCP", "5353/UDP", "9005/SCTP"))
                              or (s == "z/a" and d == EXT_IP and p == "53/UDP")
                              or (d == "x/c" and p == "9003/SCTP")), conf),
    ]


def broken_route_check(topo, pool):
    """machinery/broken-route: the harness must tell a REJECT from a timeout and from another
    error. Hand-written rules on every node: REJECT (administratively prohibited) to x/b, DROP
    to y/b, REJECT with port-unreachable to z/b; and a blackhole route for the external host
    on node-1 (which it hangs off), so nothing reaches it and nothing it sends is answered.
    The stated intent is the naive one, "x/b, y/b, z/b denied, everything else allowed". The
    check passes only if every probe ends in the status the kernel must produce (rejected for
    x/b, timeout for y/b and for everything the blackhole swallows, error for z/b, arrived for
    the rest) and the harness reports as mismatches exactly the probes whose status differs
    from the intent's. If timeouts or other errors counted as denies again, the y/b, z/b and
    blackholed denies would stop being mismatches and this check fails."""
    out = Outcome("machinery/broken-route", label(topo.kind, "rules", topo.family))
    ips = topo.endpoints()
    ours = list(ips)
    v6 = topo.family == "ipv6"
    reject = "-j REJECT --reject-with " + ("icmp6-adm-prohibited" if v6 else
                                           "icmp-admin-prohibited")
    unreach = "-j REJECT --reject-with " + ("icmp6-port-unreachable" if v6 else
                                            "icmp-port-unreachable")
    rules = (ESTABLISHED + "-A FORWARD -d %s %s\n" % (ips["x/b"], reject) +
             "-A FORWARD -d %s -j DROP\n" % ips["y/b"] +
             "-A FORWARD -d %s %s\n" % (ips["z/b"], unreach))
    hole = "%s/%d" % (topo.ext_address, 128 if v6 else 32)
    denied = ("x/b", "y/b", "z/b")
    intent = {(s, d, p) for s in ours for d in ours if s != d for p in probe.PORT_KEYS
              if d not in denied}

    def kernel_status(s, d, p):
        if d == EXT_IP:
            return "timeout"
        if s == EXT_IP:   # every answer to the external host falls into the blackhole
            return "arrived" if p.endswith("SCTP") and d not in denied else "timeout"
        return {"x/b": "rejected", "y/b": "timeout", "z/b": "error"}.get(d, "arrived")

    node1 = topo.nodes["node-1"]
    try:
        topo.reset_filter()
        for ns in topo.nodes.values():
            ns.exec([restore_tool(topo), "--noflush"], input="*filter\n" + rules + "COMMIT\n")
        node1.exec(["ip"] + (["-6"] if v6 else []) + ["route", "add", "blackhole", hole])
        try:
            topo.flush_conntrack()
            observed = probe.run_probes(topo, ours, pool=pool, expected=intent)
        finally:
            node1.exec(["ip"] + (["-6"] if v6 else []) + ["route", "del", "blackhole", hole])
    except SetupError as e:
        out.fail("[%s] machinery/broken-route: %s" % (topo.kind, e))
        return out
    out.probes, out.steps = len(observed), 1
    out.expected_allowed = sum(1 for k in observed if k in intent)
    wrong = [(k, st, det, kernel_status(*k)) for k, (st, det) in sorted(observed.items())
             if st != kernel_status(*k)]
    reported = {(s, d, p) for s, d, p, _w, _g, _det in probe.compare(observed, intent,
                                                                     set(ours))}
    predicted = {k for k in observed
                 if kernel_status(*k) != probe.wanted_status(k in intent, "reject")}
    if wrong or reported != predicted:
        lines = ["[%s] machinery/broken-route: the harness does not tell REJECT, timeout and "
                 "error apart: %d probes in an unexpected status, %d mismatches reported "
                 "that should not be, %d not reported that should be"
                 % (topo.kind, len(wrong), len(reported - predicted), len(predicted - reported))]
        lines += ["    %s -> %s %s: status %s (%s), the kernel must give %s" % (k + (st, det, ks))
                  for k, st, det, ks in wrong[:MAX_MISMATCHES_SHOWN]]
        lines += ["    %s -> %s %s: reported as a mismatch, should not be" % k
                  for k in sorted(reported - predicted)[:MAX_MISMATCHES_SHOWN]]
        lines += ["    %s -> %s %s: not reported as a mismatch (%s)" % (k + (observed[k][0],))
                  for k in sorted(predicted - reported)[:MAX_MISMATCHES_SHOWN]]
        out.fail("\n".join(lines))
    return out


def run_machinery(topo, pool):
    outcomes = []
    ours = list(topo.endpoints())
    for name, rules, expect, ports in machinery_checks(topo):
        out = Outcome("machinery/" + name, label(topo.kind, "rules", topo.family))
        try:
            topo.reset_filter()
            for ns in topo.nodes.values():
                ns.exec([restore_tool(topo), "--noflush"], input="*filter\n" + rules + "COMMIT\n")
            topo.flush_conntrack()
            expected = {(s, d, p) for s in ours for d in ours if s != d
                        for p in probe.port_keys(ports) if expect(s, d, p)}
            observed = probe.run_probes(topo, ours, pool=pool, expected=expected,
                                        port_protocols=ports)
        except SetupError as e:
            out.fail("[%s] machinery/%s: %s" % (topo.kind, name, e))
            outcomes.append(out)
            continue
        out.probes, out.steps = len(observed), 1
        out.expected_allowed = sum(1 for k in observed if k in expected)
        bad = probe.compare(observed, expected, set(ours))
        if bad:
            out.fail("[%s] machinery/%s: the probes do not see hand-written rules right "
                     "(%d of %d):\n" % (topo.kind, name, len(bad), len(observed)) +
                     "\n".join("    %s -> %s %s: expected %s, actual %s (%s)"
                               % (s, d, p, _word(w), _word(g), det)
                               for s, d, p, w, g, det in bad[:MAX_MISMATCHES_SHOWN]))
        outcomes.append(out)
    outcomes.append(broken_route_check(topo, pool))
    topo.reset_filter()
    return outcomes

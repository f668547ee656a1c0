#!/usr/bin/env python3
"""Real-kernel tests for policyc: compiled rules are loaded into netfilter in network namespaces
and judged by real TCP, UDP and SCTP packets against `policyc matrix`.

    python3 Tests/Kernel/run.py [--policyc PATH] [--jobs N] [--filter SUBSTR] [--keep-going]

Needs root (it creates network namespaces). Without root, or when namespaces cannot be made, the
run FAILS; it never skips silently. A topology the kernel cannot provide (br_netfilter refused in
a namespace) FAILS the run too, with the kernel's reason. Every namespace is named
`pck-<pid>-...` and is removed on success, failure, SIGINT and SIGTERM.

The work is one queue per topology kind: the machinery checks and every case in every mode and
family. --jobs workers run at once; each holds one topology instance and reuses it for every item
of its kind, in both families (every namespace is dual-stack) and all modes (reload + conntrack
flush per step instead of rebuilding namespaces); a worker whose queue runs dry moves to the kind
with the most work left. The apply checks run alongside on their own topology. The last line is
always `N passed, M failed`, counting case runs (a case on one topology, mode and family),
machinery checks and apply checks.

Every probe must end in the status its verdict predicts (probe.py): arrived when allowed; when
denied, policyc's REJECT (administratively prohibited) under --deny reject, a timeout under
--deny drop. A timeout where a REJECT was due, or any other error, fails.
"""

import argparse
import atexit
import os
import shutil
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep the work tree clean
sys.path.insert(0, HERE)

import apply_tests  # noqa: E402
import cases as case_gen  # noqa: E402
import netns  # noqa: E402
import refusal_tests  # noqa: E402
import suite  # noqa: E402
from policyc import Policyc, find_binary  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
STOP = threading.Event()
DEFAULT_JOBS = 2 * (os.cpu_count() or 2)
SIGNAL = []  # the signal that aborted the run, if any


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--policyc", help="policyc binary (default: .build/debug/policyc in the repo)")
    ap.add_argument("--jobs", type=int, default=DEFAULT_JOBS,
                    help="workers, each with its own topology instance, running at once "
                    "(default %d: a step waits on packets and on policyc, so more workers than "
                    "CPUs keep the CPUs busy)" % DEFAULT_JOBS)
    ap.add_argument("--filter", default="", help="only cases whose name contains SUBSTR "
                    "(apply checks are named apply/...)")
    ap.add_argument("--keep-going", action="store_true",
                    help="keep running other units after an infrastructure error (a topology "
                    "that cannot be built, a lost agent); mismatches never stop the run")
    ap.add_argument("--topology", action="append", choices=netns.Topology.KINDS,
                    help="only these topologies (repeatable; default all)")
    ap.add_argument("--mode", action="append", choices=suite.MODES,
                    help="only these modes (repeatable; default all): rules = plain rules, "
                    "ipset = --ipset-out with the sets loaded by ipset restore, "
                    "nft = --backend nft loaded by nft -f")
    ap.add_argument("--family", action="append", choices=netns.FAMILIES,
                    help="only these address families (repeatable; default both): every "
                    "namespace is dual-stack, the family picks the addresses probed and the "
                    "rules compiled (--family ipv6, loaded with ip6tables-restore)")
    ap.add_argument("--rotate-topologies", action="store_true",
                    help="run each case's mode and family runs on the topologies in turn "
                    "instead of on every one (a third of the case runs with three topologies): "
                    "every case still runs in every mode and family and meets every topology, "
                    "and every topology sees every mode and family; CI's `make kernel` uses it, "
                    "`make kernel-full` does not")
    ap.add_argument("--no-apply", action="store_true", help="leave out the policyc apply checks")
    ap.add_argument("--machinery-only", action="store_true",
                    help="only the hand-written-rule checks of the probe machinery (no policyc)")
    ap.add_argument("--artifacts", help="where YAML inputs and rule files go (kept on failure)")
    ap.add_argument("--profile", action="store_true",
                    help="print the wall time spent per phase of a step (summed over units)")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every passing case too")
    ap.add_argument("--clean-stale", action="store_true",
                    help="first delete pck-<pid>-* namespaces left by runs whose pid is gone "
                    "(only after a runner was killed with SIGKILL)")
    return ap.parse_args()


class Report:
    def __init__(self, verbose):
        self.lock = threading.Lock()
        self.outcomes = []
        self.errors = []       # infrastructure errors
        self.verbose = verbose

    def add(self, outcome):
        with self.lock:
            self.outcomes.append(outcome)
            label = "%s:%s" % (outcome.topology, outcome.name)
            if outcome.passed:
                if self.verbose:
                    print("ok    %s (%d probes)" % (label, outcome.probes), flush=True)
            else:
                print("FAIL  %s" % label, flush=True)
                for f in outcome.failures:
                    print(f, flush=True)

    def infra(self, unit, err):
        with self.lock:
            self.errors.append((unit, err))
            print("ERROR %s: %s" % (unit, err), flush=True)


class WorkQueue:
    """The run's work, one queue per topology kind. An item is ("machinery", family, None) or
    ("case", family, (case, mode)). Workers take items of the kind whose topology they hold;
    when that queue is empty they move to the kind with the most work left and build a topology
    of it, so every worker stays busy until the end."""

    def __init__(self, items_by_kind):
        self.lock = threading.Lock()
        self.queues = {k: list(reversed(v)) for k, v in items_by_kind.items()}

    def take(self, kind):
        with self.lock:
            if kind is not None and self.queues.get(kind):
                return kind, self.queues[kind].pop()
            left = [(len(q), k) for k, q in self.queues.items() if q]
            if not left:
                return None, None
            _n, k = max(left)
            return k, self.queues[k].pop()


def on_topology(case_index, run_index, kind_index, kinds):
    """--rotate-topologies: whether run `run_index` (a mode and family) of case `case_index` goes
    to topology `kind_index`. Consecutive runs of a case take the topologies in turn, and the
    next case starts one topology further on, so with six runs (three modes by two families)
    and three topologies each case meets every topology twice, and each topology gets a third
    of the cases in every mode and family."""
    return (case_index + run_index) % kinds == kind_index


def check_rotation(items, selected, kinds, runs_per_case):
    """The plan --rotate-topologies promises: each mode and family run of a case exactly once,
    and each case on min(kinds, runs) topologies. A planning error fails before any packet."""
    seen = {}
    for kind, lst in items.items():
        for what, family, payload in lst:
            if what == "case":
                case, mode = payload
                seen.setdefault(case.name, []).append((kind, mode, family))
    for case in selected:
        runs = seen.get(case.name, [])
        if len({(m, f) for _k, m, f in runs}) != runs_per_case or len(runs) != runs_per_case:
            raise SystemExit("rotation plan: %s has %d runs, not one per mode and family"
                             % (case.name, len(runs)))
        if len({k for k, _m, _f in runs}) != min(kinds, runs_per_case):
            raise SystemExit("rotation plan: %s does not meet every topology" % case.name)


def run_worker(index, queue, first_kind, report, workroot, pc):
    """Hold one topology instance at a time and run items of its kind on it: the machinery
    checks (hand-written rules, once per kind and family) and case runs in every mode and
    family (every namespace is dual-stack, so one instance serves both families)."""
    topo, pool, kind, started, done = None, None, first_kind, 0.0, 0

    def close():
        if topo is not None:
            print("unit %s: %d items in %.1fs" % (topo.unit, done, time.monotonic() - started),
                  flush=True)
            pool.shutdown(wait=False)
            topo.teardown()

    try:
        while not STOP.is_set():
            got_kind, item = queue.take(kind)
            if item is None:
                return
            if topo is None or got_kind != topo.kind:
                close()
                topo = None
                unit = "%sw%d" % (got_kind[0], index)
                tmp = os.path.join(workroot, unit)
                os.makedirs(tmp, exist_ok=True)
                started, done = time.monotonic(), 0
                t = netns.Topology(got_kind, unit, tmp)
                pool = ThreadPoolExecutor(max_workers=len(t.pods) + 1)
                topo = t
                kind = got_kind
                topo.build()   # a topology that cannot be built fails the run (never skipped)
            what, family, payload = item
            topo.family = family
            if what == "machinery":
                for o in suite.run_machinery(topo, pool):
                    report.add(o)
            else:
                case, mode = payload
                workdir = os.path.join(topo.tmpdir, "%s-%s" % (mode, family))
                report.add(suite.run_case(topo, case, pc, workdir, STOP, pool, mode))
            done += 1
    finally:
        close()


def run_apply_unit(pc, report, workroot):
    tmp = os.path.join(workroot, "apply")
    os.makedirs(tmp, exist_ok=True)
    for o in apply_tests.run(pc, tmp, STOP):
        report.add(o)


def run_refusal_unit(pc, report, workroot):
    tmp = os.path.join(workroot, "refuse")
    os.makedirs(tmp, exist_ok=True)
    for o in refusal_tests.run(pc, tmp, STOP):
        report.add(o)


def install_signal_handlers():
    def handler(signum, _frame):
        STOP.set()
        SIGNAL.append(signum)
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    atexit.register(netns.cleanup_all)


def preflight():
    """Root and a working `ip netns add`, or the run fails."""
    if os.geteuid() != 0:
        return "must run as root to create network namespaces (euid %d)" % os.geteuid()
    try:
        ns = netns.Netns.create("preflight")
        netns.delete_namespace(ns.name)
    except Exception as e:
        return "cannot create a network namespace: %s" % e
    for tool in ("ip", "iptables-restore", "iptables-save", "ip6tables-restore", "conntrack",
                 "ipset", "nft"):
        if not shutil.which(tool):
            return "%s not found in PATH" % tool
    return None


def main():
    args = parse_args()
    install_signal_handlers()
    t0 = time.monotonic()
    report = Report(args.verbose)
    if args.clean_stale:
        for name in netns.stale_namespaces():
            print("removing stale namespace %s" % name)
            netns.delete_namespace(name)
    err = preflight()
    if err:
        print("FAIL  preflight: " + err)
        print("0 passed, 1 failed")
        return 1
    pc = None
    if not args.machinery_only:
        path = find_binary(REPO_ROOT, args.policyc)
        if not os.access(path, os.X_OK):
            print("FAIL  policyc binary not found or not executable: %s "
                  "(build it, or pass --policyc PATH)" % path)
            print("0 passed, 1 failed")
            return 1
    workroot = args.artifacts or "/tmp/%s-artifacts" % netns.PREFIX
    os.makedirs(workroot, exist_ok=True)
    if not args.machinery_only:
        # Test a private copy: a rebuild during the run must not change the binary under test
        # halfway (or make exec fail with ETXTBSY).
        snapshot = os.path.join(workroot, "policyc")
        shutil.copy2(path, snapshot)
        print("policyc under test: %s (copied to %s)" % (path, snapshot), flush=True)
        pc = Policyc(snapshot)

    selected = [] if args.machinery_only else [
        c for c in case_gen.all_cases() if args.filter in c.name]
    want_machinery = any(args.filter in "machinery/" + n for n in suite.MACHINERY_NAMES)
    run_apply = (pc is not None and not args.no_apply
                 and any(args.filter in n for n in apply_tests.CHECK_NAMES))
    run_refusal = (pc is not None and not args.no_apply
                   and any(args.filter in n for n in refusal_tests.CHECK_NAMES))
    kinds = args.topology or list(netns.Topology.KINDS)
    modes = args.mode or list(suite.MODES)
    families = args.family or list(netns.FAMILIES)
    plan = None
    items = {}
    for ki, k in enumerate(kinds):
        lst = [("machinery", f, None) for f in families] if want_machinery else []
        runs = [("case", f, (c, m))
                for ci, c in enumerate(selected)
                for fi, f in enumerate(families)
                for mi, m in enumerate(modes)
                if not args.rotate_topologies
                or on_topology(ci, fi * len(modes) + mi, ki, len(kinds))]
        if plan is None and runs:
            import model
            plan = model.IPPlan(netns.Topology(k, "plan", workroot).endpoints())
        # Longest cases first, so the run does not end waiting for one long sequence.
        steps = {c.name: len(c.build(plan)) for c in selected} if runs else {}
        runs.sort(key=lambda it: -steps[it[2][0].name])
        items[k] = lst + runs
    if args.rotate_topologies:
        check_rotation(items, selected, len(kinds), len(modes) * len(families))
    queue = WorkQueue(items)
    nitems = sum(len(v) for v in items.values())
    print("policyc kernel tests: %d cases x %d topologies (%s%s) x %d modes (%s) x %d families "
          "(%s), %d work items, %d workers%s"
          % (len(selected), len(kinds), ", ".join(kinds),
             ", taken in turn" if args.rotate_topologies else "", len(modes), ", ".join(modes),
             len(families), ", ".join(families), nitems, args.jobs,
             ", plus apply checks" if run_apply else ""), flush=True)
    if not nitems and not run_apply and not run_refusal:
        print("FAIL  nothing selected (filter %r)" % args.filter)
        print("0 passed, 1 failed")
        return 1

    aborted = False
    try:
        workers = max(1, args.jobs) if nitems else 0
        with ThreadPoolExecutor(max_workers=workers + (1 if run_apply else 0)
                                + (1 if run_refusal else 0)) as ex:
            futures = {}
            if run_apply:
                # policyc apply checks: one topology of their own, alongside the workers.
                futures[ex.submit(run_apply_unit, pc, report, workroot)] = "apply"
            if run_refusal:
                futures[ex.submit(run_refusal_unit, pc, report, workroot)] = "refuse"
            for w in range(workers):
                futures[ex.submit(run_worker, w, queue, kinds[w % len(kinds)], report, workroot,
                                  pc)] = "worker %d" % w
            for fut, unit in futures.items():
                try:
                    fut.result()
                except Exception as e:  # infrastructure: topology or agent trouble
                    report.infra(unit, "%s: %s" % (type(e).__name__, e))
                    if not args.keep_going:
                        STOP.set()
    except SystemExit:
        aborted = True
        STOP.set()
    finally:
        netns.cleanup_all()

    left = netns.leftover_namespaces()
    outcomes = report.outcomes
    passed = sum(1 for o in outcomes if o.passed)
    failed = (len(outcomes) - passed + len(report.errors) + (1 if aborted else 0)
              + (1 if left else 0))
    probes = sum(o.probes for o in outcomes)
    steps = sum(o.steps for o in outcomes)
    print()
    print("Summary")
    allowed = sum(o.expected_allowed for o in outcomes)
    print("  case runs: %d (%d generated cases selected; %d steps)" % (
        len(outcomes), len(selected), steps))
    print("  probes: %d (%d expected to arrive, %d expected to be blocked)" % (
        probes, allowed, probes - allowed))
    hand_cases = [c for c in selected if c.hand or c.judge]
    hand_names = {c.name for c in hand_cases}
    print("  hand expectations: %d cases (%d of them in hand/ and drop/), %d case runs; "
          "--deny drop cases: %d" % (
              len(hand_cases), sum(1 for c in hand_cases if c.name.startswith(("hand/", "drop/"))),
              sum(1 for o in outcomes if o.name in hand_names),
              sum(1 for c in selected if c.deny == "drop")))
    by_topo = {}
    for o in outcomes:
        t = by_topo.setdefault(o.topology, [0, 0])
        t[0 if o.passed else 1] += 1
    for t, (p, f) in sorted(by_topo.items()):
        print("  %-8s %d passed, %d failed" % (t, p, f))
    for unit, e in report.errors:
        print("  ERROR in unit %s: %s" % (unit, e))
    if aborted:
        print("  ABORTED by signal")
    if left:
        print("  namespaces left behind: %s" % ", ".join(left))
    if args.profile:
        for name, (total, count) in sorted(suite.PROFILE.items(), key=lambda kv: -kv[1][0]):
            print("  phase %-10s %8.1fs in %6d calls (%.1f ms each)"
                  % (name, total, count, 1000 * total / max(1, count)))
    print("  time: %.1fs" % (time.monotonic() - t0))
    if failed == 0 and not args.artifacts:
        shutil.rmtree(workroot, ignore_errors=True)
    else:
        print("  artifacts: %s" % workroot)
    print("%d passed, %d failed" % (passed, failed))
    if SIGNAL:
        return 128 + SIGNAL[0]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

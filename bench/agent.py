#!/usr/bin/env python3
"""Benchmark of `policyc agent` on W3 (50,000 pods, 10,000 policies), served by the test API
server (Tests/Agent/apiserver.py). Not part of CI: `make bench-agent` (root, several minutes).

    sudo python3 bench/agent.py [--policyc PATH] [--backend iptables|nft]... [--seed 1]
                                [--churn-seconds 60] [--rate 50] [--node node-0000]
                                [--only all|initial] [--repeat N]

`--only initial --repeat 3` measures the initial sync alone, three times per backend (a fresh
server, namespace and agent each time), and shows the median run.

Per backend, in a network namespace it creates (`pcb-<pid>-node`, deleted on exit; the API
server's socket lives there too, on 127.0.0.1):

1. Initial sync: the agent starts against the W3 objects (bench/gen.py's, same seed, same
   objects as `make bench`'s w3 file); the time from its start to the first /readyz 200 (the
   agent is ready once its first complete apply is in the kernel), checked against the kernel
   (POLICYC chains or table inet policyc present). Where it went: the server's own time to
   build the pages and to write them (a write waits while the agent reads slowly), the agent's
   `listed` log lines (pages, bytes, time to the last page, time parsing pages, time waiting
   for the network) and its first `sync` line (compile, apply), as the rows starting with
   blanks.
2. Idle CPU: the agent's CPU time over 10 s without events.
3. Churn: `--churn-seconds` at `--rate` events/s, a mix of pod creates (a clone of a pod that is
   in a peer set, on another node, with a fresh address), pod deletes and pod relabels (to the
   labels of a pod of its namespace outside that set), and policy changes (a new port on the
   first ingress rule of a policy enforced on this node). For every event the bench knows the
   kernel change it must cause (an address joins or leaves one set, or a rule with the new port
   appears in the policy's chain) and polls for it with `ipset test` / `iptables -S CHAIN`,
   and for nft with netlink dumps of that one set or chain (bench/nftpoll.py: `nft get
   element` and `nft list chain` build nft's cache of the whole table first, 65 ms each on
   W3, which made a poll round ~144 ms). The latency of an event is from the moment the API
   server first sent it on a watch to the first poll that sees the kernel hold the change; the
   poll loop's round time (printed) bounds the error. An event not seen within 10 s counts as
   missed.
4. Cost: the agent's CPU time (user+system) and peak RSS (VmHWM) over the whole run.

Prints a table and writes it as Markdown to .build-bench/agent-results.md, with the issue's
targets beside it.
"""

import argparse
import atexit
import copy
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "Tests", "Agent"))

import apiserver  # noqa: E402
import gen  # noqa: E402
import nftpoll  # noqa: E402

PREFIX = "pcb-%d" % os.getpid()
LISTEN = "127.0.0.1:9710"
CLK = os.sysconf("SC_CLK_TCK")
_namespaces, _procs = [], []


def sh(cmd, check=True, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(cmd), (p.stderr or p.stdout).strip()))
    return p


def cleanup():
    for p in _procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    for n in _namespaces:
        subprocess.run(["ip", "netns", "del", n], capture_output=True)
    _namespaces.clear()
    _procs.clear()


def w3_objects(seed, shape="w3"):
    """Namespaces, pods and policies of W3 (or another shape), as bench/gen.py makes them
    (same order, same random sequence, so the same objects as its YAML)."""
    g = gen.Gen(seed)
    namespaces, pods = gen.build_cluster(g, shape, gen.SHAPES[shape])
    if shape == "w3":
        policies = gen.gen_policies_w3(g, namespaces)
    else:
        policies = gen.gen_policies_w12(g, shape, namespaces, gen.SHAPES[shape]["policies"])
    out = [gen.namespace_obj(g, ns) for ns in namespaces]
    out += [gen.pod_obj(g, p) for p in pods]
    out += [gen.policy_obj(g, ns, name, spec, annotate) for ns, name, spec, annotate in policies]
    return out


class Agent:
    def __init__(self, pc, netns, workdir, backend, node, kubeconfig):
        self.netns = netns
        self.log = os.path.join(workdir, "agent-%s.log" % backend)
        # A fresh state directory for every run: a restart restores the last applied rules
        # first, which is another measure than the initial sync.
        state = tempfile.mkdtemp(dir=workdir, prefix="state-%s-" % backend)
        self.cmd = ["nsenter", "--net=/run/netns/" + netns, pc, "agent", "--node", node,
                    "--kubeconfig", kubeconfig, "--backend", backend, "--family", "ipv4",
                    "--state-dir", state, "--listen", LISTEN, "--resync", "5m"]

    def start(self):
        with open(self.log, "w") as f:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=f,
                                         stderr=subprocess.STDOUT)
        _procs.append(self.proc)

    def cpu(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK

    def peak_rss_mb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
        return float("nan")

    def readyz(self):
        host, port = LISTEN.rsplit(":", 1)
        try:
            s = apiserver.socket_in_netns(self.netns, socket.AF_INET, socket.SOCK_STREAM)
        except OSError:
            return None
        s.settimeout(2)
        try:
            s.connect((host, int(port)))
            s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = s.recv(100)
            return int(data.split()[1])
        except (OSError, IndexError, ValueError):
            return None
        finally:
            s.close()


class Kernel:
    """Reads policyc's state in the node namespace, and answers the per-event questions."""

    def __init__(self, netns, backend):
        self.ns, self.backend = netns, backend
        self.nl = nftpoll.NftNetlink(netns) if backend == "nft" else None

    def run(self, cmd, check=False):
        return sh(["nsenter", "--net=/run/netns/" + self.ns] + cmd, check=check)

    def loaded(self):
        if self.backend == "nft":
            return self.run(["nft", "-t", "list", "table", "inet", "policyc"]).returncode == 0
        return "POLICYC-FORWARD" in self.run(["iptables-save", "-t", "filter"]).stdout

    def pod_sets(self):
        """{set name: set of addresses} of the sets holding plain pod addresses."""
        out = {}
        if self.backend == "nft":
            doc = json.loads(self.run(["nft", "-j", "list", "table", "inet", "policyc"],
                                      check=True).stdout)
            for item in doc.get("nftables", []):
                s = item.get("set")
                # The agent keeps each set of selector peers under its own name (`p...`);
                # the others are named by content and renamed when it changes.
                if not s or s.get("type") != "ipv4_addr" or "interval" in s.get("flags", []) \
                        or not s["name"].startswith("p"):
                    continue
                out[s["name"]] = {e for e in s.get("elem", []) if isinstance(e, str)}
            return out
        types = {}
        for line in self.run(["ipset", "save"], check=True).stdout.splitlines():
            w = line.split()
            if w[:1] == ["create"] and w[1].startswith("POLICYC-"):
                types[w[1]] = w[2]
                if w[2] == "hash:ip":
                    out[w[1]] = set()
            elif w[:1] == ["add"] and types.get(w[1]) == "hash:ip":
                out[w[1]].add(w[2])
        return out

    def policy_chains(self):
        """{"ns/name": chain} of the NetworkPolicy ingress chains loaded on this node."""
        out = {}
        if self.backend == "nft":
            text = self.run(["nft", "-t", "list", "table", "inet", "policyc"], check=True).stdout
            for m in re.finditer(r'jump (v4-IN-[A-Z0-9]+) comment "([^"]+)"', text):
                out.setdefault(m.group(2), m.group(1))
            return out
        text = self.run(["iptables-save", "-t", "filter"], check=True).stdout
        for m in re.finditer(r'--comment "?([^" ]+)"? -j (POLICYC-IN-[A-Z0-9]+)', text):
            out.setdefault(m.group(1), m.group(2))
        return out

    def member(self, set_name, ip):
        if self.backend == "nft":
            return self.nl.has_address(set_name, ip)
        return self.run(["ipset", "test", set_name, ip]).returncode == 0

    def chain_has(self, chain, text, depth=2):
        """`text` in the chain or in a chain it jumps to: a rule with several peers jumps to
        a shared port chain (POLICYC-P-*, nft v4-P-*) that holds the ports."""
        if self.backend == "nft":
            return self.nl.chain_has_port(chain, int(text), depth)
        out = self.run(["iptables", "-S", chain]).stdout
        targets = re.findall(r"-[jg] (POLICYC-[A-Z]+-[A-Z0-9]+)", out)
        if re.search(r"\b%s\b" % re.escape(text), out):
            return True
        return depth > 0 and any(self.chain_has(t, text, depth - 1)
                                 for t in sorted(set(targets)) if t != chain)


class Churn:
    """Events at a fixed rate, each with the kernel change it must cause."""

    def __init__(self, api, kernel, objects, node, seed):
        self.api, self.kernel = api, kernel
        self.policy_share = 0.15
        self.relabelled = set()
        self.rng = random.Random(seed)
        self.node = node
        self.pending = []          # [kind, rv, predicate, t_write]
        self.done = []             # (kind, latency seconds)
        self.missed = []           # (kind, what)
        self.lock = threading.Lock()
        self.rounds = []
        self.fresh = 0
        self.port = 40000
        sets = kernel.pod_sets()
        self.pods = {}             # ip -> pod object (not local, with an address)
        for o in objects:
            if o["kind"] == "Pod" and o["spec"].get("nodeName") != node and \
                    o.get("status", {}).get("podIP"):
                self.pods[o["status"]["podIP"]] = o
        self.sets_of = {}          # ip -> [set names]
        for name, members in sets.items():
            for ip in members:
                if ip in self.pods:
                    self.sets_of.setdefault(ip, []).append(name)
        self.set_members = sets
        self.in_sets = [ip for ip in self.pods if ip in self.sets_of]
        self.by_ns = {}
        for ip, o in self.pods.items():
            self.by_ns.setdefault(o["metadata"]["namespace"], []).append(ip)
        self.chains = kernel.policy_chains()
        self.policies = [o for o in objects if o["kind"] == "NetworkPolicy"
                         and "%s/%s" % (o["metadata"]["namespace"], o["metadata"]["name"])
                         in self.chains and (o["spec"].get("ingress") or [])]

    def describe(self):
        return ("%d pod sets, %d non-local pods in them, %d policies with an ingress chain here"
                % (len(self.set_members), len(self.in_sets), len(self.policies)))

    def _take_pod_in_set(self):
        while self.in_sets:
            ip = self.in_sets.pop(self.rng.randrange(len(self.in_sets)))
            if ip in self.pods and ip in self.sets_of:
                return ip
        return None

    def event(self):
        # Policy changes take `policy_share` of the events (0.15 by default); pod creates,
        # deletes and relabels share the rest 30:25:30.
        if self.rng.random() < self.policy_share:
            return self.policy()
        r = self.rng.random() * 0.85
        if r < 0.30:
            return self.create()
        if r < 0.55:
            return self.delete()
        return self.relabel()

    def _add(self, kind, obj_rv, pred):
        with self.lock:
            self.pending.append([kind, obj_rv, pred, time.monotonic()])

    def create(self):
        ip = self._take_pod_in_set()
        if ip is None:
            return
        self.in_sets.append(ip)
        src = self.pods[ip]
        self.fresh += 1
        new_ip = "10.250.%d.%d" % (self.fresh // 250, self.fresh % 250 + 1)
        o = copy.deepcopy(src)
        md = o["metadata"]
        md["name"] = "bench-%d" % self.fresh
        for k in ("uid", "resourceVersion", "ownerReferences", "managedFields",
                  "generateName"):
            md.pop(k, None)
        o["status"]["podIP"] = new_ip
        o["status"]["podIPs"] = [{"ip": new_ip}]
        o["spec"]["nodeName"] = "node-0499" if self.node != "node-0499" else "node-0498"
        s = self.sets_of[ip][0]
        stored = self.api.create(o)
        pred = lambda: self.kernel.member(s, new_ip)  # noqa: E731
        self._add("pod create", int(stored["metadata"]["resourceVersion"]), pred)

    def delete(self):
        ip = self._take_pod_in_set()
        if ip is None:
            return
        o = self.pods.pop(ip)
        s = self.sets_of[ip][0]
        gone = self.api.delete("Pod", o["metadata"]["namespace"], o["metadata"]["name"])
        pred = lambda: not self.kernel.member(s, ip)  # noqa: E731
        self._add("pod delete", int(gone["metadata"]["resourceVersion"]), pred)

    def relabel(self):
        ip = self._take_pod_in_set()
        if ip is None:
            return
        o = self.pods[ip]
        s = self.sets_of[ip][0]
        # A pod relabelled before may have come into s with its new labels: only pods whose
        # labels are still the ones the kernel snapshot was taken with can vouch for "not in s".
        others = [q for q in self.by_ns.get(o["metadata"]["namespace"], [])
                  if q in self.pods and q not in self.relabelled
                  and q not in self.set_members[s]]
        if not others:
            self.in_sets.append(ip)
            return
        q = self.pods[self.rng.choice(others)]
        cur = self.api.get("Pod", o["metadata"]["namespace"], o["metadata"]["name"])
        cur["metadata"]["labels"] = dict(q["metadata"].get("labels") or {})
        stored = self.api.update(cur)
        self.pods[ip] = stored
        self.relabelled.add(ip)
        self.set_members[s].discard(ip)
        # Its other sets may not hold it under the new labels either: it is no longer a
        # pod known to be in a set (a clone of it would be expected where it is not).
        self.sets_of.pop(ip, None)
        pred = lambda: not self.kernel.member(s, ip)  # noqa: E731
        self._add("pod relabel", int(stored["metadata"]["resourceVersion"]), pred)

    def policy(self):
        if not self.policies:
            return self.relabel()
        p = self.rng.choice(self.policies)
        md = p["metadata"]
        cur = self.api.get("NetworkPolicy", md["namespace"], md["name"])
        self.port += 1
        port = self.port
        rule = cur["spec"]["ingress"][0]
        rule.setdefault("ports", []).append({"port": port, "protocol": "TCP"})
        stored = self.api.update(cur)
        chain = self.chains["%s/%s" % (md["namespace"], md["name"])]
        self._add("policy change", int(stored["metadata"]["resourceVersion"]),
                  lambda: self.kernel.chain_has(chain, str(port)))

    def poll_forever(self, stop):
        while not stop.is_set() or self.pending:
            t_round = time.monotonic()
            with self.lock:
                pending = list(self.pending)
            for item in pending:
                kind, rv, pred, t_write = item
                if pred():
                    t = time.monotonic()
                    sent = (self.api.sent_at or {}).get(rv)
                    with self.lock:
                        self.pending.remove(item)
                    if sent is None:
                        self.missed.append((kind, "in the kernel but never sent on a watch"))
                    else:
                        self.done.append((kind, t - sent))
                elif time.monotonic() - t_write > 10.0:
                    with self.lock:
                        self.pending.remove(item)
                    self.missed.append((kind, "not in the kernel after 10 s"))
            self.rounds.append(time.monotonic() - t_round)
            if not pending:
                time.sleep(0.002)


def pct(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q / 100.0 * (len(v) - 1))))]


def run_backend(args, backend, objects, workdir):
    res = {"backend": backend}
    ns = "%s-node" % PREFIX
    _namespaces.append(ns)
    sh(["ip", "netns", "add", ns])
    sh(["ip", "-n", ns, "link", "set", "lo", "up"])
    api = apiserver.APIServer(os.path.join(workdir, "api-" + backend), host="127.0.0.1",
                              port=6443, netns=ns, history=200000, admin_installed=True,
                              bookmark_seconds=5.0, max_watch_seconds=600.0)
    t = time.monotonic()
    api.load(objects)
    log("  %s: %d objects in the API server (%.1f s)" % (backend, len(objects),
                                                          time.monotonic() - t))
    api.start()
    kc = api.write_kubeconfig(os.path.join(workdir, "kubeconfig-" + backend))
    kernel = Kernel(ns, backend)
    agent = Agent(args.policyc, ns, workdir, backend, args.node, kc)
    try:
        t0 = time.monotonic()
        agent.start()
        while agent.readyz() != 200:
            if agent.proc.poll() is not None:
                raise RuntimeError("the agent exited (%d); see %s" % (agent.proc.returncode,
                                                                     agent.log))
            if time.monotonic() - t0 > args.sync_timeout:
                raise RuntimeError("not ready after %d s; see %s" % (args.sync_timeout,
                                                                     agent.log))
            time.sleep(0.05)
        res["initial sync s"] = time.monotonic() - t0
        if not kernel.loaded():
            raise RuntimeError("ready, but nothing of policyc in the kernel")
        log("  %s: initial sync %.2f s" % (backend, res["initial sync s"]))
        for k, v in initial_breakdown(api, agent).items():
            res[k] = v
        log("  %s: %s" % (backend, ", ".join("%s %s" % (k, v if isinstance(v, str) else
                                                        "%.2f" % v)
                                            for k, v in res.items() if k.startswith("  "))))
        if args.only == "initial":
            res["CPU s total"] = agent.cpu()
            res["peak RSS MB"] = agent.peak_rss_mb()
            log("  %s: agent CPU %.2f s, peak RSS %.0f MB" % (backend, res["CPU s total"],
                                                           res["peak RSS MB"]))
            return res
        time.sleep(1.0)
        c0, w0 = agent.cpu(), time.monotonic()
        time.sleep(10.0)
        res["idle CPU %"] = 100.0 * (agent.cpu() - c0) / (time.monotonic() - w0)
        churn = Churn(api, kernel, objects, args.node, args.seed)
        churn.policy_share = args.policy_share
        log("  %s: churn over %s" % (backend, churn.describe()))
        api.sent_at = {}
        stop = threading.Event()
        poller = threading.Thread(target=churn.poll_forever, args=(stop,), daemon=True)
        poller.start()
        c1 = agent.cpu()
        start = time.monotonic()
        n = int(args.churn_seconds * args.rate)
        for i in range(n):
            due = start + i / float(args.rate)
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            churn.event()
        stop.set()
        poller.join(timeout=30)
        res["churn CPU %"] = 100.0 * (agent.cpu() - c1) / (time.monotonic() - start)
        res["CPU s total"] = agent.cpu()
        res["peak RSS MB"] = agent.peak_rss_mb()
        for kind in ("pod", "policy"):
            lat = [l for k, l in churn.done if k.startswith(kind)]
            res["%s events" % kind] = len(lat)
            res["%s p50 ms" % kind] = 1000 * pct(lat, 50)
            res["%s p99 ms" % kind] = 1000 * pct(lat, 99)
            res["%s max ms" % kind] = 1000 * max(lat) if lat else float("nan")
        res["missed"] = len(churn.missed)
        res["poll round ms p50/max"] = "%.1f/%.1f" % (1000 * pct(churn.rounds, 50),
                                                      1000 * max(churn.rounds or [0]))
        if churn.missed:
            log("  %s: missed %d events, e.g. %s" % (backend, len(churn.missed),
                                                     churn.missed[:3]))
        if agent.proc.poll() is not None:
            raise RuntimeError("the agent exited during the churn; see %s" % agent.log)
    finally:
        if agent.proc.poll() is None:
            agent.proc.send_signal(signal.SIGTERM)
            try:
                agent.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                agent.proc.kill()
        api.stop()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        _namespaces.remove(ns)
    return res


def initial_breakdown(api, agent):
    """Where the initial sync went: the server's own time per resource (building the page
    bodies, writing them: a write waits for the agent to read), the agent's list lines (pages,
    bytes, time to the last page), and its first sync line (compile, apply)."""
    out = {}
    with api.lock:
        times = {k: list(v) for k, v in api.list_times.items()}
    for plural, (pages, size, build, write) in sorted(times.items()):
        if size > 1 << 20:
            out["  server %s build s" % plural] = build
            out["  server %s write s" % plural] = write
            out["  %s pages" % plural] = "%d (%.0f MB)" % (pages, size / 1e6)
    with open(agent.log) as f:
        text = f.read()
    for line in text.splitlines():
        fields = dict(re.findall(r"(\w+)=(\S+)", line))
        if line.rstrip().endswith(" listed") and fields.get("resource") in ("pods",
                                                                       "networkpolicies"):
            for k in ("list_ms", "parse_ms", "wait_ms"):
                if k in fields:
                    out["  agent %s %s s" % (fields["resource"], k[:-3])] = int(fields[k]) / 1e3
        if line.rstrip().endswith(" sync") and "compile_ms" in fields:
            out["  agent compile s"] = int(fields["compile_ms"]) / 1e3
            out["  agent apply s"] = int(fields["apply_ms"]) / 1e3
            out["  agent sync s"] = int(fields["total_ms"]) / 1e3
            break
    return out


def log(msg):
    sys.stdout.write("%s %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stdout.flush()


TARGETS = [("initial sync s", "at most 10 s", "kube-router 1-60 s per full sync"),
           ("pod p99 ms", "at most 100 ms", "Calico ~1.7 s p90 (small test), 20-90 s reported"),
           ("policy p99 ms", "at most 250 ms", "kube-network-policies: 1 sync/s"),
           ("peak RSS MB", "at most 1024 MB", ""),
           ("idle CPU %", "near zero", "")]


def table(results):
    cols = ["measure"] + [r["backend"] for r in results] + ["target", "anchor"]
    keys = ["initial sync s", "idle CPU %", "churn CPU %", "CPU s total", "peak RSS MB",
            "pod events", "pod p50 ms", "pod p99 ms", "pod max ms", "policy events",
            "policy p50 ms", "policy p99 ms", "policy max ms", "missed",
            "poll round ms p50/max"]
    keys += sorted({k for r in results for k in r if k.startswith("  ")})
    tgt = {k: (t, a) for k, t, a in TARGETS}
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for k in keys:
        row = [k]
        if not any(k in r for r in results):
            continue
        for r in results:
            v = r.get(k, "n/a")
            row.append("%.2f" % v if isinstance(v, float) else str(v))
        t, a = tgt.get(k, ("", ""))
        lines.append("| " + " | ".join(row + [t, a]) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--policyc", default=os.path.join(ROOT, ".build-release/release/policyc"))
    ap.add_argument("--backend", action="append", choices=["iptables", "nft"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--node", default="node-0000")
    ap.add_argument("--churn-seconds", type=float, default=60.0)
    ap.add_argument("--rate", type=float, default=50.0)
    ap.add_argument("--policy-share", type=float, default=0.15,
                    help="share of churn events that change a policy (0: pod events only)")
    ap.add_argument("--sync-timeout", type=int, default=300)
    ap.add_argument("--only", choices=["all", "initial"], default="all",
                    help="initial: measure the initial sync only (no idle, no churn)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each backend this many times (a fresh server, namespace and "
                    "agent each time); the table shows the median initial sync")
    ap.add_argument("--shape", default="w3", choices=sorted(gen.SHAPES),
                    help="w3 is the benchmark; w1 is a quick check of the bench itself")
    args = ap.parse_args()
    backends = args.backend or ["iptables", "nft"]
    if os.geteuid() != 0:
        sys.exit("bench/agent.py: must run as root (network namespaces)")
    atexit.register(cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = tempfile.mkdtemp(prefix="policyc-bench-agent-")
    t = time.monotonic()
    objects = w3_objects(args.seed, args.shape)
    log("%s seed %d: %d objects generated (%.1f s)" % (args.shape.upper(), args.seed,
                                                       len(objects), time.monotonic() - t))
    results = []
    for b in backends:
        runs = []
        try:
            for _ in range(max(1, args.repeat)):
                runs.append(run_backend(args, b, objects, workdir))
        except Exception as e:  # noqa: BLE001 - reported, the other backend still runs
            log("  %s: FAILED: %s" % (b, e))
            results.append({"backend": b + " (failed)"})
            continue
        if len(runs) > 1:
            syncs = sorted(r["initial sync s"] for r in runs)
            log("  %s: initial sync of %d runs: %s" % (b, len(runs), ", ".join(
                "%.2f" % x for x in syncs)))
            runs.sort(key=lambda r: r["initial sync s"])
        results.append(runs[len(runs) // 2])
    text = table(results)
    machine = "%d cores, load %s" % (os.cpu_count(), " ".join(
        "%.2f" % x for x in os.getloadavg()))
    out = os.path.join(ROOT, ".build-bench", "agent-results.md")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write("%s seed %d, node %s, churn %.0f s at %.0f events/s; %s\n\n%s\n" % (
            args.shape.upper(), args.seed, args.node, args.churn_seconds, args.rate, machine, text))
    print(text)
    print("written to %s (logs in %s)" % (out, workdir))
    return 0 if all("(failed)" not in r["backend"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

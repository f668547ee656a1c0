#!/usr/bin/env python3
"""Kernel scenarios of `policyc agent`: the agent in a node network namespace with routed pods,
the test API server (apiserver.py) over TLS, and real packets proving every change.

    sudo python3 Tests/Agent/scenarios.py [--policyc PATH] [--backend iptables|nft]...
                                          [--only SUBSTR] [--latency S] [--machinery] [-v]

Topology: Tests/Kernel's `routed` one (netns.py): node-1 with nine pods (10.244.0.10-32, each a
/32 behind a veth, Calico style) and the external host 192.168.251.9; a probe agent in every pod
namespace. The API server's listening socket is made inside the node namespace (127.0.0.1:6443),
so the policyc agent, started there with `nsenter --net`, reaches it and nothing else does; its
kubeconfig has the test CA, and a tokenFile that the server rotates during the run.

After every change the kernel is judged by packets: TCP port 80 between every ordered pair of
endpoints, against `policyc matrix` over the API server's current objects (the reference model),
plus hand-written expectations for the pairs the change is about (so a step whose change would
not show cannot pass vacuously). A step passes when the kernel matches within its stated latency
(`--latency`, default 2 s, measured from the write to the first round of probes that matches);
the scenarios that break something (API server stopped, SIGKILL, 410, drift) have their own
bound, stated where they are defined. Steps that must NOT change the rules (the API server down,
the agent dead) probe repeatedly throughout and compare the kernel's ruleset text too.

Scenarios, in order, per backend (iptables with ipsets, and nft):
  initial-sync, pod-created, pod-relabelled, pod-deleted-address-reused, remote-pod (a pod of
  another node in and out of a peer set: set members only), ipv6, policy-lifecycle,
  namespace-relabelled, token-rotated, api-server-down-30s (iptables only: 30 s), watch-410,
  gap-410-relist, sigkill-restart, reboot-restart, chain-deleted-resync, admin-tiers,
  client-certificate (iptables only: a kubeconfig with a client certificate and key, no token).
At the end the API server's request log is compared with deploy/clusterrole.yaml.

`--machinery` runs the same steps with no agent: after each write the harness itself runs
`policyc apply` over the objects, which checks the probes, the expectations and the matrix
(agent-only steps are skipped). Namespaces are `pck-<pid>-...` as in the kernel suite, and are
removed on success, failure, SIGINT and SIGTERM. The last line is `N passed, M failed`.
"""

import argparse
import atexit
import copy
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "Tests", "Kernel"))

import apiserver  # noqa: E402
import netns  # noqa: E402
import probe  # noqa: E402
from apiserver import namespace, pod  # noqa: E402

PORT = [(80, "TCP")]
NODE = "node-1"
API_PORT = 6443
LISTEN = "127.0.0.1:9710"


class StepFailed(Exception):
    pass


def log(msg):
    sys.stdout.write("%s %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stdout.flush()


# ------------------------------------------------------------------------------------------
# objects of the scenario cluster


def netpol(ns, name, spec):
    return {"kind": "NetworkPolicy", "apiVersion": "networking.k8s.io/v1",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def allow_clients():
    """x/allow-clients: pods app=db of x accept TCP 80 from pods role=client of x only."""
    return netpol("x", "allow-clients", {
        "podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}],
                     "ports": [{"protocol": "TCP", "port": 80}]}]})


def from_namespaces(labels):
    """y/from-ns: every pod of y accepts traffic only from namespaces with `labels`."""
    return netpol("y", "from-ns", {
        "podSelector": {}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": labels}}]}]})


def anp_deny_z_to_y(action="Deny"):
    return {"kind": "AdminNetworkPolicy", "apiVersion": "policy.networking.k8s.io/v1alpha1",
            "metadata": {"name": "z-to-y"},
            "spec": {"priority": 10, "subject": {"namespaces": {"matchLabels": {"ns": "y"}}},
                     "ingress": [{"name": "from-z", "action": action,
                                  "from": [{"namespaces": {"matchLabels": {"ns": "z"}}}]}]}}


def banp_deny_y_to_z():
    return {"kind": "BaselineAdminNetworkPolicy",
            "apiVersion": "policy.networking.k8s.io/v1alpha1", "metadata": {"name": "default"},
            "spec": {"subject": {"namespaces": {"matchLabels": {"ns": "z"}}},
                     "ingress": [{"name": "from-y", "action": "Deny",
                                  "from": [{"namespaces": {"matchLabels": {"ns": "y"}}}]}]}}


# ------------------------------------------------------------------------------------------
# the harness


class Harness:
    def __init__(self, args, backend, workdir):
        self.args, self.backend, self.workdir = args, backend, workdir
        self.pc = args.policyc
        self.machinery = args.machinery
        self.topo = None
        self.api = None
        self.agent = None
        self.agent_log = os.path.join(workdir, "agent.log")
        self.state_dir = os.path.join(workdir, "state")
        self.pool = ThreadPoolExecutor(max_workers=12)
        self.latencies = []   # (step, seconds)
        self.ip_to_endpoint = {}
        # The admin-policy group is served from the start for nft; for iptables it appears
        # only in the admin-tiers step (404 until then), which the agent must notice.
        self.admin_late = backend == "iptables"

    # -- setup

    def build(self):
        unit = "ag%s" % self.backend[:2]
        self.topo = netns.Topology("routed", unit, self.workdir, family="ipv4")
        self.topo.build()
        self.node = self.topo.nodes[NODE]
        self.ip_maps = {}
        for fam in ("ipv4", "ipv6"):
            self.topo.family = fam
            self.ip_maps[fam] = {ip: name for name, ip in self.topo.endpoints().items()}
        self.topo.family = "ipv4"
        self.ip_to_endpoint = self.ip_maps["ipv4"]
        self.api = apiserver.APIServer(os.path.join(self.workdir, "api"), host="127.0.0.1",
                                       port=API_PORT, netns=self.node.name,
                                       bookmark_seconds=1.0, max_watch_seconds=20.0,
                                       admin_installed=not self.admin_late,
                                       verbose=self.args.verbose)
        self.api.start()
        self.kubeconfig = self.api.write_kubeconfig(os.path.join(self.workdir, "kubeconfig"))
        os.makedirs(self.state_dir, exist_ok=True)

    def seed(self):
        self.api.create(namespace("x", {"ns": "x", "team": "red"}))
        self.api.create(namespace("y", {"ns": "y"}))
        self.api.create(namespace("z", {"ns": "z"}))
        labels = {"x/a": {"app": "db"}, "x/b": {"role": "client"}}
        for p in self.topo.pods:
            if p.key == "z/c":
                continue  # created by the pod-created step
            lab = {"pod": p.name}
            lab.update(labels.get(p.key, {}))
            self.api.create(pod(p.namespace, p.name, p.ip, NODE, lab, ip6=p.ip6))
        self.api.create(allow_clients())

    def topo_pod(self, key):
        return [p for p in self.topo.pods if p.key == key][0]

    # -- the agent

    def agent_cmd(self):
        # nft files always hold both families (apply refuses --family with nft)
        family = ["--family", "both"] if self.backend == "iptables" else []
        return ["nsenter", "--net=/run/netns/" + self.node.name, self.pc, "agent",
                "--node", NODE, "--kubeconfig", self.kubeconfig, "--backend", self.backend
                ] + family + ["--state-dir", self.state_dir, "--listen", LISTEN,
                              "--resync", "%ds" % self.args.resync, "--coalesce", "50ms"]

    def start_agent(self):
        if self.machinery:
            self.machinery_apply()
            return
        f = open(self.agent_log, "a")
        f.write("---- start %s\n" % time.strftime("%H:%M:%S"))
        f.flush()
        self.agent = subprocess.Popen(self.agent_cmd(), stdin=subprocess.DEVNULL, stdout=f,
                                      stderr=subprocess.STDOUT)
        f.close()
        with netns._registry_lock:
            netns._agents.append(self.agent)

    def kill_agent(self, sig=signal.SIGKILL):
        if self.agent is None:
            return
        self.agent.send_signal(sig)
        self.agent.wait(timeout=10)
        self.agent = None

    def agent_alive(self):
        if self.machinery:
            return
        if self.agent is None or self.agent.poll() is not None:
            raise StepFailed("the agent exited (%s); log: %s\n%s" % (
                None if self.agent is None else self.agent.returncode, self.agent_log,
                self.log_tail()))

    def log_tail(self, n=25):
        try:
            with open(self.agent_log) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return "(no log)"

    def http(self, path, timeout=2.0):
        """GET on the agent's --listen address, from inside the node namespace."""
        import socket
        host, port = LISTEN.rsplit(":", 1)
        s = apiserver.socket_in_netns(self.node.name, socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect((host, int(port)))
            s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                       % (path, LISTEN)).encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError:
            return None, ""
        finally:
            s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        try:
            return int(head.split()[1]), body.decode(errors="replace")
        except (IndexError, ValueError):
            return None, ""

    def wait_ready(self, want=True, within=10.0):
        """Wait until /readyz answers 200 (want) or anything else (not want)."""
        if self.machinery:
            return 0.0
        t0 = time.monotonic()
        while True:
            code, _ = self.http("/readyz")
            if (code == 200) == want:
                return time.monotonic() - t0
            if time.monotonic() - t0 > within:
                raise StepFailed("/readyz stayed %s for %.0f s (wanted %s)" % (
                    code, within, "200" if want else "not 200"))
            time.sleep(0.1)

    # -- machinery mode: the harness applies, no agent

    def machinery_apply(self):
        path = self.write_state()
        args = [self.pc, "apply", "--force", "--node", NODE, "--state",
                os.path.join(self.state_dir, "m.state")]
        args += ["--backend", "nft"] if self.backend == "nft" else ["--ipsets", "--family",
                                                                    "both"]
        p = subprocess.run(["nsenter", "--net=/run/netns/" + self.node.name] + args + [path],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise StepFailed("machinery apply failed: %s" % (p.stderr or p.stdout))

    def write(self, fn, *a, **kw):
        """One change on the API server (fn is a method of APIServer); machinery mode applies."""
        r = fn(*a, **kw)
        if self.machinery and self.api.running:
            self.machinery_apply()
        return r

    # -- the reference

    def objects(self):
        with self.api.store.cond:
            return [copy.deepcopy(o) for _, o in sorted(self.api.store.objects.items())]

    def write_state(self):
        path = os.path.join(self.workdir, "cluster.json")
        objs = [o for o in self.objects() if self.api.admin_installed
                or o["kind"] not in ("AdminNetworkPolicy", "BaselineAdminNetworkPolicy")]
        with open(path, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "items": objs}, f, indent=1)
        return path

    def expected(self, family="ipv4"):
        """The set of allowed (from, to, '80/TCP') among the topology's endpoint names, by
        `policyc matrix` over the API server's objects."""
        path = self.write_state()
        ip_map = self.ip_maps[family]
        api_ips = {}
        for o in self.objects():
            if o["kind"] == "Pod":
                for a in o["status"].get("podIPs") or []:
                    if (":" in a["ip"]) == (family == "ipv6"):
                        api_ips["%s/%s" % (o["metadata"]["namespace"],
                                           o["metadata"]["name"])] = a["ip"]
        extra = [ip for ip in ip_map if ip not in api_ips.values()]
        args = [self.pc, "matrix", "--format", "json", "--port", "80/TCP", "--family", family]
        for ip in extra:
            args += ["--endpoint", ip]
        p = subprocess.run(args + [path], capture_output=True, text=True)
        if p.returncode != 0:
            raise StepFailed("policyc matrix failed: %s" % (p.stderr or p.stdout))
        doc = json.loads(p.stdout)

        def name(e):
            ip = api_ips.get(e, e)
            if ip not in ip_map:
                raise StepFailed("matrix endpoint %r is no topology address" % e)
            return ip_map[ip]
        allowed = {(name(a), name(b), port) for a, b, port in doc["allowed"]}
        return allowed

    # -- the kernel

    def observe(self, timeout=1.0, family="ipv4"):
        names = sorted(self.ip_to_endpoint.values())
        self.topo.family = family  # topo.endpoints() gives this family's addresses
        try:
            return probe.run_probes(self.topo, names, timeout=timeout, pool=self.pool,
                                    port_protocols=PORT)
        finally:
            self.topo.family = "ipv4"

    def mismatches(self, observed, allowed, must):
        bad = []
        for (src, dst, port), (status, detail) in sorted(observed.items()):
            want = (src, dst, port) in allowed
            if status != probe.wanted_status(want):
                bad.append("%s -> %s %s: %s (%s), matrix says %s" % (
                    src, dst, port, status, detail, "allow" if want else "deny"))
        for src, dst, want in must:
            key = (src, dst, "80/TCP")
            if (key in allowed) != want:
                raise StepFailed("the scenario is wrong: the matrix says %s -> %s is %s, the "
                                 "step expects %s" % (src, dst, "allowed" if key in allowed
                                                      else "denied",
                                                      "allowed" if want else "denied"))
        return bad

    def converge(self, step, must=(), within=None, t0=None, family="ipv4"):
        """Probe until the kernel matches the matrix (and `must`); the latency is from t0."""
        within = within if within is not None else self.args.latency
        t0 = t0 if t0 is not None else time.monotonic()
        allowed = self.expected(family)
        last = None
        while True:
            self.agent_alive()
            observed = self.observe(family=family)
            bad = self.mismatches(observed, allowed, must)
            elapsed = time.monotonic() - t0
            if not bad:
                self.latencies.append((step, elapsed))
                return elapsed
            last = bad
            if elapsed > within:
                raise StepFailed("%s: the kernel did not converge within %.1f s; %d probe(s) "
                                 "differ:\n    %s\nagent log:\n%s" % (
                                     step, within, len(last), "\n    ".join(last[:12]),
                                     self.log_tail()))
            time.sleep(0.02)

    def hold(self, step, seconds, every=2.0, ruleset=None):
        """For `seconds`, the kernel keeps matching the matrix (and the ruleset text stays)."""
        allowed = self.expected()
        end = time.monotonic() + seconds
        rounds = 0
        while True:
            bad = self.mismatches(self.observe(), allowed, ())
            rounds += 1
            if bad:
                raise StepFailed("%s: the rules changed while they had to stay:\n    %s" % (
                    step, "\n    ".join(bad[:12])))
            if ruleset is not None and self.ruleset() != ruleset:
                raise StepFailed("%s: the kernel's ruleset changed while it had to stay" % step)
            if time.monotonic() >= end:
                return rounds
            time.sleep(min(every, max(0.0, end - time.monotonic())))

    def settled_ruleset(self, quiet=0.5, within=10.0):
        """The ruleset once the agent has finished what it was applying: the previous step
        converges as soon as its probes match, which can be between two parts of one apply
        (IPv4's sets, then IPv6's). Equal over `quiet` seconds counts as finished."""
        end = time.monotonic() + within
        last = self.ruleset()
        while True:
            time.sleep(quiet)
            now = self.ruleset()
            if now == last or time.monotonic() > end:
                return now
            last = now

    def ruleset(self):
        """policyc's part of the node's netfilter, as text without counters."""
        if self.backend == "nft":
            p = self.node.exec(["nft", "list", "table", "inet", "policyc"], check=False)
            return p.stdout
        p = self.node.exec(["iptables-save", "-t", "filter"])
        rules = [re.sub(r"\[\d+:\d+\]", "", l) for l in p.stdout.splitlines()
                 if not l.startswith("#")]
        s = self.node.exec(["ipset", "save"], check=False)
        return "\n".join(rules) + "\n" + "\n".join(sorted(s.stdout.splitlines()))

    def recover(self):
        """After a failed step (--keep-going): the API server up, an agent running, the kernel
        converged, or the remaining steps would only repeat the failure."""
        if not self.api.running:
            self.api.start()
        if not self.machinery and (self.agent is None or self.agent.poll() is not None):
            self.start_agent()
        self.converge("recover", within=60.0)
        self.latencies.pop()

    def teardown(self):
        try:
            if self.agent is not None:
                self.kill_agent(signal.SIGTERM)
        except Exception:  # noqa: BLE001
            pass
        if self.api is not None:
            self.api.stop()
        if self.topo is not None:
            self.topo.teardown()
        self.pool.shutdown(wait=False)


# ------------------------------------------------------------------------------------------
# the scenarios: each a function (h) that raises StepFailed


def s_initial_sync(h):
    t0 = time.monotonic()
    h.start_agent()
    lat = h.converge("initial-sync", must=[("x/b", "x/a", True), ("x/c", "x/a", False),
                                           ("y/a", "x/a", False), ("x/c", "z/c", True)],
                     within=max(10.0, h.args.latency), t0=t0)
    h.wait_ready(True, within=10.0)
    return "first sync in the kernel after %.2f s" % lat


def s_pod_created(h):
    t0 = time.monotonic()
    # z/c's address becomes a new pod x/d, app=db: allow-clients now isolates it.
    ip = h.topo_pod("z/c")
    h.write(h.api.create, pod("x", "d", ip.ip, NODE, {"app": "db"}, ip6=ip.ip6))
    return "%.2f s" % h.converge("pod-created", must=[("x/c", "z/c", False),
                                                      ("x/b", "z/c", True)], t0=t0)


def s_pod_relabelled(h):
    t0 = time.monotonic()
    h.write(h.api.relabel, "Pod", "x", "c", {"pod": "c", "role": "client"})
    a = h.converge("relabel-into-peer-set", must=[("x/c", "x/a", True)], t0=t0)
    t0 = time.monotonic()
    h.write(h.api.relabel, "Pod", "x", "c", {"pod": "c"})
    b = h.converge("relabel-out-of-peer-set", must=[("x/c", "x/a", False)], t0=t0)
    return "into %.2f s, out of %.2f s" % (a, b)


def s_pod_deleted_address_reused(h):
    b = h.topo_pod("x/b")
    t0 = time.monotonic()
    h.write(h.api.delete, "Pod", "x", "b")
    d = h.converge("pod-deleted", must=[("x/b", "x/a", False)], t0=t0)
    t0 = time.monotonic()
    # Another pod gets x/b's address, without the role: it must not inherit the rights.
    h.write(h.api.create, pod("x", "b2", b.ip, NODE, {"pod": "b2"}, ip6=b.ip6))
    r = h.converge("address-reused", must=[("x/b", "x/a", False)], t0=t0)
    # The isolated pod x/a goes, and a pod without app=db takes its address: the isolation
    # must go with the old pod.
    a = h.topo_pod("x/a")
    t0 = time.monotonic()
    h.write(h.api.delete, "Pod", "x", "a")
    h.write(h.api.create, pod("x", "a2", a.ip, NODE, {"pod": "a2"}, ip6=a.ip6))
    r2 = h.converge("isolated-address-reused", must=[("y/a", "x/a", True)], t0=t0)
    # back to the cluster's shape: x/a2 is a db again, x/b2 a client
    t0 = time.monotonic()
    h.write(h.api.relabel, "Pod", "x", "a2", {"pod": "a2", "app": "db"})
    h.write(h.api.relabel, "Pod", "x", "b2", {"pod": "b2", "role": "client"})
    h.converge("relabel-back", must=[("x/b", "x/a", True), ("y/a", "x/a", False)], t0=t0)
    return "deleted %.2f s, reused %.2f s, isolated address reused %.2f s" % (d, r, r2)


def s_remote_pod(h):
    """A pod on another node joins and leaves x/allow-clients' peer set. Its address is the
    external host's, whose packets reach the node routed, as another node's pods' do. The
    agent must apply each change as set members only, no rule reloaded (its sync log says so),
    and packets follow."""
    ext = "192.168.251.9"
    start = os.path.getsize(h.agent_log) if os.path.exists(h.agent_log) else 0
    steps = []
    for step, write, want in [
        ("remote-pod-created", lambda: h.api.create(pod("x", "remote", ext, "node-2",
                                                        {"pod": "remote", "role": "client"})), True),
        ("remote-pod-relabelled-out", lambda: h.api.relabel("Pod", "x", "remote",
                                                            {"pod": "remote"}), False),
        ("remote-pod-relabelled-in", lambda: h.api.relabel("Pod", "x", "remote",
                                                           {"pod": "remote", "role": "client"}), True),
        ("remote-pod-deleted", lambda: h.api.delete("Pod", "x", "remote"), False),
    ]:
        t0 = time.monotonic()
        h.write(write)
        steps.append(h.converge(step, must=[(ext, "x/a", want)], t0=t0))
    if not h.machinery:
        # The sync's log line follows its kernel change: give it a moment.
        deadline = time.monotonic() + 3.0
        while True:
            with open(h.agent_log) as f:
                f.seek(start)
                member_syncs = f.read().count("result=set members only")
            if member_syncs >= 4 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if member_syncs < 4:
            raise StepFailed("%d of 4 remote pod changes applied as set members only; the "
                             "agent compiled for the others:\n%s" % (member_syncs, h.log_tail()))
    return "in %.2f s, out %.2f s, in %.2f s, deleted %.2f s" % tuple(steps)


def s_ipv6(h):
    """The agent runs with --family both: IPv6 traffic follows the same objects."""
    t0 = time.monotonic()
    lat = h.converge("ipv6", must=[("x/b", "x/a", True), ("x/c", "x/a", False),
                                   ("x/c", "z/c", False)], t0=t0, family="ipv6")
    return "IPv6 probes match the IPv6 matrix (%.2f s after the IPv4 state)" % lat


def s_policy_lifecycle(h):
    t0 = time.monotonic()
    h.write(h.api.create, from_namespaces({"ns": "x"}))
    a = h.converge("policy-added", must=[("x/c", "y/a", True), ("z/a", "y/a", False),
                                         ("192.168.251.9", "y/a", False)], t0=t0)
    t0 = time.monotonic()
    h.write(h.api.update, from_namespaces({"team": "blue"}))
    c = h.converge("policy-changed", must=[("x/c", "y/a", False), ("z/a", "y/a", False)],
                   t0=t0)
    return "added %.2f s, changed %.2f s" % (a, c)


def s_namespace_relabelled(h):
    t0 = time.monotonic()
    h.write(h.api.relabel, "Namespace", None, "z", {"ns": "z", "team": "blue"})
    a = h.converge("namespace-relabelled-in", must=[("z/a", "y/a", True)], t0=t0)
    t0 = time.monotonic()
    h.write(h.api.relabel, "Namespace", None, "z", {"ns": "z"})
    b = h.converge("namespace-relabelled-out", must=[("z/a", "y/a", False)], t0=t0)
    t0 = time.monotonic()
    h.write(h.api.delete, "NetworkPolicy", "y", "from-ns")
    d = h.converge("policy-deleted", must=[("z/a", "y/a", True), ("x/c", "y/a", True)], t0=t0)
    return "in %.2f s, out %.2f s, policy deleted %.2f s" % (a, b, d)


def s_token_rotated(h):
    """The token rotates and the old one expires at once: the agent must re-read the file
    (after the 401 at the latest) and keep following changes."""
    if h.machinery:
        return None
    before = h.api.unauthorized
    h.api.rotate_token(grace=0)
    h.api.end_watches()  # the watches reconnect with a token: the old one now gets 401
    t0 = time.monotonic()
    h.write(h.api.relabel, "Pod", "x", "c", {"pod": "c", "role": "client"})
    lat = h.converge("after-token-rotation", must=[("x/c", "x/a", True)], within=15.0, t0=t0)
    h.wait_ready(True, within=15.0)
    return "%.2f s after the rotation (%d request(s) refused with 401)" % (
        lat, h.api.unauthorized - before)


def s_api_server_down(h):
    """30 s without the API server: the rules stay exactly as they were, /readyz is not 200
    within 10 s; back up, a change made meanwhile... is impossible, so one made after converges
    within --reconnect (35 s: a client-go-like backoff reaches 30 s during the outage)."""
    if h.machinery:
        return None
    seconds = h.args.down_seconds
    before = h.settled_ruleset()
    h.api.stop()
    unready = h.wait_ready(False, within=10.0)
    rounds = h.hold("api-server-down", seconds, every=3.0, ruleset=before)
    code, _ = h.http("/readyz")
    if code == 200:
        raise StepFailed("/readyz is 200 while the API server is down")
    code, _ = h.http("/healthz")
    if code != 200:
        raise StepFailed("/healthz is %s while the agent works (API server down)" % code)
    h.api.start()
    t0 = time.monotonic()
    h.write(h.api.relabel, "Pod", "x", "c", {"pod": "c"})
    lat = h.converge("after-api-server-back", must=[("x/c", "x/a", False)],
                     within=h.args.reconnect, t0=t0)
    ready = lat + h.wait_ready(True, within=h.args.reconnect)
    return "%d s down: /readyz not 200 after %.1f s, rules and ruleset unchanged over %d probe " \
        "rounds; back up: a change in the kernel after %.2f s, /readyz 200 after %.1f s" % (
            seconds, unready, rounds, lat, ready)


def s_watch_410(h):
    """An ERROR 410 in the middle of every watch (history compacted): the agent relists and
    follows the next change."""
    if h.machinery:
        return None
    h.api.expire_watches()
    t0 = time.monotonic()
    h.write(h.api.relabel, "Pod", "x", "c", {"pod": "c", "role": "client"})
    lat = h.converge("after-watch-410", must=[("x/c", "x/a", True)], within=10.0, t0=t0)
    return "%.2f s" % lat


def s_gap_410_relist(h):
    """Objects deleted while the agent could not watch (server down, history compacted): the
    resumed watch gets 410, the relist must delete them, nothing stale survives."""
    if h.machinery:
        return None
    h.api.stop()
    t0 = time.monotonic()
    h.api.delete("Pod", "x", "c")              # a client vanishes in the gap
    h.api.delete("NetworkPolicy", "x", "allow-clients")   # and the isolation with it...
    h.api.create(netpol("x", "deny-all", {"podSelector": {}, "policyTypes": ["Ingress"]}))
    h.api.compact()
    h.api.start()
    lat = h.converge("gap-410-relist", must=[("x/c", "x/a", False), ("x/b", "x/a", False),
                                             ("x/a", "x/b", False)], within=20.0, t0=t0)
    # put the cluster back for the next steps
    c = h.topo_pod("x/c")
    t0 = time.monotonic()
    h.write(h.api.delete, "NetworkPolicy", "x", "deny-all")
    h.write(h.api.create, allow_clients())
    h.write(h.api.create, pod("x", "c", c.ip, NODE, {"pod": "c"}, ip6=c.ip6))
    h.converge("after-gap", must=[("x/b", "x/a", True), ("x/c", "x/a", False)], t0=t0)
    return "converged %.2f s after the gap began (API server down, then relist)" % lat


def s_sigkill_restart(h):
    """SIGKILL: the rules stay; a change made while the agent is dead shows after restart."""
    if h.machinery:
        return None
    before = h.settled_ruleset()
    h.kill_agent(signal.SIGKILL)
    rounds = h.hold("agent-killed", 3.0, every=1.0, ruleset=before)
    h.write(h.api.relabel, "Pod", "x", "c", {"pod": "c", "role": "client"})
    t0 = time.monotonic()
    h.start_agent()
    lat = h.converge("after-restart", must=[("x/c", "x/a", True)], within=10.0, t0=t0)
    h.wait_ready(True, within=10.0)
    return "rules kept while dead (%d rounds); converged %.2f s after restart" % (rounds, lat)


def s_reboot_restart(h):
    """The node reboots (netfilter empty) and the API server is unreachable: from --state-dir
    alone the restarted agent puts the last applied rules back, and /readyz stays not ready."""
    if h.machinery:
        return None
    h.kill_agent(signal.SIGKILL)
    h.topo.reset_filter()
    h.api.stop()
    t0 = time.monotonic()
    h.start_agent()
    lat = h.converge("restored-from-state-dir", within=10.0, t0=t0)
    code, _ = h.http("/readyz")
    if code == 200:
        raise StepFailed("/readyz is 200 before any sync with the API server")
    h.api.start()
    h.wait_ready(True, within=15.0)
    return "rules back from the state dir %.2f s after start, without the API server" % lat


def delete_chain_by_hand(h):
    """Deletes the chain that enforces x/a's ingress (iptables), or policyc's whole table (nft
    has no cheaper way to drop a chain a verdict map points to). Returns what it did."""
    x_a = h.topo_pod("x/a").ip
    if h.backend == "nft":
        h.node.exec(["nft", "delete", "table", "inet", "policyc"])
        return "nft delete table inet policyc"
    save = h.node.exec(["iptables-save", "-t", "filter"]).stdout
    chain = None
    for line in save.splitlines():
        w = line.split()
        if w[:2] == ["-A", "POLICYC-INGRESS"] and "-d" in w and \
                w[w.index("-d") + 1] == x_a + "/32" and ("-g" in w or "-j" in w):
            chain = w[w.index("-g" if "-g" in w else "-j") + 1]
    if chain is None:
        raise StepFailed("no POLICYC-INGRESS rule for %s in:\n%s" % (x_a, save))
    refs = [l for l in save.splitlines() if l.startswith("-A ") and
            re.search(r" -[gj] %s( |$)" % re.escape(chain), l)]
    for l in refs:
        h.node.exec(["iptables", "-D"] + shlex.split(l)[1:])
    h.node.exec(["iptables", "-F", chain])
    h.node.exec(["iptables", "-X", chain])
    return "iptables -X %s (and %d jump(s) to it)" % (chain, len(refs))


def s_chain_deleted(h):
    """Drift: a policyc chain deleted by hand is back at the next resync."""
    if h.machinery:
        return None
    what = delete_chain_by_hand(h)
    t0 = time.monotonic()
    # The drift must show (y/a may reach x/a now), or the repair proves nothing.
    obs = h.observe()
    if obs[("y/a", "x/a", "80/TCP")][0] != "arrived":
        raise StepFailed("deleting the chain by hand did not open y/a -> x/a: %r" %
                         (obs[("y/a", "x/a", "80/TCP")],))
    lat = h.converge("drift-repaired", within=h.args.resync + 5.0, t0=t0)
    _, metrics = h.http("/metrics")
    return "%s; repaired %.2f s later (--resync %ds)%s" % (
        what, lat, h.args.resync, "" if "drift" in metrics else "; no drift metric in /metrics")


def s_admin_tiers(h):
    late = not h.api.admin_installed
    t0 = time.monotonic()
    if late:
        # The group was 404 so far: the agent must look again and pick it up.
        h.api.set_admin_installed(True)
    h.write(h.api.create, anp_deny_z_to_y())
    a = h.converge("anp-deny", must=[("z/a", "y/a", False), ("x/c", "y/a", True)], t0=t0,
                   within=h.args.admin_discovery if late else None)
    t0 = time.monotonic()
    h.write(h.api.create, banp_deny_y_to_z())
    b = h.converge("banp-deny", must=[("y/a", "z/a", False), ("x/c", "z/a", True)], t0=t0)
    t0 = time.monotonic()
    h.write(h.api.update, anp_deny_z_to_y("Allow"))
    c = h.converge("anp-changed", must=[("z/a", "y/a", True)], t0=t0)
    t0 = time.monotonic()
    h.write(h.api.delete, "AdminNetworkPolicy", None, "z-to-y")
    h.write(h.api.delete, "BaselineAdminNetworkPolicy", None, "default")
    d = h.converge("admin-deleted", must=[("y/a", "z/a", True)], t0=t0)
    return "ANP %.2f s%s, BANP %.2f s, ANP changed %.2f s, deleted %.2f s" % (
        a, " (group installed during the run)" if late else "", b, c, d)


def s_client_certificate(h):
    """The agent restarted with a kubeconfig that names a client certificate and key and no
    token: it must present them in the TLS handshake (the server takes the certificate's CN as
    the user) and follow changes as before, with no request refused."""
    if h.machinery:
        return None
    kubeconfig = h.api.write_kubeconfig(os.path.join(h.workdir, "kubeconfig-cert"), auth="cert")
    with open(kubeconfig) as f:
        if "token" in f.read():
            raise StepFailed("the certificate kubeconfig carries a token")
    before = h.api.unauthorized
    h.kill_agent(signal.SIGTERM)
    h.kubeconfig = kubeconfig
    h.start_agent()
    ready = h.wait_ready(True, within=15.0)
    t1 = time.monotonic()
    h.write(h.api.relabel, "Pod", "x", "c", {"pod": "c", "role": "client", "auth": "cert"})
    a = h.converge("cert-client-in", must=[("x/c", "x/a", True)], t0=t1)
    t1 = time.monotonic()
    h.write(h.api.relabel, "Pod", "x", "c", {"pod": "c", "auth": "cert"})
    b = h.converge("cert-client-out", must=[("x/c", "x/a", False)], t0=t1)
    if h.api.unauthorized != before:
        raise StepFailed("%d request(s) refused with 401 under the client certificate" % (
            h.api.unauthorized - before))
    return "ready %.1f s after start; changes in %.2f s and %.2f s; no request refused" % (
        ready, a, b)


SCENARIOS = [
    ("initial-sync", s_initial_sync, None),
    ("pod-created", s_pod_created, None),
    ("pod-relabelled", s_pod_relabelled, None),
    ("pod-deleted-address-reused", s_pod_deleted_address_reused, None),
    ("remote-pod", s_remote_pod, None),
    ("ipv6", s_ipv6, None),
    ("policy-lifecycle", s_policy_lifecycle, None),
    ("namespace-relabelled", s_namespace_relabelled, None),
    ("token-rotated", s_token_rotated, None),
    ("api-server-down", s_api_server_down, "iptables"),
    ("watch-410", s_watch_410, None),
    ("gap-410-relist", s_gap_410_relist, None),
    ("sigkill-restart", s_sigkill_restart, None),
    ("reboot-restart", s_reboot_restart, None),
    ("chain-deleted-resync", s_chain_deleted, None),
    ("admin-tiers", s_admin_tiers, None),
    ("client-certificate", s_client_certificate, "iptables"),
]


def clusterrole_check(requests, path):
    import test_deploy
    with open(path, "w") as f:
        json.dump(sorted(requests), f)
    return test_deploy.compare_clusterrole({tuple(r) for r in requests})


def run_backend(args, backend, report, requests):
    workdir = tempfile.mkdtemp(prefix="policyc-agent-%s-" % backend)
    h = Harness(args, backend, workdir)
    try:
        h.build()
        h.seed()
        for name, fn, only in SCENARIOS:
            full = "%s/%s" % (backend, name)
            if args.only and args.only not in full:
                if name != "initial-sync":
                    continue
            if only and only != backend:
                continue
            t = time.monotonic()
            try:
                detail = fn(h)
                if detail is None:
                    log("SKIP  %s (needs the agent)" % full)
                    continue
                report.append((full, True, detail))
                log("PASS  %s (%.1f s): %s" % (full, time.monotonic() - t, detail))
            except Exception as e:  # noqa: BLE001 - a step's tool error fails the step
                if not isinstance(e, StepFailed):
                    e = "%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc())
                report.append((full, False, str(e)))
                log("FAIL  %s (%.1f s): %s" % (full, time.monotonic() - t, e))
                if name == "initial-sync":
                    break
                if not args.keep_going:
                    break
                try:
                    h.recover()
                except StepFailed as e2:
                    report.append(("%s/recover" % backend, False, str(e2)))
                    log("FAIL  %s/recover: %s" % (backend, e2))
                    break
    except Exception as e:  # noqa: BLE001 - an infrastructure error fails the run
        report.append(("%s/setup" % backend, False, "%s\n%s" % (e, traceback.format_exc())))
        log("FAIL  %s: %s" % (backend, e))
    finally:
        if h.api is not None:
            requests.update(tuple(r) for r in h.api.rbac_requests())
        h.teardown()
        failed = any(not ok for n, ok, _ in report if n.startswith(backend + "/"))
        if failed:
            log("artifacts kept in %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return h.latencies


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--policyc", default=None)
    ap.add_argument("--backend", action="append", choices=["iptables", "nft"])
    ap.add_argument("--only", default="", help="scenarios whose backend/name contains SUBSTR")
    ap.add_argument("--latency", type=float, default=2.0,
                    help="seconds from a write to the kernel, for ordinary changes")
    ap.add_argument("--resync", type=int, default=3, help="the agent's --resync, seconds")
    ap.add_argument("--down-seconds", type=int, default=30)
    ap.add_argument("--reconnect", type=float, default=35.0,
                    help="seconds the agent may take to follow a change once the API server "
                    "is back after --down-seconds")
    ap.add_argument("--admin-discovery", type=float, default=40.0,
                    help="seconds the agent may take to notice the admin-policy group appear")
    ap.add_argument("--machinery", action="store_true",
                    help="no agent: the harness applies with `policyc apply` after each write")
    ap.add_argument("--keep-going", action="store_true")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    args.backend = args.backend or ["iptables", "nft"]
    if args.policyc is None:
        for cand in (".build-release/release/policyc", ".build/release/policyc", ".build/debug/policyc"):
            if os.path.exists(os.path.join(ROOT, cand)):
                args.policyc = os.path.join(ROOT, cand)
                break
    if not args.policyc or not os.access(args.policyc, os.X_OK):
        print("FAIL  no policyc binary (build it or pass --policyc)")
        print("0 passed, 1 failed")
        return 1
    args.policyc = os.path.abspath(args.policyc)

    def handler(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    atexit.register(netns.cleanup_all)
    if os.geteuid() != 0:
        print("FAIL  must run as root (network namespaces)")
        print("0 passed, 1 failed")
        return 1
    if not args.machinery:
        p = subprocess.run([args.policyc, "agent", "--help"], capture_output=True, text=True)
        if p.returncode != 0:
            print("FAIL  %s has no `agent` command: %s" % (args.policyc,
                                                           (p.stderr or p.stdout).strip()[:300]))
            print("0 passed, 1 failed")
            return 1
    t0 = time.monotonic()
    report, requests, latencies = [], set(), []
    for backend in args.backend:
        latencies += [(backend, s, l) for s, l in run_backend(args, backend, report, requests)]
    if not args.machinery and not args.only:
        problems = clusterrole_check(requests, os.path.join(tempfile.gettempdir(),
                                                            "policyc-agent-requests.json"))
        report.append(("clusterrole-matches-requests", not problems, "; ".join(problems)))
        log("%s  clusterrole-matches-requests: %s" % ("PASS" if not problems else "FAIL",
                                                       "; ".join(problems) or
                                                       "%d (group, resource, verb) requested"
                                                       % len(requests)))
    netns.cleanup_all()
    if latencies:
        lat = sorted(l for _, _, l in latencies)
        log("change-to-kernel latency over %d steps (probe-observed): median %.2f s, max %.2f s"
            " (%s)" % (len(lat), lat[len(lat) // 2], lat[-1],
                       max(latencies, key=lambda t: t[2])[:2]))
    passed = sum(1 for _, ok, _ in report if ok)
    failed = len(report) - passed
    log("wall time %.0f s" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

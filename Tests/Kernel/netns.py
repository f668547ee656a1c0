"""Network namespaces, topologies and their cleanup.

Safety: every namespace is named `pck-<runner pid>-<unit>-<role>` and is only ever connected to
other namespaces of the same topology. Links are created directly inside the node namespace, so no
interface ever appears in the host's namespace, and nodes have routes only to their own pods, the
other node's pod subnet and the external test host: there is no default route out of a node.

Cleanup: every namespace and agent process is recorded in a process-wide registry as soon as it
exists. `cleanup_all()` (called from finally blocks, signal handlers and atexit) stops the agents
this runner started, by pid, and deletes the namespaces it created; it is idempotent.
"""

import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PREFIX = "pck-%d" % os.getpid()

# Pods of the conformance-style model: namespaces x, y, z, pods a, b, c in each.
NAMESPACES = ["x", "y", "z"]
POD_NAMES = ["a", "b", "c"]
EXT_IP = "192.168.251.9"       # the external (non-pod) host, on a link of node 1
EXT_GW = "192.168.251.1"
NODE_LINK = ["192.168.250.1", "192.168.250.2"]
# Every namespace is dual-stack; the IPv6 addresses are ULAs that mirror the IPv4 ones:
# pod 10.244.S.H is fd00:10:244:S::H (hex). A run in family "ipv6" probes these.
EXT_IP6 = "fd00:251::9"
EXT_GW6 = "fd00:251::1"
NODE_LINK6 = ["fd00:250::1", "fd00:250::2"]
FAMILIES = ("ipv4", "ipv6")
# No duplicate address detection: a tentative address would drop the first probes.
IPV6_SYSCTLS = [("net.ipv6.conf.all.disable_ipv6", 0), ("net.ipv6.conf.default.disable_ipv6", 0),
                ("net.ipv6.conf.all.accept_dad", 0), ("net.ipv6.conf.default.accept_dad", 0)]


def ip6_of(ip4):
    """The pod's IPv6 address: 10.244.S.H -> fd00:10:244:S::H (hex groups)."""
    o = [int(x) for x in ip4.split(".")]
    # Canonical text (RFC 5952), as the kernel reports a source address.
    return str(ipaddress.ip_address("fd00:10:244:%x::%x" % (o[2], o[3])))
# The agents listen on these with TCP and UDP, and count SCTP INITs to them: 80 and 81 for
# the NetworkPolicy cases, 53, 5353, 8080, 9003, 9005 for the conformance-style port set of
# the anp/ cases (probe.CONFORMANCE_PORT_PROTOCOLS).
PORTS = [80, 81, 53, 5353, 8080, 9003, 9005]

_registry_lock = threading.Lock()
_namespaces = []   # names, creation order
_agents = []       # subprocess.Popen objects


class SetupError(Exception):
    """The kernel or a tool refused to build a topology."""


def sh(cmd, input=None, check=True, timeout=60):
    """Run a command (list), return CompletedProcess with text output."""
    p = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise SetupError("%s -> exit %d: %s" % (" ".join(cmd), p.returncode,
                                                 (p.stderr or p.stdout).strip()))
    return p


class Netns:
    """One network namespace created by this runner."""

    def __init__(self, name):
        self.name = name

    @classmethod
    def create(cls, role):
        name = "%s-%s" % (PREFIX, role)
        with _registry_lock:
            _namespaces.append(name)
        sh(["ip", "netns", "add", name])
        ns = cls(name)
        ns.ip_batch(["link set lo up"])
        return ns

    def exec(self, cmd, input=None, check=True, timeout=60, env=None):
        # nsenter enters only the network namespace: cheaper than `ip netns exec`, which also
        # makes a mount namespace and remounts /sys for every command. The tools run here
        # (iptables, nft, ipset, conntrack, sysctl, sh) need nothing but the network namespace.
        full = ["nsenter", "--net=/run/netns/" + self.name] + cmd
        if env is None:
            return sh(full, input=input, check=check, timeout=timeout)
        p = subprocess.run(full, input=input, capture_output=True, text=True,
                           timeout=timeout, env=env)
        if check and p.returncode != 0:
            raise SetupError("%s -> exit %d: %s" % (" ".join(full), p.returncode,
                                                     (p.stderr or p.stdout).strip()))
        return p

    def ip_batch(self, lines):
        """Several `ip` commands in one process (`ip -n NS -batch -`)."""
        sh(["ip", "-n", self.name, "-batch", "-"], input="\n".join(lines) + "\n")

    def sysctl(self, settings):
        self.exec(["sysctl", "-qw"] + ["%s=%s" % kv for kv in settings])


class AgentClient:
    """Control connection to one agent process (one request at a time)."""

    def __init__(self, name, ns, ip, ctl_path):
        self.name, self.ns, self.ip, self.ctl_path = name, ns, ip, ctl_path
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns.name, sys.executable, os.path.join(HERE, "agent.py"),
             "--ctl", ctl_path, "--ports", ",".join(str(p) for p in PORTS)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        with _registry_lock:
            _agents.append(self.proc)
        self.sock = None
        self.file = None

    def connect(self, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace").strip()
                raise SetupError("agent in %s died: %s" % (self.ns.name, err))
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.ctl_path)
                self.sock, self.file = s, s.makefile("rwb")
                break
            except OSError:
                s.close()
                if time.monotonic() > deadline:
                    raise SetupError("agent in %s did not start" % self.ns.name)
                time.sleep(0.02)
        if not self.request({"op": "ping"}).get("ok"):
            raise SetupError("agent in %s does not answer" % self.ns.name)

    def request(self, req):
        with self.lock:
            self.file.write(json.dumps(req).encode() + b"\n")
            self.file.flush()
            line = self.file.readline()
        if not line:
            raise SetupError("agent in %s closed its control socket" % self.ns.name)
        resp = json.loads(line)
        if not resp.get("ok"):
            raise SetupError("agent in %s: %s" % (self.ns.name, resp.get("error")))
        return resp

    def stop(self):
        if self.sock:
            self.sock.close()
        _stop_process(self.proc)


def _stop_process(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=3)


def delete_namespace(name):
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    with _registry_lock:
        if name in _namespaces:
            _namespaces.remove(name)


def cleanup_all():
    """Stop every agent and delete every namespace this runner created. Idempotent."""
    with _registry_lock:
        agents, names = list(_agents), list(_namespaces)
        _agents.clear()
    for proc in agents:
        try:
            _stop_process(proc)
        except Exception:
            pass
    for name in reversed(names):
        delete_namespace(name)


def leftover_namespaces():
    """Namespaces of this run that still exist (should be none after cleanup_all)."""
    p = sh(["ip", "netns", "list"], check=False)
    return [l.split()[0] for l in p.stdout.splitlines() if l.startswith(PREFIX + "-")]


def stale_namespaces():
    """pck-<pid>-* namespaces whose runner process no longer exists."""
    p = sh(["ip", "netns", "list"], check=False)
    out = []
    for line in p.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        parts = name.split("-")
        if len(parts) > 2 and parts[0] == "pck" and parts[1].isdigit():
            if not os.path.exists("/proc/%s" % parts[1]):
                out.append(name)
    return out


class Pod:
    def __init__(self, namespace, name, ip, node):
        self.namespace, self.name, self.ip, self.node = namespace, name, ip, node
        self.ip6 = ip6_of(ip)
        self.key = "%s/%s" % (namespace, name)
        self.netns = None
        self.agent = None


def pod_host(ns_index, pod_index):
    """Host number of a pod: x/a=10, x/b=11, ..., z/c=32 (same in every topology)."""
    return 10 * (ns_index + 1) + pod_index


class Topology:
    """Nodes, pods and the external host, with one agent per pod/host namespace.

    kind is "routed" (one node, /32 pods behind veths, Calico style), "bridged" (one node, pods on
    the cni0 bridge with br_netfilter) or "twonode" (two routed nodes joined by a veth link).
    """

    KINDS = ("routed", "bridged", "twonode")

    def __init__(self, kind, unit, tmpdir, family="ipv4"):
        if kind not in self.KINDS or family not in FAMILIES:
            raise ValueError((kind, family))
        self.kind, self.unit, self.tmpdir, self.family = kind, unit, tmpdir, family
        self.nodes = {}          # node name (as in spec.nodeName) -> Netns
        self.pods = []           # Pod
        self.ext = None          # AgentClient of the external host
        self.agents = {}         # endpoint name ("x/a" or EXT_IP) -> AgentClient
        node_names = ["node-1", "node-2"] if kind == "twonode" else ["node-1"]
        subnet = {"routed": ["10.244.0"], "bridged": ["10.244.1"],
                  "twonode": ["10.244.2", "10.244.3"]}[kind]
        self.node_subnet = dict(zip(node_names, subnet))
        i = 0
        for ni, ns in enumerate(NAMESPACES):
            for pi, name in enumerate(POD_NAMES):
                node = node_names[i % len(node_names)]
                ip = "%s.%d" % (self.node_subnet[node], pod_host(ni, pi))
                self.pods.append(Pod(ns, name, ip, node))
                i += 1

    def role(self, what):
        return "%s-%s" % (self.unit, what)

    def build(self):
        for idx, node in enumerate(self.node_subnet):
            ns = Netns.create(self.role("n%d" % (idx + 1)))
            self.nodes[node] = ns
            ns.sysctl([("net.ipv4.ip_forward", 1), ("net.ipv4.icmp_ratemask", 0),
                       ("net.ipv4.conf.all.rp_filter", 0), ("net.ipv4.conf.default.rp_filter", 0)]
                      + IPV6_SYSCTLS + [("net.ipv6.conf.all.forwarding", 1),
                                        ("net.ipv6.icmp.ratelimit", 0),
                                        # Rate-limit no ICMPv6 error (255 is a reserved type),
                                        # or REJECTs stop answering and denies wait for timeouts.
                                        ("net.ipv6.icmp.ratemask", 255)])
        if self.kind == "bridged":
            self._bridge_node()
        else:
            for ns in self.nodes.values():
                ns.ip_batch(["addr add 169.254.1.1/32 dev lo"])
        for i, pod in enumerate(self.pods):
            pod.netns = Netns.create(self.role("%s-%s" % (pod.namespace, pod.name)))
            pod.netns.sysctl(IPV6_SYSCTLS)
            self._attach_pod(pod, i)
        self._external_host()
        if self.kind == "twonode":
            self._link_nodes()
        self._start_agents()

    def _bridge_node(self):
        node = self.nodes["node-1"]
        node.ip_batch(["link add cni0 type bridge", "addr add 10.244.1.1/24 dev cni0",
                       "addr add fd00:10:244:1::1/64 dev cni0 nodad", "link set cni0 up"])
        for key in ("net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables"):
            p = node.exec(["sysctl", "-qw", key + "=1"], check=False)
            value = node.exec(["sysctl", "-n", key], check=False)
            if p.returncode != 0 or value.stdout.strip() != "1":
                raise SetupError("br_netfilter refused in the node namespace (%s): %s" % (
                    key, p.stderr.strip() or value.stderr.strip() or "value stays %r"
                    % value.stdout.strip()))

    def _attach_pod(self, pod, i):
        node = self.nodes[pod.node]
        host_if = "veth%d" % i
        node.ip_batch(["link add %s type veth peer name eth0 netns %s" % (host_if, pod.netns.name)])
        if self.kind == "bridged":
            node.ip_batch(["link set %s master cni0" % host_if, "link set %s up" % host_if])
            pod.netns.ip_batch(["addr add %s/24 dev eth0" % pod.ip,
                                "addr add %s/64 dev eth0 nodad" % pod.ip6, "link set eth0 up",
                                "route add default via 10.244.1.1 dev eth0",
                                "route add ::/0 via fd00:10:244:1::1 dev eth0"])
        else:
            # Calico style: the pod's gateway is a link-local address the node owns (on lo, so
            # the node answers ARP for it on every pod link); the node routes each /32 to its veth.
            # IPv6 the same way: the gateway is fe80::1 on the node's side of every pod link.
            node.ip_batch(["addr add fe80::1/64 dev %s nodad" % host_if,
                           "link set %s up" % host_if,
                           "route add %s/32 dev %s scope link" % (pod.ip, host_if),
                           "route add %s/128 dev %s" % (pod.ip6, host_if)])
            pod.netns.ip_batch(["addr add %s/32 dev eth0" % pod.ip,
                                "addr add %s/128 dev eth0 nodad" % pod.ip6, "link set eth0 up",
                                "route add 169.254.1.1/32 dev eth0 scope link",
                                "route add default via 169.254.1.1 dev eth0 onlink",
                                "route add ::/0 via fe80::1 dev eth0"])

    def _external_host(self):
        node = self.nodes["node-1"]
        ext = Netns.create(self.role("ext"))
        ext.sysctl(IPV6_SYSCTLS)
        node.ip_batch(["link add ext0 type veth peer name eth0 netns %s" % ext.name,
                       "addr add %s/24 dev ext0" % EXT_GW,
                       "addr add %s/64 dev ext0 nodad" % EXT_GW6, "link set ext0 up"])
        ext.ip_batch(["addr add %s/24 dev eth0" % EXT_IP,
                      "addr add %s/64 dev eth0 nodad" % EXT_IP6, "link set eth0 up",
                      "route add default via %s dev eth0" % EXT_GW,
                      "route add ::/0 via %s dev eth0" % EXT_GW6])
        self.ext_netns = ext

    def _link_nodes(self):
        n1, n2 = self.nodes["node-1"], self.nodes["node-2"]
        def net6(node):
            return "fd00:10:244:%x::/64" % int(self.node_subnet[node].split(".")[2])
        n1.ip_batch(["link add peer0 type veth peer name peer0 netns %s" % n2.name,
                     "addr add %s/24 dev peer0" % NODE_LINK[0],
                     "addr add %s/64 dev peer0 nodad" % NODE_LINK6[0], "link set peer0 up",
                     "route add %s.0/24 via %s dev peer0" % (self.node_subnet["node-2"],
                                                             NODE_LINK[1]),
                     "route add %s via %s dev peer0" % (net6("node-2"), NODE_LINK6[1])])
        n2.ip_batch(["addr add %s/24 dev peer0" % NODE_LINK[1],
                     "addr add %s/64 dev peer0 nodad" % NODE_LINK6[1], "link set peer0 up",
                     "route add %s.0/24 via %s dev peer0" % (self.node_subnet["node-1"],
                                                             NODE_LINK[0]),
                     "route add %s via %s dev peer0" % (net6("node-1"), NODE_LINK6[0]),
                     "route add 192.168.251.0/24 via %s dev peer0" % NODE_LINK[0],
                     "route add fd00:251::/64 via %s dev peer0" % NODE_LINK6[0]])

    def _start_agents(self):
        clients = []
        for pod in self.pods:
            ctl = os.path.join(self.tmpdir, "%s-%s.sock" % (pod.namespace, pod.name))
            pod.agent = AgentClient(pod.key, pod.netns, pod.ip, ctl)
            clients.append(pod.agent)
        self.ext = AgentClient(EXT_IP, self.ext_netns, EXT_IP,
                               os.path.join(self.tmpdir, "ext.sock"))
        clients.append(self.ext)
        for c in clients:
            c.connect()
            self.agents[c.name] = c

    def endpoints(self):
        """Endpoint name -> IP of the run's family, pods first, then the external host (named
        EXT_IP in both families, so cases and results read the same)."""
        if self.family == "ipv6":
            out = {p.key: p.ip6 for p in self.pods}
            out[EXT_IP] = EXT_IP6
            return out
        out = {p.key: p.ip for p in self.pods}
        out[EXT_IP] = EXT_IP
        return out

    @property
    def ext_address(self):
        return EXT_IP6 if self.family == "ipv6" else EXT_IP

    EMPTY_FILTER = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"

    def node_script(self, node, script, what):
        """Run a shell script in a node namespace (one process instead of one per command).
        A failing command must `exit N` with N >= 10 after printing its story to stderr; the
        error names `what`."""
        p = self.nodes[node].exec(["sh", "-c", script], check=False)
        if p.returncode != 0:
            raise SetupError("%s on %s: exit %d: %s" % (what, node, p.returncode,
                                                        (p.stderr or p.stdout).strip()))
        return p

    RESET_SCRIPT = ("nft delete table inet policyc 2>/dev/null\n"
                    "printf '%s' | iptables-restore || exit 12\n"
                    "printf '%s' | ip6tables-restore || exit 13\n"
                    "ipset destroy 2>/dev/null\n") % (EMPTY_FILTER.replace("\n", "\\n"),
                                                       EMPTY_FILTER.replace("\n", "\\n"))

    def reset_filter(self):
        """Empty the filter tables (both families) of every node (policy chains of the previous
        case go away), delete policyc's nft table, then destroy the node's ipsets, which no rule
        refers to any more. One shell per node (RESET_SCRIPT, which a case's first load also
        runs first)."""
        for node in self.nodes:
            self.node_script(node, self.RESET_SCRIPT + "exit 0\n", "resetting the filter tables")

    def flush_conntrack(self):
        for node in self.nodes:
            self.node_script(node, "conntrack -F -f ipv4 2>&1 >/dev/null || exit 10\n"
                             "conntrack -F -f ipv6 2>&1 >/dev/null || exit 11\n",
                             "flushing conntrack")

    def teardown(self):
        for c in self.agents.values():
            c.stop()
        names = [p.netns.name for p in self.pods if p.netns]
        if getattr(self, "ext_netns", None):
            names.append(self.ext_netns.name)
        names += [n.name for n in self.nodes.values()]
        for n in names:
            delete_namespace(n)

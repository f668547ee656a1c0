"""The cluster the kernel tests describe to policyc, and a small YAML writer.

The model follows the upstream netpol conformance tests (kubernetes test/e2e/network/netpol,
cyclonus): namespaces x, y, z labelled ns=<name>, pods a, b, c labelled pod=<name>, one container
per port/protocol with upstream names (serve-80-tcp, serve-81-udp, serve-80-sctp, ...). A few
extra labels and ports give selectors and named ports something to disagree about:
  - namespaces x and y carry tier=front / tier=back, z has no tier; z's manifest also omits
    kubernetes.io/metadata.name, which policyc must add itself;
  - pods a and b carry app=web / app=db, c has no app label;
  - the named port "web" (TCP) is 80 on a, 81 on b, and 80 on c through a sidecar (an init
    container with restartPolicy Always, which counts); "dns" (UDP) is 81 on a, 80 on c's sidecar,
    and on b only in a plain init container, which does not count.
  - namespace y omits `protocol: TCP` on its TCP container ports (defaulting).
The agents listen on 80 and 81 of every protocol in every pod regardless: the declared ports
only steer policy resolution.

Cases that probe the conformance port set (the anp/ family: TCP 80/8080, UDP 53/5353, SCTP
9003/9005) ask for the "conformance" containers on top (cluster_docs(containers=...)): one
container per extra port/protocol with the upstream-style name (serve-8080-tcp, serve-53-udp,
serve-5353-udp, serve-9003-sctp, serve-9005-sctp; y again omits `protocol: TCP`), and a container
"anp-extra" with named ports whose number or protocol differs per pod (ANP_NAMED_PORTS). The
names of the default cluster resolve exactly as without them. The agents listen on those ports
too (netns.PORTS).
"""

import ipaddress
import re

from netns import EXT_IP, NAMESPACES, POD_NAMES

NS_LABELS = {"x": {"ns": "x", "tier": "front"}, "y": {"ns": "y", "tier": "back"}, "z": {"ns": "z"}}
POD_LABELS = {"a": {"app": "web"}, "b": {"app": "db"}, "c": {}}


class IPPlan:
    """Endpoint addresses of one topology, and CIDR helpers for ipBlock peers."""

    def __init__(self, endpoints):
        self.ips = dict(endpoints)  # "x/a" -> "10.244.0.10", EXT_IP -> EXT_IP

    def ip(self, key):
        return self.ips[key]

    @staticmethod
    def _full(ip):
        return ip + ("/128" if ":" in ip else "/32")

    def host(self, key):
        return self._full(self.ips[key])

    def cover(self, keys):
        """Smallest CIDR containing the addresses of all `keys` (may contain others too)."""
        nets = [ipaddress.ip_network(self._full(self.ips[k])) for k in keys]
        net = nets[0]
        while not all(n.subnet_of(net) for n in nets):
            net = net.supernet()
        return str(net)

    def namespace(self, ns):
        return self.cover(["%s/%s" % (ns, p) for p in POD_NAMES])

    @property
    def ext(self):
        return self._full(self.ips[EXT_IP])

    @property
    def pod_net(self):
        """Every pod address of every topology (10.244.0.0/16 or fd00:10:244::/48)."""
        return "fd00:10:244::/48" if ":" in self.ips[EXT_IP] else "10.244.0.0/16"

    @property
    def world(self):
        return "::/0" if ":" in self.ips[EXT_IP] else "0.0.0.0/0"

    @property
    def ext_net(self):
        """The external host's link (it holds only that host and node 1's side)."""
        return "fd00:251::/64" if ":" in self.ips[EXT_IP] else "192.168.251.0/24"


def _container(name, port, proto, omit_tcp):
    entry = {"containerPort": port, "name": "serve-%d-%s" % (port, proto.lower())}
    if not (omit_tcp and proto == "TCP"):
        entry["protocol"] = proto
    return {"name": name, "image": "registry.k8s.io/e2e-test-images/agnhost:2.53",
            "ports": [entry]}


# Extra containers of the "conformance" cluster: upstream-style names for the extra ports...
CONFORMANCE_CONTAINER_PORTS = [(8080, "TCP"), (53, "UDP"), (5353, "UDP"), (9003, "SCTP"),
                               (9005, "SCTP")]
# ... and per-pod named ports in a regular container (so no init/sidecar question arises):
# "anp-web" is TCP 8080 on a, TCP 80 on b, absent on c; "anp-dns" UDP 5353 on a, UDP 53 on c;
# "anp-sctp" SCTP 9003 on a, SCTP 9005 on b, and on c it is UDP 9005 (same number, other
# protocol: an SCTP 9005 probe must not match it).
ANP_NAMED_PORTS = {
    "a": [("anp-web", 8080, "TCP"), ("anp-dns", 5353, "UDP"), ("anp-sctp", 9003, "SCTP")],
    "b": [("anp-web", 80, "TCP"), ("anp-sctp", 9005, "SCTP")],
    "c": [("anp-dns", 53, "UDP"), ("anp-sctp", 9005, "UDP")],
}
CONTAINER_SETS = ("default", "conformance")


def pod_doc(pod, labels, containers_kind="default"):
    containers = [_container("cont-%d-%s" % (port, proto.lower()), port, proto,
                             omit_tcp=(pod.namespace == "y"))
                  for proto in ("TCP", "UDP", "SCTP") for port in (80, 81)]
    if containers_kind == "conformance":
        containers += [_container("cont-%d-%s" % (port, proto.lower()), port, proto,
                                  omit_tcp=(pod.namespace == "y"))
                       for port, proto in CONFORMANCE_CONTAINER_PORTS]
        containers.append({"name": "anp-extra", "image": "busybox", "ports": [
            {"name": n, "containerPort": num, "protocol": proto}
            for n, num, proto in ANP_NAMED_PORTS[pod.name]]})
    elif containers_kind != "default":
        raise ValueError(containers_kind)
    spec = {"nodeName": pod.node, "containers": containers}
    if pod.name == "a":
        containers.append({"name": "extra", "image": "busybox", "ports": [
            {"name": "web", "containerPort": 80, "protocol": "TCP"},
            {"name": "dns", "containerPort": 81, "protocol": "UDP"}]})
    elif pod.name == "b":
        containers.append({"name": "extra", "image": "busybox", "ports": [
            {"name": "web", "containerPort": 81, "protocol": "TCP"}]})
        spec["initContainers"] = [{"name": "init", "image": "busybox", "ports": [
            {"name": "dns", "containerPort": 80, "protocol": "UDP"}]}]
    else:
        spec["initContainers"] = [{"name": "sidecar", "image": "busybox",
                                   "restartPolicy": "Always", "ports": [
                                       {"name": "web", "containerPort": 80, "protocol": "TCP"},
                                       {"name": "dns", "containerPort": 80, "protocol": "UDP"}]}]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod.name, "namespace": pod.namespace, "labels": labels},
            "spec": spec,
            "status": {"phase": "Running", "podIP": pod.ip,
                       "podIPs": [{"ip": pod.ip}, {"ip": pod.ip6}]}}


def cluster_docs(pods, pod_labels=None, ns_labels=None, ghosts=(), containers="default"):
    """Namespace and Pod documents. pod_labels / ns_labels replace the default label sets of
    the given pods ("x/a") / namespaces ("x") for one step of an update case; ghosts are extra
    Pod documents appended as they are; containers "conformance" adds the extra containers of
    the anp/ cases (see the module docstring)."""
    pod_labels = pod_labels or {}
    ns_labels = ns_labels or {}
    docs = []
    for ns in NAMESPACES:
        labels = dict(ns_labels.get(ns, NS_LABELS[ns]))
        if ns != "z":
            labels.setdefault("kubernetes.io/metadata.name", ns)
        docs.append({"apiVersion": "v1", "kind": "Namespace",
                     "metadata": {"name": ns, "labels": labels}})
    for pod in pods:
        default = dict({"pod": pod.name}, **POD_LABELS[pod.name])
        docs.append(pod_doc(pod, pod_labels.get(pod.key, default), containers))
    return docs + list(ghosts)


# --- YAML -------------------------------------------------------------------------------------

_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9._/-]*$")
_RESERVED = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"}


def _scalar(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    s = str(v)
    if _PLAIN.match(s) and s.lower() not in _RESERVED:
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _emit(v, indent, out):
    pad = " " * indent
    if isinstance(v, dict):
        for k, val in v.items():
            if isinstance(val, (dict, list)) and val:
                out.append("%s%s:" % (pad, _scalar(k)))
                _emit(val, indent + 2 if isinstance(val, dict) else indent, out)
            else:
                out.append("%s%s: %s" % (pad, _scalar(k), _inline(val)))
    elif isinstance(v, list):
        for item in v:
            if isinstance(item, dict) and item:
                sub = []
                _emit(item, indent + 2, sub)
                sub[0] = pad + "- " + sub[0][indent + 2:]
                out.extend(sub)
            elif isinstance(item, list) and item:
                out.append(pad + "-")
                _emit(item, indent + 2, out)
            else:
                out.append("%s- %s" % (pad, _inline(item)))


def _inline(v):
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    return _scalar(v)


def dump_all(docs):
    """Block-style YAML stream, one document per object."""
    out = []
    for d in docs:
        out.append("---")
        _emit(d, 0, out)
    return "\n".join(out) + "\n"

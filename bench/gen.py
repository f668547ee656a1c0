#!/usr/bin/env python3
"""Deterministic generator of kubectl-style cluster dumps for policyc benchmarks.

Writes one `kind: List` YAML file shaped like the output of
`kubectl get ns,pods,netpol -A -o yaml`: Namespaces, then Pods, then
NetworkPolicies, with keys sorted and scalars quoted the way kubectl (go-yaml
v2) prints them, and pods of about 4 KB (managedFields, env, probes, volumes,
status ...).

    python3 bench/gen.py --shape w1|w2|w3 --seed N --out FILE [--format json] [--stats]

Shapes (see docs/performance.md):
  w1  20 namespaces, 500 pods, 100 policies, 10 nodes
  w2  600 namespaces, 5,400 pods, 13,700 policies, 50 nodes, with the
      distribution of a real dump: 26% empty policies (podSelector {} and no
      rules), median policy selects ~6 pods of its namespace, median peer
      selects ~2 pods, a tail of peers selecting every pod of the cluster
      (namespaceSelector {}), rules carrying up to 21 CIDRs
  w3  1,000 namespaces x 50 pods, 10 policies per namespace, 500 nodes; every
      policy has pod-selector and namespace-selector peers, an ipBlock with an
      except, a port and a port range

Pods are spread evenly over nodes node-0000, node-0001, ... (seeded shuffle),
so node-0000 holds pods/nodes of them (100 in w3). Pod IPs are unique: node i
owns 10.<i/256>.<i%256>.0/24. Python 3 standard library only; the same shape
and seed always give the same bytes.
"""

import argparse
import itertools
import json
import random
import re
import statistics
import sys
import time

SHAPES = {
    "w1": dict(namespaces=20, pods=500, policies=100, nodes=10),
    "w2": dict(namespaces=600, pods=5400, policies=13700, nodes=50),
    "w3": dict(namespaces=1000, pods=50000, policies=10000, nodes=500),
}

BASE_EPOCH = 1731920400  # 2024-11-18T09:00:00Z

# ---------------------------------------------------------------------------
# YAML output in kubectl's style (sigs.k8s.io/yaml -> go-yaml v2): map keys
# sorted bytewise, sequences at the indentation of their key, strings that
# would read back as another type double-quoted, `|` for multi-line strings.

_RESERVED = {
    "", "~", "null", "Null", "NULL",
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
    "true", "True", "TRUE", "false", "False", "FALSE",
    "on", "On", "ON", "off", "Off", "OFF",
    ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
    ".nan", ".NaN", ".NAN",
}
_INTLIKE = re.compile(r"^[-+]?(0b[01_]+|0x[0-9a-fA-F_]+|0o[0-7_]+|[0-9][0-9_]*)$")
_FLOATLIKE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_TIMELIKE = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")
_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$")
_PLAIN_BAD_START = set("-?:,[]{}#&*!|>'\"%@` \t")


def _scalar_str(s):
    if s in _RESERVED or _INTLIKE.match(s) or _FLOATLIKE.match(s) or _TIMELIKE.match(s) or _SEXAGESIMAL.match(s):
        return '"' + s + '"'
    if s[0] in _PLAIN_BAD_START or s[-1] in " \t:" or ": " in s or " #" in s or "\t" in s:
        return "'" + s.replace("'", "''") + "'"
    return s


_scalar_cache = {}


def scalar(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    r = _scalar_cache.get(v)
    if r is None:
        r = _scalar_str(v)
        if len(_scalar_cache) < 200000:
            _scalar_cache[v] = r
    return r


def emit_map(out, obj, indent):
    pad = " " * indent
    for k in sorted(obj):
        v = obj[k]
        ks = scalar(k)
        if isinstance(v, dict):
            if v:
                out.append(f"{pad}{ks}:\n")
                emit_map(out, v, indent + 2)
            else:
                out.append(f"{pad}{ks}: {{}}\n")
        elif isinstance(v, list):
            if v:
                out.append(f"{pad}{ks}:\n")
                emit_list(out, v, indent)
            else:
                out.append(f"{pad}{ks}: []\n")
        elif isinstance(v, str) and "\n" in v:
            body = v[:-1] if v.endswith("\n") else v
            out.append(f"{pad}{ks}: {'|' if v.endswith(chr(10)) else '|-'}\n")
            inner = pad + "  "
            for line in body.split("\n"):
                out.append(f"{inner}{line}\n" if line else "\n")
        else:
            out.append(f"{pad}{ks}: {scalar(v)}\n")


def emit_list(out, items, indent):
    pad = " " * indent
    for item in items:
        if isinstance(item, dict):
            if not item:
                out.append(f"{pad}- {{}}\n")
                continue
            start = len(out)
            emit_map(out, item, indent + 2)
            out[start] = pad + "- " + out[start][indent + 2:]
        elif isinstance(item, list):
            raise ValueError("nested sequences are not generated")
        else:
            out.append(f"{pad}- {scalar(item)}\n")


# ---------------------------------------------------------------------------
# Small deterministic helpers.

HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet of Kubernetes' SafeEncodeString


class Gen:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.rv = 100000

    def uid(self):
        n = self.rng.getrandbits(128)
        h = f"{n:032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[n & 3]}{h[17:20]}-{h[20:]}"

    def hash(self, n):
        r = self.rng
        return "".join(r.choice(HASH_ALPHABET) for _ in range(n))

    def hexdigest(self):
        return f"{self.rng.getrandbits(256):064x}"

    def resource_version(self):
        self.rv += self.rng.randint(1, 40)
        return str(self.rv)

    def ts(self, offset):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(BASE_EPOCH + offset))

    def weighted(self, table):
        """table: list of (value, weight)."""
        total = sum(w for _, w in table)
        x = self.rng.random() * total
        for value, w in table:
            x -= w
            if x < 0:
                return value
        return table[-1][0]


# ---------------------------------------------------------------------------
# The cluster model.

SYSTEM_WORDS = [
    "payments", "checkout", "catalog", "search", "identity", "billing", "ledger", "shipping", "inventory",
    "orders", "notifications", "analytics", "reporting", "recommend", "pricing", "loyalty", "fraud",
    "messaging", "media", "profile", "support", "gateway", "partner", "warehouse", "fleet", "booking",
    "travel", "claims", "risk", "compliance", "audit", "storage", "backup", "ingest", "etl", "ml",
    "feature", "experiment", "content", "cms", "forum", "chat", "video", "maps", "geo", "tax", "invoice",
    "refunds", "returns", "subscriptions",
]
ENVS = ["prod", "staging", "dev"]

# app -> (component, image, [(port name, number, protocol)])
APPS = [
    ("web", "frontend", "nginx", [("http", 8080, "TCP"), ("metrics", 9113, "TCP")]),
    ("api", "backend", "golang-api", [("http", 8080, "TCP"), ("grpc", 9090, "TCP"), ("metrics", 9100, "TCP")]),
    ("worker", "backend", "python-worker", [("metrics", 9100, "TCP")]),
    ("postgres", "database", "postgres", [("postgres", 5432, "TCP"), ("metrics", 9187, "TCP")]),
    ("redis", "cache", "redis", [("redis", 6379, "TCP"), ("metrics", 9121, "TCP")]),
    ("rabbitmq", "queue", "rabbitmq", [("amqp", 5672, "TCP"), ("management", 15672, "TCP")]),
    ("auth", "backend", "auth-service", [("http", 8080, "TCP"), ("grpc", 9090, "TCP")]),
    ("scheduler", "backend", "cron-scheduler", [("http", 8080, "TCP")]),
    ("gateway", "frontend", "envoy", [("http", 8080, "TCP"), ("https", 8443, "TCP"), ("admin", 9901, "TCP")]),
    ("search", "backend", "opensearch", [("http", 9200, "TCP"), ("transport", 9300, "TCP")]),
    ("exporter", "monitoring", "metrics-exporter", [("metrics", 9100, "TCP")]),
    ("consumer", "backend", "kafka-consumer", [("metrics", 9100, "TCP")]),
    ("memcached", "cache", "memcached", [("memcache", 11211, "TCP")]),
    ("admin", "frontend", "admin-ui", [("http", 8080, "TCP")]),
    ("syncer", "backend", "syncer", [("http", 8080, "TCP"), ("dns-probe", 5353, "UDP")]),
]
APP_BY_NAME = {a[0]: a for a in APPS}


class Namespace:
    __slots__ = ("name", "labels", "apps", "pods", "system", "created")


class App:
    __slots__ = ("name", "component", "image", "ports", "replicas", "labels", "hash", "kind", "owner_uid", "version")


class Pod:
    __slots__ = ("ns", "app", "name", "labels", "node", "ip", "host_ip")


def node_name(i):
    return f"node-{i:04d}"


def split_sizes(g, total, count, sigma, minimum=1):
    """count sizes >= minimum summing to total, log-normally spread."""
    r = g.rng
    weights = [r.lognormvariate(0, sigma) for _ in range(count)]
    s = sum(weights)
    sizes = [max(minimum, round(total * w / s)) for w in weights]
    diff = total - sum(sizes)
    while diff != 0:
        i = r.randrange(count)
        if diff > 0:
            sizes[i] += 1
            diff -= 1
        elif sizes[i] > minimum:
            sizes[i] -= 1
            diff += 1
    return sizes


def make_app(g, ns, spec_name, replicas, name_override=None, labels_override=None, kind="ReplicaSet"):
    name, component, image, ports = APP_BY_NAME[spec_name]
    a = App()
    a.name = name_override or name
    a.component = component
    a.image = image
    a.ports = ports
    a.replicas = replicas
    a.hash = g.hash(10)
    a.kind = kind
    a.owner_uid = g.uid()
    a.version = f"{g.rng.randint(1, 4)}.{g.rng.randint(0, 20)}.{g.rng.randint(0, 9)}"
    if labels_override is not None:
        a.labels = dict(labels_override)
    else:
        a.labels = {
            "app.kubernetes.io/name": a.name,
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/part-of": ns.system,
        }
    if kind == "ReplicaSet":
        a.labels["pod-template-hash"] = a.hash
    return a


def build_cluster(g, shape, params):
    r = g.rng
    n_ns, n_pods, n_nodes = params["namespaces"], params["pods"], params["nodes"]
    namespaces = []
    used = set()
    for i in range(n_ns):
        ns = Namespace()
        if shape != "w3" and i == 0:
            ns.name, ns.system = "kube-system", "kubernetes"
        elif shape != "w3" and i == 1:
            ns.name, ns.system = "monitoring", "observability"
        else:
            word = SYSTEM_WORDS[r.randrange(len(SYSTEM_WORDS))] if shape != "w3" else SYSTEM_WORDS[i % len(SYSTEM_WORDS)]
            env = ENVS[r.randrange(3)] if shape != "w3" else ENVS[i % 3]
            ns.name = f"{word}-{env}-{i:04d}"
            ns.system = word
        assert ns.name not in used
        used.add(ns.name)
        ns.labels = {"kubernetes.io/metadata.name": ns.name}
        if ns.name == "kube-system":
            pass
        elif ns.name == "monitoring":
            ns.labels["team"] = "sre"
            ns.labels["purpose"] = "monitoring"
        else:
            env = ns.name.split("-")[-2]
            ns.labels["env"] = env
            ns.labels["team"] = f"team-{(i % 50):02d}" if shape == "w3" else f"team-{r.randrange(40):02d}"
            if r.random() < 0.3:
                ns.labels["istio-injection"] = "enabled"
        ns.created = r.randrange(0, 86400 * 30)
        ns.apps = []
        ns.pods = []
        namespaces.append(ns)

    # Pods per namespace, then apps (deployments) per namespace.
    if shape == "w3":
        sizes = [n_pods // n_ns] * n_ns
    else:
        sizes = split_sizes(g, n_pods, n_ns, 0.9 if shape == "w2" else 0.4)
    replica_table = [(1, 30), (2, 35), (3, 15), (4, 8), (5, 4), (6, 4), (8, 2), (10, 2)]
    for ns, size in zip(namespaces, sizes):
        if shape == "w3":
            names = ["web", "api", "worker", "postgres", "redis"]
            for n in names:
                ns.apps.append(make_app(g, ns, n, size // len(names)))
            continue
        left = size
        if ns.name == "kube-system":
            dns = min(2, left)
            if dns:
                ns.apps.append(
                    make_app(g, ns, "syncer", dns, name_override="coredns",
                             labels_override={"k8s-app": "kube-dns"}))
                ns.apps[-1].image = "coredns"
                ns.apps[-1].ports = [("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")]
                left -= dns
            if left:
                ns.apps.append(make_app(g, ns, "exporter", 1, name_override="metrics-server",
                                        labels_override={"k8s-app": "metrics-server"}))
                left -= 1
        elif ns.name == "monitoring" and left:
            ns.apps.append(make_app(g, ns, "exporter", 1, name_override="prometheus",
                                    labels_override={"app.kubernetes.io/name": "prometheus",
                                                     "app.kubernetes.io/component": "monitoring",
                                                     "app.kubernetes.io/part-of": "observability"},
                                    kind="StatefulSet"))
            left -= 1
        order = list(APP_BY_NAME)
        r.shuffle(order)
        k = 0
        while left > 0:
            base = order[k % len(order)]
            name = base if k < len(order) else f"{base}-{k // len(order)}"
            k += 1
            reps = min(left, g.weighted(replica_table))
            kind = "StatefulSet" if base in ("postgres", "rabbitmq", "search") else "ReplicaSet"
            ns.apps.append(make_app(g, ns, base, reps, name_override=name, kind=kind))
            left -= reps

    # Nodes: every node gets the same number of pods (+-1), seeded shuffle.
    slots = [i % n_nodes for i in range(n_pods)]
    r.shuffle(slots)
    next_host = [2] * n_nodes
    pods = []
    idx = 0
    for ns in namespaces:
        for app in ns.apps:
            for rep in range(app.replicas):
                p = Pod()
                p.ns = ns
                p.app = app
                if app.kind == "StatefulSet":
                    p.name = f"{app.name}-{rep}"
                else:
                    p.name = f"{app.name}-{app.hash}-{g.hash(5)}"
                p.labels = dict(app.labels)
                if app.kind == "StatefulSet":
                    p.labels["statefulset.kubernetes.io/pod-name"] = p.name
                    p.labels["apps.kubernetes.io/pod-index"] = str(rep)
                node = slots[idx]
                idx += 1
                host = next_host[node]
                next_host[node] += 1
                assert host < 255, "more than 253 pods on one node"
                p.node = node
                p.ip = f"10.{node >> 8}.{node & 255}.{host}"
                p.host_ip = f"192.168.{node // 250}.{node % 250 + 1}"
                ns.pods.append(p)
                pods.append(p)
    assert len(pods) == n_pods, (len(pods), n_pods)
    return namespaces, pods


# ---------------------------------------------------------------------------
# Objects as kubectl prints them.

def namespace_obj(g, ns):
    labels_fields = {".": {}}
    for k in ns.labels:
        labels_fields["f:" + k] = {}
    managed = [{
        "apiVersion": "v1", "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": {"f:labels": labels_fields}},
        "manager": "kubectl-create" if len(ns.labels) > 1 else "kube-apiserver",
        "operation": "Update", "time": g.ts(ns.created),
    }]
    return {
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {
            "creationTimestamp": g.ts(ns.created), "labels": ns.labels, "managedFields": managed,
            "name": ns.name, "resourceVersion": g.resource_version(), "uid": g.uid(),
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def _probe(port_name, delay):
    return {
        "failureThreshold": 3, "initialDelaySeconds": delay, "periodSeconds": 10, "successThreshold": 1,
        "tcpSocket": {"port": port_name}, "timeoutSeconds": 1,
    }


def _fields_leaf(keys):
    d = {".": {}}
    for k in keys:
        d["f:" + k] = {}
    return d


def pod_obj(g, pod):
    r = g.rng
    app, ns = pod.app, pod.ns
    created = ns.created + r.randrange(3600, 86400 * 20)
    started = created + r.randrange(2, 40)
    ready = started + r.randrange(5, 90)
    cname = app.name if not app.name.startswith("coredns") else "coredns"
    sa = ns.system if ns.name != "kube-system" else app.name
    image = f"registry.example.com/{ns.system}/{app.image}:v{app.version}"
    env = [
        {"name": "APP_ENV", "value": ns.labels.get("env", "prod")},
    ]
    ports = [{"containerPort": n, "name": pn, "protocol": proto} for pn, n, proto in app.ports]
    http_port = next((pn for pn, _, proto in app.ports if proto == "TCP"), app.ports[0][0])
    container = {
        "env": env,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "name": cname,
        "ports": ports,
        "readinessProbe": _probe(http_port, 5),
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
        },
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "volumeMounts": [
            {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": f"{sa}-token-{g.hash(5)}",
             "readOnly": True},
        ],
    }
    api_volume = container["volumeMounts"][0]["name"]
    owner_name = app.name if app.kind == "StatefulSet" else f"{app.name}-{app.hash}"
    annotations = {
        "prometheus.io/scrape": "true",
    }
    metadata = {
        "annotations": annotations,
        "creationTimestamp": g.ts(created),
        "labels": pod.labels,
        "name": pod.name,
        "namespace": ns.name,
        "ownerReferences": [{
            "apiVersion": "apps/v1", "blockOwnerDeletion": True, "controller": True,
            "kind": app.kind, "name": owner_name, "uid": app.owner_uid,
        }],
        "resourceVersion": g.resource_version(),
        "uid": g.uid(),
    }
    if app.kind == "ReplicaSet":
        metadata["generateName"] = owner_name + "-"
    # What the kubelet owns, as the API server records it.
    cond_fields = {}
    for t in ("ContainersReady", "Ready"):
        cond_fields['k:{"type":"%s"}' % t] = _fields_leaf(["lastProbeTime", "lastTransitionTime", "status", "type"])
    status_fields = {
        "f:conditions": cond_fields, "f:containerStatuses": {}, "f:hostIP": {}, "f:phase": {},
        "f:podIP": {}, "f:podIPs": {".": {}, 'k:{"ip":"%s"}' % pod.ip: _fields_leaf(["ip"])}, "f:startTime": {},
    }
    # kubectl get -o yaml of a real cluster shows (with --show-managed-fields)
    # a controller entry and a kubelet entry; only the kubelet's status entry
    # is kept so that a pod stays near the 4 KB of docs/performance.md.
    managed = [
        {"apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {"f:status": status_fields},
         "manager": "kubelet", "operation": "Update", "subresource": "status", "time": g.ts(ready)},
    ]
    metadata["managedFields"] = managed
    spec = {
        "containers": [container],
        "dnsPolicy": "ClusterFirst",
        "enableServiceLinks": True,
        "nodeName": node_name(pod.node),
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0,
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "serviceAccount": sa,
        "serviceAccountName": sa,
        "terminationGracePeriodSeconds": 30,
        "tolerations": [
            {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
            {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300},
        ],
        "volumes": [
            # The service account token as clusters upgraded from before 1.22 still mount it.
            {"name": api_volume, "secret": {"defaultMode": 420, "secretName": api_volume}},
        ],
    }
    if app.kind == "StatefulSet":
        spec["hostname"] = pod.name
    digest = g.hexdigest()
    status = {
        "conditions": [
            {"lastProbeTime": None, "lastTransitionTime": g.ts(created), "status": "True", "type": "Initialized"},
            {"lastProbeTime": None, "lastTransitionTime": g.ts(ready), "status": "True", "type": "Ready"},
            {"lastProbeTime": None, "lastTransitionTime": g.ts(ready), "status": "True", "type": "ContainersReady"},
            {"lastProbeTime": None, "lastTransitionTime": g.ts(created), "status": "True", "type": "PodScheduled"},
        ],
        "containerStatuses": [{
            "containerID": "containerd://" + g.hexdigest(),
            "image": image,
            "imageID": f"registry.example.com/{ns.system}/{app.image}@sha256:{digest}",
            "lastState": {},
            "name": cname,
            "ready": True,
            "restartCount": 0,
            "started": True,
            "state": {"running": {"startedAt": g.ts(started)}},
        }],
        "hostIP": pod.host_ip,
        "phase": "Running",
        "podIP": pod.ip,
        "podIPs": [{"ip": pod.ip}],
        "qosClass": "Burstable",
        "startTime": g.ts(created),
    }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status}


def policy_obj(g, ns, name, spec, annotate):
    r = g.rng
    created = ns.created + r.randrange(600, 86400 * 20)
    spec_fields = {"f:podSelector": {}, "f:policyTypes": {}}
    for k in ("ingress", "egress"):
        if k in spec:
            spec_fields["f:" + k] = {}
    meta_fields = {}
    metadata = {
        "creationTimestamp": g.ts(created),
        "generation": r.choice((1, 1, 1, 2, 3)),
        "name": name,
        "namespace": ns.name,
        "resourceVersion": g.resource_version(),
        "uid": g.uid(),
    }
    if annotate:
        applied = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                   "metadata": {"annotations": {}, "name": name, "namespace": ns.name}, "spec": spec}
        metadata["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration":
                                   json.dumps(applied, sort_keys=True, separators=(",", ":")) + "\n"}
        meta_fields["f:annotations"] = _fields_leaf(["kubectl.kubernetes.io/last-applied-configuration"])
    fields = {"f:spec": spec_fields}
    if meta_fields:
        fields["f:metadata"] = meta_fields
    metadata["managedFields"] = [{
        "apiVersion": "networking.k8s.io/v1", "fieldsType": "FieldsV1", "fieldsV1": fields,
        "manager": "kubectl-client-side-apply" if annotate else "helm", "operation": "Update", "time": g.ts(created),
    }]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata, "spec": spec}


# ---------------------------------------------------------------------------
# Policies.

def ml(labels):
    return {"matchLabels": dict(labels)}


def sel_app(name):
    return {"matchLabels": {"app.kubernetes.io/name": name}}


def random_cidr(g, prefix_choices=(32, 32, 32, 28, 24, 24, 22, 16)):
    r = g.rng
    plen = r.choice(prefix_choices)
    first = r.choice((203, 198, 52, 34, 35, 104, 185, 91, 151, 172))
    if first == 172:
        second = r.randint(16, 31)
    else:
        second = r.randint(0, 255)
    addr = (first << 24) | (second << 16) | (r.randint(0, 255) << 8) | r.randint(1, 254)
    mask = (0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF
    net = addr & mask
    return net, plen


def cidr_text(net, plen):
    return f"{net >> 24}.{(net >> 16) & 255}.{(net >> 8) & 255}.{net & 255}/{plen}"


def ipblock(g, with_except):
    net, plen = random_cidr(g, (24, 22, 20, 16) if with_except else (32, 32, 32, 28, 24, 24, 22, 16))
    block = {"cidr": cidr_text(net, plen)}
    if with_except and plen < 30:
        r = g.rng
        excepts = []
        seen = set()
        for _ in range(r.choice((1, 1, 2, 3))):
            eplen = r.randint(plen + 2, 32)  # strictly inside
            sub = net | (r.getrandbits(32 - plen) & ~((1 << (32 - eplen)) - 1) & ((1 << (32 - plen)) - 1))
            t = cidr_text(sub, eplen)
            if t not in seen:
                seen.add(t)
                excepts.append(t)
        block["except"] = excepts
    return {"ipBlock": block}


def port_entry(g, app=None, allow_range=True):
    r = g.rng
    x = r.random()
    if app is not None and x < 0.35:
        pn, _, proto = r.choice(app.ports)
        return {"port": pn, "protocol": proto}
    if allow_range and x > 0.95:
        start = r.choice((8000, 9000, 30000, 5000))
        return {"endPort": start + r.choice((10, 99, 100, 1000)), "port": start, "protocol": "TCP"}
    if app is not None and x < 0.75:
        _, n, proto = r.choice(app.ports)
        return {"port": n, "protocol": proto}
    n = r.choice((80, 443, 8080, 8443, 9090, 3000, 5432, 6379, 27017, 9092))
    return {"port": n, "protocol": r.choice(("TCP", "TCP", "TCP", "UDP"))}


def ports_list(g, app, count):
    out = []
    seen = set()
    for _ in range(count):
        p = port_entry(g, app)
        key = json.dumps(p, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


class Namer:
    def __init__(self):
        self.used = set()

    def __call__(self, base):
        name = base
        k = 2
        while name in self.used:
            name = f"{base}-{k}"
            k += 1
        self.used.add(name)
        return name


def gen_policies_w12(g, shape, namespaces, total):
    """Policies for w1/w2; returns [(ns, name, spec, annotate)]."""
    r = g.rng
    weights = [max(1, len(ns.pods)) ** 0.8 * r.uniform(0.5, 1.5) for ns in namespaces]
    s = sum(weights)
    counts = [max(1, round(total * w / s)) for w in weights]
    diff = total - sum(counts)
    while diff:
        i = r.randrange(len(counts))
        if diff > 0:
            counts[i] += 1
            diff -= 1
        elif counts[i] > 1:
            counts[i] -= 1
            diff += 1
    empty_share = 0.26 if shape == "w2" else 0.15
    n_empty = round(total * empty_share)
    # Which of all policies are empty: spread over namespaces, at least one per namespace first.
    order = list(range(total))
    r.shuffle(order)
    empty_set = set(order[:n_empty])

    others = [ns for ns in namespaces if ns.pods and ns.name != "kube-system"]
    out = []
    k = 0
    for ns, count in zip(namespaces, counts):
        namer = Namer()
        apps = [a for a in ns.apps]
        for _ in range(count):
            is_empty = k in empty_set
            k += 1
            if is_empty or not apps:
                types = g.weighted([(["Ingress"], 55), (["Ingress", "Egress"], 30), (["Egress"], 15)])
                base = {("Ingress",): "default-deny-ingress", ("Egress",): "default-deny-egress",
                        ("Ingress", "Egress"): "default-deny-all"}[tuple(types)]
                out.append((ns, namer(base), {"podSelector": {}, "policyTypes": types}, r.random() < 0.5))
                continue
            spec, name = nonempty_policy(g, shape, ns, apps, others, namespaces)
            out.append((ns, namer(name), spec, r.random() < 0.5))
    return out


def nonempty_policy(g, shape, ns, apps, others, namespaces):
    r = g.rng
    target = r.choice(apps)
    kind = g.weighted([("app", 25), ("component", 20), ("partof", 40), ("expr", 15)])
    if ns.name == "kube-system":
        kind = "app"
    if kind == "app":
        pod_sel = {"matchLabels": dict((k, v) for k, v in target.labels.items()
                                       if k in ("app.kubernetes.io/name", "k8s-app"))}
        name = f"{target.name}"
    elif kind == "component":
        pod_sel = ml({"app.kubernetes.io/component": target.component})
        name = f"{target.component}"
    elif kind == "partof":
        pod_sel = ml({"app.kubernetes.io/part-of": ns.system})
        name = f"{ns.system}"
    else:
        names = sorted({a.name for a in r.sample(apps, min(len(apps), r.randint(2, 3)))})
        pod_sel = {"matchExpressions": [{"key": "app.kubernetes.io/name", "operator": "In", "values": names}]}
        name = "-".join(names)[:40].rstrip("-")
        target = next(a for a in apps if a.name == names[0])
    direction = g.weighted([("ingress", 65), ("egress", 20), ("both", 15)])
    spec = {"podSelector": pod_sel}
    types = []
    if direction in ("ingress", "both"):
        spec["ingress"] = [make_rule(g, "from", ns, apps, target, others, namespaces)
                           for _ in range(g.weighted([(1, 60), (2, 30), (3, 10)]))]
        types.append("Ingress")
    if direction in ("egress", "both"):
        spec["egress"] = [make_rule(g, "to", ns, apps, target, others, namespaces)
                          for _ in range(g.weighted([(1, 60), (2, 30), (3, 10)]))]
        types.append("Egress")
    spec["policyTypes"] = types
    prefix = {"ingress": "allow-ingress", "egress": "allow-egress", "both": "allow"}[direction]
    return spec, f"{prefix}-{name}"


def make_rule(g, key, ns, apps, target, others, namespaces):
    r = g.rng
    kind = g.weighted([("pods", 78), ("cidrs", 15), ("ports-only", 7)])
    rule = {}
    if kind == "cidrs":
        n = g.weighted([(1, 55), (2, 15), (3, 6), (4, 5), (5, 4), (8, 5), (12, 4), (16, 3), (20, 1), (21, 2)])
        rule[key] = [ipblock(g, r.random() < 0.25) for _ in range(n)]
    elif kind == "pods":
        peers = []
        for _ in range(g.weighted([(1, 65), (2, 25), (3, 10)])):
            peers.append(make_peer(g, key, ns, apps, others, namespaces))
        rule[key] = peers
    nports = g.weighted([(0, 15), (1, 55), (2, 20), (3, 10)])
    if kind == "ports-only" and nports == 0:
        nports = 1
    if nports:
        # Named ports name the destination's ports: the target for ingress.
        rule["ports"] = ports_list(g, target if key == "from" else None, nports)
    return rule


def make_peer(g, key, ns, apps, others, namespaces):
    r = g.rng
    kind = g.weighted([("same-app", 60), ("other-ns-app", 16), ("dns-or-monitoring", 6), ("ns-name", 8),
                       ("ns-team", 2), ("all-cluster", 1), ("all-in-ns", 4), ("env", 2)])
    if kind == "same-app":
        a = r.choice(apps)
        return {"podSelector": {"matchLabels": dict((k, v) for k, v in a.labels.items()
                                                    if k in ("app.kubernetes.io/name", "k8s-app"))}}
    if kind == "other-ns-app":
        other = r.choice(others)
        a = r.choice(other.apps)
        return {"namespaceSelector": ml({"kubernetes.io/metadata.name": other.name}),
                "podSelector": sel_app(a.name) if "app.kubernetes.io/name" in a.labels else
                {"matchLabels": dict(a.labels)}}
    if kind == "dns-or-monitoring":
        if key == "to":
            return {"namespaceSelector": ml({"kubernetes.io/metadata.name": "kube-system"}),
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
        return {"namespaceSelector": ml({"purpose": "monitoring"}), "podSelector": sel_app("prometheus")}
    if kind == "ns-name":
        other = r.choice(others)
        return {"namespaceSelector": ml({"kubernetes.io/metadata.name": other.name})}
    if kind == "ns-team":
        team = ns.labels.get("team", "team-00")
        return {"namespaceSelector": ml({"team": team}), "podSelector": ml({"app.kubernetes.io/component": r.choice(apps).component})}
    if kind == "all-cluster":
        return {"namespaceSelector": {}}
    if kind == "all-in-ns":
        return {"podSelector": {}}
    return {"namespaceSelector": {"matchExpressions": [
        {"key": "env", "operator": "In", "values": [r.choice(("prod", "staging"))]}]},
        "podSelector": sel_app(r.choice(apps).name)}


def gen_policies_w3(g, namespaces):
    r = g.rng
    out = []
    n = len(namespaces)
    for i, ns in enumerate(namespaces):
        names = [a.name for a in ns.apps]
        team = ns.labels["team"]
        for a_i, app in enumerate(ns.apps):
            for direction in ("ingress", "egress"):
                other = namespaces[(i + 1 + r.randrange(n - 1)) % n]
                x = r.randint(16, 31)
                y = r.randrange(256)
                net = (172 << 24) | (x << 16) | (y << 8)
                block = {"cidr": cidr_text(net, 24), "except": [cidr_text(net | (r.randrange(16) << 4), 28)]}
                peers = [
                    {"podSelector": sel_app(names[(a_i + 1) % len(names)])},
                    {"namespaceSelector": ml({"team": team}), "podSelector": sel_app(names[(a_i + 2) % len(names)])},
                    {"namespaceSelector": ml({"kubernetes.io/metadata.name": other.name})},
                    {"ipBlock": block},
                ]
                port = app.ports[0]
                start = r.choice((30000, 31000, 32000))
                ports = [{"port": port[1], "protocol": port[2]},
                         {"endPort": start + 100, "port": start, "protocol": "TCP"}]
                key = "from" if direction == "ingress" else "to"
                spec = {direction: [{key: peers, "ports": ports}], "podSelector": sel_app(app.name),
                        "policyTypes": ["Ingress" if direction == "ingress" else "Egress"]}
                out.append((ns, f"allow-{app.name}-{direction}", spec, r.random() < 0.5))
    return out


# ---------------------------------------------------------------------------
# Statistics: what the generated policies select (checks the w2 distribution).

def matches(sel, labels):
    for k, v in sel.get("matchLabels", {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions", []):
        op, k = e["operator"], e["key"]
        if op == "In" and labels.get(k) not in e["values"]:
            return False
        if op == "NotIn" and k in labels and labels[k] in e["values"]:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def stats(namespaces, pods, policies, node0):
    by_ns = {ns.name: ns for ns in namespaces}
    cache = {}

    def ns_pods_matching(ns, sel):
        return sum(1 for p in ns.pods if matches(sel, p.labels))

    def peer_count(ns, peer):
        key = (ns.name if "namespaceSelector" not in peer else "", json.dumps(peer, sort_keys=True))
        if key in cache:
            return cache[key]
        psel = peer.get("podSelector", {})
        if "namespaceSelector" in peer:
            nss = [o for o in namespaces if matches(peer["namespaceSelector"], o.labels)]
        else:
            nss = [ns]
        n = sum(ns_pods_matching(o, psel) for o in nss)
        cache[key] = n
        return n

    selected, peer_sizes, cidrs_per_rule = [], [], []
    empty = 0
    local_policies = 0
    for ns, name, spec, _ in policies:
        n = ns_pods_matching(ns, spec["podSelector"])
        selected.append(n)
        if not spec.get("ingress") and not spec.get("egress") and spec["podSelector"] == {}:
            empty += 1
        if any(p.node == node0 and matches(spec["podSelector"], p.labels) for p in ns.pods):
            local_policies += 1
        for key, pk in (("ingress", "from"), ("egress", "to")):
            for rule in spec.get(key, []):
                peers = rule.get(pk, [])
                c = sum(1 for p in peers if "ipBlock" in p)
                if c:
                    cidrs_per_rule.append(c)
                for p in peers:
                    if "ipBlock" not in p:
                        peer_sizes.append(peer_count(ns, p))
    total = len(pods)
    return {
        "namespaces": len(namespaces),
        "pods": total,
        "policies": len(policies),
        "empty_policies_pct": round(100.0 * empty / max(1, len(policies)), 1),
        "median_pods_selected_per_policy": statistics.median(selected) if selected else 0,
        "median_pods_per_peer": statistics.median(peer_sizes) if peer_sizes else 0,
        "peers_selecting_every_pod": sum(1 for s in peer_sizes if s == total),
        "pod_peers": len(peer_sizes),
        "max_cidrs_per_rule": max(cidrs_per_rule) if cidrs_per_rule else 0,
        "rules_with_cidrs": len(cidrs_per_rule),
        "pods_on_node_0000": sum(1 for p in pods if p.node == node0),
        "policies_selecting_a_pod_on_node_0000": local_policies,
    }


# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", choices=sorted(SHAPES), required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="output file (- for standard output)")
    ap.add_argument("--format", choices=["yaml", "json"], default="yaml",
                    help="yaml (kubectl -o yaml, the default) or json (kubectl -o json) of the same objects")
    ap.add_argument("--stats", action="store_true", help="print what the policies select (JSON) on standard error")
    args = ap.parse_args()

    params = SHAPES[args.shape]
    g = Gen(args.seed)
    namespaces, pods = build_cluster(g, args.shape, params)
    if args.shape == "w3":
        policies = gen_policies_w3(g, namespaces)
    else:
        policies = gen_policies_w12(g, args.shape, namespaces, params["policies"])
    assert len(policies) == params["policies"], len(policies)

    out = sys.stdout if args.out == "-" else open(args.out + ".tmp", "w", encoding="utf-8", newline="\n")
    write = out.write
    # The objects come in the same order from the same generator state in
    # both formats, so the YAML and the JSON file hold the same cluster.
    objects = itertools.chain(
        (namespace_obj(g, ns) for ns in namespaces),
        (pod_obj(g, p) for p in pods),
        (policy_obj(g, ns, name, spec, annotate) for ns, name, spec, annotate in policies),
    )
    if args.format == "json":
        # `kubectl get -o json`: four-space indentation; keys sorted (kubectl
        # prints apiVersion, kind, metadata, spec, status in that order too).
        write('{\n    "apiVersion": "v1",\n    "items": [\n')
        for i, obj in enumerate(objects):
            text = json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False)
            write((",\n" if i else "") + "\n".join("        " + line for line in text.split("\n")))
        write('\n    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n')
    else:
        write("apiVersion: v1\nitems:\n")
        for obj in objects:
            lines = []
            emit_list(lines, [obj], 0)
            write("".join(lines))
        write('kind: List\nmetadata:\n  resourceVersion: ""\n')
    if out is not sys.stdout:
        out.close()
        import os
        os.replace(args.out + ".tmp", args.out)
    if args.stats:
        json.dump(stats(namespaces, pods, policies, 0), sys.stderr, indent=1)
        sys.stderr.write("\n")


if __name__ == "__main__":
    main()

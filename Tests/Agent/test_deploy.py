"""Every manifest in deploy/ parses and validates against the Kubernetes API types, and the
ClusterRole grants exactly what the agent asks the API server for.

    python3 Tests/Agent/test_deploy.py [-v]
    POLICYC_AGENT_REQUESTS=FILE python3 Tests/Agent/test_deploy.py

Validation uses the generated models of Debian's python3-kubernetes (`make setup` installs it):
each document is walked against the model of its kind, field by field (every key must be a
field of the model: an unknown or misspelt field fails, where kubectl apply --validate=strict
would fail too; every value must have the field's type), then deserialized into the model,
whose constructors reject a missing required field. On top of that, what the API server itself
checks and the models do not: names, the DaemonSet's selector against its template's labels,
port numbers and names.

The ClusterRole: its (apiGroup, resource, verb) triples must equal what the agent requests.
With POLICYC_AGENT_REQUESTS (a JSON list of [apiGroup, resource, verb], which
Tests/Agent/scenarios.py writes from the test API server's request log), that recorded set is
the reference; without it, the set the agent was last seen to request (list and watch on the
five kinds) is.
"""

import glob
import json
import os
import re
import sys
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEPLOY = os.path.join(ROOT, "deploy")

try:
    import kubernetes.client as k8s
    import yaml
except ImportError:  # a pyenv or venv python next to Debian's packages
    sys.path.append("/usr/lib/python3/dist-packages")
    import kubernetes.client as k8s
    import yaml

# What the agent requests (recorded by Tests/Agent/scenarios.py from the test API server's log):
# list and watch on these five; it never GETs one object, so the role grants no get.
AGENT_RESOURCES = [("", "namespaces"), ("", "pods"), ("networking.k8s.io", "networkpolicies"),
                   ("policy.networking.k8s.io", "adminnetworkpolicies"),
                   ("policy.networking.k8s.io", "baselineadminnetworkpolicies")]
AGENT_VERBS = ["list", "watch"]

MODELS = {("v1", "ServiceAccount"): "V1ServiceAccount",
          ("apps/v1", "DaemonSet"): "V1DaemonSet",
          ("rbac.authorization.k8s.io/v1", "ClusterRole"): "V1ClusterRole",
          ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "V1ClusterRoleBinding",
          ("v1", "Namespace"): "V1Namespace"}

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
IANA_SVC_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class Invalid(Exception):
    pass


def check_type(value, typ, where):
    """Walk `value` against the python3-kubernetes type string `typ`; raise Invalid."""
    if value is None:
        return
    m = re.match(r"^list\[(.*)\]$", typ)
    if m:
        if not isinstance(value, list):
            raise Invalid("%s: want a list, got %r" % (where, value))
        for i, v in enumerate(value):
            check_type(v, m.group(1), "%s[%d]" % (where, i))
        return
    m = re.match(r"^dict\(([^,]*), (.*)\)$", typ)
    if m:
        if not isinstance(value, dict):
            raise Invalid("%s: want a map, got %r" % (where, value))
        for k, v in value.items():
            if not isinstance(k, str):
                raise Invalid("%s: key %r is not a string" % (where, k))
            check_type(v, m.group(2), "%s.%s" % (where, k))
        return
    prim = {"str": str, "bool": bool, "float": (int, float), "datetime": str, "date": str}
    if typ == "object":  # IntOrString, RawExtension: anything
        return
    if typ == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            raise Invalid("%s: want an integer, got %r" % (where, value))
        return
    if typ in prim:
        if not isinstance(value, prim[typ]) or (typ != "bool" and isinstance(value, bool)):
            raise Invalid("%s: want %s, got %r" % (where, typ, value))
        return
    model = getattr(k8s, typ, None)
    if model is None:
        raise Invalid("%s: no model %s" % (where, typ))
    if not isinstance(value, dict):
        raise Invalid("%s: want an object (%s), got %r" % (where, typ, value))
    by_json = {j: p for p, j in model.attribute_map.items()}
    for key, v in value.items():
        if key not in by_json:
            raise Invalid("%s: unknown field %r in %s" % (where, key, typ))
        check_type(v, model.openapi_types[by_json[key]], "%s.%s" % (where, key))


def deserialize(doc, model_name):
    """The model object, built by the client's own deserializer (required fields enforced)."""
    client = k8s.ApiClient()
    try:
        return client._ApiClient__deserialize(doc, model_name)
    except (ValueError, TypeError) as e:
        raise Invalid("%s: %s" % (model_name, e))


def load_manifests(directory=DEPLOY):
    docs = []
    for path in sorted(glob.glob(os.path.join(directory, "*.yaml"))
                       + glob.glob(os.path.join(directory, "*.yml"))):
        with open(path) as f:
            for i, doc in enumerate(yaml.safe_load_all(f)):
                if doc is not None:
                    docs.append((os.path.basename(path), i, doc))
    return docs


def validate(doc, where="manifest"):
    """Raise Invalid unless `doc` is a valid object of a known kind; return the model."""
    if not isinstance(doc, dict):
        raise Invalid("%s: not a mapping" % where)
    key = (doc.get("apiVersion"), doc.get("kind"))
    if key not in MODELS:
        raise Invalid("%s: unexpected apiVersion/kind %r" % (where, key))
    model_name = MODELS[key]
    check_type(doc, model_name, where)
    obj = deserialize(doc, model_name)
    md = doc.get("metadata") or {}
    if not md.get("name") or not DNS1123_SUBDOMAIN.match(md["name"]) or len(md["name"]) > 253:
        raise Invalid("%s: metadata.name %r is not a DNS-1123 subdomain" % (where,
                                                                           md.get("name")))
    if doc["kind"] in ("ServiceAccount", "DaemonSet"):
        if not md.get("namespace") or not DNS1123_LABEL.match(md["namespace"]):
            raise Invalid("%s: a namespaced object needs metadata.namespace" % where)
    elif "namespace" in md:
        raise Invalid("%s: %s is cluster-scoped" % (where, doc["kind"]))
    if doc["kind"] == "DaemonSet":
        validate_daemonset(doc, where)
    if doc["kind"] == "ClusterRole":
        for r in doc.get("rules") or []:
            if not r.get("verbs"):
                raise Invalid("%s: a rule without verbs" % where)
    return obj


def validate_daemonset(doc, where):
    spec = doc["spec"]
    sel = (spec.get("selector") or {}).get("matchLabels") or {}
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not sel or any(labels.get(k) != v for k, v in sel.items()):
        raise Invalid("%s: spec.selector does not match the template's labels" % where)
    pod = spec["template"]["spec"]
    for c in pod.get("containers") or []:
        if not DNS1123_LABEL.match(c["name"]):
            raise Invalid("%s: container name %r" % (where, c["name"]))
        for p in c.get("ports") or []:
            if not 0 < p["containerPort"] < 65536:
                raise Invalid("%s: containerPort %r" % (where, p["containerPort"]))
            if "name" in p and (len(p["name"]) > 15 or not IANA_SVC_NAME.match(p["name"])):
                raise Invalid("%s: port name %r" % (where, p["name"]))
            if pod.get("hostNetwork") and p.get("hostPort", p["containerPort"]) != \
                    p["containerPort"]:
                raise Invalid("%s: with hostNetwork, hostPort must equal containerPort" % where)
        names = [m["name"] for m in c.get("volumeMounts") or []]
        vols = [v["name"] for v in pod.get("volumes") or []]
        for n in names:
            if n not in vols:
                raise Invalid("%s: volumeMount %r names no volume" % (where, n))


def clusterrole_grants(doc):
    out = set()
    for r in doc.get("rules") or []:
        if r.get("nonResourceURLs") or r.get("resourceNames"):
            raise ValueError("unexpected nonResourceURLs/resourceNames in %r" % r)
        for g in r.get("apiGroups") or []:
            for res in r.get("resources") or []:
                for v in r.get("verbs") or []:
                    out.add((g, res, v))
    return out


def expected_requests():
    """(apiGroup, resource, verb) the agent asks for: recorded if given, else the issue's."""
    path = os.environ.get("POLICYC_AGENT_REQUESTS")
    if path:
        with open(path) as f:
            return {tuple(x) for x in json.load(f)}, "recorded in %s" % path
    return {(g, r, v) for g, r in AGENT_RESOURCES for v in AGENT_VERBS}, "the agent's list"


def compare_clusterrole(requested, directory=DEPLOY):
    """Problems (a list of strings) between the ClusterRole in `directory` and `requested`."""
    roles = [d for _, _, d in load_manifests(directory) if d.get("kind") == "ClusterRole"]
    if len(roles) != 1:
        return ["want exactly one ClusterRole in deploy/, found %d" % len(roles)]
    granted = clusterrole_grants(roles[0])
    problems = []
    for t in sorted(set(requested) - granted):
        problems.append("the agent requests %r, which the ClusterRole does not grant" % (t,))
    for t in sorted(granted - set(requested)):
        problems.append("the ClusterRole grants %r, which the agent never requests" % (t,))
    return problems


def agent_flags():
    """The long options `policyc agent --help` lists, if a built policyc has the command."""
    import subprocess
    for cand in (os.environ.get("POLICYC"), os.path.join(ROOT, ".build/debug/policyc"),
                 os.path.join(ROOT, ".build-release/release/policyc")):
        if cand and os.path.exists(cand):
            p = subprocess.run([cand, "agent", "--help"], capture_output=True, text=True)
            if p.returncode == 0:
                return set(re.findall(r"(--[a-z][a-z-]*)", p.stdout))
    return None


class Manifests(unittest.TestCase):
    def setUp(self):
        self.docs = load_manifests()

    def by_kind(self, kind):
        found = [d for _, _, d in self.docs if d.get("kind") == kind]
        self.assertEqual(len(found), 1, kind)
        return found[0]

    def test_every_manifest_validates(self):
        kinds = []
        for name, i, doc in self.docs:
            with self.subTest(manifest=name, document=i):
                validate(doc, "%s#%d" % (name, i))
                kinds.append(doc["kind"])
        self.assertEqual(sorted(kinds), ["ClusterRole", "ClusterRoleBinding", "DaemonSet",
                                         "ServiceAccount"])

    def test_validation_rejects_what_it_should(self):
        ds = self.by_kind("DaemonSet")
        import copy
        bad = copy.deepcopy(ds)
        bad["spec"]["template"]["spec"]["hostNetwrk"] = True  # misspelt field
        self.assertRaises(Invalid, validate, bad)
        bad = copy.deepcopy(ds)
        del bad["spec"]["template"]["spec"]["containers"][0]["name"]  # required field
        self.assertRaises(Invalid, validate, bad)
        bad = copy.deepcopy(ds)
        bad["spec"]["template"]["spec"]["hostNetwork"] = "yes"  # wrong type
        self.assertRaises(Invalid, validate, bad)
        bad = copy.deepcopy(ds)
        del bad["spec"]["selector"]  # required by the API (the model's constructor)
        self.assertRaises(Invalid, validate, bad)
        bad = copy.deepcopy(ds)
        bad["spec"]["template"]["metadata"]["labels"] = {"other": "x"}
        self.assertRaises(Invalid, validate, bad)
        cr = copy.deepcopy(self.by_kind("ClusterRole"))
        cr["rules"][0]["verb"] = cr["rules"][0].pop("verbs")
        self.assertRaises(Invalid, validate, cr)

    def test_clusterrole_is_exactly_what_the_agent_requests(self):
        requested, source = expected_requests()
        self.assertEqual(compare_clusterrole(requested), [], source)

    def test_clusterrole_comparison_can_fail(self):
        requested, _ = expected_requests()
        self.assertTrue(compare_clusterrole(set(requested) | {("", "nodes", "list")}))
        self.assertTrue(compare_clusterrole(set(requested) - {("", "pods", "watch")}))

    def test_binding_names_the_role_and_account(self):
        sa, crb = self.by_kind("ServiceAccount"), self.by_kind("ClusterRoleBinding")
        cr, ds = self.by_kind("ClusterRole"), self.by_kind("DaemonSet")
        self.assertEqual(crb["roleRef"], {"apiGroup": "rbac.authorization.k8s.io",
                                          "kind": "ClusterRole",
                                          "name": cr["metadata"]["name"]})
        self.assertEqual(crb["subjects"], [{"kind": "ServiceAccount",
                                            "name": sa["metadata"]["name"],
                                            "namespace": sa["metadata"]["namespace"]}])
        self.assertEqual(ds["metadata"]["namespace"], sa["metadata"]["namespace"])
        self.assertEqual(ds["spec"]["template"]["spec"]["serviceAccountName"],
                         sa["metadata"]["name"])

    def test_daemonset_shape(self):
        ds = self.by_kind("DaemonSet")
        pod = ds["spec"]["template"]["spec"]
        self.assertIs(pod["hostNetwork"], True)
        self.assertEqual(pod["tolerations"], [{"operator": "Exists"}])  # every node
        (c,) = pod["containers"]
        sc = c["securityContext"]
        self.assertIs(sc.get("privileged"), False)
        self.assertEqual(sorted(sc["capabilities"]["add"]), ["NET_ADMIN", "NET_RAW"])
        self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
        self.assertIs(sc["allowPrivilegeEscalation"], False)
        env = {e["name"]: e for e in c["env"]}
        self.assertEqual(env["NODE_NAME"]["valueFrom"], {"fieldRef": {"fieldPath":
                                                                      "spec.nodeName"}})
        args = c["args"]
        self.assertEqual(args[0], "agent")
        opts = dict(a[2:].split("=", 1) for a in args[1:])
        self.assertNotIn("node", opts)  # from $NODE_NAME
        self.assertNotIn("kubeconfig", opts)  # in-cluster configuration
        listen_port = int(opts["listen"].rsplit(":", 1)[1])
        self.assertEqual(c["livenessProbe"]["httpGet"], {"path": "/healthz", "port": listen_port})
        self.assertEqual(c["readinessProbe"]["httpGet"], {"path": "/readyz", "port": listen_port})
        self.assertEqual([p["containerPort"] for p in c["ports"]], [listen_port])
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        vols = {v["name"]: v for v in pod["volumes"]}
        self.assertEqual(vols[mounts["/run/xtables.lock"]]["hostPath"],
                         {"path": "/run/xtables.lock", "type": "FileOrCreate"})
        state = vols[mounts[opts["state-dir"]]]["hostPath"]
        self.assertEqual(state["type"], "DirectoryOrCreate")
        self.assertTrue(state["path"].startswith("/var/lib/"))
        flags = agent_flags()
        if flags is not None:  # once `policyc agent` exists, every flag used must be one of it
            for opt in opts:
                self.assertIn("--" + opt, flags)

    def test_containerfile(self):
        with open(os.path.join(DEPLOY, "Containerfile")) as f:
            text = f.read()
        with open(os.path.join(ROOT, "Makefile")) as f:
            makefile = f.read()
        stages = re.findall(r"^FROM\s+(\S+)", text, re.M)
        self.assertEqual(len(stages), 2)
        self.assertIn("bookworm", stages[0])
        self.assertEqual(stages[1], "docker.io/library/debian:bookworm-slim")
        # The build is the Makefile's release build, with the same flags. The Makefile keeps its
        # release build in a separate scratch path (tests lock .build); the image build does not.
        # (Recipe lines before it, such as touching the manifest, are not part of the build.)
        release = re.search(
            r"^release:.*\n(?:\t(?!\$\(SWIFT\))[^\n]*\n)*\t\$\(SWIFT\) (build [^\n]*)", makefile, re.M)
        self.assertIsNotNone(release)
        command = re.sub(r" --scratch-path \S+", "", release.group(1))
        self.assertIn("--static-swift-stdlib", command)
        self.assertIn("swift " + command, text)
        runtime = text.split(stages[1], 1)[1]
        for pkg in ("iptables", "ipset", "nftables", "libyaml-0-2"):
            self.assertRegex(runtime, r"\b%s\b" % re.escape(pkg))
        self.assertIn("--no-install-recommends", runtime)
        self.assertRegex(runtime, r'ENTRYPOINT \["/usr/local/bin/policyc"\]')
        ds = self.by_kind("DaemonSet")
        self.assertEqual(ds["spec"]["template"]["spec"]["containers"][0]["command"],
                         ["/usr/local/bin/policyc"])


if __name__ == "__main__":
    unittest.main()

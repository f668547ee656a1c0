"""The anp/ family: AdminNetworkPolicy and BaselineAdminNetworkPolicy (policy.networking.k8s.io
v1alpha1) in the conformance style, each probe judged by a hand-written evaluator.

Every case probes the conformance port set (TCP 80/8080, UDP 53/5353, SCTP 9003/9005) over the
"conformance" cluster (model.py: extra containers serve-8080-tcp ... serve-9005-sctp, and the
per-pod named ports anp-web / anp-dns / anp-sctp). Besides the comparison with `policyc matrix`
that every case gets, each probe of every step is claimed True or False by `verdict` below, an
evaluator written from the API's semantics, independent of policyc:

  A connection src -> dst on (protocol, port) is allowed iff src's egress verdict allows and
  dst's ingress verdict allows (the external host has no verdict of its own: it allows).
  Per pod and direction:
    1. admin tier: the ANPs whose subject selects the pod and that have rules in that
       direction, by priority ascending (no two of them on one pod share a priority), rules in
       written order; the first rule whose peer and ports match decides: Allow (final), Deny
       (final), or Pass (skip every remaining ANP rule, go to 2);
    2. if a NetworkPolicy selects the pod for that direction, the NetworkPolicies decide;
    3. otherwise the BANP `default`, if its subject selects the pod: first matching rule,
       Allow or Deny;
    4. otherwise allowed.
  Peers: `namespaces` (pods in matching namespaces), `pods` (namespaceSelector and
  podSelector), `networks` (egress only: the destination address in one of the CIDRs; the
  external host matches only these). Ports: absent = all; portNumber; portRange (inclusive);
  namedPort = a container port of the destination pod with that name, protocol and number (the
  external host has none).

The NetworkPolicies in these cases stay inside a small subset (podSelector targets, explicit
policyTypes, peers podSelector / namespaceSelector / both, numeric ports without endPort), which
the evaluator asserts; anything else raises, and a raising evaluator fails the case.

`python3 admin.py` checks the evaluator offline: counts per case and step on every topology kind
and family, the hand-reasoned spot claims of every case (SPOTS), and that every case stays
inside the subset.
"""

import ipaddress
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cases import Case, Step, labels, policy  # noqa: E402
from netns import EXT_IP, NAMESPACES  # noqa: E402
from probe import CONFORMANCE_PORT_PROTOCOLS  # noqa: E402

API = "policy.networking.k8s.io/v1alpha1"
METANAME = "kubernetes.io/metadata.name"


# --- evaluator ----------------------------------------------------------------------------------

class OutsideSubset(Exception):
    """A case uses something the evaluator does not model (so it cannot claim a verdict)."""


def _need(cond, what):
    if not cond:
        raise OutsideSubset(what)


def selects(sel, lbls):
    """metav1.LabelSelector semantics (matchLabels AND matchExpressions; {} selects all)."""
    _need(isinstance(sel, dict), "selector must be a mapping: %r" % (sel,))
    _need(set(sel) <= {"matchLabels", "matchExpressions"}, "selector keys %r" % list(sel))
    for k, v in (sel.get("matchLabels") or {}).items():
        if lbls.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        if op == "In":
            ok = key in lbls and lbls[key] in values
        elif op == "NotIn":
            ok = key not in lbls or lbls[key] not in values
        elif op == "Exists":
            ok = key in lbls
        elif op == "DoesNotExist":
            ok = key not in lbls
        else:
            raise OutsideSubset("operator %r" % op)
        if not ok:
            return False
    return True


class World:
    """What the evaluator knows of one step: namespaces, live pods (labels, named ports),
    addresses of the run's family, and the policies by kind."""

    def __init__(self, plan, policies, cluster_docs):
        self.ips = dict(plan.ips)
        self.ns_labels = {}
        self.pods = {}       # "x/a" -> (namespace, labels, {(name): [(proto, number)]})
        for d in cluster_docs:
            meta = d["metadata"]
            if d["kind"] == "Namespace":
                lbls = dict(meta.get("labels") or {})
                lbls[METANAME] = meta["name"]   # the API server sets it on every namespace
                self.ns_labels[meta["name"]] = lbls
        for d in cluster_docs:
            if d["kind"] != "Pod":
                continue
            meta, spec, status = d["metadata"], d["spec"], d.get("status") or {}
            key = "%s/%s" % (meta["namespace"], meta["name"])
            _need(status.get("phase") == "Running" and not spec.get("hostNetwork")
                  and key in self.ips, "only live pod-network pods (no ghosts): %s" % key)
            named = {}
            for c in spec.get("containers") or []:
                for p in c.get("ports") or []:
                    if "name" in p:
                        named.setdefault(p["name"], []).append(
                            (p.get("protocol", "TCP"), p["containerPort"]))
            init_names = {p.get("name") for c in spec.get("initContainers") or []
                          for p in c.get("ports") or []}
            self.pods[key] = (meta["namespace"], dict(meta.get("labels") or {}), named,
                              init_names)
        self.nps, self.anps, self.banp = [], [], None
        for p in policies:
            kind = p["kind"]
            if kind == "NetworkPolicy":
                self._check_np(p)
                self.nps.append(p)
            elif kind == "AdminNetworkPolicy":
                _need(p["apiVersion"] == API and "namespace" not in p["metadata"],
                      "ANP is cluster-scoped, %s" % API)
                pr = p["spec"]["priority"]
                _need(isinstance(pr, int) and 0 <= pr <= 1000, "priority 0..1000")
                self.anps.append(p)
            elif kind == "BaselineAdminNetworkPolicy":
                _need(p["apiVersion"] == API and p["metadata"]["name"] == "default"
                      and self.banp is None, "one BANP, named default")
                self.banp = p
            else:
                raise OutsideSubset("kind %r" % kind)
        for p in self.anps + ([self.banp] if self.banp else []):
            self._check_admin(p)
        # No two ANPs that select one pod share a priority (the order would be undefined).
        for pod in self.pods:
            prios = [a["spec"]["priority"] for a in self.anps if self._subject(a, pod)]
            _need(len(prios) == len(set(prios)), "two ANPs on %s share a priority" % pod)

    # -- shape checks (what the cases may use) --

    def _check_np(self, p):
        spec = p["spec"]
        _need(p["apiVersion"] == "networking.k8s.io/v1" and "namespace" in p["metadata"],
              "NP with a namespace")
        _need("policyTypes" in spec, "NP policyTypes written out")
        for d in ("ingress", "egress"):
            for r in spec.get(d) or []:
                peers = r.get("from" if d == "ingress" else "to")
                _need(peers is None or len(peers) > 0, "NP peers absent or non-empty")
                for peer in peers or []:
                    _need(set(peer) <= {"podSelector", "namespaceSelector"} and peer,
                          "NP peers: pod/namespace selectors only (no ipBlock)")
                for port in r.get("ports") or []:
                    _need(isinstance(port.get("port"), int) and "endPort" not in port,
                          "NP ports: numbers only")

    def _check_admin(self, p):
        spec = p["spec"]
        admin = p["kind"] == "AdminNetworkPolicy"
        _need(len(spec["subject"]) == 1 and set(spec["subject"]) <= {"namespaces", "pods"},
              "subject: exactly one of namespaces / pods")
        _need(spec.get("ingress") or spec.get("egress"), "rules in some direction")
        for d in ("ingress", "egress"):
            names = set()
            for r in spec.get(d) or []:
                _need(r["action"] in (("Allow", "Deny", "Pass") if admin else ("Allow", "Deny")),
                      "action %r" % r["action"])
                _need(r["name"] not in names, "rule names unique")
                names.add(r["name"])
                peers = r["from" if d == "ingress" else "to"]
                _need(len(peers) >= 1, "at least one peer")
                for peer in peers:
                    kinds = {"namespaces", "pods"} | ({"networks"} if d == "egress" else set())
                    _need(len(peer) == 1 and set(peer) <= kinds, "peer kind %r" % list(peer))
                    if "networks" in peer:
                        _need(not any("namedPort" in pt for pt in r.get("ports") or []),
                              "namedPort with networks peers is invalid upstream")
                for pt in r.get("ports") or []:
                    _need(len(pt) == 1, "port: exactly one form")
                    if "portRange" in pt:
                        _need(pt["portRange"]["start"] < pt["portRange"]["end"], "start < end")

    # -- matching --

    def _subject(self, p, pod):
        subj = p["spec"]["subject"]
        ns, lbls = self.pods[pod][0], self.pods[pod][1]
        if "namespaces" in subj:
            return selects(subj["namespaces"], self.ns_labels[ns])
        return (selects(subj["pods"]["namespaceSelector"], self.ns_labels[ns])
                and selects(subj["pods"]["podSelector"], lbls))

    def _peer(self, peer, other):
        """Does `other` (a pod key or EXT_IP) match an ANP/BANP peer?"""
        if "networks" in peer:
            addr = ipaddress.ip_address(self.ips[other])
            for cidr in peer["networks"]:
                net = ipaddress.ip_network(cidr)
                if net.version == addr.version and addr in net:
                    return True
            return False
        if other not in self.pods:   # the external host is no pod of any namespace
            return False
        ns, lbls = self.pods[other][0], self.pods[other][1]
        if "namespaces" in peer:
            return selects(peer["namespaces"], self.ns_labels[ns])
        return (selects(peer["pods"]["namespaceSelector"], self.ns_labels[ns])
                and selects(peer["pods"]["podSelector"], lbls))

    def _ports(self, ports, dest, proto, port):
        if ports is None:
            return True
        for pt in ports:
            if "portNumber" in pt:
                if (pt["portNumber"]["protocol"], pt["portNumber"]["port"]) == (proto, port):
                    return True
            elif "portRange" in pt:
                r = pt["portRange"]
                if r["protocol"] == proto and r["start"] <= port <= r["end"]:
                    return True
            elif "namedPort" in pt:
                name = pt["namedPort"]
                if dest in self.pods:
                    _need(name not in self.pods[dest][3],
                          "named port %r also in an init container of %s" % (name, dest))
                    if (proto, port) in self.pods[dest][2].get(name, []):
                        return True
            else:
                raise OutsideSubset("port form %r" % list(pt))
        return False

    def _first_rule(self, pols, direction, pod, other, proto, port):
        """Action of the first matching rule over `pols` in order, or None."""
        dest = pod if direction == "ingress" else other
        for p in pols:
            for r in p["spec"].get(direction) or []:
                peers = r["from" if direction == "ingress" else "to"]
                if any(self._peer(peer, other) for peer in peers) and \
                        self._ports(r.get("ports"), dest, proto, port):
                    return r["action"]
        return None

    def _np(self, direction, pod, other, proto, port):
        """None if no NetworkPolicy isolates `pod` in `direction`, else allowed?"""
        ns, lbls = self.pods[pod][0], self.pods[pod][1]
        mine = [p for p in self.nps if p["metadata"]["namespace"] == ns
                and direction.capitalize() in p["spec"]["policyTypes"]
                and selects(p["spec"]["podSelector"], lbls)]
        if not mine:
            return None
        for p in mine:
            for r in p["spec"].get(direction) or []:
                peers = r.get("from" if direction == "ingress" else "to")
                if peers is not None and not any(self._np_peer(p, peer, other)
                                                 for peer in peers):
                    continue
                if r.get("ports") is not None and not any(
                        pt.get("protocol", "TCP") == proto and pt["port"] == port
                        for pt in r["ports"]):
                    continue
                return True
        return False

    def _np_peer(self, pol, peer, other):
        if other not in self.pods:
            return False
        ns, lbls = self.pods[other][0], self.pods[other][1]
        if "namespaceSelector" in peer:
            if not selects(peer["namespaceSelector"], self.ns_labels[ns]):
                return False
        elif ns != pol["metadata"]["namespace"]:
            return False
        return selects(peer.get("podSelector", {}), lbls)

    def direction(self, direction, pod, other, proto, port):
        """The verdict of `pod` for traffic in `direction` with `other` (True = allowed)."""
        anps = sorted((a for a in self.anps if a["spec"].get(direction)
                       and self._subject(a, pod)), key=lambda a: a["spec"]["priority"])
        action = self._first_rule(anps, direction, pod, other, proto, port)
        if action == "Allow":
            return True
        if action == "Deny":
            return False
        np = self._np(direction, pod, other, proto, port)
        if np is not None:
            return np
        if self.banp and self.banp["spec"].get(direction) and self._subject(self.banp, pod):
            action = self._first_rule([self.banp], direction, pod, other, proto, port)
            if action is not None:
                return action == "Allow"
        return True

    def verdict(self, src, dst, portkey):
        number, proto = portkey.split("/")
        number = int(number)
        if src == dst:
            return True
        egress = src not in self.pods or self.direction("egress", src, dst, proto, number)
        ingress = dst not in self.pods or self.direction("ingress", dst, src, proto, number)
        return egress and ingress


def judge(plan, step, cluster_docs):
    """Case.judge: the claim function of one step."""
    world = World(plan, step.policies, cluster_docs)
    return world.verdict


# --- manifests ------------------------------------------------------------------------------

def anp(name, priority, subject, ingress=None, egress=None):
    spec = {"priority": priority, "subject": subject}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {"apiVersion": API, "kind": "AdminNetworkPolicy", "metadata": {"name": name},
            "spec": spec}


def banp(subject, ingress=None, egress=None):
    spec = {"subject": subject}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    return {"apiVersion": API, "kind": "BaselineAdminNetworkPolicy",
            "metadata": {"name": "default"}, "spec": spec}


def ns_subject(sel):
    return {"namespaces": sel}


def pods_subject(ns_sel, pod_sel):
    return {"pods": {"namespaceSelector": ns_sel, "podSelector": pod_sel}}


def in_rule(name, action, peers, ports=None):
    r = {"name": name, "action": action, "from": peers}
    if ports is not None:
        r["ports"] = ports
    return r


def out_rule(name, action, peers, ports=None):
    r = {"name": name, "action": action, "to": peers}
    if ports is not None:
        r["ports"] = ports
    return r


def namespaces(sel):
    return {"namespaces": sel}


def pods(ns_sel, pod_sel):
    return {"pods": {"namespaceSelector": ns_sel, "podSelector": pod_sel}}


def networks(*cidrs):
    return {"networks": list(cidrs)}


def number(proto, port):
    return {"portNumber": {"protocol": proto, "port": port}}


def prange(proto, start, end):
    return {"portRange": {"protocol": proto, "start": start, "end": end}}


def named(name):
    return {"namedPort": name}


def ns(name):
    return labels(ns=name)


# --- cases ----------------------------------------------------------------------------------

# Spot claims reasoned out by hand, per case: (step, src, dst, port, allowed). The self-check
# (python3 admin.py) makes the evaluator agree with every one of them.
SPOTS = {}


def family_anp():
    C = []

    def add(name, build, spots=()):
        C.append(Case("anp/" + name, build, ports=CONFORMANCE_PORT_PROTOCOLS,
                      containers="conformance", judge=judge))
        SPOTS["anp/" + name] = list(spots)

    # Deny alone, ingress, every protocol, two peers OR'ed: y -> x and z/b -> x are denied,
    # nothing else is.
    add("deny-ingress-namespaces", lambda ip: [Step([
        anp("deny-x-from-y", 10, ns_subject(ns("x")),
            ingress=[in_rule("deny-y", "Deny", [namespaces(ns("y")),
                                                pods(ns("z"), labels(pod="b"))])])])],
        [(0, "y/a", "x/b", "80/TCP", False), (0, "y/c", "x/a", "9005/SCTP", False),
         (0, "z/b", "x/c", "53/UDP", False), (0, "z/c", "x/c", "53/UDP", True),
         (0, "y/b", "x/c", "5353/UDP", False), (0, "x/a", "y/b", "80/TCP", True),
         (0, "z/a", "x/a", "8080/TCP", True), (0, EXT_IP, "x/a", "53/UDP", True),
         (0, "x/a", "x/b", "9003/SCTP", True)])

    # Allow alone over a NetworkPolicy egress deny-all in z: only TCP 80 and UDP 53..5353 to
    # the tier=front namespace (x), and UDP 53 to the external host, get out of z.
    add("allow-egress-over-np-deny", lambda ip: [Step(
        [policy("deny-out", "z", {}, types=["Egress"]),
         anp("z-to-front", 20, ns_subject(ns("z")), egress=[
             out_rule("front-dns-web", "Allow", [namespaces(labels(tier="front"))],
                      [number("TCP", 80), prange("UDP", 53, 5353)]),
             out_rule("ext-dns", "Allow", [networks(ip.ext)], [number("UDP", 53)])])])],
        [(0, "z/a", "x/b", "80/TCP", True), (0, "z/c", "x/a", "53/UDP", True),
         (0, "z/b", "x/c", "5353/UDP", True), (0, "z/a", "x/b", "8080/TCP", False),
         (0, "z/a", "x/b", "9003/SCTP", False), (0, "z/a", "y/b", "80/TCP", False),
         (0, "z/a", "z/b", "80/TCP", False), (0, "z/a", EXT_IP, "80/TCP", False),
         (0, "z/b", EXT_IP, "53/UDP", True), (0, "z/b", EXT_IP, "5353/UDP", False),
         (0, "x/a", "z/a", "9005/SCTP", True)])

    # Allow alone over a NetworkPolicy ingress deny-all everywhere: pods of x reach every pod b
    # on TCP 8080 and SCTP 9003..9005.
    add("allow-ingress-over-np-deny", lambda ip: [Step(
        [policy("deny-in", n, {}, types=["Ingress"]) for n in NAMESPACES] +
        [anp("b-from-x", 30, pods_subject({}, labels(pod="b")), ingress=[
            in_rule("x-8080-sctp", "Allow", [pods(ns("x"), {})],
                    [number("TCP", 8080), prange("SCTP", 9003, 9005)])])])],
        [(0, "x/a", "y/b", "8080/TCP", True), (0, "x/c", "x/b", "9005/SCTP", True),
         (0, "x/a", "z/b", "9003/SCTP", True), (0, "x/a", "z/b", "80/TCP", False),
         (0, "y/a", "z/b", "8080/TCP", False), (0, "x/a", "y/a", "8080/TCP", False),
         (0, EXT_IP, "x/b", "8080/TCP", False), (0, "x/a", EXT_IP, "53/UDP", True)])

    # Deny over a NetworkPolicy allow: y admits every pod (not the external host), the ANP
    # denies SCTP 9003 (range 9000..9004) from every pod a.
    add("deny-over-np-allow", lambda ip: [Step(
        [policy("from-pods", "y", {}, ingress=[{"from": [{"namespaceSelector": {}}]}],
                types=["Ingress"]),
         anp("no-sctp-from-a", 40, ns_subject(ns("y")), ingress=[
             in_rule("a-9003", "Deny", [pods({}, labels(pod="a"))],
                     [prange("SCTP", 9000, 9004)])])])],
        [(0, "x/a", "y/b", "9003/SCTP", False), (0, "y/a", "y/c", "9003/SCTP", False),
         (0, "x/a", "y/b", "9005/SCTP", True), (0, "x/b", "y/b", "9003/SCTP", True),
         (0, "z/a", "y/c", "80/TCP", True), (0, EXT_IP, "y/a", "80/TCP", False),
         (0, "x/a", "z/b", "9003/SCTP", True)])

    # Pass hands y's traffic into x to the NetworkPolicy (only y/b allowed); every other pod is
    # denied by the next rule; the external host is matched by no ANP peer, so the NP decides.
    add("pass-to-np-ingress", lambda ip: [Step(
        [policy("from-yb", "x", {}, types=["Ingress"], ingress=[{"from": [
            {"namespaceSelector": labels(ns="y"), "podSelector": labels(pod="b")}]}]),
         anp("x-in", 50, ns_subject(ns("x")), ingress=[
             in_rule("pass-y", "Pass", [namespaces(ns("y"))]),
             in_rule("deny-rest", "Deny", [namespaces({})])])])],
        [(0, "y/b", "x/a", "80/TCP", True), (0, "y/b", "x/c", "9005/SCTP", True),
         (0, "y/a", "x/a", "80/TCP", False), (0, "z/b", "x/a", "53/UDP", False),
         (0, "x/b", "x/a", "8080/TCP", False), (0, EXT_IP, "x/a", "80/TCP", False),
         (0, "x/a", "y/a", "80/TCP", True)])

    # Pass in egress to a NetworkPolicy (z may reach x only): TCP in 80..8080 to any pod
    # address is passed, the rest to pods denied; z -> external host is matched by neither rule
    # (not in the pod network, not a namespace), so the NP isolates it: denied.
    add("pass-to-np-egress", lambda ip: [Step(
        [policy("to-x", "z", {}, types=["Egress"], egress=[{"to": [
            {"namespaceSelector": labels(ns="x")}]}]),
         anp("z-out", 60, ns_subject(ns("z")), egress=[
             out_rule("pass-tcp", "Pass", [networks(ip.pod_net)], [prange("TCP", 80, 8080)]),
             out_rule("deny-pods", "Deny", [namespaces({})])])])],
        [(0, "z/a", "x/b", "80/TCP", True), (0, "z/a", "x/b", "8080/TCP", True),
         (0, "z/a", "y/b", "80/TCP", False), (0, "z/a", "x/b", "53/UDP", False),
         (0, "z/c", "x/a", "9003/SCTP", False), (0, "z/a", EXT_IP, "80/TCP", False),
         (0, "x/a", "z/a", "80/TCP", True)])

    # Pass to the BANP (no NetworkPolicy): the Pass at priority 5 skips the Allow at 20, so y's
    # UDP to z meets the BANP Deny; everything else to z is allowed by the ANP at 20. Step 1:
    # the ANP at 20 denies instead and there is no BANP: the passed UDP is allowed (nothing
    # below the admin tier decides), every other connection to z denied.
    pass_udp = anp("y-dns-pass", 5, ns_subject(ns("y")), egress=[
        out_rule("pass-udp", "Pass", [namespaces(ns("z"))], [prange("UDP", 53, 5353)])])
    add("pass-to-banp", lambda ip: [Step(
        [pass_udp,
         anp("allow-to-z", 20, ns_subject({}), egress=[
             out_rule("to-z", "Allow", [namespaces(ns("z"))])]),
         banp(ns_subject({}), egress=[out_rule("no-z", "Deny", [namespaces(ns("z"))])])]),
        Step([pass_udp, anp("allow-to-z", 20, ns_subject({}), egress=[
            out_rule("to-z", "Deny", [namespaces(ns("z"))])])])],
        [(0, "y/a", "z/b", "53/UDP", False), (0, "y/c", "z/a", "5353/UDP", False),
         (0, "y/a", "z/b", "80/TCP", True), (0, "y/a", "z/b", "9003/SCTP", True),
         (0, "x/a", "z/b", "53/UDP", True), (0, "z/a", "z/b", "5353/UDP", True),
         (0, "y/a", "x/b", "53/UDP", True), (0, "y/a", EXT_IP, "53/UDP", True),
         (1, "y/a", "z/b", "53/UDP", True), (1, "y/c", "z/a", "5353/UDP", True),
         (1, "y/a", "z/b", "80/TCP", False), (1, "x/a", "z/b", "53/UDP", False),
         (1, "z/a", "z/b", "9003/SCTP", False), (1, "y/a", EXT_IP, "80/TCP", True)])

    # BANP alone, both actions, first rule wins: pods with app=web may talk to anyone, every
    # other pod-to-pod connection is denied; the external host is no namespace peer.
    add("banp-allow-deny-ingress", lambda ip: [Step(
        [banp(ns_subject({}), ingress=[
            in_rule("from-web", "Allow", [pods({}, labels(app="web"))]),
            in_rule("no-pods", "Deny", [namespaces({})])])])],
        [(0, "x/a", "y/b", "80/TCP", True), (0, "z/a", "x/c", "9005/SCTP", True),
         (0, "x/b", "y/b", "80/TCP", False), (0, "y/c", "x/a", "53/UDP", False),
         (0, EXT_IP, "x/b", "80/TCP", True), (0, "x/b", EXT_IP, "80/TCP", True)])

    # BANP egress by pods subject, then a NetworkPolicy that isolates one of its subjects:
    # step 0: z/c may not send to x (BANP Deny); step 1: an NP on z/c allows egress to y only,
    # so the BANP is ignored for z/c: z/c -> x stays denied (NP), z/c -> ext denied (NP),
    # z/c -> y allowed; step 2: the NP allows everything: z/c -> x allowed despite the BANP.
    np_zc_y = policy("zc-to-y", "z", labels(pod="c"), types=["Egress"],
                     egress=[{"to": [{"namespaceSelector": labels(ns="y")}]}])
    np_zc_all = policy("zc-all", "z", labels(pod="c"), types=["Egress"], egress=[{}])

    def banp_zc(ip):
        return banp(pods_subject(ns("z"), labels(pod="c")), egress=[
            out_rule("no-x", "Deny", [namespaces(ns("x"))]),
            out_rule("ext-ok", "Allow", [networks(ip.ext)]),
            out_rule("no-y-sctp", "Deny", [namespaces(ns("y"))], [prange("SCTP", 9003, 9005)])])
    add("banp-ignored-when-np-isolates", lambda ip: [
        Step([banp_zc(ip)]), Step([banp_zc(ip), np_zc_y]), Step([banp_zc(ip), np_zc_all])],
        [(0, "z/c", "x/a", "80/TCP", False), (0, "z/c", "y/a", "9003/SCTP", False),
         (0, "z/c", "y/a", "80/TCP", True), (0, "z/c", EXT_IP, "80/TCP", True),
         (0, "z/b", "x/a", "80/TCP", True),
         (1, "z/c", "x/a", "80/TCP", False), (1, "z/c", "y/a", "9003/SCTP", True),
         (1, "z/c", EXT_IP, "53/UDP", False), (1, "z/c", "z/a", "53/UDP", False),
         (2, "z/c", "x/a", "80/TCP", True), (2, "z/c", "y/b", "9005/SCTP", True),
         (2, "z/c", EXT_IP, "80/TCP", True)])

    # Priority: two ANPs on x with conflicting actions; swapping the priorities flips z -> x
    # (the bounds 0 and 1000 first, then 1000 after 999).
    def prio(allow_p, deny_p):
        return Step([
            anp("allow-from-z", allow_p, ns_subject(ns("x")), ingress=[
                in_rule("z", "Allow", [namespaces(ns("z"))])]),
            anp("deny-from-pods", deny_p, ns_subject(ns("x")), ingress=[
                in_rule("all", "Deny", [namespaces({})])])])
    add("priority-swap", lambda ip: [prio(0, 1000), prio(1000, 999)],
        [(0, "z/a", "x/a", "80/TCP", True), (0, "z/c", "x/b", "9003/SCTP", True),
         (0, "y/a", "x/a", "80/TCP", False), (0, "x/b", "x/a", "53/UDP", False),
         (0, EXT_IP, "x/a", "80/TCP", True),
         (1, "z/a", "x/a", "80/TCP", False), (1, "z/c", "x/b", "9003/SCTP", False),
         (1, "y/a", "x/a", "80/TCP", False), (1, EXT_IP, "x/c", "8080/TCP", True)])

    # Priority in egress, a pods subject under a namespaces subject: the pods ANP (priority 9)
    # allows x/a to y on SCTP, the namespace-wide ANP (priority 10: numbers, not strings,
    # compare) denies x -> y; at 11 the deny wins for x/a too.
    def prio_out(a, b):
        return Step([
            anp("xa-sctp", a, pods_subject(ns("x"), labels(app="web")), egress=[
                out_rule("y-sctp", "Allow", [namespaces(ns("y"))],
                         [prange("SCTP", 9003, 9005)])]),
            anp("x-not-y", b, ns_subject(ns("x")), egress=[
                out_rule("no-y", "Deny", [pods(labels(tier="back"), {})])])])
    add("priority-swap-egress-pods-subject", lambda ip: [prio_out(9, 10), prio_out(11, 10)],
        [(0, "x/a", "y/b", "9003/SCTP", True), (0, "x/a", "y/c", "9005/SCTP", True),
         (0, "x/a", "y/b", "80/TCP", False), (0, "x/b", "y/b", "9003/SCTP", False),
         (0, "x/a", "z/b", "80/TCP", True),
         (1, "x/a", "y/b", "9003/SCTP", False), (1, "x/a", "z/a", "9003/SCTP", True)])

    # Rule order inside one ANP (egress of every pod c): Deny to the pod network first blocks
    # c -> x too; swapped, the Allow to x comes first. The external host is in neither.
    def rule_order(ip, first_deny):
        deny = out_rule("no-pods", "Deny", [networks(ip.pod_net)])
        allow = out_rule("x-ok", "Allow", [namespaces(ns("x"))])
        return Step([anp("c-out", 70, pods_subject({}, labels(pod="c")),
                         egress=[deny, allow] if first_deny else [allow, deny])])
    add("rule-order-swap", lambda ip: [rule_order(ip, True), rule_order(ip, False)],
        [(0, "y/c", "x/a", "80/TCP", False), (0, "y/c", "z/a", "53/UDP", False),
         (0, "y/c", EXT_IP, "80/TCP", True), (0, "y/a", "x/a", "80/TCP", True),
         (1, "y/c", "x/a", "80/TCP", True), (1, "x/c", "x/a", "9005/SCTP", True),
         (1, "y/c", "z/a", "53/UDP", False), (1, "y/c", EXT_IP, "80/TCP", True)])

    # Egress Deny to the external host by its /32 (/128); pods among themselves unaffected.
    add("egress-deny-external-network", lambda ip: [Step([
        anp("no-ext", 80, ns_subject({}), egress=[
            out_rule("ext", "Deny", [networks(ip.ext)])])])],
        [(0, "x/a", EXT_IP, "80/TCP", False), (0, "z/c", EXT_IP, "9003/SCTP", False),
         (0, "y/b", EXT_IP, "53/UDP", False), (0, EXT_IP, "x/a", "80/TCP", True),
         (0, "x/a", "y/a", "80/TCP", True)])

    # networks with a pod's own /32 (/128) and both families' literal addresses of the
    # external host (the other family's entry must match nothing and break nothing).
    add("networks-pod-host-and-both-families", lambda ip: [Step([
        anp("y-out", 90, ns_subject(ns("y")), egress=[
            out_rule("za", "Allow", [networks(ip.host("z/a"))]),
            out_rule("ext", "Deny", [networks("192.168.251.9/32", "fd00:251::9/128")]),
            out_rule("z", "Deny", [namespaces(ns("z"))])])])],
        [(0, "y/a", "z/a", "80/TCP", True), (0, "y/b", "z/a", "9005/SCTP", True),
         (0, "y/a", "z/b", "80/TCP", False), (0, "y/c", "z/c", "53/UDP", False),
         (0, "y/a", EXT_IP, "8080/TCP", False), (0, "y/a", "x/a", "80/TCP", True),
         (0, "x/a", EXT_IP, "80/TCP", True), (0, "z/a", "y/a", "80/TCP", True)])

    # namedPort in ingress resolves on the subject itself: anp-web is TCP 8080 on a, TCP 80 on
    # b, absent on c; anp-sctp is SCTP 9003 on a, SCTP 9005 on b, UDP 9005 on c (no match).
    add("named-ports-ingress", lambda ip: [Step([
        anp("z-named", 100, ns_subject(ns("z")), ingress=[
            in_rule("web-sctp", "Deny", [namespaces({})], [named("anp-web"), named("anp-sctp")])])])],
        [(0, "x/a", "z/a", "8080/TCP", False), (0, "x/a", "z/a", "80/TCP", True),
         (0, "x/a", "z/b", "80/TCP", False), (0, "x/a", "z/b", "8080/TCP", True),
         (0, "y/c", "z/a", "9003/SCTP", False), (0, "y/c", "z/b", "9005/SCTP", False),
         (0, "y/c", "z/c", "9005/SCTP", True), (0, "y/c", "z/c", "80/TCP", True),
         (0, EXT_IP, "z/a", "8080/TCP", True), (0, "z/a", "x/a", "8080/TCP", True)])

    # namedPort in egress resolves on the peer: anp-dns is UDP 5353 on a, UDP 53 on c, absent on
    # b; serve-8080-tcp is on every pod (y declares it without `protocol`, TCP by default).
    add("named-ports-egress", lambda ip: [Step([
        anp("x-named", 110, ns_subject(ns("x")), egress=[
            out_rule("dns-8080", "Deny", [pods(labels(tier="back"), {})],
                     [named("anp-dns"), named("serve-8080-tcp")])])])],
        [(0, "x/a", "y/a", "5353/UDP", False), (0, "x/a", "y/a", "53/UDP", True),
         (0, "x/b", "y/c", "53/UDP", False), (0, "x/b", "y/c", "5353/UDP", True),
         (0, "x/c", "y/b", "53/UDP", True), (0, "x/c", "y/b", "8080/TCP", False),
         (0, "x/c", "z/b", "8080/TCP", True), (0, "x/c", EXT_IP, "8080/TCP", True)])

    # Subjects by pods and by namespaces, both directions: the pods ANP (pods a of x and z)
    # allows y in and denies SCTP 9005 out; the namespace-wide ANP denies y in everywhere.
    add("subject-pods-vs-namespaces", lambda ip: [Step([
        anp("web-xz", 10, pods_subject({"matchExpressions": [
                {"key": METANAME, "operator": "In", "values": ["x", "z"]}]}, labels(app="web")),
            ingress=[in_rule("from-y", "Allow", [namespaces(ns("y"))])],
            egress=[out_rule("no-9005", "Deny", [namespaces({})], [number("SCTP", 9005)])]),
        anp("no-y", 20, ns_subject({}), ingress=[
            in_rule("y", "Deny", [namespaces(ns("y"))])])])],
        [(0, "y/a", "x/a", "80/TCP", True), (0, "y/b", "z/a", "9005/SCTP", True),
         (0, "y/a", "x/b", "80/TCP", False), (0, "y/a", "y/b", "80/TCP", False),
         (0, "x/a", "y/b", "9005/SCTP", False), (0, "z/a", "x/b", "9005/SCTP", False),
         (0, "z/a", EXT_IP, "9005/SCTP", True), (0, "x/b", "y/b", "9005/SCTP", True)])

    # Pass in ingress to the BANP, with a pods subject (pods a and b of the tier=back namespace,
    # y): UDP from pods c is passed over the Allow that follows, and meets the BANP Deny. The
    # BANP denies every pod-to-pod connection and SCTP to the external host, except where a
    # NetworkPolicy isolates: z/b admits x only (ingress), and the BANP still rules z/b's
    # egress, which no NetworkPolicy isolates.
    add("pass-to-banp-ingress", lambda ip: [Step(
        [policy("zb-from-x", "z", labels(pod="b"), types=["Ingress"], ingress=[{"from": [
            {"namespaceSelector": labels(ns="x")}]}]),
         anp("yab-in", 15, pods_subject(labels(tier="back"), {"matchExpressions": [
             {"key": "pod", "operator": "In", "values": ["a", "b"]}]}), ingress=[
             in_rule("c-udp", "Pass", [pods({}, labels(pod="c"))], [prange("UDP", 53, 5353)]),
             in_rule("pods", "Allow", [namespaces({})])]),
         banp(ns_subject({}), ingress=[in_rule("no-pods", "Deny", [namespaces({})])],
              egress=[out_rule("no-ext-sctp", "Deny", [networks(ip.ext)],
                               [prange("SCTP", 9003, 9005)])])])],
        [(0, "x/c", "y/a", "53/UDP", False), (0, "z/c", "y/b", "5353/UDP", False),
         (0, "x/c", "y/a", "80/TCP", True), (0, "x/a", "y/b", "53/UDP", True),
         (0, "x/a", "y/c", "80/TCP", False), (0, "x/a", "z/a", "80/TCP", False),
         (0, "x/a", "z/b", "8080/TCP", True), (0, "y/a", "z/b", "8080/TCP", False),
         (0, "z/b", EXT_IP, "9003/SCTP", False), (0, "z/b", EXT_IP, "80/TCP", True),
         (0, EXT_IP, "z/b", "80/TCP", False), (0, EXT_IP, "x/a", "80/TCP", True),
         (0, "z/b", "y/a", "9005/SCTP", True)])

    # An update that only changes a rule's action: y admits x by NetworkPolicy; the ANP rule
    # from x is Allow, then Deny, then Pass (handing x back to the NP), and a second rule denies
    # every other pod in all three steps.
    def action_step(action):
        return Step([policy("y-from-x", "y", {}, types=["Ingress"], ingress=[{"from": [
                         {"namespaceSelector": labels(ns="x")}], "ports": [{"port": 80}]}]),
                     anp("y-in", 200, ns_subject(ns("y")), ingress=[
                         in_rule("front", action, [namespaces(labels(tier="front"))]),
                         in_rule("rest", "Deny", [namespaces({})])])])
    add("update-action-changes", lambda ip: [
        action_step("Allow"), action_step("Deny"), action_step("Pass")],
        [(0, "x/a", "y/b", "80/TCP", True), (0, "x/a", "y/b", "9003/SCTP", True),
         (0, "z/a", "y/b", "80/TCP", False), (0, EXT_IP, "y/b", "80/TCP", False),
         (1, "x/a", "y/b", "80/TCP", False), (1, "x/c", "y/a", "53/UDP", False),
         (2, "x/a", "y/b", "80/TCP", True), (2, "x/a", "y/b", "8080/TCP", False),
         (2, "y/a", "y/b", "80/TCP", False), (2, EXT_IP, "y/b", "80/TCP", False),
         (2, "y/a", "x/b", "80/TCP", True)])

    # An update by labels, then the policies go away. Step 0: y may not send to pods c of the
    # namespace labelled ns=z; step 1: namespace x is relabelled ns=z and x/a pod=c, so x/a and
    # x/c become peers too (x/b does not); step 2: no policies at all.
    add("update-relabel-then-remove", lambda ip: [
        Step([anp("y-not-zc", 120, ns_subject(ns("y")), egress=[
            out_rule("zc", "Deny", [pods(ns("z"), labels(pod="c"))])])]),
        Step([anp("y-not-zc", 120, ns_subject(ns("y")), egress=[
            out_rule("zc", "Deny", [pods(ns("z"), labels(pod="c"))])])],
            pod_labels={"x/a": {"pod": "c"}}, ns_labels={"x": {"ns": "z"}}),
        Step([])],
        [(0, "y/a", "z/c", "80/TCP", False), (0, "y/a", "x/c", "80/TCP", True),
         (0, "z/a", "z/c", "80/TCP", True),
         (1, "y/a", "z/c", "80/TCP", False), (1, "y/a", "x/a", "80/TCP", False),
         (1, "y/b", "x/c", "9005/SCTP", False), (1, "y/a", "x/b", "9003/SCTP", True),
         (1, "x/a", "y/a", "80/TCP", True),
         (2, "y/a", "z/c", "80/TCP", True)])
    return C


# --- self-check ---------------------------------------------------------------------------------

def _self_check():
    import model
    from netns import Topology
    from probe import port_keys
    cs = family_anp()
    problems = 0
    total_steps = 0
    for kind in Topology.KINDS:
        for family in ("ipv4", "ipv6"):
            topo = Topology(kind, "selfcheck", "/tmp", family)
            plan = model.IPPlan(topo.endpoints())
            eps = list(topo.endpoints())
            for c in cs:
                steps = c.build(plan)
                for si, step in enumerate(steps):
                    docs = model.cluster_docs(topo.pods, step.pod_labels, step.ns_labels,
                                              step.ghosts, containers=c.containers)
                    model.dump_all(docs + step.policies)  # must serialise
                    claim = c.judge(plan, step, docs)
                    allowed = sum(1 for s in eps for d in eps if s != d
                                  for p in port_keys(c.ports) if claim(s, d, p))
                    n = len(eps) * (len(eps) - 1) * len(c.ports)
                    if kind == "routed" and family == "ipv4":
                        total_steps += 1
                        print("%-45s step %d: %3d probes, %3d allowed, %3d denied"
                              % (c.name, si, n, allowed, n - allowed))
                    for (ssi, s, d, p, want) in SPOTS[c.name]:
                        if ssi == si and claim(s, d, p) != want:
                            problems += 1
                            print("SPOT MISMATCH [%s %s] %s step %d: %s -> %s %s: evaluator "
                                  "%s, by hand %s" % (kind, family, c.name, si, s, d, p,
                                                      claim(s, d, p), want))
    print("%d cases, %d steps, %d spot claims, %d problems"
          % (len(cs), total_steps, sum(len(v) for v in SPOTS.values()), problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(_self_check())

"""A test Kubernetes API server: the part of the protocol a list/watch client must handle.

There is no kube-apiserver on the test machines, so the agent's tests talk to this one. It
serves, over HTTPS with its own CA (made with the `openssl` CLI at start):

  /api, /api/v1, /apis, /apis/GROUP/VERSION, /version        discovery
  /api/v1/namespaces[/NAME]                                   Namespaces (cluster-scoped)
  /api/v1/pods, /api/v1/namespaces/NS/pods[/NAME]             Pods
  /apis/networking.k8s.io/v1/networkpolicies, .../namespaces/NS/networkpolicies[/NAME]
  /apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies[/NAME]
  /apis/policy.networking.k8s.io/v1alpha1/baselineadminnetworkpolicies[/NAME]

and follows the documented API conventions where a client must cope with them:

- resourceVersions come from one global counter (etcd's revision): every write of any kind
  bumps it, so the versions a watcher of one resource sees have gaps. They are opaque strings.
- LIST answers `kind: XList` with `metadata.resourceVersion`; items are in key order and carry
  no `kind`/`apiVersion` (as the real server's typed lists). `limit` pages the list; the
  `continue` token (base64 JSON, as the real server's) pins the snapshot at the first page's
  resourceVersion, so every page is a consistent read of one version. A token whose version is
  older than the history window is answered with HTTP 410, reason `Expired`.
  `resourceVersion` + `resourceVersionMatch=Exact` reads an old version (or 410).
- WATCH (`watch=1|true`) streams newline-delimited JSON events over chunked HTTP/1.1:
  ADDED, MODIFIED, DELETED (the object with the deletion's resourceVersion), BOOKMARK (only with
  `allowWatchBookmarks=true`: an object of the resource's kind carrying only
  metadata.resourceVersion), and ERROR with a Status. A watch from a resourceVersion older than
  the history window gets one ERROR event with a 410 `Expired` Status (the watch cache's
  behaviour; `too_old_as_http=True` answers HTTP 410 instead, as etcd-direct reads do). A watch
  without a resourceVersion (or "0") starts with synthetic ADDED events for every object.
  `timeoutSeconds` ends the stream cleanly (the server also caps it with `max_watch_seconds`).
- `labelSelector` (equality, `!=`, `in`, `notin`, exists, `!key`) and `fieldSelector`
  (`metadata.name`, `metadata.namespace`, `spec.nodeName`, `=`/`==`/`!=`) filter lists and
  watches; an object that stops matching is sent as DELETED, one that starts as ADDED.
- Authentication: `Authorization: Bearer TOKEN`, or a client certificate signed by the CA. The
  current token is written to `token_path`; `rotate_token()` makes a new one (and rewrites the
  file) and the old one stays valid for `grace` seconds, after which it gets 401 with an
  `Unauthorized` Status, as an expired bound service-account token does.
- The AdminNetworkPolicy group answers 404 (and is absent from /apis) until
  `set_admin_installed(True)`.
- Unknown paths, unsupported verbs (only GET is served) and bad parameters get Status errors.

Every request is recorded (verb as RBAC names it: get, list, watch; apiGroup; resource;
namespace; name; HTTP status) in `requests`, so a test can compare them with the ClusterRole.

Control, in-process (`server = APIServer(...); server.start()`; every method is thread-safe):
  create/update/apply/delete(obj or kind, namespace, name), get(...), compact(),
  set_history(n), expire_watches() (ERROR 410 on every open watch), end_watches() (clean
  end, as a timeout), drop_connections(rst=False) (abrupt close of every open connection),
  stop() / start() (the listening socket goes away and comes back on the same port),
  rotate_token(grace), set_admin_installed(bool), write_kubeconfig(path, ...).
Or as a process: `python3 apiserver.py --dir D [--netns NAME] [--port P] --control-port C`
serves the same methods as `POST /NAME` with a JSON object of keyword arguments on
127.0.0.1:C (in the namespace the process started in), and prints one JSON line with the port,
CA, token file and control port when ready.

`netns`: the listening socket is created inside that network namespace (setns(2) on the
creating thread only, then back), so a process in that namespace reaches the server while the
test itself stays outside.

Python 3 standard library only (plus the `openssl` command).
"""

import argparse
import base64
import bisect
import copy
import ctypes
import gc
import http.server
import json
import os
import secrets
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

sys.dont_write_bytecode = True

CORE = ""
NETWORKING = "networking.k8s.io"
ADMIN = "policy.networking.k8s.io"


class Resource:
    def __init__(self, group, version, plural, kind, namespaced, short=()):
        self.group, self.version, self.plural = group, version, plural
        self.kind, self.namespaced, self.short = kind, namespaced, list(short)

    @property
    def api_version(self):
        return "%s/%s" % (self.group, self.version) if self.group else self.version

    @property
    def prefix(self):
        return "/apis/%s/%s" % (self.group, self.version) if self.group else "/api/v1"


RESOURCES = [
    Resource(CORE, "v1", "namespaces", "Namespace", False, ["ns"]),
    Resource(CORE, "v1", "pods", "Pod", True, ["po"]),
    Resource(NETWORKING, "v1", "networkpolicies", "NetworkPolicy", True, ["netpol"]),
    Resource(ADMIN, "v1alpha1", "adminnetworkpolicies", "AdminNetworkPolicy", False, ["anp"]),
    Resource(ADMIN, "v1alpha1", "baselineadminnetworkpolicies", "BaselineAdminNetworkPolicy",
             False, ["banp"]),
]
BY_KIND = {r.kind: r for r in RESOURCES}
BY_PATH = {(r.prefix, r.plural): r for r in RESOURCES}
VERBS = ["get", "list", "watch"]


def status(code, reason, message, details=None):
    out = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code}
    if details:
        out["details"] = details
    return out


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# --------------------------------------------------------------------------------------------
# Selectors


class SelectorError(ValueError):
    pass


def _split_top(text):
    """Split a label selector at commas that are not inside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text):
    """A list of (key, op, values) requirements; op in =, !=, in, notin, exists, !exists."""
    reqs = []
    for part in _split_top(text or ""):
        low = part
        if " notin " in low or " in " in low:
            op = "notin" if " notin " in low else "in"
            key, rest = low.split(" %s " % op, 1)
            rest = rest.strip()
            if not (rest.startswith("(") and rest.endswith(")")):
                raise SelectorError("unable to parse requirement: %r" % part)
            values = [v.strip() for v in rest[1:-1].split(",") if v.strip()]
            reqs.append((key.strip(), op, values))
        elif "!=" in part:
            key, value = part.split("!=", 1)
            reqs.append((key.strip(), "!=", [value.strip()]))
        elif "==" in part:
            key, value = part.split("==", 1)
            reqs.append((key.strip(), "=", [value.strip()]))
        elif "=" in part:
            key, value = part.split("=", 1)
            reqs.append((key.strip(), "=", [value.strip()]))
        elif part.startswith("!"):
            reqs.append((part[1:].strip(), "!exists", []))
        else:
            reqs.append((part, "exists", []))
    return reqs


def labels_match(reqs, labels):
    for key, op, values in reqs:
        has = key in labels
        if op == "=" and not (has and labels[key] == values[0]):
            return False
        if op == "!=" and has and labels[key] == values[0]:
            return False
        if op == "in" and not (has and labels[key] in values):
            return False
        if op == "notin" and has and labels[key] in values:
            return False
        if op == "exists" and not has:
            return False
        if op == "!exists" and has:
            return False
    return True


FIELDS = {"metadata.name": lambda o: o["metadata"].get("name", ""),
          "metadata.namespace": lambda o: o["metadata"].get("namespace", ""),
          "spec.nodeName": lambda o: (o.get("spec") or {}).get("nodeName", "")}


def parse_field_selector(text):
    reqs = []
    for part in _split_top(text or ""):
        for op in ("!=", "==", "="):
            if op in part:
                key, value = part.split(op, 1)
                key = key.strip()
                if key not in FIELDS:
                    raise SelectorError("field label not supported: %s" % key)
                reqs.append((key, "!=" if op == "!=" else "=", value.strip()))
                break
        else:
            raise SelectorError("invalid selector: %r; can't understand %r" % (text, part))
    return reqs


def fields_match(reqs, obj):
    for key, op, value in reqs:
        got = FIELDS[key](obj)
        if (got == value) != (op == "="):
            return False
    return True


# --------------------------------------------------------------------------------------------
# The store: objects, the global resourceVersion, the event history


class Gone(Exception):
    """The asked version is older than the history window."""

    def __init__(self, asked, oldest):
        Exception.__init__(self, "too old resource version: %d (%d)" % (asked, oldest))
        self.asked, self.oldest = asked, oldest


class Store:
    def __init__(self, history=10000):
        self.cond = threading.Condition()
        self.rv = 1                 # the current global version
        self.objects = {}           # (plural, namespace, name) -> object (with kind/apiVersion)
        self.events = []            # (rv, plural, type, obj, prev) in version order
        self.compacted = 1          # watches and reads from a version < this get 410
        self.history = history      # events kept
        self.epoch = 0              # bumped by expire_watches/end_watches/drop
        self._items = {}            # id(obj) -> (obj, list item JSON)
        self._views = {}            # (plural, version) -> (sorted keys, objects)

    @staticmethod
    def key_of(res, obj):
        md = obj.get("metadata") or {}
        if not md.get("name"):
            raise ValueError("object without metadata.name")
        ns = md.get("namespace", "") if res.namespaced else ""
        if res.namespaced and not ns:
            raise ValueError("%s %s needs metadata.namespace" % (res.kind, md["name"]))
        return (res.plural, ns, md["name"])

    def _record(self, res, etype, obj, prev):
        self.events.append((self.rv, res.plural, etype, obj, prev))
        self._trim()
        self.cond.notify_all()

    def _trim(self):
        extra = len(self.events) - self.history
        if extra > 0:
            self.compacted = self.events[extra - 1][0]
            del self.events[:extra]

    def write(self, obj, mode, own=False):
        """mode: create, update or apply. Returns the stored copy. own=True: the caller hands
        the object over (no copy is made, none returned; for bulk loads)."""
        res = BY_KIND.get(obj.get("kind"))
        if res is None:
            raise ValueError("unknown kind %r" % obj.get("kind"))
        obj = obj if own else copy.deepcopy(obj)
        obj["apiVersion"] = res.api_version
        with self.cond:
            key = self.key_of(res, obj)
            prev = self.objects.get(key)
            if mode == "create" and prev is not None:
                raise ValueError("%s %s already exists" % (res.kind, key))
            if mode == "update" and prev is None:
                raise ValueError("%s %s not found" % (res.kind, key))
            self.rv += 1
            md = obj.setdefault("metadata", {})
            md["resourceVersion"] = str(self.rv)
            if prev is None:
                md["uid"] = md.get("uid") or str(uuid.uuid4())
                md.setdefault("creationTimestamp", now_rfc3339())
                if res.kind != "Pod" and res.kind != "Namespace":
                    md["generation"] = 1
            else:
                pmd = prev["metadata"]
                md["uid"] = pmd["uid"]
                md["creationTimestamp"] = pmd["creationTimestamp"]
                if "generation" in pmd:
                    md["generation"] = pmd["generation"] + (
                        1 if prev.get("spec") != obj.get("spec") else 0)
            self.objects[key] = obj
            self._record(res, "ADDED" if prev is None else "MODIFIED", obj, prev)
            return None if own else copy.deepcopy(obj)

    def delete(self, kind, namespace, name):
        res = BY_KIND[kind]
        with self.cond:
            key = (res.plural, (namespace or "") if res.namespaced else "", name)
            prev = self.objects.pop(key, None)
            if prev is None:
                raise KeyError("%s %s not found" % (kind, key))
            self.rv += 1
            gone = copy.deepcopy(prev)
            gone["metadata"]["resourceVersion"] = str(self.rv)
            self._record(res, "DELETED", gone, prev)
            return gone

    def compact(self):
        """Drop the whole history: every version before the current one becomes too old."""
        with self.cond:
            self.events.clear()
            self.compacted = self.rv
            self.cond.notify_all()

    def set_history(self, n):
        with self.cond:
            self.history = max(0, int(n))
            self._trim()

    def snapshot(self, plural, at=None):
        """The objects of one resource at version `at` (None: now), as (sorted key strings
        ("ns/name" or "name"), objects in that order), and the version. Rolls the newer events
        back; raises Gone when the history does not reach back to `at`. Views are cached per
        version, so the pages of one list cost a bisect each."""
        with self.cond:
            at = self.rv if at is None or at >= self.rv else at
            if at < self.compacted and at != self.rv:
                raise Gone(at, self.compacted)
            view = self._views.get((plural, at))
            if view is None:
                cur = self._snapshot_dict(plural, at)
                pairs = sorted((("%s/%s" % (k[1], k[2]) if k[1] else k[2]), o)
                               for k, o in cur.items())
                view = ([k for k, _ in pairs], [o for _, o in pairs])
                if len(self._views) > 8:
                    self._views.clear()
                self._views[(plural, at)] = view
            return view, at

    def _snapshot_dict(self, plural, at):
        with self.cond:
            cur = {k: o for k, o in self.objects.items() if k[0] == plural}
            if at is None or at >= self.rv:
                return cur
            if at < self.compacted:
                raise Gone(at, self.compacted)
            for erv, eplural, etype, obj, prev in reversed(self.events):
                if erv <= at:
                    break
                if eplural != plural:
                    continue
                res = [r for r in RESOURCES if r.plural == plural][0]
                key = self.key_of(res, obj)
                if etype == "ADDED":
                    cur.pop(key, None)
                else:
                    cur[key] = prev
            return cur

    def item_bytes(self, obj):
        """A list item's JSON (no kind/apiVersion), cached per object (objects in the store
        are never mutated: every write stores a new one)."""
        cached = self._items.get(id(obj))
        if cached is not None and cached[0] is obj:
            return cached[1]
        item = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
        data = json.dumps(item, separators=(",", ":")).encode()
        with self.cond:
            self._items[id(obj)] = (obj, data)
            if len(self._items) > 4 * max(1, len(self.objects)) + 1000:
                live = {id(o) for o in self.objects.values()}
                self._items = {k: v for k, v in self._items.items() if k in live}
        return data

    def events_after(self, rv, plural):
        """Events of one resource with version > rv (caller holds the lock); Gone if the
        history no longer covers them."""
        if rv < self.compacted:
            raise Gone(rv, self.compacted)
        out = []
        # versions are increasing: binary search for the first event after rv
        lo, hi = 0, len(self.events)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.events[mid][0] <= rv:
                lo = mid + 1
            else:
                hi = mid
        for ev in self.events[lo:]:
            if ev[1] == plural:
                out.append(ev)
        return out


# --------------------------------------------------------------------------------------------
# TLS material


def make_pki(directory, hosts=("127.0.0.1", "localhost", "::1")):
    """A CA, a server certificate for `hosts` (IPs and DNS names) and a client certificate
    (CN=policyc-agent), all made with the openssl CLI. Returns a dict of paths."""
    os.makedirs(directory, exist_ok=True)
    p = {n: os.path.join(directory, n) for n in (
        "ca.key", "ca.crt", "server.key", "server.csr", "server.crt", "client.key",
        "client.csr", "client.crt", "ext.cnf")}

    def run(*args):
        r = subprocess.run(["openssl"] + list(args), capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("openssl %s: %s" % (" ".join(args), r.stderr.strip()))

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", p["ca.key"], "-out", p["ca.crt"], "-days", "2",
        "-subj", "/CN=policyc-test-ca", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    sans = ",".join(("IP:%s" % h) if _is_ip(h) else ("DNS:%s" % h) for h in hosts)
    with open(p["ext.cnf"], "w") as f:
        f.write("[srv]\nsubjectAltName=%s\nextendedKeyUsage=serverAuth\n"
                "basicConstraints=CA:FALSE\n[cli]\nextendedKeyUsage=clientAuth\n"
                "basicConstraints=CA:FALSE\n" % sans)
    for who, cn, section in (("server", "kube-apiserver", "srv"),
                             ("client", "policyc-agent", "cli")):
        run("req", "-new", *ec, "-keyout", p[who + ".key"], "-out", p[who + ".csr"],
            "-subj", "/CN=%s/O=policyc" % cn)
        run("x509", "-req", "-in", p[who + ".csr"], "-CA", p["ca.crt"], "-CAkey", p["ca.key"],
            "-CAcreateserial", "-out", p[who + ".crt"], "-days", "2", "-extfile", p["ext.cnf"],
            "-extensions", section)
    return p


def _is_ip(text):
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in text else socket.AF_INET, text)
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------------------------
# Network namespaces (setns on the calling thread only)

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: %s" % os.strerror(e))


def socket_in_netns(netns, family, kind):
    """A socket created inside network namespace `netns` (a name under /run/netns, or None)."""
    if not netns:
        return socket.socket(family, kind)
    result = {}

    def make():
        # A fresh thread: a failure to switch back cannot leave a server thread elsewhere.
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(os.path.join("/run/netns", netns), os.O_RDONLY)
        try:
            _setns(target)
            try:
                result["sock"] = socket.socket(family, kind)
            finally:
                _setns(own)
        except Exception as e:  # noqa: BLE001 - handed to the caller
            result["error"] = e
        finally:
            os.close(own)
            os.close(target)

    t = threading.Thread(target=make)
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]
    return result["sock"]


# --------------------------------------------------------------------------------------------
# HTTP


class _Dropped(Exception):
    pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "policyc-test-apiserver"

    def log_message(self, fmt, *args):  # quiet
        if self.server.api.verbose:
            sys.stderr.write("apiserver: " + (fmt % args) + "\n")

    def setup(self):
        http.server.BaseHTTPRequestHandler.setup(self)
        self.server.api._track(self.connection, True)

    def finish(self):
        try:
            http.server.BaseHTTPRequestHandler.finish(self)
        except OSError:
            pass
        self.server.api._track(self.connection, False)

    def handle(self):
        try:
            http.server.BaseHTTPRequestHandler.handle(self)
        except (OSError, ssl.SSLError, _Dropped):
            pass

    # -- responses

    def send_json(self, code, body, record=None):
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.write(data)
        if record is not None:
            record["code"] = code

    def send_raw(self, code, data, record=None):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.write(data)
        if record is not None:
            record["code"] = code

    def do_GET(self):
        api = self.server.api
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True)
                 .items()}
        rec = {"time": time.time(), "method": "GET", "path": url.path, "query": query,
               "verb": None, "apiGroup": None, "resource": None, "namespace": None,
               "name": None, "user": None, "code": None}
        api._record(rec)
        user = api._authenticate(self)
        if user is None:
            self.send_json(401, status(401, "Unauthorized", "Unauthorized"), rec)
            return
        rec["user"] = user
        route = api._route(url.path)
        if route is None:
            # Record what was asked even so (the admin group while not installed, say).
            guess = api._route(url.path, ignore_installed=True)
            if guess is not None and guess[0] == "resource":
                _, res, namespace, name, _ = guess
                watch = query.get("watch", "") in ("1", "true", "True")
                rec.update(apiGroup=res.group, resource=res.plural, namespace=namespace,
                           name=name, verb="watch" if watch else
                           ("get" if name is not None else "list"))
            self.send_json(404, status(404, "NotFound", "the server could not find the "
                                       "requested resource"), rec)
            return
        kind, res, namespace, name, extra = route
        if kind == "discovery":
            rec["verb"], rec["nonResourceURL"] = "get", url.path
            code, body = extra
            self.send_json(code, body, rec)
            return
        rec.update(apiGroup=res.group, resource=res.plural, namespace=namespace, name=name)
        watch = query.get("watch", "") in ("1", "true", "True")
        if name is not None and not watch:
            rec["verb"] = "get"
            self.get_one(res, namespace, name, rec)
        elif watch:
            rec["verb"] = "watch"
            self.watch(res, namespace, name, query, rec)
        else:
            rec["verb"] = "list"
            self.list(res, namespace, query, rec)

    def _reject(self, verb):
        rec = {"time": time.time(), "method": verb, "path": self.path, "verb": verb.lower(),
               "code": 405}
        self.server.api._record(rec)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_json(405, status(405, "MethodNotAllowed", "this test server serves only GET"))

    def do_POST(self):
        self._reject("POST")

    def do_PUT(self):
        self._reject("PUT")

    def do_PATCH(self):
        self._reject("PATCH")

    def do_DELETE(self):
        self._reject("DELETE")

    # -- GET one

    def get_one(self, res, namespace, name, rec):
        store = self.server.api.store
        with store.cond:
            obj = store.objects.get((res.plural, namespace or "", name))
            obj = copy.deepcopy(obj) if obj else None
        if obj is None:
            self.send_json(404, status(404, "NotFound", '%s "%s" not found' % (
                res.plural, name), {"name": name, "group": res.group, "kind": res.plural}), rec)
            return
        self.send_json(200, obj, rec)

    # -- LIST

    def list(self, res, namespace, query, rec):
        api = self.server.api
        started = time.monotonic()
        try:
            lsel = parse_label_selector(query.get("labelSelector", ""))
            fsel = parse_field_selector(query.get("fieldSelector", ""))
        except SelectorError as e:
            self.send_json(400, status(400, "BadRequest", str(e)), rec)
            return
        try:
            limit = int(query.get("limit") or 0)
        except ValueError:
            self.send_json(400, status(400, "BadRequest", "invalid limit"), rec)
            return
        cont = query.get("continue")
        start = ""
        at = None
        if cont:
            try:
                tok = json.loads(base64.urlsafe_b64decode(cont + "=" * (-len(cont) % 4)))
                at, start = int(tok["rv"]), tok["start"]
                if tok.get("v") != "meta.k8s.io/v1":
                    raise ValueError
            except Exception:  # noqa: BLE001 - any broken token is a 400
                self.send_json(400, status(400, "BadRequest", "continue key is not valid"), rec)
                return
        else:
            rvq = query.get("resourceVersion", "")
            match = query.get("resourceVersionMatch", "")
            if match == "Exact":
                try:
                    at = int(rvq)
                except ValueError:
                    self.send_json(400, status(400, "BadRequest",
                                               "resourceVersionMatch=Exact needs a version"),
                                   rec)
                    return
        try:
            objs, list_rv = api.store.snapshot(res.plural, at)
        except Gone as e:
            if cont:
                msg = ("The provided continue parameter is too old to display a consistent list"
                       " result. You can start a new list without the continue parameter.")
            else:
                msg = str(e)
            self.send_json(410, status(410, "Expired", msg), rec)
            return
        keys, ordered = objs
        if namespace is not None:
            pairs = [(k, o) for k, o in zip(keys, ordered)
                     if o["metadata"].get("namespace") == namespace]
            keys, ordered = [k for k, _ in pairs], [o for _, o in pairs]
        items = []
        nxt = None
        remaining = 0

        def match(o):
            return (not lsel or labels_match(lsel, o["metadata"].get("labels") or {})) and \
                (not fsel or fields_match(fsel, o))
        first = bisect.bisect_left(keys, start) if start else 0
        for i in range(first, len(keys)):
            o = ordered[i]
            if not match(o):
                continue
            if limit and len(items) >= limit:
                nxt = keys[i]
                remaining = (len(keys) - i) if not (lsel or fsel) else \
                    sum(1 for q in ordered[i:] if match(q))
                break
            items.append(api.store.item_bytes(o))
        md = {"resourceVersion": str(list_rv)}
        if nxt is not None:
            tok = json.dumps({"v": "meta.k8s.io/v1", "rv": list_rv, "start": nxt},
                             separators=(",", ":"))
            md["continue"] = base64.urlsafe_b64encode(tok.encode()).decode().rstrip("=")
            md["remainingItemCount"] = remaining
        api.lists_served += 1
        head = json.dumps({"kind": res.kind + "List", "apiVersion": res.api_version,
                           "metadata": md}, separators=(",", ":")).encode()
        body = b"".join((head[:-1], b',"items":[', b",".join(items), b"]}"))
        built = time.monotonic()
        self.send_raw(200, body, rec)
        api._list_timed(res.plural, len(body), built - started, time.monotonic() - built)

    # -- WATCH

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _event(self, etype, obj):
        self._chunk(json.dumps({"type": etype, "object": obj}, separators=(",", ":")).encode()
                    + b"\n")

    def watch(self, res, namespace, name, query, rec):
        api = self.server.api
        store = api.store
        try:
            lsel = parse_label_selector(query.get("labelSelector", ""))
            fsel = parse_field_selector(query.get("fieldSelector", ""))
        except SelectorError as e:
            self.send_json(400, status(400, "BadRequest", str(e)), rec)
            return
        if name is not None:
            fsel = fsel + [("metadata.name", "=", name)]
        bookmarks = query.get("allowWatchBookmarks", "") in ("1", "true", "True")
        try:
            timeout = float(query.get("timeoutSeconds") or api.max_watch_seconds)
        except ValueError:
            self.send_json(400, status(400, "BadRequest", "invalid timeoutSeconds"), rec)
            return
        timeout = min(timeout, api.max_watch_seconds)
        rvq = query.get("resourceVersion", "")

        def visible(o):
            if o is None:
                return False
            if namespace is not None and o["metadata"].get("namespace", "") != namespace:
                return False
            return labels_match(lsel, o["metadata"].get("labels") or {}) and fields_match(fsel, o)

        initial = []
        with store.cond:
            epoch = store.epoch
            if rvq in ("", "0"):
                cursor = store.rv
                for key in sorted(k for k in store.objects if k[0] == res.plural):
                    if visible(store.objects[key]):
                        initial.append(store.objects[key])  # stored objects are immutable
                gone = None
            else:
                try:
                    cursor = int(rvq)
                except ValueError:
                    self.send_json(400, status(400, "BadRequest", "invalid resourceVersion"), rec)
                    return
                gone = None
                if cursor < store.compacted:
                    gone = Gone(cursor, store.compacted)
        if gone is not None and api.too_old_as_http:
            self.send_json(410, status(410, "Expired", str(gone)), rec)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        rec["code"] = 200
        watch = {"handler": self, "resource": res.plural, "since": time.time()}
        api._watch_open(watch)
        try:
            if gone is not None:
                self._event("ERROR", status(410, "Expired", str(gone)))
                self._chunk(b"")
                return
            for o in initial:
                self._event("ADDED", o)
            deadline = time.monotonic() + timeout
            next_bookmark = time.monotonic() + api.bookmark_seconds
            while True:
                with store.cond:
                    while True:
                        if store.epoch != epoch:
                            action = api._epoch_action
                            break
                        try:
                            evs = store.events_after(cursor, res.plural)
                        except Gone as g:
                            evs = g
                        if isinstance(evs, Gone) or evs:
                            action = None
                            break
                        # Also let unrelated versions move the cursor: cheap, and the next
                        # bookmark carries the newest version.
                        wait = min(deadline, next_bookmark) - time.monotonic()
                        if wait <= 0:
                            action = None
                            evs = []
                            break
                        store.cond.wait(wait)
                    current = store.rv
                if action == "expire":
                    self._event("ERROR", status(410, "Expired", "too old resource version: "
                                                "%d (%d)" % (cursor, store.compacted)))
                    self._chunk(b"")
                    return
                if action == "end":
                    self._chunk(b"")
                    return
                if action == "drop":
                    raise _Dropped()
                if isinstance(evs, Gone):
                    self._event("ERROR", status(410, "Expired", str(evs)))
                    self._chunk(b"")
                    return
                for erv, _, etype, obj, prev in evs:
                    was, now = visible(prev), visible(obj)
                    if etype == "DELETED":
                        if was:
                            self._event("DELETED", obj)
                    elif etype == "ADDED":
                        if now:
                            self._event("ADDED", obj)
                    elif was and now:
                        self._event("MODIFIED", obj)
                    elif now:
                        self._event("ADDED", obj)
                    elif was:
                        self._event("DELETED", obj)
                    cursor = erv
                    api.events_sent += 1
                    if api.sent_at is not None and erv not in api.sent_at:
                        api.sent_at[erv] = time.monotonic()  # the first send of a version
                t = time.monotonic()
                if t >= deadline:
                    self._chunk(b"")
                    return
                if t >= next_bookmark:
                    if bookmarks and current > cursor:
                        # Nothing of this resource changed up to `current`: say so.
                        cursor = current
                        self._event("BOOKMARK", {"kind": res.kind, "apiVersion": res.api_version,
                                                 "metadata": {"resourceVersion": str(cursor)}})
                        api.bookmarks_sent += 1
                    next_bookmark = t + api.bookmark_seconds
        finally:
            api._watch_close(watch)


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, api, sock, ctx):
        self.api = api
        self.ctx = ctx
        http.server.HTTPServer.__init__(self, sock.getsockname()[:2], Handler,
                                        bind_and_activate=False)
        # The base class made a socket of its own; ours (maybe in a netns) replaces it.
        self.socket.close()
        self.socket = sock

    def get_request(self):
        conn, addr = self.socket.accept()
        # Headers and body are separate writes: without NODELAY, Nagle holds the body until
        # the peer's delayed ACK (40 ms per request), and watch events would wait the same.
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # The TLS handshake happens on the handler's thread (first read), never here.
        return self.ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        if self.api.verbose:
            http.server.ThreadingHTTPServer.handle_error(self, request, client_address)


class APIServer:
    def __init__(self, directory, port=0, host="127.0.0.1", netns=None, history=10000,
                 hosts=None, bookmark_seconds=1.0, max_watch_seconds=300.0, verbose=False,
                 admin_installed=False, too_old_as_http=False):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.host, self.port, self.netns = host, port, netns
        self.store = Store(history)
        self.bookmark_seconds = bookmark_seconds
        self.max_watch_seconds = max_watch_seconds
        self.too_old_as_http = too_old_as_http
        self.verbose = verbose
        self.admin_installed = admin_installed
        self.pki = make_pki(os.path.join(directory, "pki"),
                            hosts or ("127.0.0.1", "localhost", "::1", host))
        self.token_path = os.path.join(directory, "token")
        self.lock = threading.Lock()
        self.tokens = {}            # token -> expiry (monotonic) or None
        self.token = None
        self.rotate_token(grace=0)
        self.requests = []
        self.connections = set()
        self.watches = []
        self._epoch_action = None
        self.events_sent = self.bookmarks_sent = self.lists_served = 0
        # plural -> [pages, bytes, seconds building bodies, seconds writing them], for the
        # benchmark: what the server costs, apart from how fast the client reads
        self.list_times = {}
        # resourceVersion -> time.monotonic() of its first send on a watch (set to {} to
        # record; the benchmark measures event-to-kernel latency from it)
        self.sent_at = None
        self.httpd = None
        self.thread = None
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.ctx.load_cert_chain(self.pki["server.crt"], self.pki["server.key"])
        self.ctx.load_verify_locations(self.pki["ca.crt"])
        self.ctx.verify_mode = ssl.CERT_OPTIONAL
        self.ctx.set_alpn_protocols(["http/1.1"])

    # -- lifecycle

    @property
    def ca_path(self):
        return self.pki["ca.crt"]

    @property
    def url(self):
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "https://%s:%d" % (host, self.port)

    @property
    def running(self):
        return self.httpd is not None

    def start(self):
        if self.httpd is not None:
            return
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket_in_netns(self.netns, family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(64)
        self.port = sock.getsockname()[1]
        self.httpd = _HTTPServer(self, sock, self.ctx)
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        """The server goes away: no listener (connections are refused) and every open
        connection is cut."""
        httpd, self.httpd = self.httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        self.drop_connections()

    # -- connections and watches

    def _track(self, conn, add):
        with self.lock:
            if add:
                self.connections.add(conn)
            else:
                self.connections.discard(conn)

    def _watch_open(self, w):
        with self.lock:
            self.watches.append(w)

    def _watch_close(self, w):
        with self.lock:
            if w in self.watches:
                self.watches.remove(w)

    def _list_timed(self, plural, size, build, write):
        with self.lock:
            t = self.list_times.setdefault(plural, [0, 0, 0.0, 0.0])
            t[0] += 1
            t[1] += size
            t[2] += build
            t[3] += write

    def open_watches(self, resource=None):
        with self.lock:
            return [w["resource"] for w in self.watches
                    if resource is None or w["resource"] == resource]

    def wait_watches(self, resources, timeout=10.0):
        """Wait until a watch is open on each of `resources`; True if they all are."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            have = set(self.open_watches())
            if set(resources) <= have:
                return True
            time.sleep(0.02)
        return False

    def _signal_watches(self, action):
        with self.store.cond:
            self._epoch_action = action
            self.store.epoch += 1
            self.store.cond.notify_all()

    def expire_watches(self):
        """Every open watch gets an ERROR event with a 410 Status, then a clean end; the
        history is compacted after one unrelated write (a real cluster writes Leases and
        Events all the time), so a watch resumed from its last version gets 410 too."""
        with self.store.cond:
            self.store.rv += 1
        self.store.compact()
        self._signal_watches("expire")

    def end_watches(self):
        """Every open watch ends cleanly (as a timeout does)."""
        self._signal_watches("end")

    def drop_connections(self, rst=False):
        """Cut every open connection (no chunked terminator, no TLS close_notify). With
        rst=True the peer gets a TCP RST."""
        self._signal_watches("drop")
        with self.lock:
            conns = list(self.connections)
        for c in conns:
            try:
                if rst:
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00"
                                 b"\x00\x00\x00")
                    # close() of the raw fd with linger 0 sends the RST
                    os.close(c.detach())
                else:
                    c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- auth

    def rotate_token(self, grace=0.0):
        """A new token, written to token_path (atomically); the old one stays valid for
        `grace` seconds. Returns the new token."""
        new = "policyc-test." + secrets.token_urlsafe(24)
        with self.lock:
            if self.token is not None:
                self.tokens[self.token] = time.monotonic() + grace
            self.tokens[new] = None
            self.token = new
        tmp = self.token_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(new + "\n")
        os.replace(tmp, self.token_path)
        return new

    def expire_tokens(self):
        """Every token except the current one is rejected from now on."""
        with self.lock:
            for t in self.tokens:
                if t != self.token:
                    self.tokens[t] = 0

    def _authenticate(self, handler):
        auth = handler.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            tok = auth[len("Bearer "):].strip()
            with self.lock:
                if tok in self.tokens:
                    exp = self.tokens[tok]
                    if exp is None or time.monotonic() < exp:
                        return "system:serviceaccount:token"
            self.unauthorized += 1
            return None
        try:
            cert = handler.connection.getpeercert()
        except (ValueError, OSError):
            cert = None
        if cert:
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        return "cert:" + v
        self.unauthorized += 1
        return None

    unauthorized = 0

    # -- routing

    def _route(self, path, ignore_installed=False):
        """('discovery', None, None, None, (code, body)) or ('resource', res, ns, name, None)."""
        parts = [p for p in path.split("/") if p]
        if path == "/version":
            return ("discovery", None, None, None, (200, {"major": "1", "minor": "31",
                                                          "gitVersion": "v1.31.0-policyc-test"}))
        if parts == ["api"]:
            return ("discovery", None, None, None, (200, {
                "kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": "%s:%d" % (self.host,
                                                                            self.port)}]}))
        if parts == ["apis"]:
            groups = []
            for g, v in ((NETWORKING, "v1"), (ADMIN, "v1alpha1")):
                if g == ADMIN and not self.admin_installed:
                    continue
                gv = {"groupVersion": "%s/%s" % (g, v), "version": v}
                groups.append({"name": g, "versions": [gv], "preferredVersion": gv})
            return ("discovery", None, None, None, (200, {"kind": "APIGroupList",
                                                          "apiVersion": "v1", "groups": groups}))
        if parts[:1] == ["api"]:
            prefix, rest = "/api/v1", parts[2:]
            if parts[1:2] != ["v1"]:
                return None
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            prefix, rest = "/apis/%s/%s" % (parts[1], parts[2]), parts[3:]
            if parts[1] == ADMIN and not self.admin_installed and not ignore_installed:
                return None
        else:
            return None
        if not rest:
            known = [r for r in RESOURCES if r.prefix == prefix]
            if not known:
                return None
            return ("discovery", None, None, None, (200, {
                "kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": known[0].api_version,
                "resources": [{"name": r.plural, "singularName": r.kind.lower(),
                               "namespaced": r.namespaced, "kind": r.kind, "verbs": VERBS,
                               "shortNames": r.short} for r in known]}))
        if rest[0] == "watch":  # the deprecated /watch/ paths are not served
            return None
        namespace = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        res = BY_PATH.get((prefix, rest[0]))
        if res is None or len(rest) > 2:
            return None
        if namespace is not None and not res.namespaced:
            return None
        name = rest[1] if len(rest) == 2 else None
        if name is not None and res.namespaced and namespace is None:
            return None
        return ("resource", res, namespace, name, None)

    # -- recording

    def _record(self, rec):
        with self.lock:
            self.requests.append(rec)

    def recorded(self):
        with self.lock:
            return list(self.requests)

    def rbac_requests(self):
        """The set of (apiGroup, resource, verb) the clients asked for (resource requests
        only, answered or not)."""
        return sorted({(r["apiGroup"], r["resource"], r["verb"]) for r in self.recorded()
                       if r.get("resource")})

    # -- objects

    def create(self, obj):
        return self.store.write(obj, "create")

    def load(self, objs):
        """Create many objects, handing them over (they must not be modified afterwards), and
        encode their list items ahead (a benchmark's setup, not its measure)."""
        for o in objs:
            self.store.write(o, "create", own=True)
        with self.store.cond:
            stored = list(self.store.objects.values())
        for o in stored:
            self.store.item_bytes(o)
        # Millions of long-lived objects: keep the collector from walking them again and
        # again while the server runs (full collections cost seconds at W3's size).
        gc.collect()
        gc.freeze()

    def update(self, obj):
        return self.store.write(obj, "update")

    def apply(self, obj):
        return self.store.write(obj, "apply")

    def delete(self, kind, namespace=None, name=None):
        if isinstance(kind, dict):
            md = kind["metadata"]
            kind, namespace, name = kind["kind"], md.get("namespace"), md["name"]
        return self.store.delete(kind, namespace, name)

    def get(self, kind, namespace=None, name=None):
        res = BY_KIND[kind]
        with self.store.cond:
            o = self.store.objects.get(
                (res.plural, (namespace or "") if res.namespaced else "", name))
            return copy.deepcopy(o)

    def relabel(self, kind, namespace, name, labels):
        o = self.get(kind, namespace, name)
        if o is None:
            raise KeyError(name)
        o["metadata"]["labels"] = dict(labels)
        return self.update(o)

    def compact(self):
        self.store.compact()

    def set_history(self, n):
        self.store.set_history(n)

    def set_admin_installed(self, installed):
        self.admin_installed = bool(installed)

    @property
    def resource_version(self):
        return self.store.rv

    # -- kubeconfig

    def write_kubeconfig(self, path, auth="tokenFile", ca="file", server=None):
        """A kubeconfig for this server. auth: tokenFile, token or cert; ca: file or data."""
        user = {}
        if auth == "tokenFile":
            user["tokenFile"] = self.token_path
        elif auth == "token":
            user["token"] = self.token
        elif auth == "cert":
            user["client-certificate"] = self.pki["client.crt"]
            user["client-key"] = self.pki["client.key"]
        else:
            raise ValueError(auth)
        cluster = {"server": server or self.url}
        if ca == "file":
            cluster["certificate-authority"] = self.ca_path
        else:
            with open(self.ca_path, "rb") as f:
                cluster["certificate-authority-data"] = base64.b64encode(f.read()).decode()
        cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "test",
               "clusters": [{"name": "test", "cluster": cluster}],
               "users": [{"name": "agent", "user": user}],
               "contexts": [{"name": "test", "context": {"cluster": "test", "user": "agent"}}]}
        # JSON is YAML: every kubeconfig reader accepts it.
        with open(path, "w") as f:
            json.dump(cfg, f, indent=2)
        return path


# --------------------------------------------------------------------------------------------
# Object builders used by the tests


def namespace(name, labels=None):
    labels = dict(labels or {})
    labels.setdefault("kubernetes.io/metadata.name", name)
    return {"kind": "Namespace", "apiVersion": "v1",
            "metadata": {"name": name, "labels": labels}, "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"}}


def pod(ns, name, ip, node, labels=None, ports=None, phase="Running", ip6=None):
    ips = [{"ip": ip}] + ([{"ip": ip6}] if ip6 else [])
    containers = [{"name": "main", "image": "registry.k8s.io/pause:3.9",
                   "ports": [dict(p) for p in (ports or [])]}]
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": ns, "labels": dict(labels or {})},
            "spec": {"nodeName": node, "containers": containers},
            "status": {"phase": phase, "podIP": ip, "podIPs": ips, "hostIP": "192.168.250.1"}}


# --------------------------------------------------------------------------------------------
# Running as a process, controlled over HTTP


class _ControlHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    METHODS = {"create", "update", "apply", "delete", "get", "relabel", "compact", "set_history",
               "expire_watches", "end_watches", "drop_connections", "stop", "start",
               "rotate_token", "expire_tokens", "set_admin_installed", "recorded",
               "rbac_requests", "open_watches", "write_kubeconfig", "wait_watches", "stats"}

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        name = self.path.strip("/")
        length = int(self.headers.get("Content-Length") or 0)
        try:
            kwargs = json.loads(self.rfile.read(length) or b"{}")
            if name not in self.METHODS:
                raise ValueError("unknown control %r" % name)
            api = self.server.api
            if name == "stats":
                result = {"rv": api.resource_version, "events_sent": api.events_sent,
                          "bookmarks_sent": api.bookmarks_sent, "lists": api.lists_served,
                          "watches": api.open_watches(), "unauthorized": api.unauthorized,
                          "list_times": api.list_times}
            else:
                result = getattr(api, name)(**kwargs)
            body, code = {"ok": True, "result": result}, 200
        except Exception as e:  # noqa: BLE001 - reported to the caller
            body, code = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}, 400
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class ControlClient:
    """Calls the methods of an APIServer running as a process (see --control-port)."""

    def __init__(self, port):
        self.port = port

    def __getattr__(self, name):
        import http.client

        def call(**kwargs):
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                c.request("POST", "/" + name, json.dumps(kwargs),
                          {"Content-Type": "application/json"})
                body = json.loads(c.getresponse().read())
            finally:
                c.close()
            if not body.get("ok"):
                raise RuntimeError(body.get("error"))
            return body["result"]
        return call


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True, help="PKI, token file and kubeconfig go here")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--netns", help="create the listening socket in this network namespace")
    ap.add_argument("--history", type=int, default=10000)
    ap.add_argument("--bookmark-seconds", type=float, default=1.0)
    ap.add_argument("--max-watch-seconds", type=float, default=300.0)
    ap.add_argument("--admin", action="store_true", help="serve the admin-policy group")
    ap.add_argument("--control-port", type=int, default=0)
    ap.add_argument("--load", help="a JSON file: a list of objects (or kind: List) to create")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    api = APIServer(args.dir, port=args.port, host=args.host, netns=args.netns,
                    history=args.history, bookmark_seconds=args.bookmark_seconds,
                    max_watch_seconds=args.max_watch_seconds, admin_installed=args.admin,
                    verbose=args.verbose)
    if args.load:
        with open(args.load) as f:
            data = json.load(f)
        for obj in data.get("items", []) if isinstance(data, dict) else data:
            api.create(obj)
    api.start()
    ctl = http.server.ThreadingHTTPServer(("127.0.0.1", args.control_port), _ControlHandler)
    ctl.daemon_threads = True
    ctl.api = api
    kubeconfig = api.write_kubeconfig(os.path.join(args.dir, "kubeconfig"))
    print(json.dumps({"url": api.url, "port": api.port, "ca": api.ca_path,
                      "token_file": api.token_path, "kubeconfig": kubeconfig,
                      "control_port": ctl.server_address[1]}), flush=True)
    # Exit with the parent (the test), so nothing outlives a killed run.
    parent = os.getppid()

    def watchdog():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)
    threading.Thread(target=watchdog, daemon=True).start()
    try:
        ctl.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

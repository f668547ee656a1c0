"""The test API server, checked over real TLS with http.client: it must behave as the documented
protocol says, or the agent's tests would prove nothing.

    python3 Tests/Agent/test_apiserver.py [-v]
"""

import base64
import http.client
import json
import os
import socket
import ssl
import sys
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import apiserver  # noqa: E402
from apiserver import namespace, pod  # noqa: E402


class ServerCase(unittest.TestCase):
    server_kwargs = {}

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="policyc-apiserver-test-")
        kwargs = dict(bookmark_seconds=0.2, max_watch_seconds=30)
        kwargs.update(self.server_kwargs)
        self.api = apiserver.APIServer(self.tmp.name, **kwargs)
        self.api.start()
        self.ctx = ssl.create_default_context(cafile=self.api.ca_path)

    def tearDown(self):
        self.api.stop()
        self.tmp.cleanup()

    def conn(self, timeout=10):
        return http.client.HTTPSConnection("127.0.0.1", self.api.port, context=self.ctx,
                                           timeout=timeout)

    def token(self):
        with open(self.api.token_path) as f:
            return f.read().strip()

    def get(self, path, token=None, conn=None):
        c = conn or self.conn()
        c.request("GET", path, headers={"Authorization": "Bearer %s" % (token or self.token())})
        r = c.getresponse()
        body = json.loads(r.read())
        if conn is None:
            c.close()
        return r.status, body

    def open_watch(self, path, token=None, timeout=10):
        c = self.conn(timeout)
        c.request("GET", path, headers={"Authorization": "Bearer %s" % (token or self.token())})
        r = c.getresponse()
        return c, r

    @staticmethod
    def next_event(r):
        line = r.readline()
        if not line:
            return None
        return json.loads(line)

    def seed(self, n=25):
        self.api.create(namespace("x", {"team": "a"}))
        for i in range(n):
            self.api.create(pod("x", "p%02d" % i, "10.244.0.%d" % (i + 10), "node-1",
                                {"app": "web" if i % 2 else "db"}))


class TLSAndAuth(ServerCase):
    def test_tls_needs_the_ca(self):
        bad = http.client.HTTPSConnection("127.0.0.1", self.api.port,
                                          context=ssl.create_default_context(), timeout=5)
        with self.assertRaises(ssl.SSLCertVerificationError):
            bad.request("GET", "/api")
        self.assertEqual(self.get("/api")[0], 200)

    def test_unauthenticated_is_401(self):
        c = self.conn()
        c.request("GET", "/api/v1/pods")
        r = c.getresponse()
        body = json.loads(r.read())
        self.assertEqual(r.status, 401)
        self.assertEqual((body["kind"], body["reason"], body["code"]),
                         ("Status", "Unauthorized", 401))
        self.assertEqual(self.get("/api/v1/pods", token="nonsense")[0], 401)

    def test_rotation_without_grace(self):
        old = self.token()
        self.assertEqual(self.get("/api/v1/pods", token=old)[0], 200)
        new = self.api.rotate_token(grace=0)
        self.assertNotEqual(old, new)
        self.assertEqual(self.token(), new)  # the file the client re-reads
        self.assertEqual(self.get("/api/v1/pods", token=old)[0], 401)
        self.assertEqual(self.get("/api/v1/pods", token=new)[0], 200)

    def test_rotation_with_grace(self):
        old = self.token()
        self.api.rotate_token(grace=0.5)
        self.assertEqual(self.get("/api/v1/pods", token=old)[0], 200)
        time.sleep(0.7)
        self.assertEqual(self.get("/api/v1/pods", token=old)[0], 401)
        self.assertEqual(self.get("/api/v1/pods")[0], 200)

    def test_client_certificate(self):
        ctx = ssl.create_default_context(cafile=self.api.ca_path)
        ctx.load_cert_chain(self.api.pki["client.crt"], self.api.pki["client.key"])
        c = http.client.HTTPSConnection("127.0.0.1", self.api.port, context=ctx, timeout=5)
        c.request("GET", "/api/v1/namespaces")
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 200)
        self.assertEqual(self.api.recorded()[-1]["user"], "cert:policyc-agent")

    def test_kubeconfig(self):
        path = self.api.write_kubeconfig(os.path.join(self.tmp.name, "kc"),
                                         auth="tokenFile", ca="data")
        with open(path) as f:
            cfg = json.load(f)
        cluster = cfg["clusters"][0]["cluster"]
        self.assertEqual(cluster["server"], self.api.url)
        with open(self.api.ca_path, "rb") as f:
            self.assertEqual(base64.b64decode(cluster["certificate-authority-data"]), f.read())
        self.assertEqual(cfg["users"][0]["user"]["tokenFile"], self.api.token_path)


class Lists(ServerCase):
    def test_pages_are_one_consistent_snapshot(self):
        self.seed(25)
        st, p1 = self.get("/api/v1/pods?limit=10")
        self.assertEqual(st, 200)
        self.assertEqual(p1["kind"], "PodList")
        self.assertEqual(len(p1["items"]), 10)
        self.assertEqual(p1["metadata"]["remainingItemCount"], 15)
        rv = p1["metadata"]["resourceVersion"]
        for item in p1["items"]:
            self.assertNotIn("kind", item)  # typed lists carry no kind per item
        # Writes between pages do not show in later pages of the same list.
        self.api.delete("Pod", "x", "p15")
        self.api.create(pod("x", "p99", "10.244.0.99", "node-1"))
        self.api.relabel("Pod", "x", "p20", {"app": "moved"})
        names = [i["metadata"]["name"] for i in p1["items"]]
        cont = p1["metadata"]["continue"]
        pages = 1
        while cont:
            st, page = self.get("/api/v1/pods?limit=10&continue=" + cont)
            self.assertEqual(st, 200)
            self.assertEqual(page["metadata"]["resourceVersion"], rv)
            names += [i["metadata"]["name"] for i in page["items"]]
            for i in page["items"]:
                if i["metadata"]["name"] == "p20":
                    self.assertEqual(i["metadata"]["labels"]["app"], "db")
            cont = page["metadata"].get("continue")
            pages += 1
        self.assertEqual(pages, 3)
        self.assertEqual(names, ["p%02d" % i for i in range(25)])
        # A new list sees the writes.
        st, now = self.get("/api/v1/pods")
        got = [i["metadata"]["name"] for i in now["items"]]
        self.assertNotIn("p15", got)
        self.assertIn("p99", got)
        self.assertGreater(int(now["metadata"]["resourceVersion"]), int(rv))

    def test_expired_continue_is_410(self):
        self.seed(25)
        self.api.set_history(5)
        st, p1 = self.get("/api/v1/pods?limit=10")
        for i in range(6):
            self.api.relabel("Namespace", None, "x", {"n": str(i)})
        st, body = self.get("/api/v1/pods?limit=10&continue=" + p1["metadata"]["continue"])
        self.assertEqual(st, 410)
        self.assertEqual((body["reason"], body["code"]), ("Expired", 410))

    def test_continue_within_history_survives_writes(self):
        self.seed(25)
        st, p1 = self.get("/api/v1/pods?limit=10")
        for i in range(6):
            self.api.relabel("Namespace", None, "x", {"n": str(i)})
        st, body = self.get("/api/v1/pods?limit=10&continue=" + p1["metadata"]["continue"])
        self.assertEqual(st, 200)

    def test_bad_continue_is_400(self):
        self.assertEqual(self.get("/api/v1/pods?limit=1&continue=garbage")[0], 400)

    def test_namespaced_and_selectors(self):
        self.seed(6)
        self.api.create(namespace("y"))
        self.api.create(pod("y", "q", "10.244.0.200", "node-2", {"app": "web"}))
        st, body = self.get("/api/v1/namespaces/y/pods")
        self.assertEqual([i["metadata"]["name"] for i in body["items"]], ["q"])
        st, body = self.get("/api/v1/pods?labelSelector=app%3Dweb")
        self.assertEqual(len(body["items"]), 4)
        st, body = self.get("/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-2")
        self.assertEqual([i["metadata"]["name"] for i in body["items"]], ["q"])
        st, body = self.get("/api/v1/pods?labelSelector=app+in+(db,web),app!%3Ddb")
        self.assertEqual(len(body["items"]), 4)
        self.assertEqual(self.get("/api/v1/pods?fieldSelector=status.phase%3DRunning")[0], 400)

    def test_get_one_and_404(self):
        self.seed(1)
        st, body = self.get("/api/v1/namespaces/x/pods/p00")
        self.assertEqual((st, body["kind"], body["metadata"]["name"]), (200, "Pod", "p00"))
        self.assertEqual(self.get("/api/v1/namespaces/x/pods/nope")[0], 404)
        self.assertEqual(self.get("/api/v1/namespaces/x")[0], 200)
        self.assertEqual(self.get("/api/v1/nodes")[0], 404)

    def test_only_get(self):
        c = self.conn()
        c.request("DELETE", "/api/v1/namespaces/x",
                  headers={"Authorization": "Bearer " + self.token()})
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 405)

    def test_admin_group_404_until_installed(self):
        path = "/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies"
        self.assertEqual(self.get(path)[0], 404)
        groups = [g["name"] for g in self.get("/apis")[1]["groups"]]
        self.assertEqual(groups, ["networking.k8s.io"])
        self.api.set_admin_installed(True)
        st, body = self.get(path)
        self.assertEqual((st, body["kind"]), (200, "AdminNetworkPolicyList"))
        self.assertIn("policy.networking.k8s.io", [g["name"] for g in self.get("/apis")[1]
                                                   ["groups"]])
        st, body = self.get("/apis/policy.networking.k8s.io/v1alpha1")
        self.assertEqual(sorted(r["name"] for r in body["resources"]),
                         ["adminnetworkpolicies", "baselineadminnetworkpolicies"])

    def test_exact_old_version(self):
        self.seed(3)
        rv = self.api.resource_version
        self.api.delete("Pod", "x", "p00")
        st, body = self.get("/api/v1/pods?resourceVersion=%d&resourceVersionMatch=Exact" % rv)
        self.assertEqual((st, len(body["items"])), (200, 3))
        self.api.compact()
        st, body = self.get("/api/v1/pods?resourceVersion=%d&resourceVersionMatch=Exact" % rv)
        self.assertEqual(st, 410)


class Watches(ServerCase):
    def test_events_from_a_list_version(self):
        self.seed(2)
        st, lst = self.get("/api/v1/pods")
        rv = lst["metadata"]["resourceVersion"]
        c, r = self.open_watch("/api/v1/pods?watch=1&resourceVersion=%s" % rv)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        a = self.api.create(pod("x", "new", "10.244.0.50", "node-1"))
        self.api.relabel("Namespace", None, "x", {"other": "kind"})  # not a pod: a gap
        m = self.api.relabel("Pod", "x", "new", {"app": "web"})
        d = self.api.delete("Pod", "x", "p00")
        evs = [self.next_event(r) for _ in range(3)]
        self.assertEqual([e["type"] for e in evs], ["ADDED", "MODIFIED", "DELETED"])
        self.assertEqual([e["object"]["metadata"]["resourceVersion"] for e in evs],
                         [a["metadata"]["resourceVersion"], m["metadata"]["resourceVersion"],
                          d["metadata"]["resourceVersion"]])
        self.assertEqual(evs[0]["object"]["kind"], "Pod")
        self.assertGreater(int(evs[2]["object"]["metadata"]["resourceVersion"]),
                           int(evs[1]["object"]["metadata"]["resourceVersion"]) + 0)
        self.assertEqual(int(m["metadata"]["resourceVersion"]),
                         int(a["metadata"]["resourceVersion"]) + 2)  # one global counter
        c.close()

    def test_watch_without_version_starts_with_added(self):
        self.seed(3)
        c, r = self.open_watch("/api/v1/pods?watch=true")
        evs = [self.next_event(r) for _ in range(3)]
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in evs],
                         [("ADDED", "p00"), ("ADDED", "p01"), ("ADDED", "p02")])
        c.close()

    def test_bookmarks_only_when_asked(self):
        self.seed(1)
        rv = self.api.resource_version
        c, r = self.open_watch("/api/v1/pods?watch=1&allowWatchBookmarks=true"
                               "&resourceVersion=%d" % rv)
        self.api.relabel("Namespace", None, "x", {"a": "1"})
        ev = self.next_event(r)
        self.assertEqual(ev["type"], "BOOKMARK")
        self.assertEqual(ev["object"]["kind"], "Pod")
        self.assertEqual(int(ev["object"]["metadata"]["resourceVersion"]),
                         self.api.resource_version)
        self.assertEqual(list(ev["object"]["metadata"]), ["resourceVersion"])
        c.close()
        c, r = self.open_watch("/api/v1/pods?watch=1&timeoutSeconds=1&resourceVersion=%d" % rv)
        self.api.relabel("Namespace", None, "x", {"a": "2"})
        self.assertIsNone(self.next_event(r))  # the timeout ends the stream, no bookmark
        c.close()

    def test_too_old_version_is_an_error_event(self):
        self.seed(3)
        old = self.api.resource_version - 2
        self.api.compact()
        c, r = self.open_watch("/api/v1/pods?watch=1&resourceVersion=%d" % old)
        self.assertEqual(r.status, 200)
        ev = self.next_event(r)
        self.assertEqual(ev["type"], "ERROR")
        self.assertEqual((ev["object"]["kind"], ev["object"]["code"], ev["object"]["reason"]),
                         ("Status", 410, "Expired"))
        self.assertIsNone(self.next_event(r))
        c.close()

    def test_history_window(self):
        self.seed(1)
        self.api.set_history(3)
        rv = self.api.resource_version
        for i in range(3):
            self.api.relabel("Pod", "x", "p00", {"i": str(i)})
        c, r = self.open_watch("/api/v1/pods?watch=1&resourceVersion=%d" % rv)
        self.assertEqual(self.next_event(r)["type"], "MODIFIED")  # still in the window
        c.close()
        self.api.relabel("Pod", "x", "p00", {"i": "3"})
        c, r = self.open_watch("/api/v1/pods?watch=1&resourceVersion=%d" % rv)
        self.assertEqual(self.next_event(r)["object"].get("code"), 410)
        c.close()

    def test_too_old_as_http(self):
        self.api.too_old_as_http = True
        self.seed(1)
        self.api.compact()
        st, body = self.get("/api/v1/pods?watch=1&resourceVersion=1")
        self.assertEqual((st, body["code"]), (410, 410))

    def test_expire_mid_watch(self):
        self.seed(1)
        rv = self.api.resource_version
        c, r = self.open_watch("/api/v1/pods?watch=1&resourceVersion=%d" % rv)
        self.assertTrue(self.api.wait_watches(["pods"]))
        self.api.expire_watches()
        ev = self.next_event(r)
        self.assertEqual((ev["type"], ev["object"]["code"]), ("ERROR", 410))
        self.assertIsNone(self.next_event(r))
        c.close()
        c, r = self.open_watch("/api/v1/pods?watch=1&resourceVersion=%d" % rv)
        self.assertEqual(self.next_event(r)["object"]["code"], 410)  # resuming does not help
        c.close()

    def test_timeout_ends_cleanly_and_connection_is_reused(self):
        c, r = self.open_watch("/api/v1/namespaces?watch=1&timeoutSeconds=1&resourceVersion=1")
        t0 = time.monotonic()
        self.assertIsNone(self.next_event(r))
        self.assertTrue(0.9 < time.monotonic() - t0 < 3)
        st, body = self.get("/api/v1/namespaces", conn=c)  # keep-alive after a clean end
        self.assertEqual(st, 200)
        c.close()

    def test_end_watches(self):
        c, r = self.open_watch("/api/v1/namespaces?watch=1&resourceVersion=1")
        self.assertTrue(self.api.wait_watches(["namespaces"]))
        self.api.end_watches()
        self.assertIsNone(self.next_event(r))
        c.close()

    def test_dropped_connection(self):
        for rst in (False, True):
            c, r = self.open_watch("/api/v1/pods?watch=1&resourceVersion=1")
            self.assertTrue(self.api.wait_watches(["pods"]))
            self.api.drop_connections(rst=rst)
            with self.assertRaises((http.client.IncompleteRead, ConnectionError, ssl.SSLError,
                                    OSError, ValueError)):
                line = r.readline()
                if not line:  # an unterminated chunked stream must not end quietly
                    raise ConnectionError("eof")
            c.close()
            time.sleep(0.1)

    def test_selector_transitions(self):
        self.seed(2)
        rv = self.api.resource_version
        c, r = self.open_watch("/api/v1/pods?watch=1&labelSelector=app%%3Dweb&resourceVersion=%d"
                               % rv)
        self.api.relabel("Pod", "x", "p00", {"app": "web"})   # db -> web: enters
        self.api.relabel("Pod", "x", "p01", {"app": "db"})    # web -> db: leaves
        self.api.relabel("Pod", "x", "p00", {"app": "web", "v": "2"})
        evs = [(e["type"], e["object"]["metadata"]["name"]) for e in
               (self.next_event(r) for _ in range(3))]
        self.assertEqual(evs, [("ADDED", "p00"), ("DELETED", "p01"), ("MODIFIED", "p00")])
        c.close()

    def test_namespaced_watch(self):
        self.seed(1)
        self.api.create(namespace("y"))
        rv = self.api.resource_version
        c, r = self.open_watch("/api/v1/namespaces/y/pods?watch=1&resourceVersion=%d" % rv)
        self.api.create(pod("x", "other", "10.244.0.60", "node-1"))
        self.api.create(pod("y", "mine", "10.244.0.61", "node-1"))
        self.assertEqual(self.next_event(r)["object"]["metadata"]["name"], "mine")
        c.close()

    def test_watches_do_not_block_each_other(self):
        conns = [self.open_watch("/api/v1/pods?watch=1&resourceVersion=1") for _ in range(8)]
        st, body = self.get("/api/v1/namespaces")
        self.assertEqual(st, 200)
        self.api.create(namespace("x"))
        self.api.create(pod("x", "p", "10.244.0.9", "node-1"))
        for c, r in conns:
            self.assertEqual(self.next_event(r)["type"], "ADDED")
            c.close()


class Lifecycle(ServerCase):
    def test_stop_and_start(self):
        port = self.api.port
        c, r = self.open_watch("/api/v1/pods?watch=1&resourceVersion=1")
        self.assertTrue(self.api.wait_watches(["pods"]))
        self.api.stop()
        with self.assertRaises(Exception):
            line = r.readline()
            if not line:
                raise ConnectionError("eof")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2)
        self.api.start()
        self.assertEqual(self.api.port, port)
        self.assertEqual(self.get("/api/v1/pods")[0], 200)

    def test_recorded_requests(self):
        self.api.set_admin_installed(True)
        self.get("/api/v1/namespaces?limit=500")
        self.get("/api/v1/namespaces/x")
        self.get("/apis/policy.networking.k8s.io/v1alpha1/baselineadminnetworkpolicies")
        c, r = self.open_watch("/apis/networking.k8s.io/v1/networkpolicies?watch=1"
                               "&timeoutSeconds=1&resourceVersion=1")
        r.read()
        c.close()
        self.assertEqual(self.api.rbac_requests(), [
            ("", "namespaces", "get"), ("", "namespaces", "list"),
            ("networking.k8s.io", "networkpolicies", "watch"),
            ("policy.networking.k8s.io", "baselineadminnetworkpolicies", "list")])

    @unittest.skipUnless(os.geteuid() == 0, "needs root for a network namespace")
    def test_listening_socket_in_a_network_namespace(self):
        import subprocess
        ns = "pck-%d-apitest" % os.getpid()
        own = os.readlink("/proc/thread-self/ns/net")
        subprocess.run(["ip", "netns", "add", ns], check=True)
        try:
            subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
            d = os.path.join(self.tmp.name, "ns")
            inside = apiserver.APIServer(d, netns=ns)
            inside.start()
            try:
                # Not reachable from here: the port is bound in the other namespace only.
                with self.assertRaises(ConnectionRefusedError):
                    socket.create_connection(("127.0.0.1", inside.port), timeout=2)
                s = apiserver.socket_in_netns(ns, socket.AF_INET, socket.SOCK_STREAM)
                s.connect(("127.0.0.1", inside.port))
                ctx = ssl.create_default_context(cafile=inside.ca_path)
                t = ctx.wrap_socket(s, server_hostname="127.0.0.1")
                t.sendall(b"GET /api/v1/namespaces HTTP/1.1\r\nHost: x\r\n"
                          b"Authorization: Bearer " + inside.token.encode() +
                          b"\r\nConnection: close\r\n\r\n")
                self.assertTrue(t.recv(100).startswith(b"HTTP/1.1 200"))
                t.close()
                # this thread is still in the test's own namespace
                self.assertEqual(os.readlink("/proc/thread-self/ns/net"), own)
            finally:
                inside.stop()
        finally:
            subprocess.run(["ip", "netns", "del", ns])

    def test_process_with_control_port(self):
        import subprocess
        d = os.path.join(self.tmp.name, "proc")
        p = subprocess.Popen([sys.executable, apiserver.__file__, "--dir", d],
                             stdout=subprocess.PIPE, text=True)
        try:
            info = json.loads(p.stdout.readline())
            ctl = apiserver.ControlClient(info["control_port"])
            ctl.create(obj=namespace("z"))
            ctx = ssl.create_default_context(cafile=info["ca"])
            c = http.client.HTTPSConnection("127.0.0.1", info["port"], context=ctx, timeout=5)
            with open(info["token_file"]) as f:
                tok = f.read().strip()
            c.request("GET", "/api/v1/namespaces", headers={"Authorization": "Bearer " + tok})
            body = json.loads(c.getresponse().read())
            self.assertEqual([i["metadata"]["name"] for i in body["items"]], ["z"])
            self.assertEqual(ctl.rbac_requests(), [["", "namespaces", "list"]])
        finally:
            p.terminate()
            p.wait(timeout=5)


if __name__ == "__main__":
    unittest.main()

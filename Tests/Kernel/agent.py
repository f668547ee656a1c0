"""The long-lived process that lives in one pod (or external host) network namespace.

One process per namespace for the whole topology, so a case costs a few control messages instead
of hundreds of process spawns. It is started as `ip netns exec NS python3 agent.py --ctl PATH`
and serves, in that namespace:
  - TCP listeners on the given ports (accept, close: a completed handshake proves arrival);
  - UDP echo servers on the given ports (the echo proves arrival);
  - a raw IPPROTO_SCTP receiver that records the INITs it sees (the kernel has no SCTP stack, so
    nothing answers; the record is the proof of arrival);
and, over a unix stream socket (pathname sockets are reachable across network namespaces), it
answers newline-delimited JSON requests:
  {"op": "ping"}
  {"op": "probe", "timeout": s, "probes": [{"id", "proto": tcp|udp|sctp, "dst", "port", "tag"}]}
      TCP and UDP probes of one request run concurrently in one selector loop; the result per id
      is [arrived, detail]. SCTP probes are only sent here ([null, "sent"]); whether they
      arrived is asked from the receiving agent with "sctp_take".
  {"op": "sctp_take"} -> {"seen": [[src_ip, dst_port, tag], ...]}, and forgets them.
The agent exits when its parent (the test runner) goes away, so a killed runner leaves no
listeners behind.
"""

import argparse
import errno
import json
import os
import random
import selectors
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the work tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sctp  # noqa: E402


class Agent:
    def __init__(self, ports):
        self.ports = ports
        self.lock = threading.Lock()
        self.sctp_seen = []
        self.raw_tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, sctp.IPPROTO_SCTP)
        self.raw_tx6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, sctp.IPPROTO_SCTP)
        self.listeners = []
        for family, anyaddr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
            for port in ports:
                t = socket.socket(family, socket.SOCK_STREAM)
                t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                u = socket.socket(family, socket.SOCK_DGRAM)
                if family == socket.AF_INET6:
                    for s in (t, u):
                        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                t.bind((anyaddr, port))
                t.listen(512)
                u.bind((anyaddr, port))
                self.listeners.append((t, u))
        self.raw_rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, sctp.IPPROTO_SCTP)
        # A raw IPv6 socket delivers the SCTP packet without the IP header; the source
        # address comes from recvfrom.
        self.raw_rx6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, sctp.IPPROTO_SCTP)

    def start_servers(self):
        for t, u in self.listeners:
            threading.Thread(target=self._tcp_loop, args=(t,), daemon=True).start()
            threading.Thread(target=self._udp_loop, args=(u,), daemon=True).start()
        threading.Thread(target=self._sctp_loop, daemon=True).start()
        threading.Thread(target=self._sctp6_loop, daemon=True).start()

    @staticmethod
    def _tcp_loop(listener):
        while True:
            try:
                conn, _ = listener.accept()
                conn.close()
            except OSError:
                time.sleep(0.01)

    @staticmethod
    def _udp_loop(sock):
        while True:
            try:
                data, addr = sock.recvfrom(2048)
                sock.sendto(data, addr)
            except OSError:
                # An ICMP error for an earlier echo can surface here; keep serving.
                continue

    def _sctp_loop(self):
        while True:
            try:
                data = self.raw_rx.recv(65535)
            except OSError:
                continue
            parsed = sctp.parse_ipv4_init(data)
            if parsed is None:
                continue
            src_ip, _sport, dport, tag = parsed
            if dport in self.ports:
                with self.lock:
                    self.sctp_seen.append([src_ip, dport, tag])

    def _sctp6_loop(self):
        while True:
            try:
                data, addr = self.raw_rx6.recvfrom(65535)
            except OSError:
                continue
            parsed = sctp.parse_init(data)
            if parsed is None:
                continue
            _sport, dport, tag = parsed
            if dport in self.ports:
                with self.lock:
                    self.sctp_seen.append([addr[0], dport, tag])

    def sctp_take(self):
        with self.lock:
            seen, self.sctp_seen = self.sctp_seen, []
        return seen

    def probe(self, probes, timeout):
        """Run TCP/UDP probes concurrently; send SCTP INITs. Returns {id: [arrived, detail]}."""
        results = {}
        sel = selectors.DefaultSelector()
        pending = 0
        for p in probes:
            pid, proto, dst, port = p["id"], p["proto"], p["dst"], p["port"]
            if proto == "sctp":
                pkt = sctp.build_init(random.randint(20000, 60000), port, p["tag"])
                try:
                    if ":" in dst:
                        self.raw_tx6.sendto(pkt, (dst, 0, 0, 0))
                    else:
                        self.raw_tx.sendto(pkt, (dst, 0))
                    results[pid] = [None, "sent"]
                except OSError as e:
                    results[pid] = [False, "send: " + errno.errorcode.get(e.errno, str(e))]
                continue
            kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
            s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET, kind)
            s.setblocking(False)
            if proto == "tcp":
                err = s.connect_ex((dst, port))
                if err == 0:
                    results[pid] = [True, "connected"]
                    s.close()
                    continue
                if err != errno.EINPROGRESS:
                    results[pid] = [False, errno.errorcode.get(err, str(err))]
                    s.close()
                    continue
                sel.register(s, selectors.EVENT_WRITE, (pid, proto, None))
            else:
                payload = ("probe-%s-%d" % (pid, random.getrandbits(48))).encode()
                try:
                    s.connect((dst, port))
                    s.send(payload)
                except OSError as e:
                    results[pid] = [False, "send: " + errno.errorcode.get(e.errno, str(e))]
                    s.close()
                    continue
                sel.register(s, selectors.EVENT_READ, (pid, proto, payload))
            pending += 1
        deadline = time.monotonic() + timeout
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for key, _ev in sel.select(left):
                s = key.fileobj
                pid, proto, payload = key.data
                if proto == "tcp":
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    results[pid] = [err == 0, "connected" if err == 0
                                    else errno.errorcode.get(err, str(err))]
                else:
                    try:
                        data = s.recv(2048)
                        results[pid] = [data == payload, "echo" if data == payload
                                        else "wrong echo"]
                    except OSError as e:
                        results[pid] = [False, errno.errorcode.get(e.errno, str(e))]
                sel.unregister(s)
                s.close()
                pending -= 1
        for key in list(sel.get_map().values()):
            pid = key.data[0]
            results[pid] = [False, "timeout"]
            key.fileobj.close()
        sel.close()
        return results

    def handle(self, req):
        op = req.get("op")
        if op == "ping":
            return {"ok": True, "pid": os.getpid()}
        if op == "probe":
            timeout = float(req.get("timeout", 1.5))
            return {"ok": True, "results": self.probe(req["probes"], timeout)}
        if op == "sctp_take":
            return {"ok": True, "seen": self.sctp_take()}
        return {"ok": False, "error": "unknown op %r" % op}


def serve_control(agent, path):
    if os.path.exists(path):
        os.unlink(path)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(16)

    def client(conn):
        f = conn.makefile("rwb")
        try:
            for line in f:
                try:
                    resp = agent.handle(json.loads(line))
                except Exception as e:  # report, never die: the runner needs an answer
                    resp = {"ok": False, "error": repr(e)}
                f.write(json.dumps(resp).encode() + b"\n")
                f.flush()
        except OSError:
            pass
        finally:
            conn.close()

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=client, args=(conn,), daemon=True).start()


def watch_parent():
    parent = os.getppid()
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ctl", required=True, help="unix socket path for control requests")
    ap.add_argument("--ports", default="80,81")
    args = ap.parse_args()
    agent = Agent([int(p) for p in args.ports.split(",")])
    agent.start_servers()
    threading.Thread(target=watch_parent, daemon=True).start()
    serve_control(agent, args.ctl)


if __name__ == "__main__":
    main()

"""The long-lived process that lives in one pod (or external host) network namespace.

One process per namespace for the whole topology, so a case costs a few control messages instead
of hundreds of process spawns. It is started as `ip netns exec NS python3 agent.py --ctl PATH`
and serves, in that namespace:
  - TCP listeners on the given ports (accept, close: a completed handshake proves arrival);
  - UDP echo servers on the given ports (the echo proves arrival);
  - a raw IPPROTO_SCTP receiver that records the INITs it sees (the kernel has no SCTP stack, so
    nothing answers; the record is the proof of arrival);
  - raw ICMP and ICMPv6 receivers: every ICMP error that comes back to this namespace is
    recorded by the flow it quotes (icmp.py), the proof that a probe sent from here met a REJECT;
and, over a unix stream socket (pathname sockets are reachable across network namespaces), it
answers newline-delimited JSON requests:
  {"op": "ping"}
  {"op": "probe", "timeout": s, "statuses": true,
   "probes": [{"id", "proto": tcp|udp|sctp, "dst", "port", "tag"}]}
      TCP and UDP probes of one request run concurrently in one selector loop; the result per id
      is [status, detail], status "arrived", "rejected" (an errno from an administratively-
      prohibited ICMP error that quotes exactly this flow), "timeout" or "error" (any other
      errno or ICMP error). SCTP probes are only sent here (["sent", ...]); their fate is asked
      with "sctp_take" from the receiving agent (arrival) and from this one (ICMP errors).
      Without "statuses": true the result is the older [arrived: bool or null, detail].
  {"op": "sctp_take"} -> {"seen": [[src_ip, dst_port, tag], ...],
                          "errors": [[dst_ip, dst_port, tag, icmp_type, icmp_code, from], ...]}
      INITs that arrived here and ICMP errors quoting INITs sent from here; forgets them.
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
import icmp  # noqa: E402
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
        # Every ICMP/ICMPv6 packet that reaches this namespace (a raw socket gets its copy
        # before the transport protocol handles the error): the proof that a denied probe met
        # a REJECT, and which one.
        self.icmp_lock = threading.RLock()
        self.flow_errors = {}
        self.sctp_errors = []
        self.icmp4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.icmp6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        for s in (self.icmp4, self.icmp6):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            s.setblocking(False)

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

    # --- ICMP errors seen by this namespace (the sender's side of a denied probe) ---------

    def _drain_icmp(self):
        """Read every queued ICMP/ICMPv6 error (non-blocking) and record it by the flow it
        quotes: (6|17, source port, destination ip, destination port) for TCP/UDP,
        (132, destination ip, destination port, initiate tag) for SCTP INITs."""
        with self.icmp_lock:
            for sock, v6 in ((self.icmp4, False), (self.icmp6, True)):
                while True:
                    try:
                        data, addr = sock.recvfrom(65535)
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        break
                    parsed = (icmp.parse_icmp6_error(data) if v6
                              else icmp.parse_icmp4_error(data))
                    if parsed is None:
                        continue
                    key, typ, code = parsed
                    rec = (typ, code, addr[0])
                    if key[0] == sctp.IPPROTO_SCTP:
                        self.sctp_errors.append([key[1], key[2], key[3], typ, code, addr[0]])
                    else:
                        self.flow_errors[key] = rec

    def sctp_take(self):
        """SCTP INITs that arrived here, and ICMP errors that came back here for SCTP INITs
        this agent sent; both are forgotten once taken."""
        self._drain_icmp()
        with self.lock:
            seen, self.sctp_seen = self.sctp_seen, []
        with self.icmp_lock:
            errors, self.sctp_errors = self.sctp_errors, []
        return seen, errors

    def _classify_error(self, proto, sport, dst, port, err, v6):
        """A TCP/UDP socket error is a REJECT only if it is the errno the kernel gives for an
        administratively-prohibited ICMP error (EHOSTUNREACH for ICMP 3/13, EACCES for ICMPv6
        1/1) AND such an ICMP error quoting exactly this flow reached this namespace."""
        key = (6 if proto == "tcp" else 17, sport, icmp.canonical(dst), port)
        rec = self.flow_errors.pop(key, None)
        if rec is None:
            # Raw sockets get the ICMP before the transport does, so it is queued by now.
            self._drain_icmp()
            rec = self.flow_errors.pop(key, None)
        name = errno.errorcode.get(err, str(err))
        want_errno = errno.EACCES if v6 else errno.EHOSTUNREACH
        if rec is None:
            return ["error", "%s without an ICMP error for the flow" % name]
        typ, code, src = rec
        if icmp.is_admin_prohibited(typ, code, v6) and err == want_errno:
            return ["rejected", "%s, icmp%s %d/%d from %s" % (name, "6" if v6 else "", typ, code,
                                                             src)]
        return ["error", "%s, icmp%s %d/%d from %s" % (name, "6" if v6 else "", typ, code, src)]

    def probe(self, probes, timeout):
        """Run TCP/UDP probes concurrently; send SCTP INITs. Returns {id: [status, detail]}
        with status "arrived" (TCP handshake completed, UDP echo received), "rejected"
        (administratively-prohibited ICMP error for exactly this flow, and the errno it
        gives), "timeout" (nothing within `timeout` seconds), "error" (anything else), or
        "sent" for an SCTP INIT (its fate is asked later with sctp_take, from the receiver
        and from this sender)."""
        self._drain_icmp()
        with self.icmp_lock:
            self.flow_errors.clear()
        results = {}
        sel = selectors.DefaultSelector()
        pending = 0
        for p in probes:
            pid, proto, dst, port = p["id"], p["proto"], p["dst"], p["port"]
            v6 = ":" in dst
            if proto == "sctp":
                pkt = sctp.build_init(random.randint(20000, 60000), port, p["tag"])
                try:
                    if v6:
                        self.raw_tx6.sendto(pkt, (dst, 0, 0, 0))
                    else:
                        self.raw_tx.sendto(pkt, (dst, 0))
                    results[pid] = ["sent", "sent"]
                except OSError as e:
                    results[pid] = ["error", "send: " + errno.errorcode.get(e.errno, str(e))]
                continue
            kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
            s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, kind)
            s.setblocking(False)
            if proto == "tcp":
                err = s.connect_ex((dst, port))
                if err == 0:
                    results[pid] = ["arrived", "connected"]
                    s.close()
                    continue
                if err != errno.EINPROGRESS:
                    results[pid] = ["error", "connect: " + errno.errorcode.get(err, str(err))]
                    s.close()
                    continue
                sel.register(s, selectors.EVENT_WRITE, (pid, proto, None, s.getsockname()[1],
                                                        dst, port, v6))
            else:
                payload = ("probe-%s-%d" % (pid, random.getrandbits(48))).encode()
                try:
                    s.connect((dst, port))
                    s.send(payload)
                except OSError as e:
                    results[pid] = ["error", "send: " + errno.errorcode.get(e.errno, str(e))]
                    s.close()
                    continue
                sel.register(s, selectors.EVENT_READ, (pid, proto, payload, s.getsockname()[1],
                                                       dst, port, v6))
            pending += 1
        # The ICMP receivers are watched too: an administratively-prohibited error quoting a
        # pending flow settles it even before (or without) the socket's errno. A TCP socket
        # whose lock the connecting thread still holds when the error comes in only records it
        # as a soft error and retransmits the SYN a second later, so the errno can be late.
        flows = {}
        for key in sel.get_map().values():
            pid, proto, _payload, sport, dst, port, _v6 = key.data
            flows[(6 if proto == "tcp" else 17, sport, icmp.canonical(dst), port)] = key.fileobj
        for raw in (self.icmp4, self.icmp6):
            sel.register(raw, selectors.EVENT_READ, None)
        deadline = time.monotonic() + timeout
        failed = []   # (pid, proto, sport, dst, port, errno, v6): classified after the loop
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for key, _ev in sel.select(left):
                if key.data is None:
                    self._drain_icmp()
                    with self.icmp_lock:
                        hits = [f for f in self.flow_errors if f in flows]
                    for f in hits:
                        s = flows.pop(f)
                        try:
                            k = sel.get_key(s)
                        except KeyError:
                            continue
                        typ, code, src = self.flow_errors.pop(f)
                        v6 = k.data[6]
                        what = "icmp%s %d/%d from %s" % ("6" if v6 else "", typ, code, src)
                        results[k.data[0]] = (["rejected", what]
                                              if icmp.is_admin_prohibited(typ, code, v6)
                                              else ["error", what])
                        sel.unregister(s)
                        s.close()
                        pending -= 1
                    continue
                s = key.fileobj
                if s.fileno() < 0:
                    continue
                pid, proto, payload, sport, dst, port, v6 = key.data
                flows.pop((6 if proto == "tcp" else 17, sport, icmp.canonical(dst), port), None)
                if proto == "tcp":
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err == 0:
                        results[pid] = ["arrived", "connected"]
                    else:
                        failed.append((pid, proto, sport, dst, port, err, v6))
                else:
                    try:
                        data = s.recv(2048)
                        results[pid] = (["arrived", "echo"] if data == payload
                                        else ["error", "wrong echo"])
                    except OSError as e:
                        failed.append((pid, proto, sport, dst, port, e.errno, v6))
                sel.unregister(s)
                s.close()
                pending -= 1
        for key in list(sel.get_map().values()):
            if key.data is not None:
                results[key.data[0]] = ["timeout", "timeout after %.1fs" % timeout]
                key.fileobj.close()
        sel.close()
        for pid, proto, sport, dst, port, err, v6 in failed:
            results[pid] = self._classify_error(proto, sport, dst, port, err, v6)
        return results

    def handle(self, req):
        op = req.get("op")
        if op == "ping":
            return {"ok": True, "pid": os.getpid()}
        if op == "probe":
            timeout = float(req.get("timeout", 1.5))
            results = self.probe(req["probes"], timeout)
            if not req.get("statuses"):
                # The older shape [arrived: true/false/null, detail], for callers that only ask
                # whether a probe arrived.
                results = {pid: [True if st == "arrived" else None if st == "sent" else False,
                                 det] for pid, (st, det) in results.items()}
            return {"ok": True, "results": results}
        if op == "sctp_take":
            seen, errors = self.sctp_take()
            return {"ok": True, "seen": seen, "errors": errors}
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

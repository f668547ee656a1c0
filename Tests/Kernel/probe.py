"""Sending every probe of a step and judging what each one met.

A step probes every ordered pair of distinct endpoints (pods and the external host) on every
port/protocol. All sources are driven at once (one request per agent, each agent runs its probes
concurrently). Every probe ends in exactly one status, each observed positively:

  arrived   TCP: the handshake completed. UDP: the echo came back. SCTP: the receiving agent saw
            the INIT carrying the probe's initiate tag.
  rejected  the sender got the ICMP error policyc's REJECT sends, administratively prohibited
            (ICMP 3/13, ICMPv6 1/1), quoting exactly this flow (protocol, destination address
            and port, and the source port or, for SCTP, the INIT's initiate tag); for TCP and
            UDP the socket also failed with the errno that error gives (EHOSTUNREACH over IPv4,
            EACCES over IPv6).
  timeout   nothing at all within the timeout.
  error     anything else: another errno (ECONNREFUSED, ...), another ICMP error (host
            unreachable, port unreachable, ...), a wrong echo, a failed send.

A probe passes only with the status its verdict predicts: "arrived" when allowed; when denied,
"rejected" under `--deny reject` (policyc's default) and "timeout" under `--deny drop`. So a
broken route, a dropped packet where a REJECT was due, or a lost echo all fail.

SCTP: the kernel under test has no SCTP stack, so nothing answers an INIT; its fate is read from
both ends instead. The receiver's raw socket records INITs that arrive; the sender's raw ICMP
sockets record errors that quote an INIT. An SCTP probe is "arrived" when the receiver saw its
tag, "rejected"/"error" when an ICMP error quoting its tag came back, and "timeout" when neither
happened within the timeout. The collection is polled until every SCTP probe has an answer (or
the timeout passed), so no fixed settle time decides a verdict.
"""

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import icmp

PORT_PROTOCOLS = [(80, "TCP"), (81, "TCP"), (80, "UDP"), (81, "UDP"), (80, "SCTP"), (81, "SCTP")]
PORT_KEYS = ["%d/%s" % pp for pp in PORT_PROTOCOLS]
# The AdminNetworkPolicy conformance tests probe TCP 80/8080, UDP 53/5353, SCTP 9003/9005.
CONFORMANCE_PORT_PROTOCOLS = [(80, "TCP"), (8080, "TCP"), (53, "UDP"), (5353, "UDP"),
                              (9003, "SCTP"), (9005, "SCTP")]


def port_keys(port_protocols):
    return ["%d/%s" % pp for pp in port_protocols]

_tag_lock = threading.Lock()
_tag_counter = itertools.count(1)


def _next_tag():
    with _tag_lock:
        return next(_tag_counter) & 0xFFFFFFFF or next(_tag_counter)


STATUSES = ("arrived", "rejected", "timeout", "error")


def wanted_status(allowed, deny="reject"):
    """The status a probe must end in: "arrived" if allowed, else "rejected" (--deny reject)
    or "timeout" (--deny drop)."""
    if allowed:
        return "arrived"
    return {"reject": "rejected", "drop": "timeout"}[deny]


# How long a probe may take before it counts as "timeout". Under --deny reject every correct
# probe is answered within milliseconds (a REJECT or an arrival ends it at once), so this only
# bounds failures and the --deny drop cases; it is generous so a loaded machine cannot turn a
# slow echo into a failure.
TIMEOUT = 3.0


def run_probes(topo, endpoints, timeout=TIMEOUT, pool=None, expected=None,
               port_protocols=PORT_PROTOCOLS, **_old):
    """Probe every (from, to, port) with from != to among `endpoints` (names known to topo), on
    every (port, protocol) of `port_protocols` (default: 80 and 81 of TCP, UDP and SCTP).
    `expected` is accepted for callers that pass the allowed set; the statuses do not depend
    on it (every probe is waited for until it has an answer or `timeout` passed).

    Returns {(from, to, "80/TCP"): (status, detail)}, status one of STATUSES.
    """
    ips = topo.endpoints()
    batches = {src: [] for src in endpoints}
    meta = {}          # probe id -> (from, to, portkey)
    sctp_pending = {}  # (dst canonical ip, port, tag) -> probe id
    sctp_src = {}      # probe id -> sender name
    n = 0
    for src in endpoints:
        for dst in endpoints:
            if src == dst:
                continue
            for port, proto in port_protocols:
                n += 1
                pid = str(n)
                tag = _next_tag()
                batches[src].append({"id": pid, "proto": proto.lower(), "dst": ips[dst],
                                     "port": port, "tag": tag})
                meta[pid] = (src, dst, "%d/%s" % (port, proto))
                if proto == "SCTP":
                    sctp_pending[(icmp.canonical(ips[dst]), port, tag)] = pid
                    sctp_src[pid] = src
    results = {}

    def one(src):
        return topo.agents[src].request({"op": "probe", "probes": batches[src],
                                         "timeout": timeout, "statuses": True})["results"]

    def take(name):
        r = topo.agents[name].request({"op": "sctp_take"})
        return name, r["seen"], r["errors"]

    own_pool = pool is None
    pool = pool or ThreadPoolExecutor(max_workers=len(endpoints))
    try:
        deadline = time.monotonic() + timeout
        for res in pool.map(one, endpoints):
            for pid, (status, detail) in res.items():
                results[pid] = (status, detail)
        # SCTP: poll both ends until every INIT has an answer or the timeout passed.
        pending = {k: pid for k, pid in sctp_pending.items() if results.get(pid, ("",))[0]
                   == "sent"}
        pause = 0.002
        while pending:
            for name, seen, errors in pool.map(take, endpoints):
                for src_ip, port, tag in seen:
                    key = (icmp.canonical(ips[name]), port, tag)
                    pid = pending.pop(key, None)
                    if pid is not None:
                        if icmp.canonical(src_ip) == icmp.canonical(ips[sctp_src[pid]]):
                            results[pid] = ("arrived", "INIT seen")
                        else:
                            results[pid] = ("error", "INIT seen from %s" % src_ip)
                for dst_ip, port, tag, typ, code, frm in errors:
                    pid = pending.pop((icmp.canonical(dst_ip), port, tag), None)
                    if pid is None or sctp_src[pid] != name:
                        continue
                    v6 = ":" in dst_ip
                    what = "icmp%s %d/%d from %s" % ("6" if v6 else "", typ, code, frm)
                    results[pid] = (("rejected" if icmp.is_admin_prohibited(typ, code, v6)
                                     else "error"), what)
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(pause)
            pause = min(0.05, pause * 2)
        for pid in pending.values():
            results[pid] = ("timeout", "no INIT seen and no ICMP error within %.1fs" % timeout)
    finally:
        if own_pool:
            pool.shutdown()
    return {key: results.get(pid, ("error", "no result")) for pid, key in meta.items()}


def compare(observed, expected_allowed, endpoints, deny="reject"):
    """Mismatches as (from, to, port, expected allowed, arrived, detail), sorted: every probe
    whose status is not wanted_status(...) -- a timeout or an error where a REJECT was due is
    a mismatch even though nothing arrived."""
    bad = []
    for (src, dst, port), (status, detail) in observed.items():
        if src not in endpoints or dst not in endpoints:
            continue
        want = (src, dst, port) in expected_allowed
        need = wanted_status(want, deny)
        if status != need:
            bad.append((src, dst, port, want, status == "arrived",
                        "%s, %s expected: %s" % (status, need, detail)))
    bad.sort()
    return bad

"""Sending every probe of a step and collecting what arrived.

A step probes every ordered pair of distinct endpoints (pods and the external host) on every
port/protocol. All sources are driven at once (one thread per agent, each agent runs its probes
concurrently); SCTP arrivals are then collected from the receiving agents after a short settle
time, because an SCTP INIT gets no answer from a kernel without SCTP.
"""

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

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


def run_probes(topo, endpoints, timeout=1.5, sctp_settle=0.03, pool=None, expected=None,
               sctp_patience=0.5, port_protocols=PORT_PROTOCOLS):
    """Probe every (from, to, port) with from != to among `endpoints` (names known to topo), on
    every (port, protocol) of `port_protocols` (default: 80 and 81 of TCP, UDP and SCTP).

    SCTP arrivals are collected `sctp_settle` seconds after the last TCP/UDP answer (the INITs
    went out before those probes, so they have long arrived). If `expected` (the allowed set)
    names SCTP probes that were not seen, collection is retried for up to `sctp_patience`
    seconds before they count as blocked, so a slow receiver cannot fake a deny.

    Returns {(from, to, "80/TCP"): (arrived: bool, detail: str)}.
    """
    ips = topo.endpoints()
    batches = {src: [] for src in endpoints}
    meta = {}          # probe id -> (from, to, portkey)
    sctp_wanted = {}   # (src_ip, dst_name, port, tag) -> probe id
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
                    sctp_wanted[(ips[src], dst, port, tag)] = pid
    results = {}

    def one(src):
        return topo.agents[src].request({"op": "probe", "probes": batches[src],
                                         "timeout": timeout})["results"]

    own_pool = pool is None
    pool = pool or ThreadPoolExecutor(max_workers=len(endpoints))
    try:
        for res in pool.map(one, endpoints):
            for pid, (arrived, detail) in res.items():
                results[pid] = (arrived, detail)
        seen = {}
        deadline = time.monotonic() + sctp_settle + sctp_patience
        time.sleep(sctp_settle)
        while True:
            for name, took in zip(endpoints, pool.map(
                    lambda e: topo.agents[e].request({"op": "sctp_take"})["seen"], endpoints)):
                for src_ip, port, tag in took:
                    seen[(src_ip, name, port, tag)] = True
            missing = [w for w, pid in sctp_wanted.items()
                       if w not in seen and expected is not None and meta[pid] in expected]
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    finally:
        if own_pool:
            pool.shutdown()
    out = {}
    for pid, key in meta.items():
        arrived, detail = results.get(pid, (False, "no result"))
        out[key] = (arrived, detail)
    for wanted, pid in sctp_wanted.items():
        arrived = wanted in seen
        sent_detail = results.get(pid, (None, "no result"))[1]
        out[meta[pid]] = (arrived, "seen" if arrived else
                          ("not seen" if sent_detail == "sent" else sent_detail))
    return out


def compare(observed, expected_allowed, endpoints):
    """Mismatches as (from, to, port, expected, actual, detail), sorted."""
    bad = []
    for (src, dst, port), (arrived, detail) in observed.items():
        if src not in endpoints or dst not in endpoints:
            continue
        want = (src, dst, port) in expected_allowed
        if bool(arrived) != want:
            bad.append((src, dst, port, want, bool(arrived), detail))
    bad.sort()
    return bad

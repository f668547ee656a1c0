"""An NFLOG listener: binds one netlink log group in the current network namespace and prints
every logged packet as a JSON line (prefix, family, src, dst, proto, dport). Python standard
library only; run it inside a namespace with `ip netns exec NS python3 nflog.py GROUP`. It
prints `ready` once the group is bound, and exits on SIGTERM or when stdin closes.
"""

import json
import os
import select
import socket
import struct
import sys

NETLINK_NETFILTER = 12
NFNL_SUBSYS_ULOG = 4
NFULNL_MSG_PACKET = 0
NFULNL_MSG_CONFIG = 1
NFULA_CFG_CMD = 1
NFULA_CFG_MODE = 2
NFULA_CFG_QTHRESH = 5
NFULNL_CFG_CMD_BIND = 1
NFULNL_COPY_PACKET = 2
NFULA_PAYLOAD = 9
NFULA_PREFIX = 10
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
PROTOS = {6: "tcp", 17: "udp", 132: "sctp", 58: "icmpv6", 1: "icmp"}


def _attr(kind, data):
    length = 4 + len(data)
    return struct.pack("=HH", length, kind) + data + b"\0" * ((4 - length % 4) % 4)


def _config(seq, group, attr):
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(group)) + attr
    kind = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG
    return struct.pack("=IHHII", 16 + len(body), kind, NLM_F_REQUEST | NLM_F_ACK, seq, 0) + body


def _messages(data):
    off = 0
    while off + 16 <= len(data):
        length, kind, _flags, _seq, _pid = struct.unpack_from("=IHHII", data, off)
        if length < 16:
            break
        yield kind, data[off + 16:off + length]
        off += (length + 3) & ~3


def _attrs(data):
    off = 0
    while off + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, off)
        if length < 4:
            break
        yield kind & 0x7FFF, data[off + 4:off + length]
        off += (length + 3) & ~3


def bind(group):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((0, 0))
    commands = [_attr(NFULA_CFG_CMD, bytes([NFULNL_CFG_CMD_BIND])),
                _attr(NFULA_CFG_MODE, struct.pack(">IBB", 0xFFFF, NFULNL_COPY_PACKET, 0)),
                # The kernel batches 100 packets or 1 s by default; send each one at once.
                _attr(NFULA_CFG_QTHRESH, struct.pack(">I", 1))]
    for seq, attr in enumerate(commands, 1):
        s.send(_config(seq, group, attr))
        for kind, body in _messages(s.recv(65536)):
            if kind == NLMSG_ERROR and struct.unpack_from("=i", body)[0] != 0:
                raise OSError(-struct.unpack_from("=i", body)[0], "nfnetlink_log config refused")
    return s


def decode(body):
    """One NFULNL_MSG_PACKET body -> dict, or None."""
    family = body[0]
    prefix, payload = None, None
    for kind, value in _attrs(body[4:]):
        if kind == NFULA_PREFIX:
            prefix = value.split(b"\0", 1)[0].decode("ascii", "replace")
        elif kind == NFULA_PAYLOAD:
            payload = value
    entry = {"prefix": prefix, "family": "ipv6" if family == socket.AF_INET6 else "ipv4"}
    if payload and family == socket.AF_INET and len(payload) >= 20:
        ihl = (payload[0] & 0xF) * 4
        proto = payload[9]
        entry.update(src=socket.inet_ntop(socket.AF_INET, payload[12:16]),
                     dst=socket.inet_ntop(socket.AF_INET, payload[16:20]),
                     proto=PROTOS.get(proto, str(proto)))
        l4 = payload[ihl:]
    elif payload and family == socket.AF_INET6 and len(payload) >= 40:
        proto = payload[6]
        entry.update(src=socket.inet_ntop(socket.AF_INET6, payload[8:24]),
                     dst=socket.inet_ntop(socket.AF_INET6, payload[24:40]),
                     proto=PROTOS.get(proto, str(proto)))
        l4 = payload[40:]
    else:
        return entry
    if entry["proto"] in ("tcp", "udp", "sctp") and len(l4) >= 4:
        entry["dport"] = struct.unpack(">H", l4[2:4])[0]
    return entry


def main():
    group = int(sys.argv[1])
    s = bind(group)
    print("ready", flush=True)
    while True:
        ready, _, _ = select.select([s, sys.stdin], [], [])
        if s in ready:
            for kind, body in _messages(s.recv(1 << 16)):
                if kind == (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET:
                    print(json.dumps(decode(body), sort_keys=True), flush=True)
            continue  # everything queued is printed before an EOF on stdin is looked at
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 4096):
            return 0


if __name__ == "__main__":
    sys.exit(main())

"""Exact, cheap reads of policyc's nft table for the agent bench's poll loop.

`nft get element`, `nft list chain` and `nft -j list sets` each make nft 1.0.6 build its cache
of the whole ruleset first (every rule and every element of every set: about 65-115 ms on a
W3 node), so a poll round built on them was ~144 ms, and the measured latency carried up to
one and a half rounds of it. These functions ask the kernel over netlink for one set's
elements, or one chain's rules (NFT_MSG_GETSETELEM / NFT_MSG_GETRULE dumps filtered by
table and set or chain, as nft itself sends them), and decode only what the poll needs: the
addresses in a set, and per rule the jump/goto targets and the transport ports it compares
with. Python standard library only; the socket is made in the node's network namespace.
"""

import os
import socket
import struct
import threading

NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_GETRULE = 7
NFT_MSG_GETSETELEM = 13
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
NFPROTO_INET = 1
NLA_TYPE_MASK = 0x3FFF
TABLE = b"policyc\0"


def _attrs(data):
    """{type: [payload, ...]} of a run of netlink attributes."""
    out, i = {}, 0
    while i + 4 <= len(data):
        length, kind = struct.unpack_from("HH", data, i)
        if length < 4:
            break
        out.setdefault(kind & NLA_TYPE_MASK, []).append(data[i + 4:i + length])
        i += (length + 3) & ~3
    return out


def _nla(kind, payload):
    length = 4 + len(payload)
    return struct.pack("HH", length, kind) + payload + b"\0" * ((4 - length % 4) % 4)


def _one(attrs, kind, default=b""):
    return attrs.get(kind, [default])[0]


class NftNetlink:
    def __init__(self, netns):
        import apiserver  # noqa: E402 - the bench puts Tests/Agent on the path
        result = {}

        def make():
            own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
            target = os.open(os.path.join("/run/netns", netns), os.O_RDONLY)
            try:
                apiserver._setns(target)
                try:
                    result["sock"] = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                                   NETLINK_NETFILTER)
                finally:
                    apiserver._setns(own)
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
        self.sock = result["sock"]
        self.sock.bind((0, 0))
        self.seq = 0
        self.lock = threading.Lock()

    def _dump(self, msg_type, attrs):
        """The payloads (after the nfgenmsg header) of a dump's messages."""
        with self.lock:
            self.seq += 1
            body = struct.pack("BBH", NFPROTO_INET, 0, 0) + attrs
            header = struct.pack("IHHII", 16 + len(body), (NFNL_SUBSYS_NFTABLES << 8) | msg_type,
                                 NLM_F_REQUEST | NLM_F_DUMP, self.seq, 0)
            self.sock.send(header + body)
            out = []
            while True:
                data = self.sock.recv(1 << 20)
                i = 0
                while i + 16 <= len(data):
                    length, kind, _, seq, _ = struct.unpack_from("IHHII", data, i)
                    if length < 16:
                        raise OSError("malformed netlink message")
                    if seq == self.seq:
                        if kind == NLMSG_DONE:
                            return out
                        if kind == NLMSG_ERROR:
                            err = struct.unpack_from("i", data, i + 16)[0]
                            if err == 0:
                                return out
                            raise OSError(-err, os.strerror(-err))
                        out.append(data[i + 20:i + length])
                    i += (length + 3) & ~3

    def set_elements(self, name):
        """The keys (raw bytes) of set `name` in table inet policyc."""
        keys = set()
        for msg in self._dump(NFT_MSG_GETSETELEM,
                              _nla(1, TABLE) + _nla(2, name.encode() + b"\0")):
            for elements in _attrs(msg).get(3, []):
                for elem in _attrs(elements).get(1, []):
                    key = _one(_attrs(elem), 1)
                    if key:
                        keys.add(_one(_attrs(key), 1))
        return keys

    def has_address(self, name, ip):
        return socket.inet_aton(ip) in self.set_elements(name)

    def chain_rules(self, chain):
        """Per rule of `chain`: (jump and goto targets, destination ports it compares with)."""
        rules = []
        for msg in self._dump(NFT_MSG_GETRULE,
                              _nla(1, TABLE) + _nla(2, chain.encode() + b"\0")):
            top = _attrs(msg)
            if _one(top, 2).rstrip(b"\0").decode() != chain:
                continue
            targets, ports, dport = [], [], False
            for exprs in top.get(4, []):
                for elem in _attrs(exprs).get(1, []):
                    e = _attrs(elem)
                    name = _one(e, 1).rstrip(b"\0")
                    data = _attrs(_one(e, 2))
                    if name == b"payload":
                        # base 2 (transport header), offset 2, length 2: the destination port.
                        dport = [struct.unpack(">I", _one(data, k, b"\0\0\0\0"))[0]
                                 for k in (2, 3, 4)] == [2, 2, 2]
                    elif name == b"cmp" and dport:
                        op = struct.unpack(">I", _one(data, 2, b"\0\0\0\0"))[0]
                        value = _one(_attrs(_one(data, 3)), 1)
                        if op == 0 and len(value) == 2:
                            ports.append(struct.unpack(">H", value)[0])
                        dport = False
                    elif name == b"immediate":
                        verdict = _attrs(_one(_attrs(_one(data, 2)), 2))
                        target = _one(verdict, 2).rstrip(b"\0")
                        if target:
                            targets.append(target.decode())
                    else:
                        dport = False
            rules.append((targets, ports))
        return rules

    def chain_has_port(self, chain, port, depth=2):
        """A rule of `chain`, or of a chain it jumps to (a rule with several peers jumps to
        a shared port chain, v4-P-*), compares the destination port with `port`."""
        rules = self.chain_rules(chain)
        if any(port in ports for _, ports in rules):
            return True
        targets = sorted({t for ts, _ in rules for t in ts if t != chain})
        return depth > 0 and any(self.chain_has_port(t, port, depth - 1) for t in targets)

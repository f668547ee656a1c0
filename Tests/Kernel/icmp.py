"""Parsing the ICMP and ICMPv6 errors a probe's sender receives.

A denied probe counts as denied only when the sender sees policyc's REJECT for exactly that flow:
an ICMP destination-unreachable "communication administratively prohibited" (type 3 code 13, what
`REJECT --reject-with icmp-admin-prohibited` and nft `reject with icmp type admin-prohibited`
send) or ICMPv6 destination-unreachable "administratively prohibited" (type 1 code 1, for
`icmp6-adm-prohibited` / `reject with icmpv6 type admin-prohibited`). The error quotes the
offending packet, so it names the flow: protocol, destination address and ports (and, for an
SCTP INIT, the initiate tag that identifies the probe).
"""

import socket
import struct

IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP = 6, 17, 132
ICMP4_ERRORS = {3, 11, 12}        # destination unreachable, time exceeded, parameter problem
ICMP6_ERRORS = {1, 2, 3, 4}       # destination unreachable, too big, time exceeded, parameter


def is_admin_prohibited(typ, code, v6):
    return (typ, code) == ((1, 1) if v6 else (3, 13))


def _flow(proto, dst, transport):
    """The key of the quoted packet, or None if it is not a probe's protocol."""
    if len(transport) < 8:
        return None
    sport, dport = struct.unpack("!HH", transport[:4])
    if proto in (IPPROTO_TCP, IPPROTO_UDP):
        return (proto, sport, dst, dport)
    if proto == IPPROTO_SCTP:
        if len(transport) < 12 + 8 or transport[12] != 1:   # an INIT chunk
            return None
        (tag,) = struct.unpack("!I", transport[16:20])
        return (proto, dst, dport, tag)
    return None


def parse_icmp4_error(datagram):
    """(flow key, type, code) of an ICMP error as a raw IPv4 socket delivers it (IP header
    included), or None for anything else."""
    if len(datagram) < 20 or datagram[0] >> 4 != 4:
        return None
    msg = datagram[(datagram[0] & 0x0F) * 4:]
    if len(msg) < 8 + 20 or msg[0] not in ICMP4_ERRORS:
        return None
    inner = msg[8:]
    if inner[0] >> 4 != 4:
        return None
    ihl = (inner[0] & 0x0F) * 4
    key = _flow(inner[9], socket.inet_ntop(socket.AF_INET, inner[16:20]), inner[ihl:])
    return None if key is None else (key, msg[0], msg[1])


def parse_icmp6_error(msg):
    """(flow key, type, code) of an ICMPv6 error as a raw ICMPv6 socket delivers it (no IPv6
    header), or None for anything else. The quoted packet must carry the transport header
    right after its IPv6 header (the probes send no extension headers)."""
    if len(msg) < 8 + 40 or msg[0] not in ICMP6_ERRORS:
        return None
    inner = msg[8:]
    if inner[0] >> 4 != 6:
        return None
    key = _flow(inner[6], socket.inet_ntop(socket.AF_INET6, inner[24:40]), inner[40:])
    return None if key is None else (key, msg[0], msg[1])


def canonical(ip):
    """The text form the kernel reports (inet_ntop), so keys compare equal."""
    fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
    return socket.inet_ntop(fam, socket.inet_pton(fam, ip))


if __name__ == "__main__":
    import sctp
    init = sctp.build_init(40000, 80, 0x12345678)
    inner = bytes([0x45, 0, 0, 20 + len(init), 0, 0, 0, 0, 64, 132, 0, 0,
                   10, 244, 0, 10, 10, 244, 0, 11]) + init
    outer = bytes([0x45, 0, 0, 0, 0, 0, 0, 0, 64, 1, 0, 0, 10, 244, 0, 1, 10, 244, 0, 10])
    assert parse_icmp4_error(outer + bytes([3, 13, 0, 0, 0, 0, 0, 0]) + inner) == (
        (132, "10.244.0.11", 80, 0x12345678), 3, 13)
    udp = struct.pack("!HHHH", 5555, 81, 8, 0)
    inner6 = (bytes([0x60, 0, 0, 0, 0, 8, 17, 64]) + socket.inet_pton(socket.AF_INET6, "fd00::a")
              + socket.inet_pton(socket.AF_INET6, "fd00:10:244::b") + udp)
    assert parse_icmp6_error(bytes([1, 1, 0, 0, 0, 0, 0, 0]) + inner6) == (
        (17, 5555, "fd00:10:244::b", 81), 1, 1)
    assert parse_icmp6_error(bytes([128, 0, 0, 0, 0, 0, 0, 0]) + inner6) is None
    print("icmp self-test ok")

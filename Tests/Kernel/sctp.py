"""Hand-built SCTP INIT packets.

The test kernel has no SCTP protocol module (an SCTP socket fails with EPROTONOSUPPORT), but
netfilter still parses SCTP (`-p sctp --dport N`, conntrack's SCTP tracker). So a probe is one INIT
chunk sent over a raw IP socket (protocol 132) and noticed by a raw receiver on the other side.

The checksum has to be right: conntrack's SCTP tracker verifies CRC32c on packets it sees first,
and a packet with a bad checksum would be classified INVALID, which a ruleset may drop for reasons
unrelated to policy.
"""

import struct

IPPROTO_SCTP = 132
CHUNK_INIT = 1


def _crc32c_table():
    poly = 0x82F63B78  # Castagnoli, reflected
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC32c (RFC 3720 / RFC 4960 appendix B). crc32c(b"123456789") == 0xE3069283."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def build_init(src_port: int, dst_port: int, initiate_tag: int) -> bytes:
    """An SCTP packet with one INIT chunk, checksum filled in.

    The verification tag of a packet carrying INIT must be 0 (RFC 4960 8.5.1); the initiate tag,
    which must be non-zero, carries the probe's identity so the receiver can tell probes apart.
    """
    if not 0 < initiate_tag < 2**32:
        raise ValueError("initiate tag must be in 1..2^32-1")
    chunk = struct.pack(
        "!BBHIIHHI",
        CHUNK_INIT, 0, 20,   # type, flags, length (header + fixed INIT fields)
        initiate_tag,
        65535,               # a_rwnd
        10, 10,              # outbound / inbound streams
        initiate_tag ^ 0x5A5A5A5A or 1,  # initial TSN, any value
    )
    header = struct.pack("!HHII", src_port, dst_port, 0, 0)
    packet = header + chunk
    # RFC 4960 appendix B: the CRC is stored in the byte order the reflected algorithm yields,
    # which on the wire is little-endian.
    checksum = struct.pack("<I", crc32c(packet))
    return packet[:8] + checksum + packet[12:]


def parse_init(sctp: bytes):
    """(source port, destination port, initiate tag) of an SCTP packet (no IP header, as a raw
    IPv6 socket delivers it) carrying an INIT with a valid checksum; None for anything else."""
    if len(sctp) < 12 + 20:
        return None
    src_port, dst_port, vtag = struct.unpack("!HHI", sctp[:8])
    (checksum,) = struct.unpack("<I", sctp[8:12])
    if crc32c(sctp[:8] + b"\0\0\0\0" + sctp[12:]) != checksum:
        return None
    ctype, _flags, _length, tag = struct.unpack("!BBHI", sctp[12:20])
    if ctype != CHUNK_INIT or vtag != 0:
        return None
    return src_port, dst_port, tag


def parse_ipv4_init(datagram: bytes):
    """(source IP, source port, destination port, initiate tag) of an IPv4 packet carrying an
    SCTP INIT with a valid checksum, as a raw IPPROTO_SCTP socket delivers it (IP header
    included); None for anything else."""
    if len(datagram) < 20 or datagram[0] >> 4 != 4:
        return None
    ihl = (datagram[0] & 0x0F) * 4
    if datagram[9] != IPPROTO_SCTP:
        return None
    parsed = parse_init(datagram[ihl:])
    if parsed is None:
        return None
    src_ip = ".".join(str(b) for b in datagram[12:16])
    return (src_ip,) + parsed


if __name__ == "__main__":
    assert crc32c(b"123456789") == 0xE3069283, hex(crc32c(b"123456789"))
    pkt = build_init(40000, 80, 0x12345678)
    fake_ip = bytes([0x45, 0, 0, 20 + len(pkt), 0, 0, 0, 0, 64, 132, 0, 0,
                     10, 244, 0, 10, 10, 244, 0, 11])
    assert parse_ipv4_init(fake_ip + pkt) == ("10.244.0.10", 40000, 80, 0x12345678)
    assert parse_init(pkt) == (40000, 80, 0x12345678)
    assert parse_init(pkt[:8] + b"\0\0\0\0" + pkt[12:]) is None
    print("sctp self-test ok")

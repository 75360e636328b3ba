"""Proxy Protocol v2 headers, with AWS's VPC-endpoint TLV (type 0xEA, subtype 0x01)."""

from __future__ import annotations

import ipaddress
import struct

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
VERSION_PROXY = 0x21  # version 2, command PROXY
TCP_OVER_IPV4 = 0x11
TLV_AWS = 0xEA
AWS_VPCE_ID = 0x01


def header(source: tuple[str, int], destination: tuple[str, int], endpoint_id: str) -> bytes:
    """The v2 header announcing `source` -> `destination` through `endpoint_id`."""
    value = bytes([AWS_VPCE_ID]) + endpoint_id.encode("ascii")
    tlv = struct.pack("!BH", TLV_AWS, len(value)) + value
    addresses = struct.pack(
        "!4s4sHH",
        ipaddress.IPv4Address(source[0]).packed,
        ipaddress.IPv4Address(destination[0]).packed,
        source[1],
        destination[1],
    )
    body = addresses + tlv
    return SIGNATURE + struct.pack("!BBH", VERSION_PROXY, TCP_OVER_IPV4, len(body)) + body


def parse(data: bytes) -> tuple[tuple[str, int], tuple[str, int], dict[int, bytes], int]:
    """Source, destination, TLVs and header length of a v2 header at the start of `data`."""
    if not data.startswith(SIGNATURE) or len(data) < 16:
        raise ValueError("not a Proxy Protocol v2 header")
    _ver, family, length = struct.unpack("!BBH", data[12:16])
    if family != TCP_OVER_IPV4 or len(data) < 16 + length:
        raise ValueError("unsupported or truncated Proxy Protocol v2 header")
    src, dst, sport, dport = struct.unpack("!4s4sHH", data[16:28])
    tlvs: dict[int, bytes] = {}
    offset = 28
    while offset < 16 + length:
        kind, size = struct.unpack("!BH", data[offset : offset + 3])
        tlvs[kind] = data[offset + 3 : offset + 3 + size]
        offset += 3 + size
    return (
        (str(ipaddress.IPv4Address(src)), sport),
        (str(ipaddress.IPv4Address(dst)), dport),
        tlvs,
        16 + length,
    )

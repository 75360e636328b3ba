"""The local cloud's authoritative DNS server, over UDP and TCP (dnspython for the wire).

It answers for the hosted zones (`dns.py`), the endpoints' own names and the verified
private DNS names of endpoint services, from the database on every query, so a name
published by any replica answers at once. Names it does not serve get REFUSED, as an
authoritative-only server answers; it never recurses.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from typing import cast

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import structlog

from privlink.domain import dns as rules

log = structlog.get_logger(__name__)
MAX_TCP_MESSAGE = 65535
TCP_IDLE = 10.0  # seconds a TCP client may stay silent before it is dropped
TCP_CLIENTS = 256  # TCP connections served at once


class Answer:
    """What a name holds: its records (of every type), or that it is not served
    (`zone` None: REFUSED) or does not exist (no records, `exists` False: NXDOMAIN)."""

    def __init__(
        self, zone: str | None, records: list[rules.Record], *, exists: bool = True
    ) -> None:
        self.zone, self.records, self.exists = zone, records, exists


Resolve = Callable[[str], Answer]


def respond(query: dns.message.Message, resolve: Resolve) -> dns.message.Message:
    """The answer to one query (any question dnspython could parse)."""
    response = dns.message.make_response(query)
    response.flags &= ~dns.flags.RA
    if query.opcode() != 0 or len(query.question) != 1:
        response.set_rcode(dns.rcode.NOTIMP if query.opcode() != 0 else dns.rcode.FORMERR)
        return response
    question = query.question[0]
    name = question.name.to_text(omit_final_dot=True).lower()
    found = resolve(name)
    if found.zone is None:
        response.set_rcode(dns.rcode.REFUSED)
        return response
    response.flags |= dns.flags.AA
    wanted = dns.rdatatype.to_text(question.rdtype)
    for record in _matching(found.records, wanted):
        response.answer.append(_rrset(question.name, record))
        if record.type == "CNAME" and wanted != "CNAME":  # the chain, where it is ours
            target = resolve(record.values[0])
            for chained in _matching(target.records, wanted) if target.zone else []:
                owner = dns.name.from_text(record.values[0])
                response.answer.append(_rrset(owner, chained))
    if not response.answer:
        if not found.exists:
            response.set_rcode(dns.rcode.NXDOMAIN)
        response.authority.append(_soa(found.zone))
    return response


def _matching(records: list[rules.Record], wanted: str) -> list[rules.Record]:
    """The records answering a question of type `wanted` (a CNAME answers every type)."""
    return [r for r in records if wanted in (r.type, "ANY") or r.type == "CNAME"]


def _rrset(owner: dns.name.Name, record: rules.Record) -> dns.rrset.RRset:
    values = record.values
    if record.type == "TXT":
        values = tuple(f'"{v}"' for v in values)
    elif record.type == "CNAME":
        values = tuple(v + "." for v in values)
    return dns.rrset.from_text_list(owner, record.ttl, "IN", record.type, list(values))


def _soa(zone: str) -> dns.rrset.RRset:
    origin = dns.name.from_text(zone)
    return dns.rrset.from_text(
        origin, rules.TTL, "IN", "SOA", f"ns.{zone}. hostmaster.{zone}. 1 3600 600 86400 60"
    )


def _handle(wire: bytes, resolve: Resolve) -> tuple[bytes, int] | None:
    """The reply's wire form and the largest UDP answer the client takes (EDNS or 512)."""
    try:
        query = dns.message.from_wire(wire)
    except Exception:  # not DNS, or malformed: an authoritative server stays silent
        return None
    limit = max(512, query.payload) if query.edns >= 0 else 512
    try:
        return respond(query, resolve).to_wire(), limit
    except Exception:
        log.exception("dns query failed")
        failed = dns.message.make_response(query)
        failed.set_rcode(dns.rcode.SERVFAIL)
        return failed.to_wire(), limit


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: DnsServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # uvloop's: no subclass

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        asyncio.get_running_loop().create_task(self.server.answer_udp(self, data, addr))


class DnsServer:
    """Serves `resolve` on host:port, UDP and TCP; lookups run in threads (the database)."""

    def __init__(self, resolve: Resolve, host: str, port: int) -> None:
        self.resolve, self.host, self.port = resolve, host, port
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._clients = asyncio.Semaphore(TCP_CLIENTS)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Udp(self), local_addr=(self.host, self.port)
        )
        self._udp = transport
        port = transport.get_extra_info("sockname")[1]
        self.port = port  # when 0 was asked for: the one the kernel chose
        self._tcp = await asyncio.start_server(self._serve_tcp, self.host, port)
        log.info("dns server listening", address=f"{self.host}:{port}")

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            await self._tcp.wait_closed()

    async def answer(self, wire: bytes) -> tuple[bytes, int] | None:
        return await asyncio.to_thread(_handle, wire, self.resolve)

    async def answer_udp(self, proto: _Udp, data: bytes, addr: tuple[str, int]) -> None:
        answered = await self.answer(data)
        if answered is None or proto.transport is None:
            return
        reply, limit = answered
        if len(reply) > limit:  # too big for this client over UDP: it asks again over TCP
            message = dns.message.from_wire(reply)
            message.answer.clear()
            message.flags |= dns.flags.TC
            reply = message.to_wire()
        proto.transport.sendto(reply, addr)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with self._clients:
            try:
                while True:
                    head = await asyncio.wait_for(reader.readexactly(2), TCP_IDLE)
                    (size,) = struct.unpack("!H", head)
                    data = await asyncio.wait_for(reader.readexactly(size), TCP_IDLE)
                    answered = await self.answer(data)
                    if answered is None:
                        break
                    reply = answered[0]
                    writer.write(struct.pack("!H", len(reply)) + reply)
                    await writer.drain()
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

"""Userspace TCP forwarding: asyncio Protocols with pause/resume backpressure.

One `Forwarder` owns the listening sockets of every endpoint address:port and
the live connections through them. Memory per connection stays bounded: when
one side's write buffer passes the high-water mark, reading from the other side
pauses until it drains.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import itertools
import socket
import struct
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, cast

import structlog

from privlink.cloud.contract import Target
from privlink.cloud.local import proxy_protocol

log = structlog.get_logger(__name__)
HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024
CONNECT_TIMEOUT = 5.0
BACKLOG = 1024


@dataclass(frozen=True)
class Listen:
    """What one listening address:port forwards to."""

    endpoint_id: str
    address: str
    port: int
    target_group_arn: str
    proxy_protocol_v2: bool
    ingress: tuple[tuple[str, int, int], ...]


def allowed(ingress: tuple[tuple[str, int, int], ...], source: str, port: int) -> bool:
    """Security-group check; an endpoint without rules allows everything (default SG)."""
    if not ingress:
        return True
    ip = ipaddress.IPv4Address(source)
    return any(low <= port <= high and ip in _network(cidr) for cidr, low, high in ingress)


@functools.lru_cache(maxsize=4096)
def _network(cidr: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(cidr)


def reset(transport: asyncio.Transport) -> None:
    """Close with RST so the client learns at once that nothing is behind."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


@dataclass
class Meter:
    """What went through one endpoint since the data plane started: bytes from and to
    clients, connections accepted, connections refused or failed (the same as forward.c
    counts)."""

    bytes_in: int = 0
    bytes_out: int = 0
    total: int = 0
    errors: int = 0

    def add(self, other: Meter) -> None:
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out
        self.total += other.total
        self.errors += other.errors


class Half(asyncio.Protocol):
    """One side of a forwarded connection; `peer` is the other side."""

    def __init__(self, pair: Pair | None = None) -> None:
        self.pair: Pair = pair  # type: ignore[assignment]  # set by Pair for the client side
        self.transport: asyncio.Transport | None = None
        self.peer: Half | None = None
        self.eof = False
        self.pending: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        # TCP_NODELAY is already on: uvloop and asyncio set it on every TCP transport.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.set_write_buffer_limits(HIGH_WATER, LOW_WATER)

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is None or peer.transport is None:
            # The upstream is still connecting: hold this and stop reading until it is up.
            self.pending.append(data)
            assert self.transport is not None
            self.transport.pause_reading()
            return
        self.count(len(data))
        peer.transport.write(data)

    def count(self, size: int) -> None:
        meter = self.pair.meter
        if self is self.pair.client:
            meter.bytes_in += size
        else:
            meter.bytes_out += size

    def eof_received(self) -> bool:
        self.eof = True
        peer = self.peer
        if peer is not None and peer.transport is not None and peer.transport.can_write_eof():
            peer.transport.write_eof()
        if peer is None or peer.eof:
            self.pair.close()
            return False
        return True  # keep our write side open: half-close

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if exc is not None:
            self.pair.abort()
        else:
            self.pair.close_soon(self)


class Pair:
    """A client connection and its upstream, tracked so an endpoint can end them all."""

    def __init__(self, forwarder: Forwarder, endpoint_id: str, client: Half) -> None:
        self.forwarder = forwarder
        self.endpoint_id = endpoint_id
        self.client = client
        client.pair = self
        self.upstream = Half(self)
        self.client.peer, self.upstream.peer = self.upstream, self.client
        self.connecting: asyncio.Future[Any] | None = None
        self.meter = forwarder.meter(endpoint_id)

    def link_up(self) -> None:
        """The upstream connected: flush what the client sent meanwhile and read again."""
        assert self.upstream.transport is not None
        assert self.client.transport is not None
        for chunk in self.client.pending:
            self.client.count(len(chunk))
            self.upstream.transport.write(chunk)
        self.client.pending.clear()
        if self.client.eof and self.upstream.transport.can_write_eof():
            self.upstream.transport.write_eof()
        self.client.transport.resume_reading()

    def close_soon(self, side: Half) -> None:
        """One side closed normally: let the other flush, then close it."""
        other = side.peer
        if other is not None and other.transport is not None:
            other.transport.close()
        self.forwarder.forget(self)

    def close(self) -> None:
        for side in (self.client, self.upstream):
            if side.transport is not None:
                side.transport.close()
        self.forwarder.forget(self)

    def abort(self) -> None:
        if self.connecting is not None:
            self.connecting.cancel()
        for side in (self.client, self.upstream):
            if side.transport is not None:
                reset(side.transport)
        self.forwarder.forget(self)


def merge_targets(table: dict[str, list[Target]], changed: dict[str, list[Target]]) -> None:
    """New healthy targets of some groups into `table`; an empty list forgets a group."""
    for arn, targets in changed.items():
        if targets:
            table[arn] = targets
        else:
            table.pop(arn, None)


class Forwarder:
    """Listening sockets per endpoint address:port and the connections through them.

    It forwards to the healthy targets it was last given (`set_targets`), as the
    worker processes of a `WorkerPool` do: the data plane drives either the same way.
    """

    def __init__(self) -> None:
        self.servers: dict[tuple[str, int], tuple[Listen, asyncio.Server]] = {}
        self.targets: dict[str, list[Target]] = {}
        self.pairs: dict[str, set[Pair]] = defaultdict(set)
        self.rotation = itertools.count()
        self.meters: dict[str, Meter] = {}

    def meter(self, endpoint_id: str) -> Meter:
        return self.meters.setdefault(endpoint_id, Meter())

    async def read_meters(self, endpoints: list[str] | None = None) -> dict[str, Meter]:
        """The meters of these endpoints (all if None), copies."""
        keys = self.meters if endpoints is None else [e for e in endpoints if e in self.meters]
        return {e: Meter(**vars(self.meters[e])) for e in keys}

    async def start(self) -> None:
        """Nothing to start in this process (a `WorkerPool` starts its workers)."""

    async def revive(self) -> None:
        """Nothing to revive in this process (a `WorkerPool` replaces dead workers)."""

    def healthy(self, target_group_arn: str) -> list[Target]:
        return self.targets.get(target_group_arn, [])

    async def set_targets(self, changed: dict[str, list[Target]]) -> None:
        merge_targets(self.targets, changed)

    async def listen(self, spec: Listen) -> None:
        key = (spec.address, spec.port)
        current = self.servers.get(key)
        if current is not None:
            if current[0] == spec:
                return
            await self.stop(key)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _Accepted(self, spec),
            spec.address,
            spec.port,
            reuse_address=True,
            backlog=BACKLOG,
        )
        self.servers[key] = (spec, server)

    async def stop(self, key: tuple[str, int]) -> None:
        entry = self.servers.pop(key, None)
        if entry is not None:
            entry[1].close()

    async def retain(self, live: set[str]) -> dict[str, int]:
        """Reset every connection through endpoints not in `live`; how many, per endpoint."""
        return {e: self.end_endpoint(e) for e in [e for e in self.pairs if e not in live]}

    def end_endpoint(self, endpoint_id: str) -> int:
        pairs = list(self.pairs.pop(endpoint_id, ()))
        for pair in pairs:
            pair.abort()
        return len(pairs)

    def forget(self, pair: Pair) -> None:
        self.pairs.get(pair.endpoint_id, set()).discard(pair)

    async def stats(self, endpoint: str | None = None) -> Stats:
        """Live connections per endpoint (of `endpoint` only, if given), and bytes
        waiting in write buffers (bounded by backpressure)."""
        buffered = sum(
            side.transport.get_write_buffer_size()
            for pairs in self.pairs.values()
            for pair in pairs
            for side in (pair.client, pair.upstream)
            if side.transport is not None
        )
        live = {
            name: len(pairs)
            for name, pairs in self.pairs.items()
            if pairs and endpoint in (None, name)
        }
        return Stats(live, buffered)

    async def close(self) -> None:
        for key in list(self.servers):
            await self.stop(key)
        for endpoint_id in list(self.pairs):
            self.end_endpoint(endpoint_id)


@dataclass(frozen=True)
class Stats:
    live: dict[str, int]  # connections per endpoint
    buffered: int  # bytes in write buffers

    @staticmethod
    def total(parts: list[Stats]) -> Stats:
        live: dict[str, int] = defaultdict(int)
        for part in parts:
            for endpoint, count in part.live.items():
                live[endpoint] += count
        return Stats(dict(live), sum(part.buffered for part in parts))


class _Accepted(Half):
    """The client side as accepted; it picks a target and dials it."""

    def __init__(self, forwarder: Forwarder, spec: Listen) -> None:
        super().__init__()
        self.forwarder = forwarder
        self.spec = spec
        self.source: tuple[str, int] = ("", 0)
        Pair(forwarder, spec.endpoint_id, client=self)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        spec = self.spec
        if spec.ingress or spec.proxy_protocol_v2:  # only then is the source needed
            self.source = transport.get_extra_info("peername")
        targets = self.forwarder.healthy(spec.target_group_arn)
        if not targets or not allowed(spec.ingress, self.source[0], spec.port):
            self.pair.meter.errors += 1
            reset(self.transport)
            return
        self.pair.meter.total += 1
        self.forwarder.pairs[spec.endpoint_id].add(self.pair)
        self.transport.pause_reading()
        target = targets[next(self.forwarder.rotation) % len(targets)]
        # Callbacks, not a coroutine wrapped in wait_for: this is the per-connection path.
        loop = asyncio.get_running_loop()
        dialling = loop.create_task(
            loop.create_connection(lambda: self.pair.upstream, target.host, target.port)
        )
        timer = loop.call_later(CONNECT_TIMEOUT, dialling.cancel)
        self.pair.connecting = dialling
        dialling.add_done_callback(lambda done: self._dialled(done, timer))

    def _dialled(self, done: asyncio.Future[Any], timer: asyncio.TimerHandle) -> None:
        timer.cancel()
        self.pair.connecting = None
        if done.cancelled() or done.exception() is not None:
            self.pair.meter.errors += 1
            self.pair.abort()
            return
        if self.transport is None:  # the client left while we dialled
            self.pair.close()
            return
        spec = self.spec
        if spec.proxy_protocol_v2 and self.pair.upstream.transport is not None:
            self.pair.upstream.transport.write(
                proxy_protocol.header(self.source, (spec.address, spec.port), spec.endpoint_id)
            )
        self.pair.link_up()

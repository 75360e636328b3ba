"""A running local cloud for data-plane tests: an event loop in a thread, real backends.

Tests talk to endpoints with plain blocking sockets, as a customer's client would.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from privlink.cloud.contract import Target
from privlink.cloud.local.control import LocalAccount, LocalCloud
from privlink.cloud.local.dataplane import DataPlane
from privlink.domain.cloud import HealthCheck
from privlink.testing import LoopThread
from tests.support import free_port, wait_for

T = TypeVar("T")
REGION = "eu-west-1"
# The behaviour suite runs once per mode; kernel mode runs inside a network namespace
# of its own (see test_kernel_mode.py), never against the host's ruleset.
DATAPLANE_MODE = os.environ.get("PRIVLINK_TEST_DATAPLANE", "userspace")
FAST_CHECKS = HealthCheck(interval=1, timeout=0.5, healthy_threshold=2, unhealthy_threshold=2)


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Backend:
    """A real TCP server on 127.0.0.1 that a target group points at."""

    name: str
    port: int
    server: asyncio.Server | None = None
    stats: dict[str, int] = field(default_factory=dict)


async def sink_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read to EOF, then answer with the SHA-256 of everything read (needs half-close)."""
    digest = hashlib.sha256()
    while chunk := await reader.read(1 << 20):
        digest.update(chunk)
    writer.write(digest.hexdigest().encode())
    await writer.drain()
    writer.close()


async def echo_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while chunk := await reader.read(65536):
        writer.write(chunk)
        await writer.drain()
    writer.close()


def name_handler(name: str) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(name.encode() + b"\n")
        await writer.drain()
        while chunk := await reader.read(65536):  # then echo, so a session can go on
            writer.write(chunk)
            await writer.drain()
        writer.close()

    return handler


@dataclass
class Cloud:
    """The local cloud with a running data plane and a ready provider/customer setup."""

    loop: LoopThread
    cloud: LocalCloud
    dataplane: DataPlane
    provider: LocalAccount
    customer: LocalAccount
    customer_vpc: str
    customer_subnets: list[str]
    backends: list[Backend] = field(default_factory=list)

    def start_backend(self, name: str, handler: Handler, port: int | None = None) -> Backend:
        backend = Backend(name=name, port=port or free_port())

        async def start() -> asyncio.Server:
            return await asyncio.start_server(
                handler, "127.0.0.1", backend.port, reuse_address=True
            )

        backend.server = self.loop.run(start())
        self.backends.append(backend)
        return backend

    def stop_backend(self, backend: Backend) -> None:
        async def stop() -> None:
            assert backend.server is not None
            backend.server.close()

        self.loop.run(stop())

    def service(
        self,
        backends: list[Backend],
        *,
        port: int | None = None,
        proxy_protocol_v2: bool = False,
        acceptance_required: bool = False,
    ) -> str:
        """A provider NLB + endpoint service in front of `backends`; returns its name."""
        listen_port = port or free_port()
        vpc = self.provider.create_vpc("10.0.0.0/16")
        subnets = [self.provider.create_subnet(vpc.id, az).id for az in ("euw1-az1", "euw1-az2")]
        tg = self.provider.create_target_group(
            name=f"tg-{listen_port}",
            port=listen_port,
            health_check=FAST_CHECKS,
            proxy_protocol_v2=proxy_protocol_v2,
            deregistration_delay=1,
        )
        self.provider.register_targets(tg.arn, [Target("127.0.0.1", b.port) for b in backends])
        lb = self.provider.create_load_balancer(name=f"nlb-{listen_port}", subnet_ids=subnets)
        self.provider.create_listener(
            load_balancer_arn=lb.arn, port=listen_port, target_group_arn=tg.arn
        )
        svc = self.provider.create_endpoint_service(
            load_balancer_arns=[lb.arn], acceptance_required=acceptance_required
        )
        self.provider.modify_endpoint_service_permissions(
            svc.id, add=[f"arn:aws:iam::{self.customer.account_id}:root"]
        )
        self.wait_healthy(tg.arn, len(backends))
        return svc.name

    def wait_healthy(self, arn: str, count: int) -> None:
        wait_for(lambda: len(self.dataplane.forwarding_to(arn)) >= count, timeout=60)

    def endpoint(self, service_name: str, security_group_ids: list[str] | None = None) -> str:
        ep = self.customer.create_endpoint(
            vpc_id=self.customer_vpc,
            service_name=service_name,
            subnet_ids=self.customer_subnets,
            security_group_ids=security_group_ids or [],
        )
        self.dataplane.kick()
        self.wait_state(ep.id, "available")
        return ep.id

    def wait_state(self, endpoint_id: str, state: str) -> None:
        wait_for(lambda: self.customer.describe_endpoint(endpoint_id).state == state)

    def address(self, endpoint_id: str) -> str:
        return self.customer.describe_endpoint(endpoint_id).addresses[0].address

    def connect(self, endpoint_id: str, port: int) -> socket.socket:
        return socket.create_connection((self.address(endpoint_id), port), timeout=60)

    def connections(self, endpoint_id: str) -> int:
        addresses = [a.address for a in self.customer.describe_endpoint(endpoint_id).addresses]
        return self.loop.run(self.dataplane.connections(endpoint_id, addresses))

    def restart_dataplane(self) -> None:
        self.loop.run(self.dataplane.stop())
        self.dataplane = DataPlane(
            self.cloud, mode=DATAPLANE_MODE, workers=self.dataplane.workers, sync_interval=0.1
        )
        self.loop.run(self.dataplane.start())


def recv_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def recv_line(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data

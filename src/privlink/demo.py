"""The demo: a `demo` project with a Kafka-like service (three small built-in nodes)
and an MQTT deployment on a dedicated plan (for outbound PrivateLink).

Each node is a real TCP server that greets a client with its own name and then
echoes what it is sent, so a newcomer (and the tests) can see which broker a
PrivateLink port really reaches.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

log = structlog.get_logger(__name__)

PROJECT = "demo"
SERVICE = "demo-kafka"
CLOUD = "aws-eu-west-1"
PLAN = "business-4"
# The same brokers published from Azure and Google Cloud (the Azure and Google walk-throughs).
AZURE_SERVICE, AZURE_CLOUD = "demo-kafka-azure", "azure-westeurope"
GOOGLE_SERVICE, GOOGLE_CLOUD = "demo-kafka-google", "google-europe-west1"
# The dedicated-plan deployment that connects out to customers' endpoint services.
MQTT_SERVICE = "demo-mqtt"
MQTT_PLAN = "dedicated-4"
MQTT_NODE = ("mqtt-0", "127.0.1.4", 1883)
# Three loopback addresses, one port: like three brokers on three hosts.
NODES = (
    ("broker-0", "127.0.1.1", 9092),
    ("broker-1", "127.0.1.2", 9092),
    ("broker-2", "127.0.1.3", 9092),
)


async def _greet(name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        writer.write(f"{name}\n".encode())
        await writer.drain()
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


async def start_nodes(
    nodes: tuple[tuple[str, str, int], ...] = (*NODES, MQTT_NODE),
) -> list[asyncio.Server]:
    """Start one greeting server per node; a node whose address is taken is skipped."""
    servers = []
    for name, host, port in nodes:

        async def handler(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, name: str = name
        ) -> None:
            await _greet(name, reader, writer)

        try:
            servers.append(await asyncio.start_server(handler, host, port, reuse_address=True))
        except OSError as error:
            log.warning(
                "demo node not started", node=name, address=f"{host}:{port}", error=str(error)
            )
    return servers


async def stop_nodes(servers: list[asyncio.Server]) -> None:
    for server in servers:
        server.close()
    for server in servers:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)

"""Test infrastructure: free ports, a throw-away PostgreSQL cluster, waiting on conditions,
an app on a fresh store."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import dns.message
import dns.query
import dns.rcode
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from privlink.app import create_app
from privlink.services import tenancy
from privlink.settings import DataplaneMode, Settings
from privlink.store import migrate
from privlink.store.db import make_engine, make_sessionmaker
from privlink.testing import POSTGRES_HELP, free_port, throwaway_postgres

T = TypeVar("T")
__all__ = ["POSTGRES_HELP", "free_port", "running_app", "throwaway_postgres", "wait_for"]


def wait_for(
    condition: Callable[[], T | None], *, timeout: float = 60.0, interval: float = 0.05
) -> T:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception as error:  # the condition may fail until ready
            last_error = error
        else:
            if value:
                return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last error: {last_error!r})")


@dataclass
class App:
    """The API of a fresh store with project `alpha` (PrivateLink enabled) and its tokens."""

    client: TestClient
    token: str  # alpha's
    admin: str
    engine: Engine


@contextmanager
def running_app(tmp_path: Path, *, run_dataplane: bool = True, **settings: Any) -> Iterator[App]:
    """`create_app` on SQLite under tmp_path; with the reconciler and a userspace data plane
    unless `run_dataplane` is False (then objects stay where requests put them)."""
    config = Settings(
        data_dir=tmp_path / "state", demo=False, dataplane=DataplaneMode.userspace, **settings
    )
    engine = make_engine(config.database_url)
    migrate.upgrade(engine)
    with make_sessionmaker(engine)() as session, session.begin():
        tenancy.create_project(session, name="alpha")
        tenancy.set_privatelink(session, name="alpha", enabled=True)
        admin = tenancy.create_token(session, project=None, role="operator").secret
        token = tenancy.create_token(session, project="alpha").secret
    app = create_app(config, engine=engine, run_dataplane=run_dataplane)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield App(client=client, token=token, admin=admin, engine=engine)
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Lookup:
    rcode: str  # NOERROR, NXDOMAIN, REFUSED …
    values: list[str]
    authoritative: bool


def lookup(
    name: str, port: int, rdtype: str = "A", *, tcp: bool = False, server: str = "127.0.0.1"
) -> Lookup:
    """Ask the embedded DNS server on server:port, as a stub resolver would."""
    query = dns.message.make_query(name, rdtype)
    ask = dns.query.tcp if tcp else dns.query.udp
    answer = ask(query, server, port=port, timeout=5)
    values = sorted(item.to_text().strip('"') for rrset in answer.answer for item in rrset)
    return Lookup(dns.rcode.to_text(answer.rcode()), values, bool(answer.flags & 0x0400))


def scrape(client: TestClient, token: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """/metrics as {(sample name, sorted labels): value}, read with an operator token."""
    from prometheus_client.parser import text_string_to_metric_families

    response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def metric(
    scraped: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    """One sample's value (0 if absent)."""
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


def greet_and_echo(
    address: str, port: int, payload: bytes, source: str | None = None
) -> tuple[str, bytes]:
    """Through an endpoint to a greeting node: its greeting, then `payload` echoed."""
    import socket

    where = (source, 0) if source else None
    with socket.create_connection((address, port), timeout=30, source_address=where) as sock:
        sock.settimeout(30)
        data = b""
        while not data.endswith(b"\n"):
            data += sock.recv(100)
        sock.sendall(payload)
        echoed = b""
        while len(echoed) < len(payload):
            echoed += sock.recv(65536)
        return data.decode().strip(), echoed

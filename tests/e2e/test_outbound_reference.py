"""The outbound reference played end to end against a real `privlink serve`.

The customer builds with `privlink cloud`: a target group with a health-check
override port, an internal NLB in the deployment's AZ IDs, a TCP listener, an
endpoint service allowing the deployment's principal, and accepts the request.
The platform uses `privlink service privatelink aws outbound`. Bytes then flow
from the deployment's network to the customer's backend; delete leaves nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import socketserver
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from privlink.commands.root import app
from tests.e2e.server import Server
from tests.support import free_port, wait_for

runner = CliRunner()
OUTBOUND = ["service", "privatelink", "aws", "outbound"]


class EchoBackend(socketserver.ThreadingTCPServer):
    """The customer's backend: echoes on its traffic port; a separate health-check port."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        class Echo(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                while data := self.request.recv(65536):
                    self.request.sendall(data)

        super().__init__(("127.0.0.1", free_port()), Echo)
        self.health = socket.create_server(("127.0.0.1", free_port()))
        threading.Thread(target=self.serve_forever, daemon=True).start()
        threading.Thread(target=self._health, daemon=True).start()

    def _health(self) -> None:
        while True:
            try:
                conn, _ = self.health.accept()
            except OSError:
                return
            conn.close()

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self.health.close()


def cli(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return json.loads(result.stdout) if code == 0 else result.output


def cloud(*args: str, account: str = "acme") -> Any:
    return cli("cloud", *args, "--account", account)


def outbound(*args: str, code: int = 0) -> Any:
    return cli(*OUTBOUND, *args, "--project", "shop", code=code)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data_dir = tmp_path / "state"
    monkeypatch.setenv("PRIVLINK_DATA_DIR", str(data_dir))
    monkeypatch.setenv("PRIVLINK_CLOUD_REGION", "eu-west-1")
    return data_dir


def register_deployment() -> None:
    cli("admin", "project", "create", "shop")
    cli("admin", "project", "update", "shop", "--enable-privatelink")
    cli(
        "admin", "service", "register", "mqtt-1", "--project", "shop", "--type", "mqtt",
        "--cloud", "aws-eu-west-1", "--plan", "dedicated-4", "--node", "mqtt=127.0.0.1:1883",
    )  # fmt: skip


def build_customer_service(backend: EchoBackend, az_ids: list[str], principal: str) -> Any:
    """The reference's AWS steps, in order."""
    cli("cloud", "account", "create", "acme")
    vpc = cloud("vpc", "create")["id"]
    subnets = [cloud("subnet", "create", "--vpc", vpc, "--az", az)["id"] for az in az_ids]
    port, health_port = backend.server_address[1], backend.health.getsockname()[1]
    cloud(
        "target-group", "create", "--name", "mqtt-backend", "--port", str(port),
        "--health-port", str(health_port), "--interval", "1", "--healthy-threshold", "2",
    )  # fmt: skip
    cloud("target-group", "register", "mqtt-backend", f"127.0.0.1:{port}")
    nlb = ["nlb", "create", "--name", "mqtt-nlb"]
    cloud(*nlb, *[arg for subnet in subnets for arg in ("--subnet", subnet)])
    cloud(
        "listener",
        "create",
        "--nlb",
        "mqtt-nlb",
        "--port",
        "8883",
        "--target-group",
        "mqtt-backend",
    )
    health = cloud("target-group", "health", "mqtt-backend", "--wait")
    assert [t["state"] for t in health] == ["healthy"]
    service = cloud("endpoint-service", "create", "--nlb", "mqtt-nlb")
    assert sorted(service["az_ids"]) == sorted(az_ids)
    cloud("endpoint-service", "allow", service["id"], principal)
    return service


def through_link(address: str, port: int, payload: bytes) -> bytes:
    """From the deployment's network (its subnet's .254), through the endpoint, echoed."""
    source = address.rsplit(".", 1)[0] + ".254"
    with socket.create_connection((address, port), timeout=10, source_address=(source, 0)) as sock:
        sock.settimeout(10)
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        received = bytearray()
        while len(received) < len(payload):
            chunk = sock.recv(65536)
            assert chunk, "closed early"
            received += chunk
        sender.join()
        return bytes(received)


@pytest.fixture
def backend() -> Iterator[EchoBackend]:
    server = EchoBackend()
    yield server
    server.close()


@pytest.mark.slow
def test_outbound_reference_end_to_end(
    env: Path, backend: EchoBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = Server(env, PRIVLINK_RESYNC_INTERVAL="2").start()
    monkeypatch.setenv("PRIVLINK_URL", server.url)
    try:
        register_deployment()
        info = outbound("info", "mqtt-1")
        assert info["region"] == "eu-west-1"
        assert len(info["az_ids"]) == 2
        service = build_customer_service(backend, info["az_ids"], info["principal"])

        created = runner.invoke(
            app, [*OUTBOUND, "create", "mqtt-1", service["name"], "--project", "shop", "--wait"]
        )
        assert created.exit_code == 0, created.output
        assert "pending-acceptance" in created.output
        assert "privlink cloud connections accept" in created.output
        (link,) = outbound("list", "mqtt-1")
        assert link["state"] == "pending-acceptance"
        (request,) = cloud("connections", "list", service["id"])
        assert request["id"] == link["vpc_endpoint_id"]
        assert request["state"] == "pendingAcceptance"
        assert request["owner"] == info["principal"]
        cloud("connections", "accept", service["id"], request["id"])

        running = runner.invoke(
            app, [*OUTBOUND, "get", "mqtt-1", link["link_id"], "--project", "shop", "--wait"]
        )
        assert running.exit_code == 0, running.output
        link = outbound("get", "mqtt-1", link["link_id"])
        assert link["state"] == "running"
        payload = os.urandom(4 * 1024 * 1024)
        for address in link["addresses"]:
            echoed = through_link(address, 8883, payload)
            assert hashlib.sha256(echoed).digest() == hashlib.sha256(payload).digest()

        report = runner.invoke(
            app, [*OUTBOUND, "validate", "mqtt-1", link["link_id"], "--project", "shop"]
        )
        assert report.exit_code == 0, report.output
        assert "All hops hold." in report.output
        assert "ok    connect 8883" in report.output

        # A second link that the owner rejects: --wait exits 1 saying why.
        other = build_second_service(backend, info)
        second = outbound("create", "mqtt-1", other["name"])
        wait_for(lambda: outbound("get", "mqtt-1", second["link_id"])["vpc_endpoint_id"])
        endpoint = outbound("get", "mqtt-1", second["link_id"])["vpc_endpoint_id"]
        cloud("connections", "reject", other["id"], endpoint, account="globex")
        failed = runner.invoke(
            app, [*OUTBOUND, "get", "mqtt-1", second["link_id"], "--project", "shop", "--wait"]
        )
        assert failed.exit_code == 1
        assert "Link failed: the connection was rejected" in failed.output

        deleted = runner.invoke(
            app, [*OUTBOUND, "delete", "mqtt-1", link["link_id"], "--project", "shop", "--wait"]
        )
        assert deleted.exit_code == 0, deleted.output
        assert "gone" in deleted.output
        outbound("delete", "mqtt-1", second["link_id"])
        wait_for(lambda: outbound("list", "mqtt-1") == [])
        # Nothing of either link is left in the local cloud.
        live = [
            e
            for e in cloud("endpoint", "list", account="privlink-platform")
            if e["state"] != "deleted"
        ]
        assert live == []
        assert [
            c for c in cloud("connections", "list", service["id"]) if c["state"] != "deleted"
        ] == []
        history = cli("events", "--project", "shop", "--object", link["link_id"])
        states = list(dict.fromkeys(e["state"] for e in history))
        assert states == ["creating", "pending-acceptance", "running", "deleting", "deleted"]
    finally:
        server.stop()


def build_second_service(backend: EchoBackend, info: dict[str, Any]) -> Any:
    cli("cloud", "account", "create", "globex")
    vpc = cloud("vpc", "create", account="globex")["id"]
    subnet = cloud("subnet", "create", "--vpc", vpc, "--az", info["az_ids"][0], account="globex")
    port = backend.server_address[1]
    cloud("target-group", "create", "--name", "g", "--port", str(port), account="globex")
    cloud("nlb", "create", "--name", "g-nlb", "--subnet", subnet["id"], account="globex")
    service = cloud("endpoint-service", "create", "--nlb", "g-nlb", account="globex")
    cloud("endpoint-service", "allow", service["id"], info["principal"], account="globex")
    return service


@pytest.mark.slow
def test_sigkill_while_creating_leaves_one_endpoint(
    env: Path, backend: EchoBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A slow cloud (0.3 s per call) leaves time to kill the server mid-step.
    slow = Server(env, PRIVLINK_CLOUD_CALL_DELAY="0.3").start()
    monkeypatch.setenv("PRIVLINK_URL", slow.url)
    register_deployment()
    info = outbound("info", "mqtt-1")
    service = build_customer_service(backend, info["az_ids"], info["principal"])
    link = outbound("create", "mqtt-1", service["name"])
    assert link["state"] == "creating"

    def endpoints() -> list[Any]:
        return [
            e
            for e in cloud("endpoint", "list", account="privlink-platform")
            if e["state"] != "deleted"
        ]

    # Kill right after the endpoint exists, before the link has recorded it: watch the
    # database itself, since every cloud API call takes the 0.3 s the step is in.
    database = sqlite3.connect(env / "privlink.db")
    try:
        wait_for(
            lambda: database.execute("SELECT count(*) FROM lc_endpoints").fetchone()[0],
            timeout=30,
            interval=0.005,
        )
        assert slow.stop(signal.SIGKILL) == -signal.SIGKILL
        row = database.execute("SELECT state FROM outbound_links").fetchone()
    finally:
        database.close()
    assert row == ("creating",)

    again = Server(env).start()
    monkeypatch.setenv("PRIVLINK_URL", again.url)
    try:
        wait_for(
            lambda: outbound("get", "mqtt-1", link["link_id"])["state"] == "pending-acceptance",
            timeout=30,
        )
        (endpoint,) = endpoints()
        assert endpoint["tags"]["privlink:outbound"] == link["link_id"]
        assert outbound("get", "mqtt-1", link["link_id"])["vpc_endpoint_id"] == endpoint["id"]
        assert len(cloud("connections", "list", service["id"])) == 1
    finally:
        again.stop()

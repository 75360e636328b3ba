"""The customer's side of both flows with `privlink cloud` against a real `privlink serve`."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from privlink.commands.root import app
from tests.e2e.server import Server
from tests.support import free_port

runner = CliRunner()


class NamedBackend(socketserver.ThreadingTCPServer):
    """A TCP server that greets every connection with its name."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, name: str) -> None:
        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.sendall(name.encode() + b"\n")

        super().__init__(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    running = Server(tmp_path / "state").start()
    monkeypatch.setenv("PRIVLINK_URL", running.url)
    monkeypatch.setenv("PRIVLINK_DATA_DIR", str(running.data_dir))
    monkeypatch.setenv("PRIVLINK_CLOUD_REGION", "eu-west-1")
    yield running
    if running.process is not None:
        running.stop()


def cloud(*args: str, account: str | None = None, ok: bool = True) -> Any:
    """Run `privlink cloud ARGS --json` and return its JSON (or the error output)."""
    argv = ["cloud", *args]
    if account:
        argv += ["--account", account]
    result = runner.invoke(app, [*argv, "--json"] if ok else argv)
    if ok:
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result.output


def greeting(address: str, port: int) -> bytes:
    with socket.create_connection((address, port), timeout=10) as sock:
        return sock.recv(100)


class TestCustomerFlow:
    def test_outbound_reference_steps_with_refusals(self, server: Server) -> None:
        """Target group with override port, NLB in two AZs, listener, endpoint service,
        principal allowed, endpoint accepted; each refusal on the way is a clear error;
        after a restart of serve the endpoint forwards again."""
        backend = NamedBackend("customer-app")
        customer = cloud("account", "create", "acme")["account_id"]
        platform = cloud("account", "create", "platform")["account_id"]
        vpc = cloud("vpc", "create", account="acme")["id"]
        subnets = [
            cloud("subnet", "create", "--vpc", vpc, "--az", az, account="acme")["id"]
            for az in ("euw1-az1", "euw1-az2")
        ]
        port = backend.server_address[1]
        cloud(
            "target-group",
            "create",
            "--name",
            "app",
            "--port",
            str(port),
            "--health-port",
            str(port),
            "--interval",
            "1",
            "--healthy-threshold",
            "2",
            account="acme",
        )
        cloud("target-group", "register", "app", f"127.0.0.1:{port}", account="acme")
        cloud(
            "nlb",
            "create",
            "--name",
            "app-nlb",
            "--subnet",
            subnets[0],
            "--subnet",
            subnets[1],
            account="acme",
        )
        listen = free_port()
        cloud(
            "listener",
            "create",
            "--nlb",
            "app-nlb",
            "--port",
            str(listen),
            "--target-group",
            "app",
            account="acme",
        )
        health = cloud("target-group", "health", "app", "--wait", account="acme")
        assert [t["state"] for t in health] == ["healthy"]
        service = cloud("endpoint-service", "create", "--nlb", "app-nlb", account="acme")
        assert service["az_ids"] == ["euw1-az1", "euw1-az2"]

        pvpc = cloud("vpc", "create", account="platform")["id"]
        psubs = [
            cloud("subnet", "create", "--vpc", pvpc, "--az", az, account="platform")["id"]
            for az in ("euw1-az1", "euw1-az3")
        ]
        create = ["endpoint", "create", "--vpc", pvpc, "--service-name", service["name"]]
        refused = cloud(*create, "--subnet", psubs[0], account="platform", ok=False)
        assert f"arn:aws:iam::{platform}:root is not allowed" in refused
        bad = cloud(
            "endpoint-service",
            "allow",
            service["id"],
            "arn:aws:iam::1:root",
            account="acme",
            ok=False,
        )
        assert "Invalid principal" in bad
        cloud(
            "endpoint-service",
            "allow",
            service["id"],
            f"arn:aws:iam::{platform}:root",
            account="acme",
        )
        no_az = cloud(*create, "--subnet", psubs[1], account="platform", ok=False)
        assert "euw1-az1, euw1-az2" in no_az
        endpoint = cloud(
            *create, "--subnet", psubs[0], "--subnet", psubs[1], "--wait", account="platform"
        )
        assert endpoint["state"] == "pendingAcceptance"
        assert [a["az_id"] for a in endpoint["addresses"]] == ["euw1-az1"]
        cloud("connections", "accept", service["id"], endpoint["id"], account="acme")
        ready = cloud("endpoint", "show", endpoint["id"], "--wait", account="platform")
        assert ready["state"] == "available"
        address = ready["addresses"][0]["address"]
        assert greeting(address, listen) == b"customer-app\n"
        in_use = cloud("endpoint-service", "delete", service["id"], account="acme", ok=False)
        assert "connection(s) in state available" in in_use

        assert server.stop() == 0
        server.start()
        cloud("target-group", "health", "app", "--wait", account="acme")
        assert greeting(address, listen) == b"customer-app\n"

        cloud("connections", "reject", service["id"], endpoint["id"], account="acme")
        gone = cloud("endpoint", "show", endpoint["id"], account="platform")
        assert gone["state"] == "rejected"
        cloud("endpoint-service", "delete", service["id"], account="acme")
        backend.shutdown()
        assert customer != platform

    def test_unknown_things_are_clear_errors(self, server: Server) -> None:
        cloud("account", "create", "acme")
        assert "No local-cloud account 'nobody'" in cloud("vpc", "list", account="nobody", ok=False)
        assert "Unknown region" in cloud(
            "vpc", "list", "--region", "mars-1", account="acme", ok=False
        )
        vpc = cloud("vpc", "create", account="acme")["id"]
        assert "not in eu-west-1" in cloud(
            "subnet", "create", "--vpc", vpc, "--az", "use1-az1", account="acme", ok=False
        )
        assert "IPv4 CIDR" in cloud(
            "vpc", "create", "--cidr", "10.0.0.0/33", account="acme", ok=False
        )
        assert "HOST:PORT" in cloud(
            "target-group", "register", "x", "nope", account="acme", ok=False
        )

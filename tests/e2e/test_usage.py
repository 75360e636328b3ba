"""Usage across a restart of `privlink serve`: the hours a PrivateLink and its connection
existed (to the minute, the server's downtime included) and every byte the test sent."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from privlink.commands.root import app
from tests.e2e.server import Server
from tests.inbound.conftest import (
    Inbound,
    connect_endpoint,
    greeting_nodes,  # noqa: F401  (fixture)
    make_customer,
    register_in_vpc,
)
from tests.support import greet_and_echo, wait_for

runner = CliRunner()
BASE = "/v1/project/alpha/service/kafka-1/privatelink/aws"


def send(address: str, port: int, payload: bytes) -> None:
    """Through the endpoint: read the greeting, send `payload`, read its echo."""
    greet_and_echo(address, port, payload)


def test_usage_is_exact_across_a_restart(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    greeting_nodes: dict[str, str],  # noqa: F811
) -> None:
    server = Server(
        tmp_path / "state",
        PRIVLINK_HEALTH_CHECK_INTERVAL="1",
        PRIVLINK_PRIVATELINK_PRICE_USD="0.36",
    ).start()
    monkeypatch.setenv("PRIVLINK_DATA_DIR", str(server.data_dir))
    monkeypatch.setenv("PRIVLINK_URL", server.url)
    monkeypatch.delenv("PRIVLINK_DATABASE_URL", raising=False)
    try:
        for args in (
            ["project", "create", "alpha"],
            ["project", "update", "alpha", "--enable-privatelink"],
        ):
            assert runner.invoke(app, ["admin", *args]).exit_code == 0
        token = json.loads(
            runner.invoke(app, ["admin", "token", "create", "--project", "alpha", "--json"]).stdout
        )["full_token"]
        client = httpx.Client(base_url=server.url, timeout=30)
        nodes = {"kafka": [greeting_nodes[f"broker-{i}"] for i in range(3)]}
        inbound = Inbound(client=client, token=token, admin=server.token, nodes=nodes)  # type: ignore[arg-type]
        register_in_vpc(inbound)
        customer = make_customer(inbound)
        created_at = time.time()
        inbound.call("POST", BASE, json={"principals": [customer.principal]})
        wait_for(lambda: inbound.pl_state() == "active")
        endpoint = connect_endpoint(inbound, customer, inbound.pl()["aws_service_name"])
        inbound.call(
            "PUT",
            "/v1/project/alpha/service/kafka-1",
            json={"user_config": {"privatelink_access": {"kafka": True}}},
        )
        status = inbound.call("GET", BASE + "/status")
        port = next(p["port"] for p in status["ports"] if p["node"] is None)
        address = endpoint["addresses"][0]["address"]

        def report() -> Any:
            return inbound.call("GET", "/v1/project/alpha/usage")

        def sent() -> int:
            return sum(r["bytes_in"] for r in report()["usage"])

        wait_for(lambda: _try(send, address, port, b"x" * 1000), timeout=60)
        wait_for(lambda: sent() == 1000, timeout=30)  # counted and written down

        server.stop()  # the PrivateLink exists on while the server is down
        time.sleep(2)  # downtime to be billed: nothing to wait for but the clock
        server.start()
        wait_for(lambda: _try(send, address, port, b"y" * 2345), timeout=60)
        wait_for(lambda: sent() == 3345, timeout=30)
        inbound.call("DELETE", BASE)
        wait_for(lambda: inbound.pl_state() == "GONE")
        existed = (time.time() - created_at) / 3600

        usage = report()
        hours = sum(r["privatelink_hours"] for r in usage["usage"])
        assert abs(hours - existed) < 1 / 60  # to the minute
        assert 0 < sum(r["connection_hours"] for r in usage["usage"]) <= hours
        assert sum(r["bytes_in"] for r in usage["usage"]) == 3345  # none lost, none twice
        assert {r["service"] for r in usage["usage"]} == {"kafka-1"}
        total = sum(float(r["price_usd"]) for r in usage["usage"])
        assert abs(total - hours * 0.36) < 0.001
        csv_text = runner.invoke(
            app, ["usage", "--project", "alpha", "--csv"], env={"PRIVLINK_TOKEN": token}
        ).stdout
        assert csv_text.splitlines()[0].startswith("hour,service,privatelink_hours")
        assert len(csv_text.splitlines()) == len(usage["usage"]) + 1
    finally:
        if server.process is not None:
            server.stop()


def _try(action: Any, *args: Any) -> bool:
    try:
        action(*args)
    except OSError:
        return False
    return True

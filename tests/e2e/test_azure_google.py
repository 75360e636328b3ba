"""Azure Private Link and Google Private Service Connect, end to end: the real `avn`
(`service privatelink azure|google …`) against `privlink serve`, the customer's side with
`privlink cloud azure|gcp`, bytes through the endpoint to the Kafka-like nodes."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from privlink.commands.root import app
from tests.e2e.server import Server
from tests.e2e.test_avn import avn
from tests.e2e.test_inbound_reference import brokers, cli  # noqa: F401 (a fixture)
from tests.inbound.conftest import greeting
from tests.support import lookup, wait_for

Avn = Callable[..., subprocess.CompletedProcess[str]]
runner = CliRunner()


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    running = Server(
        tmp_path / "state", PRIVLINK_HEALTH_CHECK_INTERVAL="1", PRIVLINK_RESYNC_INTERVAL="2"
    ).start()
    monkeypatch.setenv("PRIVLINK_URL", running.url)
    monkeypatch.setenv("PRIVLINK_DATA_DIR", str(running.data_dir))
    monkeypatch.delenv("PRIVLINK_CLOUD_REGION", raising=False)
    yield running
    running.stop()


def _platform(server: Server, tmp_path: Path, brokers: list[str], cloud: str) -> Avn:  # noqa: F811
    """Project `shop` with kafka-shop in `cloud`, in a project VPC; returns avn for it."""
    cli("admin", "project", "create", "shop")
    cli("admin", "project", "update", "shop", "--enable-privatelink")
    nodes = [arg for b in brokers for arg in ("--node", f"kafka={b}")]
    cli(
        "admin", "service", "register", "kafka-shop", "--project", "shop", "--type", "kafka",
        "--cloud", cloud, "--plan", "business-4", *nodes,
    )  # fmt: skip
    token = cli("admin", "token", "create", "--project", "shop")["full_token"]

    def run_avn(*args: str, ok: bool | None = True) -> subprocess.CompletedProcess[str]:
        """avn ARGS; `ok`: it must succeed (True), must fail (False), or either (None)."""
        result = avn(server, token, tmp_path, *args, "--project", "shop")
        if ok is not None:
            assert (result.returncode == 0) is ok, result.stdout + result.stderr
        return result

    made = run_avn("vpc", "create", "--cloud", cloud, "--network-cidr", "10.3.0.0/24", "--json")
    vpc_id = json.loads(made.stdout)["project_vpc_id"]
    wait_for(lambda: json.loads(run_avn("vpc", "list", "--json").stdout)[0]["state"] == "ACTIVE")
    run_avn("service", "update", "--project-vpc-id", vpc_id, "kafka-shop")
    return run_avn


def cli_fails(*args: str) -> str:
    """`privlink ARGS`, which must be refused: what it printed."""
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, result.output
    return str(result.output)


def _avn_json(run_avn: Avn, *args: str) -> Any:
    return json.loads(run_avn(*args, "--json").stdout)


def _reach(server: Server, run_avn: Avn, plc: str, address: str) -> None:
    """Kafka's privatelink route names a host that resolves to the customer's endpoint
    address, and host:port greets as a broker through it."""
    run_avn("service", "update", "-c", "privatelink_access.kafka=true", "kafka-shop")

    def route() -> dict[str, Any] | None:
        service = _avn_json(run_avn, "service", "get", "kafka-shop")
        found = [c for c in service["components"] if c["route"] == "privatelink"]
        return found[0] if found else None

    entry = wait_for(route)
    assert entry["privatelink_connection_id"] == plc
    assert isinstance(entry["port"], int)
    found = lookup(entry["host"], server.dns_port)
    assert found.values == [address], found
    assert greeting(found.values[0], entry["port"]).startswith("broker-")


@pytest.mark.slow
def test_azure_with_avn(
    server: Server,
    tmp_path: Path,
    brokers: list[str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_avn = _platform(server, tmp_path, brokers, "azure-westeurope")
    azure = ("service", "privatelink", "azure")
    monkeypatch.setenv("PRIVLINK_CLOUD_ACCOUNT", "acme")
    subscription = cli("cloud", "account", "create", "acme")["azure_subscription_id"]
    vnet = cli("cloud", "azure", "vnet", "create", "--cidr", "10.20.0.0/16")["id"]
    subnet = cli("cloud", "azure", "subnet", "create", "--vnet", vnet)["id"]

    # Bad input first: nothing is made.
    bad = run_avn(*azure, "create", "--user-subscription-id", "not-a-guid", "kafka-shop", ok=False)
    assert "Invalid Azure subscription ID" in bad.stdout + bad.stderr
    many = [
        arg
        for i in range(17)
        for arg in ("--user-subscription-id", f"{i:08d}-0000-0000-0000-000000000000")
    ]
    bad = run_avn(*azure, "create", *many, "kafka-shop", ok=False)
    assert "at most 16" in bad.stdout + bad.stderr
    run_avn(*azure, "get", "kafka-shop", ok=False)

    created = run_avn(*azure, "create", "--user-subscription-id", subscription, "kafka-shop")
    assert "creating" in created.stdout
    again = run_avn(
        *azure, "create", "--user-subscription-id", subscription, "kafka-shop", ok=False
    )
    assert "already has an Azure Private Link" in again.stdout + again.stderr
    pl = wait_for(
        lambda: (
            (got := _avn_json(run_avn, *azure, "get", "kafka-shop")[0])["state"] == "active" and got
        )
    )
    assert pl["user_subscription_ids"] == [subscription]
    assert pl["azure_service_id"].startswith("/subscriptions/")
    alias = pl["azure_service_alias"]

    endpoint = cli(
        "cloud", "azure", "private-endpoint", "create", "--vnet", vnet, "--subnet", subnet,
        "--alias", alias,
    )  # fmt: skip
    assert endpoint["status"] == "Pending"
    run_avn(*azure, "refresh", "kafka-shop")

    def connections() -> list[dict[str, Any]]:
        return list(_avn_json(run_avn, *azure, "connection", "list", "kafka-shop"))

    wait_for(lambda: len(connections()) == 1)
    (conn,) = connections()
    assert conn["state"] == "pending-user-approval"
    assert conn["private_endpoint_id"] == endpoint["resource_id"]
    plc = conn["privatelink_connection_id"]
    unknown = run_avn(*azure, "connection", "approve", "kafka-shop", "plc0123456789a", ok=False)
    assert "does not exist" in unknown.stdout + unknown.stderr
    run_avn(*azure, "connection", "approve", "kafka-shop", plc)
    wait_for(lambda: connections()[0]["state"] == "connected")
    shown = cli("cloud", "azure", "private-endpoint", "show", endpoint["id"])
    assert shown["status"] == "Approved"

    ip = endpoint["ip_address"]
    update = (*azure, "connection", "update", "kafka-shop", plc, "--endpoint-ip-address")
    bad = run_avn(*update, "10.0.0.300", ok=False)
    assert "Invalid IP address" in bad.stdout + bad.stderr
    bad = run_avn(*update, "10.99.0.4", ok=False)
    assert "outside the subnet" in bad.stdout + bad.stderr
    run_avn(*update, ip)
    wait_for(lambda: connections()[0]["state"] == "active")
    assert connections()[0]["user_ip_address"] == ip
    _reach(server, run_avn, plc, ip)

    # Delete: `deleting`, then gone (changes while deleting: tests/inbound/test_refusals.py).
    assert "deleting" in run_avn(*azure, "delete", "kafka-shop").stdout
    wait_for(lambda: run_avn(*azure, "get", "kafka-shop", ok=None).returncode != 0)


@pytest.mark.slow
def test_google_with_avn(
    server: Server,
    tmp_path: Path,
    brokers: list[str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_avn = _platform(server, tmp_path, brokers, "google-europe-west1")
    google = ("service", "privatelink", "google")
    monkeypatch.setenv("PRIVLINK_CLOUD_ACCOUNT", "acme")
    cli("cloud", "account", "create", "acme")
    network = cli("cloud", "gcp", "network", "create", "--cidr", "10.30.0.0/16")["id"]
    subnet = cli("cloud", "gcp", "subnet", "create", "--network", network)

    assert "creating" in run_avn(*google, "create", "kafka-shop").stdout
    again = run_avn(*google, "create", "kafka-shop", ok=False)
    assert "already has a Google Private Service Connect" in again.stdout + again.stderr
    attachment = wait_for(
        lambda: (
            (got := _avn_json(run_avn, *google, "get", "kafka-shop")[0])["state"] == "active"
            and got["google_service_attachment"]
        )
    )
    # The customer's endpoint at an address of their choosing inside the subnet.
    outside = cli_fails(
        "cloud", "gcp", "endpoint", "create", "--network", network, "--subnet", subnet["id"],
        "--target", attachment, "--address", "127.1.2.3",
    )  # fmt: skip
    assert "not usable in subnet" in outside
    address = subnet["private_range"].rsplit(".", 1)[0] + ".40"
    endpoint = cli(
        "cloud", "gcp", "endpoint", "create", "--network", network, "--subnet", subnet["id"],
        "--target", attachment, "--address", address,
    )  # fmt: skip
    assert endpoint["status"] == "PENDING"
    assert endpoint["ip_address"] == address
    assert "forwardingRules/" in endpoint["resource_id"]
    refreshed = _avn_json(run_avn, *google, "refresh", "kafka-shop")
    assert refreshed[0]["google_service_attachment"] == attachment

    def connections() -> list[dict[str, Any]]:
        result = run_avn(*google, "connection", "list", "kafka-shop", "--json")
        return list(json.loads(result.stdout.split("\n", 1)[1]))  # avn prints the raw answer first

    wait_for(lambda: len(connections()) == 1)
    (conn,) = connections()
    assert conn["state"] == "pending-user-approval"
    assert conn["psc_connection_id"] == endpoint["psc_connection_id"]
    plc = conn["privatelink_connection_id"]
    approve = (*google, "connection", "approve", "kafka-shop", "--privatelink-connection-id")
    bad = run_avn(*approve, plc, "--user-ip-address", "not-an-ip", ok=False)
    assert "Invalid IP address" in bad.stdout + bad.stderr
    bad = run_avn(*approve, plc, "--user-ip-address", "10.99.0.4", ok=False)
    assert "outside the subnet" in bad.stdout + bad.stderr
    assert connections()[0]["state"] == "pending-user-approval"  # nothing changed
    unknown = run_avn(*approve, "plc0123456789a", "--user-ip-address", address, ok=False)
    assert "does not exist" in unknown.stdout + unknown.stderr
    run_avn(*approve, plc, "--user-ip-address", address)
    run_avn(*google, "refresh", "kafka-shop")
    wait_for(lambda: connections()[0]["state"] == "active")
    assert connections()[0]["user_ip_address"] == address
    assert cli("cloud", "gcp", "endpoint", "show", endpoint["id"])["status"] == "ACCEPTED"
    _reach(server, run_avn, plc, address)

    assert "deleting" in run_avn(*google, "delete", "kafka-shop").stdout
    wait_for(lambda: run_avn(*google, "get", "kafka-shop", ok=None).returncode != 0)

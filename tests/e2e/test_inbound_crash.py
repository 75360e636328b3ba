"""SIGKILL in the middle of `creating`, then restart: one of everything, nothing orphaned."""

from __future__ import annotations

import json
import signal
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from privlink.commands.root import app
from tests.e2e.server import Server
from tests.support import wait_for

runner = CliRunner()
BROKERS = ["127.0.0.1:19092", "127.0.0.1:19093", "127.0.0.1:19094"]


def cli(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def platform(*args: str) -> Any:
    return cli("cloud", *args, "--account", "privlink-platform")


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PRIVLINK_DATA_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


# cloud name, the flow's route, its create body: the same kill in each cloud.
CLOUDS = {
    "aws": ("aws-eu-west-1", {"principals": ["arn:aws:iam::123456789012:root"]}),
    "azure": ("azure-westeurope", {"user_subscription_ids": [str(uuid.uuid4())]}),
    "google": ("google-europe-west1", {}),
}


@pytest.mark.slow
@pytest.mark.parametrize("provider", list(CLOUDS))
def test_sigkill_while_creating(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, provider: str
) -> None:
    cloud, body = CLOUDS[provider]
    monkeypatch.setenv("PRIVLINK_CLOUD_REGION", cloud.split("-", 1)[1])
    # A slow cloud (0.3 s per call) leaves time to kill the server mid-way.
    slow = Server(data_dir, PRIVLINK_CLOUD_CALL_DELAY="0.3").start()
    monkeypatch.setenv("PRIVLINK_URL", slow.url)
    cli("admin", "project", "create", "shop")
    cli("admin", "project", "update", "shop", "--enable-privatelink")
    cli(
        "admin", "service", "register", "kafka-1", "--project", "shop", "--type", "kafka",
        "--cloud", cloud, "--plan", "business-4",
        *[arg for broker in BROKERS for arg in ("--node", f"kafka={broker}")],
    )  # fmt: skip
    headers = {"Authorization": f"aivenv1 {slow.token}"}
    api = httpx.Client(base_url=slow.url, headers=headers, timeout=90)
    vpc = api.post(
        "/v1/project/shop/vpcs", json={"cloud_name": cloud, "network_cidr": "10.0.0.0/24"}
    ).json()["project_vpc_id"]
    wait_for(lambda: api.get(f"/v1/project/shop/vpcs/{vpc}").json()["state"] == "ACTIVE")
    api.put("/v1/project/shop/service/kafka-1", json={"project_vpc_id": vpc})
    base = f"/v1/project/shop/service/kafka-1/privatelink/{provider}"
    created = api.post(base, json=body)
    assert created.json()["state"] == "creating"
    # Kill once some target groups exist but before the object is active.
    wait_for(lambda: len(platform("target-group", "list")) >= 2, timeout=90)
    assert api.get(base).json()["state"] == "creating"
    assert slow.stop(signal.SIGKILL) == -signal.SIGKILL
    api.close()

    again = Server(data_dir).start()
    monkeypatch.setenv("PRIVLINK_URL", again.url)
    api = httpx.Client(base_url=again.url, headers=headers, timeout=90)
    try:
        wait_for(lambda: api.get(base).json()["state"] == "active", timeout=90)
        groups = platform("target-group", "list")
        nlbs = platform("nlb", "list")
        services = platform("endpoint-service", "list")
        assert len(nlbs) == 1
        assert len(services) == 1
        # kafka (bootstrap) + one per broker, each exactly once
        assert sorted(g["tags"]["privlink:unit"] for g in groups) == [
            "kafka",
            "kafka-0",
            "kafka-1",
            "kafka-2",
        ]
        assert platform("listener", "list", "--nlb", nlbs[0]["name"]) == []  # access is off
        api.put(
            "/v1/project/shop/service/kafka-1",
            json={"user_config": {"privatelink_access": {"kafka": True}}},
        )
        wait_for(lambda: len(platform("listener", "list", "--nlb", nlbs[0]["name"])) == 4)
        ports = {p["port"] for p in api.get(base + "/status").json()["ports"]}
        listeners = platform("listener", "list", "--nlb", nlbs[0]["name"])
        assert {li["port"] for li in listeners} == ports

        # --wait follows the delete to its end, then nothing of it is left.
        deleted = runner.invoke(
            app,
            [
                "service",
                "privatelink",
                provider,
                "delete",
                "kafka-1",
                "--project",
                "shop",
                "--wait",
            ],
        )
        assert deleted.exit_code == 0, deleted.output
        assert "deleting" in deleted.output
        assert "gone" in deleted.output
        assert platform("nlb", "list") == []
        assert platform("target-group", "list") == []
        assert platform("endpoint-service", "list") == []
    finally:
        api.close()
        again.stop()

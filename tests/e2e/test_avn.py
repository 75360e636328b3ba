"""The real `avn` CLI (aiven-client) against `privlink serve`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from privlink.commands.root import app
from tests.e2e.server import Server
from tests.support import wait_for

AVN = str(Path(sys.executable).with_name("avn"))
runner = CliRunner()


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Server, str]]:
    """serve with project `demo`, a kafka service, and a project token."""
    server = Server(tmp_path / "state").start()
    monkeypatch.setenv("PRIVLINK_DATA_DIR", str(server.data_dir))
    monkeypatch.delenv("PRIVLINK_DATABASE_URL", raising=False)
    assert runner.invoke(app, ["admin", "project", "create", "demo"]).exit_code == 0
    registered = runner.invoke(
        app,
        [
            "admin",
            "service",
            "register",
            "kafka-demo",
            "--project",
            "demo",
            "--type",
            "kafka",
            "--cloud",
            "aws-eu-west-1",
            "--plan",
            "business-4",
            "--node",
            "kafka=127.0.0.1:9092",
            "--node",
            "kafka=127.0.0.1:9093",
        ],
    )
    assert registered.exit_code == 0, registered.output
    token = json.loads(
        runner.invoke(app, ["admin", "token", "create", "--project", "demo", "--json"]).stdout
    )["full_token"]
    yield server, token
    server.stop()


def avn(server: Server, token: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AIVEN_AUTH_TOKEN": token,
        "HOME": str(home),
        "AIVEN_CONFIG_DIR": str(home / ".config" / "aiven"),
    }
    return subprocess.run(
        [AVN, "--url", server.url, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


class TestAvn:
    def test_service_list_and_get(self, served: tuple[Server, str], tmp_path: Path) -> None:
        server, token = served
        listed = avn(server, token, tmp_path, "service", "list", "--project", "demo")
        assert listed.returncode == 0, listed.stderr
        assert "kafka-demo" in listed.stdout
        assert "business-4" in listed.stdout
        got = avn(
            server, token, tmp_path, "service", "get", "kafka-demo", "--project", "demo", "--json"
        )
        assert got.returncode == 0, got.stderr
        assert json.loads(got.stdout)["cloud_name"] == "aws-eu-west-1"

    def test_errors_print_the_message(self, served: tuple[Server, str], tmp_path: Path) -> None:
        server, token = served
        missing = avn(server, token, tmp_path, "service", "get", "nope", "--project", "demo")
        assert missing.returncode != 0
        assert "Service 'nope' does not exist in project 'demo'" in missing.stderr + missing.stdout
        foreign = avn(server, token, tmp_path, "service", "list", "--project", "other")
        assert "Project 'other' does not exist" in foreign.stderr + foreign.stdout


class TestAvnVpcs:
    def test_vpc_create_list_move_service_delete(
        self, served: tuple[Server, str], tmp_path: Path
    ) -> None:
        """`avn vpc create/list/delete` and `avn service update --project-vpc-id`."""
        server, token = served
        created = avn(
            server,
            token,
            tmp_path,
            "vpc",
            "create",
            "--project",
            "demo",
            "--cloud",
            "aws-eu-west-1",
            "--network-cidr",
            "10.2.0.0/24",
            "--json",
        )
        assert created.returncode == 0, created.stderr
        vpc_id = json.loads(created.stdout)["project_vpc_id"]

        def active() -> bool:
            listed = avn(server, token, tmp_path, "vpc", "list", "--project", "demo", "--json")
            return any(
                v["project_vpc_id"] == vpc_id and v["state"] == "ACTIVE"
                for v in json.loads(listed.stdout)
            )

        wait_for(active)
        moved = avn(
            server,
            token,
            tmp_path,
            "service",
            "update",
            "--project",
            "demo",
            "--project-vpc-id",
            vpc_id,
            "kafka-demo",
        )
        assert moved.returncode == 0, moved.stderr
        got = avn(
            server, token, tmp_path, "service", "get", "kafka-demo", "--project", "demo", "--json"
        )
        assert json.loads(got.stdout)["project_vpc_id"] == vpc_id
        refused = avn(
            server,
            token,
            tmp_path,
            "vpc",
            "delete",
            "--project",
            "demo",
            "--project-vpc-id",
            vpc_id,
        )
        assert "still holds service(s) kafka-demo" in refused.stdout + refused.stderr

    def test_privatelink_availability(self, served: tuple[Server, str], tmp_path: Path) -> None:
        server, token = served
        before = avn(
            server,
            token,
            tmp_path,
            "service",
            "privatelink",
            "availability",
            "--project",
            "demo",
            "--json",
        )
        assert before.returncode == 0, before.stderr
        assert json.loads(before.stdout) == []
        enabled = runner.invoke(app, ["admin", "project", "update", "demo", "--enable-privatelink"])
        assert enabled.exit_code == 0, enabled.output
        after = avn(
            server,
            token,
            tmp_path,
            "service",
            "privatelink",
            "availability",
            "--project",
            "demo",
            "--json",
        )
        clouds = {c["cloud_name"] for c in json.loads(after.stdout)}
        assert "aws-eu-west-1" in clouds


class TestAvnUserConfig:
    def test_privatelink_access_toggles(self, served: tuple[Server, str], tmp_path: Path) -> None:
        """`avn service update -c privatelink_access.<component>=true` is stored and merged."""
        server, token = served
        on = avn(
            server,
            token,
            tmp_path,
            "service",
            "update",
            "--project",
            "demo",
            "-c",
            "privatelink_access.kafka=true",
            "kafka-demo",
        )
        assert on.returncode == 0, on.stderr
        got = avn(
            server, token, tmp_path, "service", "get", "kafka-demo", "--project", "demo", "--json"
        )
        assert json.loads(got.stdout)["user_config"] == {"privatelink_access": {"kafka": True}}
        unknown = avn(
            server,
            token,
            tmp_path,
            "service",
            "update",
            "--project",
            "demo",
            "-c",
            "privatelink_access.kafka_streams=true",
            "kafka-demo",
        )
        assert unknown.returncode != 0

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

from privlink.cli import app
from tests.e2e.server import Server

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

"""The CLI: light imports, admin commands on the database, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from privlink.commands.common import Runtime
from privlink.commands.root import app

runner = CliRunner()


class FakeApi:
    """An httpx transport standing in for the server: records each request, answers `body`."""

    def __init__(self, body: object) -> None:
        self.body = body
        self.seen: list[tuple[str, str]] = []

    def runtime(self) -> Runtime:
        import httpx

        def answer(request: httpx.Request) -> httpx.Response:
            self.seen.append((request.method, request.url.path))
            return httpx.Response(200, json=self.body)

        return Runtime(transport=httpx.MockTransport(answer))


class TestCloudScope:
    def test_account_and_region_on_the_group(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """`privlink cloud --account A --region R vpc list` asks for A's VPCs in R."""
        monkeypatch.delenv("PRIVLINK_CLOUD_ACCOUNT", raising=False)
        api = FakeApi({"vpcs": []})
        args = ["cloud", "--account", "acme", "-r", "us-east-1", "vpc", "list", "--json"]
        result = runner.invoke(app, args, obj=api.runtime())
        assert result.exit_code == 0, result.output
        assert api.seen == [("GET", "/v1/cloud/acme/us-east-1/vpcs")]

    def test_command_options_win_over_the_group_and_environment(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """An --account after the command beats the group's and PRIVLINK_CLOUD_ACCOUNT."""
        monkeypatch.setenv("PRIVLINK_CLOUD_ACCOUNT", "from-env")
        api = FakeApi({"vpcs": []})
        args = ["cloud", "-A", "group", "vpc", "list", "--account", "mine", "--json"]
        assert runner.invoke(app, args, obj=api.runtime()).exit_code == 0
        assert api.seen == [("GET", "/v1/cloud/mine/eu-west-1/vpcs")]
        api.seen.clear()
        assert runner.invoke(app, ["cloud", "vpc", "list"], obj=api.runtime()).exit_code == 0
        assert api.seen == [("GET", "/v1/cloud/from-env/eu-west-1/vpcs")]

    def test_no_account_names_the_option(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("PRIVLINK_CLOUD_ACCOUNT", raising=False)
        api = FakeApi({})
        result = runner.invoke(app, ["cloud", "vpc", "list"], obj=api.runtime())
        assert result.exit_code == 1
        assert "--account" in result.output
        assert "PRIVLINK_CLOUD_ACCOUNT" in result.output
        assert api.seen == []


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PRIVLINK_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PRIVLINK_DATABASE_URL", raising=False)
    return tmp_path


class TestStartup:
    def test_help_imports_no_server_module(self) -> None:
        """`privlink --help` loads neither FastAPI, SQLAlchemy nor uvicorn."""
        code = (
            "import sys; from privlink.cli import main\n"
            "try: main(['--help'])\n"
            "except SystemExit: pass\n"
            "heavy = {'fastapi', 'sqlalchemy', 'uvicorn', 'alembic', 'pydantic_settings', "
            "'httpx', 'rich'}\n"
            "print(sorted(heavy & set(sys.modules)))"
        )
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert "Usage: privlink" in result.stdout
        assert result.stdout.strip().endswith("[]")


class TestAdminCommands:
    def test_project_and_token_lifecycle(self, data_dir: Path) -> None:
        """Create a project and a token, list both, revoke the token."""
        created = runner.invoke(app, ["admin", "project", "create", "alpha", "--json"])
        assert created.exit_code == 0, created.output
        assert json.loads(created.stdout)["project_name"] == "alpha"
        token = json.loads(
            runner.invoke(app, ["admin", "token", "create", "--project", "alpha", "--json"]).stdout
        )
        assert token["full_token"].startswith("plk_")
        listed = runner.invoke(app, ["admin", "token", "list"])
        assert token["token_id"] in listed.stdout
        assert token["full_token"] not in listed.stdout
        revoked = runner.invoke(app, ["admin", "token", "revoke", token["token_id"], "--json"])
        assert json.loads(revoked.stdout)["revoked"] is True
        assert (data_dir / "privlink.db").exists()

    def test_token_roles(self, data_dir: Path) -> None:
        """--role read-only makes a reader of one project; roles are checked."""
        runner.invoke(app, ["admin", "project", "create", "alpha"])
        made = runner.invoke(
            app, ["admin", "token", "create", "--project", "alpha", "--role", "read-only", "--json"]
        )
        assert made.exit_code == 0, made.output
        assert json.loads(made.stdout)["role"] == "read-only"
        wrong = runner.invoke(
            app, ["admin", "token", "create", "--project", "alpha", "--role", "root"]
        )
        assert wrong.exit_code == 1
        assert "Unknown role 'root'; roles are operator, admin, read-only" in wrong.output
        both = runner.invoke(
            app, ["admin", "token", "create", "--project", "alpha", "--role", "operator"]
        )
        assert both.exit_code == 1
        assert "leave its project out" in both.output

    def test_errors_are_one_line_and_non_zero(self, data_dir: Path) -> None:
        bad = runner.invoke(app, ["admin", "project", "create", "Bad_Name"])
        assert bad.exit_code == 1
        assert "Invalid project name 'Bad_Name'" in bad.output
        assert "Traceback" not in bad.output
        missing = runner.invoke(app, ["admin", "token", "create", "--project", "nope"])
        assert missing.exit_code == 1
        assert "does not exist" in missing.output

    def test_bad_setting_is_reported(self, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("PRIVLINK_LOG_FORMAT", "xml")
        result = runner.invoke(app, ["db", "upgrade"])
        assert result.exit_code == 2
        assert "PRIVLINK_LOG_FORMAT" in result.output

    def test_db_upgrade(self, data_dir: Path) -> None:
        result = runner.invoke(app, ["db", "upgrade"])
        assert result.exit_code == 0
        assert "revision" in result.output


class TestLayers:
    def test_the_layers_contract_names_every_module_of_the_package(self) -> None:
        """A new package or top-level module must be placed in a layer (pyproject.toml)."""
        import tomllib

        root = Path(__file__).resolve().parents[2]
        config = tomllib.loads((root / "pyproject.toml").read_text())
        (layers,) = [
            c["layers"]
            for c in config["tool"]["importlinter"]["contracts"]
            if c["type"] == "layers"
        ]
        named = {m.strip() for layer in layers for m in layer.split("|")}
        package = root / "src" / "privlink"
        present = {
            f"privlink.{p.stem}"
            for p in package.iterdir()
            if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()
        }
        assert present == named

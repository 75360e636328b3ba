"""A real `privlink serve` and Debian's Chromium driven by Playwright, as a user would.

Screenshots of the main pages go to $PRIVLINK_TEST_ARTIFACTS (default test-artifacts/)
under console/.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from typer.testing import CliRunner

from privlink.commands.root import app
from tests.e2e.server import Server

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("PRIVLINK_TEST_ARTIFACTS", "test-artifacts")) / "console"
runner = CliRunner()


def cli(*args: str, as_json: bool = True) -> Any:
    result = runner.invoke(app, [*args, "--json"] if as_json else list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if as_json else result.stdout


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (`make test` does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    running = Server(
        tmp_path / "state",
        PRIVLINK_RESYNC_INTERVAL="2",
        PRIVLINK_HEALTH_CHECK_INTERVAL="1",
    ).start()
    monkeypatch.setenv("PRIVLINK_URL", running.url)
    monkeypatch.setenv("PRIVLINK_DATA_DIR", str(running.data_dir))
    monkeypatch.setenv("PRIVLINK_CLOUD_REGION", "eu-west-1")
    yield running
    if running.process is not None:
        running.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(60_000)  # generous: the suite must hold on a busy machine
    yield context.new_page()
    context.close()


def project_with_token(name: str) -> str:
    cli("admin", "project", "create", name)
    cli("admin", "project", "update", name, "--enable-privatelink", as_json=False)
    token: str = cli("admin", "token", "create", "--project", name)["full_token"]
    return token


def log_in(page: Page, server: Server, token: str) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Log in").click()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

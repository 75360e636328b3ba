"""End-to-end tests start real servers; none outlives its test, even a failing one."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from tests.e2e.server import Server


@pytest.fixture(autouse=True)
def _stop_left_servers() -> Iterator[None]:
    yield
    for server in list(Server.started):
        if server.process is not None:
            server.stop(signal.SIGKILL)

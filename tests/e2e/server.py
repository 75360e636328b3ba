"""Run `privlink serve` as a real process for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support import free_port, wait_for


class Server:
    """`privlink serve` in a subprocess on a free loopback port, with its own data dir.

    Every started server is in `Server.started` until stopped; tests/e2e/conftest.py
    stops what a failing test left running.
    """

    started: list[Server] = []  # shared on purpose: every server of this test run

    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "PRIVLINK_DATA_DIR": str(data_dir),
            "PRIVLINK_PORT": str(self.port),
            "PRIVLINK_DEMO": "0",
            "PRIVLINK_URL": self.url,
            # Tests never program the host's nftables; kernel mode is tested in a netns.
            "PRIVLINK_DATAPLANE": "userspace",
            **env,
        }
        self.env.pop("PRIVLINK_DATABASE_URL", None)
        if "PRIVLINK_DNS_LISTEN" not in env:  # a port of its own, known to the test
            self.env["PRIVLINK_DNS_LISTEN"] = f"127.0.0.1:{free_port()}"
        self.dns_port = int(self.env["PRIVLINK_DNS_LISTEN"].rsplit(":", 1)[1])
        self.process: subprocess.Popen[str] | None = None
        self.log = data_dir / "serve.log"

    def start(self) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        handle = self.log.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "privlink", "serve"],
            env=self.env,
            stdout=handle,
            stderr=handle,
            text=True,
        )
        Server.started.append(self)
        wait_for(self._ready, timeout=90)
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"serve exited: {self.log.read_text()[-2000:]}")
        try:
            return httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    @property
    def token(self) -> str:
        return (self.data_dir / "admin-token").read_text().strip()

    def stop(self, sig: int = signal.SIGINT) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(timeout=30)
        self.process = None
        Server.started.remove(self)
        return code

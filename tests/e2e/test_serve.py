"""`privlink serve` as a user runs it: first start, health, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support import free_port, wait_for


class TestServe:
    def test_first_start_serves_and_stops_cleanly(self, tmp_path: Path) -> None:
        """Migrates, prints a working admin token, answers /healthz, and exits 0 on SIGINT."""
        port = free_port()
        env = {
            **os.environ,
            "PRIVLINK_DATA_DIR": str(tmp_path),
            "PRIVLINK_PORT": str(port),
            "PRIVLINK_DEMO": "0",
            "PRIVLINK_DATAPLANE": "userspace",
        }
        env.pop("PRIVLINK_DATABASE_URL", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "privlink", "serve"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(lambda: httpx.get(f"{base}/healthz").status_code == 200)
            token = (tmp_path / "admin-token").read_text().strip()
            assert oct((tmp_path / "admin-token").stat().st_mode & 0o777) == "0o600"
            response = httpx.get(
                f"{base}/v1/project", headers={"Authorization": f"aivenv1 {token}"}
            )
            assert response.status_code == 200
            assert httpx.get(f"{base}/readyz").status_code == 200
        finally:
            process.send_signal(signal.SIGINT)
            _out, err = process.communicate(timeout=30)
        assert process.returncode == 0, err
        assert "Traceback" not in err
        assert token in err  # the banner shows it once, with the URL
        assert f"http://127.0.0.1:{port}" in err

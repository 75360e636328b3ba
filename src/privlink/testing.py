"""Helpers for tests and benchmarks: an event loop driven from plain code, free loopback
ports, a throw-away PostgreSQL cluster."""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")


class LoopThread:
    """A uvloop event loop running in a daemon thread, driven from blocking code."""

    def __init__(self) -> None:
        self.loop = uvloop.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        async def wrapper() -> T:
            return fn()

        return self.run(wrapper())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


POSTGRES_HELP = (
    "PostgreSQL tests need a server: install Debian's `postgresql` package (initdb and "
    "pg_ctl; `make test` does) or set PRIVLINK_TEST_POSTGRES_URL=postgresql+psycopg://…"
)


@contextmanager
def throwaway_postgres(tls: bool = False) -> Iterator[str | None]:
    """A PostgreSQL cluster on a loopback port for the test session; None if impossible.

    initdb refuses to run as root, so as root the cluster belongs to the
    `postgres` system user that Debian's package creates. With `tls`, it also
    serves TLS (a self-signed certificate) and checks passwords of every user
    but `privlink`, like a managed PostgreSQL.
    """
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        yield None
        return
    run_as: list[str] = []
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            yield None
            return
        run_as = ["runuser", "-u", "postgres", "--"]
    workdir = Path(tempfile.mkdtemp(prefix="privlink-pg-"))
    if run_as:
        os.chown(workdir, user.pw_uid, user.pw_gid)
    data = workdir / "data"
    port = free_port()
    subprocess.run(
        [*run_as, initdb, "-D", str(data), "-U", "privlink", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {workdir} -c fsync=off"
    options += " -c max_connections=300"  # replicas: each has an API and a work pool
    if tls:
        subprocess.run(
            [
                "openssl",
                "req",
                "-new",
                "-x509",
                "-days",
                "2",
                "-nodes",
                "-subj",
                "/CN=pg",
                "-keyout",
                str(data / "server.key"),
                "-out",
                str(data / "server.crt"),
            ],
            check=True,
            capture_output=True,
        )
        (data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "host all privlink 127.0.0.0/8 trust\n"
            "hostssl all all 127.0.0.0/8 scram-sha-256\n"
        )
        if run_as:
            for name in ("server.key", "server.crt", "pg_hba.conf"):
                os.chown(data / name, user.pw_uid, user.pw_gid)
        os.chmod(data / "server.key", 0o600)
        options += " -c ssl=on"
    subprocess.run(
        [
            *run_as,
            pg_ctl,
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(workdir / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://privlink@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*run_as, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(workdir, ignore_errors=True)

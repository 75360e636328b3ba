"""Test infrastructure: free ports, a throw-away PostgreSQL cluster, waiting on conditions,
an app on a fresh store."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from privlink.app import create_app
from privlink.services import tenancy
from privlink.settings import DataplaneMode, Settings
from privlink.store import migrate
from privlink.store.db import make_engine, make_sessionmaker

T = TypeVar("T")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for(
    condition: Callable[[], T | None], *, timeout: float = 60.0, interval: float = 0.05
) -> T:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception as error:  # the condition may fail until ready
            last_error = error
        else:
            if value:
                return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last error: {last_error!r})")


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


@dataclass
class App:
    """The API of a fresh store with project `alpha` (PrivateLink enabled) and its tokens."""

    client: TestClient
    token: str  # alpha's
    admin: str
    engine: Engine


@contextmanager
def running_app(tmp_path: Path, *, run_dataplane: bool = True, **settings: Any) -> Iterator[App]:
    """`create_app` on SQLite under tmp_path; with the reconciler and a userspace data plane
    unless `run_dataplane` is False (then objects stay where requests put them)."""
    config = Settings(
        data_dir=tmp_path / "state", demo=False, dataplane=DataplaneMode.userspace, **settings
    )
    engine = make_engine(config.database_url)
    migrate.upgrade(engine)
    with make_sessionmaker(engine)() as session, session.begin():
        tenancy.create_project(session, name="alpha")
        tenancy.set_privatelink(session, name="alpha", enabled=True)
        admin = tenancy.create_token(session, project=None, role="operator").secret
        token = tenancy.create_token(session, project="alpha").secret
    app = create_app(config, engine=engine, run_dataplane=run_dataplane)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield App(client=client, token=token, admin=admin, engine=engine)
    finally:
        engine.dispose()

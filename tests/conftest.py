"""Shared fixtures: databases on SQLite and PostgreSQL, the app, and callers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, make_url, text

from privlink.app import create_app
from privlink.services import tenancy
from privlink.settings import DataplaneMode, Settings
from privlink.store import migrate
from privlink.store.db import make_engine, make_sessionmaker
from tests.support import POSTGRES_HELP, throwaway_postgres

# Servers the tests start (in process and as subprocesses) run side by side: their DNS
# servers take a port the kernel picks, unless a test asks for one.
os.environ.setdefault("PRIVLINK_DNS_LISTEN", "127.0.0.1:0")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of a PostgreSQL server's maintenance database, or skip saying how to get one."""
    configured = os.environ.get("PRIVLINK_TEST_POSTGRES_URL")
    if configured:
        yield configured
        return
    with throwaway_postgres() as url:
        if url is None:
            pytest.skip(POSTGRES_HELP)
        yield url


def _fresh_postgres_database(server_url: str) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'privlink.db'}"
    server: str = request.getfixturevalue("postgres_server")
    return _fresh_postgres_database(server)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def migrated(engine: Engine) -> Engine:
    migrate.upgrade(engine)
    return engine


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Userspace data plane: tests never program the host's nftables.
    return Settings(data_dir=tmp_path / "state", demo=False, dataplane=DataplaneMode.userspace)


@dataclass
class Api:
    """A test client plus tokens for an admin and for two projects."""

    client: TestClient
    admin: str
    alpha: str
    beta: str

    @staticmethod
    def auth(token: str, scheme: str = "aivenv1") -> dict[str, str]:
        return {"Authorization": f"{scheme} {token}"}


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    """The app on SQLite with projects `alpha` and `beta`, each with its own token."""
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    with make_sessionmaker(engine)() as session, session.begin():
        tenancy.create_project(session, name="alpha")
        tenancy.create_project(session, name="beta")
        admin = tenancy.create_token(session, project=None, role="operator").secret
        alpha = tenancy.create_token(session, project="alpha").secret
        beta = tenancy.create_token(session, project="beta").secret
    with TestClient(create_app(settings, engine=engine), raise_server_exceptions=False) as client:
        yield Api(client=client, admin=admin, alpha=alpha, beta=beta)
    engine.dispose()

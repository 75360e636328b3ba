"""Replicas on one PostgreSQL: exactly one runs the data plane, and another takes over
when it stops or dies (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from privlink.app import create_app
from privlink.settings import DataplaneMode, Settings
from privlink.store import migrate
from privlink.store.db import make_engine
from privlink.store.leader import Leadership
from tests.support import wait_for

pytestmark = pytest.mark.postgres


@pytest.fixture
def url(postgres_server: str) -> str:
    from tests.conftest import _fresh_postgres_database

    found = _fresh_postgres_database(postgres_server)
    engine = make_engine(found)
    migrate.upgrade(engine)
    engine.dispose()
    return found


def test_one_leads_until_it_resigns_or_dies(url: str) -> None:
    engines = [make_engine(url) for _ in range(3)]
    first, second, third = (Leadership(e) for e in engines)
    assert first.try_lead()
    assert not second.try_lead()
    assert first.try_lead()  # still leading
    first.resign()
    assert second.try_lead()
    assert not first.try_lead()
    # The leader's database session dies (its host is gone): the lock goes with it.
    with engines[2].connect() as admin:
        admin.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks "
                "WHERE locktype = 'advisory' AND objid = :low"
            ),
            {"low": second.key & 0xFFFFFFFF},
        )
    assert third.try_lead()
    assert not second.try_lead()  # it notices it lost the lead
    third.resign()
    for engine in engines:
        engine.dispose()


def test_replicas_run_one_data_plane_and_hand_it_over(url: str, tmp_path: Path) -> None:
    def app(name: str) -> TestClient:
        settings = Settings(
            data_dir=tmp_path / name,
            database_url=url,
            demo=False,
            dataplane=DataplaneMode.userspace,
        )
        return TestClient(create_app(settings), raise_server_exceptions=False)

    with app("a") as a, app("b") as b:
        state_a, state_b = (c.app.state.privlink for c in (a, b))  # type: ignore[attr-defined]
        assert (state_a.dataplane is None) != (state_b.dataplane is None)
        leader, follower = (a, b) if state_a.dataplane is not None else (b, a)
        leader.__exit__(None, None, None)  # that replica stops
        waiting = follower.app.state.privlink  # type: ignore[attr-defined]
        wait_for(lambda: waiting.dataplane is not None, timeout=30)

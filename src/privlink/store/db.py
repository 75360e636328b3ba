"""Engines and sessions for SQLite (default, WAL mode) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from privlink.store import generations
from privlink.store.sealing import Sealer

IDLE_IN_TRANSACTION_MS = 10_000


def make_engine(
    url: str, *, pool_size: int = 10, max_overflow: int = 10, pool_timeout: float = 30.0
) -> Engine:
    """An engine for `url`; SQLite files get their folder created and WAL switched on.
    `pool_timeout`: seconds a PostgreSQL session waits for a free connection."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            private_file(Path(parsed.database))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url,
        # A process paused or cut off mid-transaction (SIGSTOP, a frozen VM) would hold
        # its row locks forever: the server ends such a session after 10 s, before the
        # 15 s reconcile lease runs out and another replica takes the object over.
        connect_args={
            "options": f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}"
        },
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
    )


def background_engine(engine: Engine) -> Engine:
    """A pool of its own for the reconciler and data plane, so a burst of API requests
    never starves them (and they never starve the API); SQLite shares its one engine."""
    if engine.dialect.name == "sqlite":
        return engine
    return make_engine(
        engine.url.render_as_string(hide_password=False), pool_size=5, max_overflow=5
    )


def private_file(path: Path) -> None:
    """The database file readable by its owner only (0600), created so before SQLite
    opens it (its -wal and -shm files take the same mode); a new folder is 0700."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_sessionmaker(engine: Engine, sealer: Sealer | None = None) -> sessionmaker[Session]:
    """Sessions of `engine`; `sealer` seals and opens the secrets they store. Their
    flushes count visible changes (what cached API answers are checked against)."""
    sessions = sessionmaker(engine, expire_on_commit=False, info={"sealer": sealer})
    generations.count(sessions, generations.RESPONSES, generations.writes_visible)
    return sessions

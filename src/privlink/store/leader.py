"""Who runs the one-per-install jobs (the local cloud's data plane, endpoint sweeps) among
replicas.

On PostgreSQL, leadership is a session-level advisory lock held on a connection of its
own: exactly one replica holds it, and when that replica dies its connection ends, the
server frees the lock, and another replica takes it at its next try. SQLite serves one
process, which always leads.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text

# "plkdata" in ASCII: an advisory-lock key no other application is likely to use.
DATAPLANE_LOCK = 0x706C6B64617461
SWEEP_LOCK = 0x706C6B7377656570  # "plksweep"


class Leadership:
    def __init__(self, engine: Engine, key: int = DATAPLANE_LOCK) -> None:
        self.engine = engine
        self.key = key
        self._held: Connection | None = None

    @property
    def shared(self) -> bool:
        """Whether other processes can share this database (and so compete to lead)."""
        return self.engine.dialect.name == "postgresql"

    def try_lead(self) -> bool:
        """Whether this process leads now: keeps leading while its connection lives, or
        takes the lock if nobody holds it. Never waits."""
        if not self.shared:
            return True
        if self._held is not None:
            try:
                self._held.execute(text("SELECT 1"))
                return True
            except Exception:  # the connection (and so the lock) is gone
                self._drop()
        connection = self.engine.connect()
        try:
            taken = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            ).scalar()
            connection.commit()
        except Exception:
            connection.close()
            raise
        if not taken:
            connection.close()
            return False
        self._held = connection
        return True

    def resign(self) -> None:
        if self._held is not None:
            try:
                self._held.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                self._held.commit()
            finally:
                self._drop()

    def _drop(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            try:
                held.invalidate()  # never back to the pool: the lock must not linger
            finally:
                held.close()

"""The work queue of reconciled objects, kept in their own rows (`store.tables.Queued`).

An object is due when a step was asked for or a retry is due (`next_attempt_at`),
or when its own resync time has come (`resync_at`: a jittered interval after its last
step, so resyncs of many objects spread out instead of arriving together). Asked-for
steps are served first, in batches, so a resync backlog never delays a create. A step runs under a
lease, so several processes can share one PostgreSQL; a lease held by a process
of this host that is gone (SIGKILL) is taken over at once, others expire.
Errors are temporary (retried with jittered exponential backoff) unless they
are a `PrivlinkError` that says it is permanent (`temporary` False): then the object
goes `failed` (a delete is retried all the same: it must finish).
"""

from __future__ import annotations

import contextvars
import os
import random
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import and_, event, func, or_, select, true, update
from sqlalchemy.orm import Session, sessionmaker

from privlink.domain.errors import PrivlinkError
from privlink.services import audit
from privlink.store.base import as_utc, utcnow

log = structlog.get_logger(__name__)
# Short, and renewed while a step runs (`renew`): a dead replica's objects are taken
# over within seconds. A step whose lease was taken meanwhile commits nothing (`fenced`).
LEASE = timedelta(seconds=15)
OWNER = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
FAILED, DELETING = "failed", "deleting"
MAX_BACKOFF = 30.0  # seconds: the longest wait before retrying a step that failed

Step = Callable[[], float | None]  # one step; seconds until the next one is wanted, or None
Fail = Callable[[Session, Any, str], None]  # moves a row to `failed` with the reason


@dataclass(frozen=True)
class Kind:
    """One kind of reconciled object on the shared queue: its table, its step, how it fails.

    `step(id)` makes one idempotent move and says when it wants the next one (None: at
    the next resync); `fail` records a permanent error on the row; `only` limits which
    rows are ever due (e.g. project VPCs only while they have work); `routes` says its
    steps change what the data plane forwards.
    """

    name: str
    model: Any
    step: Callable[[str], float | None]
    fail: Fail
    resync: float
    backoff: float
    resync_failed: bool = False
    only: Any = None
    routes: bool = False

    def due(self, sessions: sessionmaker[Session], limit: int | None = None) -> list[str]:
        return due(
            sessions, self.model, resync_failed=self.resync_failed, only=self.only, limit=limit
        )

    def next_due(self, sessions: sessionmaker[Session]) -> datetime | None:
        return next_due(sessions, self.model, resync_failed=self.resync_failed, only=self.only)

    def run(self, sessions: sessionmaker[Session], obj_id: str) -> str:
        """One step of the object; its outcome (see `run`)."""
        with audit.acting_on(self.name, obj_id):  # its cloud changes are this object's
            return self._run(sessions, obj_id)

    def _run(self, sessions: sessionmaker[Session], obj_id: str) -> str:
        return run(
            sessions,
            self.model,
            obj_id,
            lambda: self.step(obj_id),
            self.fail,
            resync=self.resync,
            backoff=self.backoff,
        )


def due(
    sessions: sessionmaker[Session],
    model: Any,
    *,
    resync_failed: bool = False,
    only: Any = None,
    limit: int | None = None,
) -> list[str]:
    """IDs of objects whose next step is due: asked for, retried, or up for resync; the
    asked-for ones first (oldest wish first), at most `limit`."""
    now = utcnow()
    stale = or_(model.resync_at.is_(None), model.resync_at <= now)
    idle = and_(model.next_attempt_at.is_(None), stale)
    if not resync_failed:
        idle = and_(idle, model.state != FAILED)
    wanted = or_(model.next_attempt_at <= now, idle)
    if only is not None:
        wanted = and_(wanted, only)
    with sessions() as s:
        rows = s.execute(
            select(model.id, model.lease_owner, model.lease_until)
            .where(wanted)
            # Asked-for steps first (oldest wish first), resyncs after (oldest first).
            .order_by(model.next_attempt_at.is_(None), model.next_attempt_at, model.resync_at)
            .limit(limit)
        ).all()
    return [obj_id for obj_id, owner, until in rows if lease_free(owner, as_utc(until), now)]


def lease_free(owner: str | None, until: datetime | None, now: datetime) -> bool:
    """No lease, an expired one, or one held by a process of this host that is gone."""
    if owner is None or until is None or until < now:
        return True
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != OWNER.partition(":")[0] or not pid.isdigit() or owner == OWNER:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True  # killed mid-step (e.g. SIGKILL): take over at once
    except PermissionError:
        return False
    return False


def next_due(
    sessions: sessionmaker[Session], model: Any, *, resync_failed: bool = False, only: Any = None
) -> datetime | None:
    """When this kind next has work for this process: the soonest wish or resync of an
    object nobody holds, or the end of a lease another process holds (its object may be
    due then). Failed objects (unless `resync_failed`) and those outside `only` never
    count, so they cannot keep the runner spinning."""
    now = utcnow()
    scope = only if only is not None else true()
    free = or_(model.lease_until.is_(None), model.lease_until < now)
    resyncs = and_(model.next_attempt_at.is_(None), free)
    if not resync_failed:
        resyncs = and_(resyncs, model.state != FAILED)
    with sessions() as s:
        found: list[datetime | None] = [
            as_utc(s.scalar(select(func.min(model.next_attempt_at)).where(scope, free))),
            as_utc(s.scalar(select(func.min(model.resync_at)).where(scope, resyncs))),
            as_utc(s.scalar(select(func.min(model.lease_until)).where(scope, ~free))),
        ]
    times: list[datetime] = [t for t in found if t is not None]
    return min(times) if times else None


def claim(sessions: sessionmaker[Session], model: Any, obj_id: str) -> datetime | None:
    """Take the lease; when it was taken, or None if another process holds it."""
    now = utcnow()
    with sessions() as s, s.begin():
        row = s.execute(
            select(model.lease_owner, model.lease_until).where(model.id == obj_id)
        ).first()
        if row is None or not lease_free(row[0], as_utc(row[1]), now):
            return None
        held = model.lease_owner.is_(None) if row[0] is None else model.lease_owner == row[0]
        claimed = s.execute(
            update(model)
            .where(model.id == obj_id, held)
            .values(lease_owner=OWNER, lease_until=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        return now if getattr(claimed, "rowcount", 0) == 1 else None


def renew(sessions: sessionmaker[Session], model: Any, obj_id: str) -> bool:
    """Extend this process's lease on a running step; False if it was lost (e.g. the
    process was paused past it and another took the object over)."""
    with sessions() as s, s.begin():
        renewed = s.execute(
            update(model)
            .where(model.id == obj_id, model.lease_owner == OWNER)
            .values(lease_until=utcnow() + LEASE)
            .execution_options(synchronize_session=False)
        )
    return getattr(renewed, "rowcount", 0) == 1


class LeaseLost(Exception):
    """This process no longer holds the lease of the object its step is for."""


# The object whose step runs in this context: every commit made during it is fenced.
_fenced: contextvars.ContextVar[tuple[Any, str] | None] = contextvars.ContextVar(
    "privlink_fenced_step", default=None
)


def stepping() -> str | None:
    """The ID of the object whose step runs in this context, if any."""
    held = _fenced.get()
    return held[1] if held is not None else None


@event.listens_for(Session, "before_flush")
def _note_own_removal(session: Session, _context: object, _instances: object) -> None:
    """Remember that this transaction writes (only writes are fenced), and whether it
    removes the step's own object (its last move)."""
    held = _fenced.get()
    if held is not None and (session.new or session.dirty or session.deleted):
        session.info["writes_fenced"] = True
    if held is not None and any(
        isinstance(row, held[0]) and row.id == held[1] for row in session.deleted
    ):
        session.info["removes_fenced"] = held


@event.listens_for(Session, "before_commit")
def _check_lease(session: Session) -> None:
    """During a step, a transaction commits only while this process holds the object's
    lease (read under a row lock on PostgreSQL, so a take-over waits or wins cleanly)."""
    held = _fenced.get()
    if held is None or session.info.get("unfenced"):
        return
    session.flush()
    if not session.info.pop("writes_fenced", False):
        return  # a read (most cloud calls of a look): nothing to fence
    removes = session.info.pop("removes_fenced", None) == held
    model, obj_id = held
    found = session.execute(
        select(model.lease_owner).where(model.id == obj_id).with_for_update()
    ).first()
    # Gone: fine if this very transaction removed it (the step's last move). Gone
    # before, another process finished the object (e.g. deleted it) while this one was
    # paused, and whatever this step would write now would be left behind.
    if found is None and not removes:
        raise LeaseLost(f"{obj_id} was removed meanwhile; this step's writes are dropped")
    if found is not None and found[0] != OWNER:
        raise LeaseLost(f"lease on {obj_id} was taken over; this step's writes are dropped")


def run(
    sessions: sessionmaker[Session],
    model: Any,
    obj_id: str,
    step: Step,
    fail: Fail,
    *,
    resync: float,
    backoff: float,
) -> str:
    """Claim the object, take one step (fenced by the lease), record the outcome, release
    the lease — unless it was lost meanwhile: then the new holder owns the row.

    The outcome, for metrics: `done`, `requeue` (wants another step soon), `temporary` /
    `permanent` (it failed), `busy` (another process holds it)."""
    claimed_at = claim(sessions, model, obj_id)
    if claimed_at is None:
        return "busy"
    fence = _fenced.set((model, obj_id))
    try:
        requeue = step()
    except Exception as error:
        _fenced.reset(fence)
        _record_failure(sessions, model, obj_id, error, fail, resync=resync, backoff=backoff)
        permanent = isinstance(error, PrivlinkError) and not error.temporary
        return "permanent" if permanent else "temporary"
    _fenced.reset(fence)
    with sessions() as s, s.begin():
        row = s.get(model, obj_id)
        if row is None or row.lease_owner != OWNER:
            # Taken over (or finished and removed) by another process while this one was
            # paused: the new holder owns the row now.
            log.warning("lease lost during a step; its outcome is dropped", object=obj_id)
        else:
            row.attempts, row.reconciled_at = 0, utcnow()
            row.resync_at = row.reconciled_at + timedelta(seconds=resync * random.uniform(0.5, 1))
            woken = as_utc(row.next_attempt_at)
            # Asked for again while this step ran (e.g. the customer accepted): keep that.
            if woken is None or woken < claimed_at:
                row.next_attempt_at = utcnow() + timedelta(seconds=requeue) if requeue else None
            row.lease_owner = row.lease_until = None
    return "requeue" if requeue else "done"


def _record_failure(
    sessions: sessionmaker[Session],
    model: Any,
    obj_id: str,
    error: Exception,
    fail: Fail,
    *,
    resync: float,
    backoff: float,
) -> None:
    permanent = isinstance(error, PrivlinkError) and not error.temporary
    message = error.message if isinstance(error, PrivlinkError) else f"{type(error).__name__}"
    with sessions() as s, s.begin():
        row = s.get(model, obj_id)
        if row is None or row.lease_owner != OWNER:
            log.warning(
                "lease lost during a step",
                object=obj_id,
                error=str(error) if isinstance(error, LeaseLost) else message,
            )
            return
        row.lease_owner = row.lease_until = None
        row.attempts += 1
        if permanent and row.state != DELETING:
            row.next_attempt_at = None
            fail(s, row, message)
            return
        # Temporary (or a delete that must go on): retry with jittered exponential backoff.
        delay = retry_delay(row.attempts, backoff=backoff, resync=resync)
        row.next_attempt_at = utcnow() + timedelta(seconds=delay)
        row.reason = f"retrying after: {message}"[: _reason_length(model)]
        log.warning("reconcile step failed", object=obj_id, attempt=row.attempts, error=message)


def _reason_length(model: Any) -> int:
    return int(getattr(model.__table__.c.reason.type, "length", None) or 1000)


def retry_delay(
    attempts: int, *, backoff: float, resync: float, jitter: float | None = None
) -> float:
    """Seconds before the next try after `attempts` failures: doubling from `backoff`,
    capped at the resync interval or MAX_BACKOFF, whichever is shorter (a busy database
    or a throttled cloud must not park an object for a whole resync interval), scaled by
    a jitter in [0.5, 1] so replicas do not retry in step."""
    scale = random.uniform(0.5, 1.0) if jitter is None else jitter
    return float(min(resync, MAX_BACKOFF, backoff * 2 ** min(attempts, 16)) * scale)

"""The audit log: who changed what, where from, and how it ended.

Three doors lead to changes and each records here: HTTP requests that ask for one (the
API and the console, from `api.middleware.AuditTrail`), the server's `privlink admin`
commands, and the reconciler's own moves in a cloud (`audited`, a wrapper round the
platform's drivers). Only routes, object IDs and refusal messages are kept — never a
request body, so never a password or token.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud import contract as c
from privlink.store.tables import AuditRecord, OutboundLink, Privatelink, Project, ProjectVpc

log = structlog.get_logger(__name__)
MAX_LIMIT = 1000
RECONCILER = "reconciler"


@dataclass(frozen=True)
class Entry:
    actor: str
    action: str
    outcome: str  # ok, refused, failed
    project: str | None = None
    actor_description: str = ""
    role: str = ""
    target: str = ""
    address: str = ""
    status: int | None = None
    detail: str = ""


def outcome_of(status: int) -> str:
    if status < 400:
        return "ok"
    return "failed" if status >= 500 else "refused"


def record(session: Session, entry: Entry) -> AuditRecord:
    row = AuditRecord(
        project=entry.project,
        actor=entry.actor[:32],
        actor_description=entry.actor_description[:200],
        role=entry.role[:16],
        action=entry.action[:200],
        target=entry.target[:300],
        address=entry.address[:64],
        outcome=entry.outcome,
        status=entry.status,
        detail=entry.detail[:300],
    )
    session.add(row)
    return row


def recorder(sessions: sessionmaker[Session]) -> Callable[[Entry], None]:
    """Record each entry in a transaction of its own; a failure to record is logged, never
    turned into the caller's error (the change itself has already happened)."""

    def write(entry: Entry) -> None:
        try:
            with sessions() as session, session.begin():
                record(session, entry)
        except Exception as error:  # e.g. the database went away after the change
            log.error("audit record lost", action=entry.action, error=str(error))

    return write


def read(
    session: Session,
    *,
    project: str | None,
    limit: int = 100,
    before: int | None = None,
    actor: str | None = None,
) -> Sequence[AuditRecord]:
    """Newest first; `project` None reads the whole install (operators). `before` is the
    ID of the oldest record already seen, to page back."""
    query = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(min(limit, MAX_LIMIT))
    if project is not None:
        query = query.where(AuditRecord.project == project)
    if before is not None:
        query = query.where(AuditRecord.id < before)
    if actor is not None:
        query = query.where(AuditRecord.actor == actor)
    return session.scalars(query).all()


# -- the reconciler's cloud changes -------------------------------------------------------
# The object whose step is running (its queue kind and ID), set by the work queue.
@dataclass
class _Subject:
    kind: str
    obj_id: str
    project: str | None = None
    looked_up: bool = False  # `project` is known (looked up once per step)


_subject: contextvars.ContextVar[_Subject | None] = contextvars.ContextVar(
    "privlink_audit_subject", default=None
)
_MODELS: dict[str, Any] = {
    "privatelink": Privatelink,
    "outbound": OutboundLink,
    "project-vpc": ProjectVpc,
}
# Driver methods that change the cloud; every other one only reads.
CHANGES = (
    "create_",
    "delete_",
    "modify_",
    "accept_",
    "reject_",
    "register_",
    "deregister_",
    "publish",
    "unpublish",
)


@contextmanager
def acting_on(kind: str, obj_id: str) -> Iterator[None]:
    """Cloud changes made inside are the reconciler's, for this object."""
    token = _subject.set(_Subject(kind, obj_id))
    try:
        yield
    finally:
        _subject.reset(token)


def _project_of(session: Session, subject: _Subject) -> str | None:
    """The project of the step's object, looked up at its first recorded change only."""
    if not subject.looked_up:
        model = _MODELS.get(subject.kind)
        row = session.get(model, subject.obj_id) if model is not None else None
        if row is not None:
            project_id = row.project_id if isinstance(row, ProjectVpc) else row.service.project_id
            owner = session.get(Project, project_id)
            subject.project = owner.name if owner is not None else None
        subject.looked_up = row is not None
    return subject.project


def _changed(
    sessions: sessionmaker[Session], region: str, name: str, change: Any, /, *args: Any, **kw: Any
) -> Any:
    """Make a cloud change and record it, whether it worked or not; the string arguments
    name what it acts on."""
    try:
        result = change(*args, **kw)
    except Exception as error:
        _write(sessions, region, name, (*args, *kw.values()), None, error)
        raise
    _write(sessions, region, name, (*args, *kw.values()), result, None)
    return result


def _write(
    sessions: sessionmaker[Session],
    region: str,
    name: str,
    args: tuple[Any, ...],
    result: Any,
    error: Exception | None,
) -> None:
    subject = _subject.get()
    made = result if isinstance(result, str) else getattr(result, "id", None)
    ids = [str(a) for a in args if isinstance(a, str) and a != region]
    target = " ".join([region, *ids, *([str(made)] if made and made not in ids else [])])
    message = getattr(error, "message", None) or (type(error).__name__ if error else "")
    detail = f"for {subject.kind} {subject.obj_id}" if subject else ""
    detail = f"{detail}: {message}" if detail and message else detail or message
    try:
        with sessions() as session, session.begin():
            session.info["unfenced"] = True  # a cloud change is recorded even if its step
            # lost its lease meanwhile: it did happen
            record(
                session,
                Entry(
                    actor=RECONCILER,
                    action=f"cloud {name}",
                    outcome="failed" if error else "ok",
                    project=_project_of(session, subject) if subject else None,
                    target=target,
                    detail=detail,
                ),
            )
    except Exception as failure:
        log.error("audit record lost", action=name, error=str(failure))


class _AuditedDriver:
    """A driver whose changing calls are recorded; reads pass straight through."""

    def __init__(
        self, inner: c.CloudDriver | c.Publisher, sessions: sessionmaker[Session], region: str
    ):
        self._inner = inner
        self._sessions = sessions
        self._region = region

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not name.startswith(CHANGES) or not callable(attr):
            return attr
        return functools.partial(_changed, self._sessions, self._region, name, attr)


class _AuditedPlatform(c.Platform):
    """The platform with audited drivers; making and removing its networks is recorded."""

    def __init__(self, inner: c.Platform, sessions: sessionmaker[Session]) -> None:
        self._inner = inner
        self._sessions = sessions

    def driver(self, region: str, principal: str | None = None) -> c.CloudDriver:
        inner = self._inner.driver(region, principal)
        return cast(c.CloudDriver, _AuditedDriver(inner, self._sessions, region))

    def publisher(self, region: str) -> c.Publisher | None:
        inner = self._inner.publisher(region)
        if inner is None:
            return None
        return cast(c.Publisher, _AuditedDriver(inner, self._sessions, region))

    def principal(self, role_name: str) -> str:
        return self._inner.principal(role_name)

    def deployment_network(self, region: str, key: str, az_ids: Sequence[str]) -> str:
        made = self._inner.deployment_network
        return str(
            _changed(self._sessions, region, "deployment_network", made, region, key, az_ids)
        )

    def project_network(self, region: str, key: str, cidr: str, az_ids: Sequence[str]) -> str:
        made = self._inner.project_network
        return str(
            _changed(self._sessions, region, "project_network", made, region, key, cidr, az_ids)
        )

    def delete_project_network(self, region: str, key: str) -> None:
        gone = self._inner.delete_project_network
        _changed(self._sessions, region, "delete_project_network", gone, region, key)


def audited(platform: c.Platform, sessions: sessionmaker[Session]) -> c.Platform:
    """`platform` whose drivers record every cloud change in the audit log."""
    return _AuditedPlatform(platform, sessions)

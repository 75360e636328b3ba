"""The status history: every state change of every object, with its reason."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from privlink.services import webhooks
from privlink.store.tables import Event, Project

log = structlog.get_logger(__name__)
MAX_LIMIT = 1000


def record(
    session: Session,
    *,
    project_id: int,
    kind: str,
    object_id: str,
    state: str,
    message: str,
    service_name: str = "",
    actor: str = "reconciler",
) -> Event:
    log.info("event", kind=kind, object=object_id, state=state, message=message, actor=actor)
    event = Event(
        project_id=project_id,
        service_name=service_name,
        object_kind=kind,
        object_id=object_id,
        state=state,
        message=message[:1000],
        actor=actor[:64],
    )
    session.add(event)
    webhooks.enqueue(session, event)  # in this transaction: sent only if it commits
    return event


def record_for(
    session: Session,
    obj: Any,
    kind: str,
    message: str,
    *,
    state: str | None = None,
    actor: str = "reconciler",
) -> Event:
    """An event of an object that belongs to a service (`obj.service`): in its state by default."""
    return record(
        session,
        project_id=obj.service.project_id,
        service_name=obj.service.name,
        kind=kind,
        object_id=obj.id,
        state=obj.state if state is None else state,
        message=message,
        actor=actor,
    )


def list_events(
    session: Session,
    *,
    project: Project,
    service: str | None = None,
    object_id: str | None = None,
    limit: int = 100,
) -> Sequence[Event]:
    """Newest last, at most `limit` (the newest ones)."""
    query = select(Event).where(Event.project_id == project.id)
    if service:
        query = query.where(Event.service_name == service)
    if object_id:
        query = query.where(Event.object_id == object_id)
    rows = session.scalars(query.order_by(Event.id.desc()).limit(min(limit, MAX_LIMIT))).all()
    return list(reversed(rows))

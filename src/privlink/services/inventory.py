"""What /metrics reports from the database: objects by state, the work queue's backlog,
events by kind, webhook deliveries, target health. A few grouped counts per scrape,
whatever the number of objects."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from privlink.store.base import as_utc
from privlink.store.cloud_tables import LcTarget
from privlink.store.tables import (
    Event,
    OutboundLink,
    Privatelink,
    PrivatelinkConnection,
    ProjectVpc,
    WebhookDelivery,
)

QUEUED: dict[str, Any] = {
    "project_vpc": ProjectVpc,
    "privatelink": Privatelink,
    "outbound": OutboundLink,
}
KINDS: dict[str, Any] = {**QUEUED, "connection": PrivatelinkConnection}


def object_states(session: Session) -> Iterator[tuple[str, str, int]]:
    """(kind, state, count) of every reconciled object and connection."""
    for kind, model in KINDS.items():
        rows = session.execute(select(model.state, func.count()).group_by(model.state))
        for state, count in rows:
            yield kind, str(state), int(count)


def backlog(session: Session, now: datetime) -> Iterator[tuple[str, int, float]]:
    """(kind, steps due now, seconds the oldest has waited) per queued kind."""
    for kind, model in QUEUED.items():
        count, oldest = session.execute(
            select(func.count(), func.min(model.next_attempt_at)).where(
                model.next_attempt_at <= now
            )
        ).one()
        waited = (now - as_utc(oldest)).total_seconds() if oldest is not None else 0.0
        yield kind, int(count), max(waited, 0.0)


def event_counts(session: Session) -> Iterator[tuple[str, int]]:
    rows = session.execute(select(Event.object_kind, func.count()).group_by(Event.object_kind))
    for kind, count in rows:
        yield str(kind), int(count)


def delivery_states(session: Session) -> Iterator[tuple[str, int]]:
    rows = session.execute(
        select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
    )
    for status, count in rows:
        yield str(status), int(count)


def target_health(session: Session) -> Iterator[tuple[str, str, int]]:
    """(target group ARN, state, targets) of the local cloud."""
    rows = session.execute(
        select(LcTarget.target_group_arn, LcTarget.state, func.count()).group_by(
            LcTarget.target_group_arn, LcTarget.state
        )
    )
    for arn, state, count in rows:
        yield str(arn), str(state), int(count)

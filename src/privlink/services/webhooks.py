"""Webhook subscriptions and their deliveries: one delivery per (event, matching
subscription), written in the event's own transaction (so none is lost or sent for an
event that was rolled back), then sent by `webhook_sender` in event order."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from privlink.domain import webhooks as rules
from privlink.domain.errors import Conflict, NotFound
from privlink.store import sealing
from privlink.store.tables import Event, Project, Webhook, WebhookDelivery

MAX_PER_PROJECT = 10
MAX_LISTED = 1000


@dataclass(frozen=True)
class Created:
    webhook: Webhook
    secret: str  # shown once, on create


def create(
    session: Session,
    *,
    project: Project | None,
    url: str,
    secret: str | None,
    events: Sequence[str] | None,
    description: str = "",
) -> Created:
    """A subscription of `project` (None: of every project, the operator's)."""
    chosen = rules.events(events)
    key = rules.secret(secret) if secret is not None else secrets.token_urlsafe(32)
    project_id = project.id if project is not None else None
    held = session.scalar(select(func.count()).select_from(Webhook).where(_owned_by(project_id)))
    if (held or 0) >= MAX_PER_PROJECT:
        raise Conflict(
            f"At most {MAX_PER_PROJECT} webhooks per project; delete one "
            "(privlink webhook delete ID) or widen another's event filter"
        )
    hook = Webhook(
        id=f"whk{secrets.token_hex(6)[:11]}",
        project_id=project_id,
        url=rules.url(url),
        secret=sealing.of(session).seal(key),
        events=chosen,
        description=description[:200],
    )
    session.add(hook)
    session.flush()
    return Created(hook, key)


def _owned_by(project_id: int | None) -> Any:
    return Webhook.project_id.is_(None) if project_id is None else Webhook.project_id == project_id


def list_webhooks(session: Session, *, project: Project | None) -> Sequence[Webhook]:
    owner = _owned_by(project.id if project is not None else None)
    return session.scalars(select(Webhook).where(owner).order_by(Webhook.created_at)).all()


def get(session: Session, *, project: Project | None, webhook_id: str) -> Webhook:
    """A project's subscription; with no project (the operator), any one."""
    hook = session.get(Webhook, webhook_id[:14])
    if hook is None or (project is not None and hook.project_id != project.id):
        raise NotFound(
            f"Webhook {webhook_id[:20]!r} does not exist; list them: privlink webhook list"
        )
    return hook


def update(
    session: Session,
    *,
    project: Project | None,
    webhook_id: str,
    url: str | None = None,
    events: Sequence[str] | None = None,
    enabled: bool | None = None,
) -> Webhook:
    hook = get(session, project=project, webhook_id=webhook_id)
    if url is not None:
        hook.url = rules.url(url)
    if events is not None:
        hook.events = rules.events(events)
    if enabled is not None:
        hook.enabled = enabled
    return hook


def delete(session: Session, *, project: Project | None, webhook_id: str) -> None:
    session.delete(get(session, project=project, webhook_id=webhook_id))


def enqueue(session: Session, event: Event) -> None:
    """A delivery of `event` to every enabled subscription that wants it."""
    hooks = session.scalars(
        select(Webhook).where(
            Webhook.enabled.is_(True),
            or_(Webhook.project_id.is_(None), Webhook.project_id == event.project_id),
        )
    ).all()
    for hook in hooks:
        if rules.matches(hook.events, event.object_kind, event.state):
            session.add(WebhookDelivery(webhook_id=hook.id, event=event))


def deliveries(
    session: Session, *, project: Project | None, webhook_id: str, limit: int = 100
) -> list[WebhookDelivery]:
    """The newest `limit` deliveries of a subscription, newest last."""
    hook = get(session, project=project, webhook_id=webhook_id)
    rows = session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == hook.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(min(limit, MAX_LISTED))
    ).all()
    return list(reversed(rows))


def redeliver(
    session: Session, *, project: Project | None, webhook_id: str, delivery_id: int
) -> WebhookDelivery:
    """Send a delivery again now (delivered or given up: a receiver lost it, or was down
    longer than the retries lasted)."""
    hook = get(session, project=project, webhook_id=webhook_id)
    found = session.get(WebhookDelivery, delivery_id)
    if found is None or found.webhook_id != hook.id:
        raise NotFound(f"Delivery {delivery_id} is not one of webhook {hook.id}")
    again = WebhookDelivery(webhook_id=hook.id, event_id=found.event_id)
    session.add(again)
    session.flush()
    return again


def payload(event: Event, project_name: str) -> dict[str, Any]:
    """What a receiver gets: the event as the status history shows it."""
    return {
        "id": f"evt_{event.id}",
        "type": f"{event.object_kind}.{event.state}",
        "created_at": event.created_at.isoformat(),
        "project": project_name,
        "service": event.service_name,
        "object": {"kind": event.object_kind, "id": event.object_id, "state": event.state},
        "message": event.message,
        "actor": event.actor,
    }

"""Webhook subscriptions: a project's (`/v1/project/{p}/webhooks`) and the whole
install's (`/v1/admin/webhooks`, operators), with their deliveries."""

# No `from __future__ import annotations`: the routes' annotations name `owner`, a
# dependency given to `_routes`, so they must be evaluated where they are written.
from collections.abc import Callable
from enum import Enum
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from privlink.api.deps import AdminDep, ProjectDep, SessionDep
from privlink.api.errors import documented
from privlink.api.schemas.common import Deleted
from privlink.api.schemas.webhooks import (
    DeliveriesPublic,
    DeliveryPublic,
    WebhookCreate,
    WebhookCreated,
    WebhookPublic,
    WebhooksPublic,
    WebhookUpdate,
)
from privlink.services import webhooks
from privlink.services.entities import Project

router = APIRouter(tags=["webhooks"], responses=documented(400, 401, 403, 404))


def _project(project: ProjectDep) -> Project | None:
    return project


def _install(_admin: AdminDep) -> Project | None:
    return None  # the operator's subscriptions: every project's events


def _routes(prefix: str, owner: Callable[..., Project | None], tags: list[str | Enum]) -> None:
    """The same routes for a project's subscriptions and for the install's."""

    @router.post(prefix, status_code=201, tags=tags, responses=documented(409))
    def create_webhook(
        body: WebhookCreate, project: Annotated[Project | None, Depends(owner)], session: SessionDep
    ) -> WebhookCreated:
        created = webhooks.create(
            session,
            project=project,
            url=body.url,
            secret=body.secret,
            events=body.events,
            description=body.description,
        )
        shown = WebhookPublic.model_validate(created.webhook).model_dump()
        return WebhookCreated(**shown, secret=created.secret)

    @router.get(prefix, tags=tags)
    def list_webhooks(
        project: Annotated[Project | None, Depends(owner)], session: SessionDep
    ) -> WebhooksPublic:
        found = webhooks.list_webhooks(session, project=project)
        return WebhooksPublic(webhooks=[WebhookPublic.model_validate(w) for w in found])

    @router.put(prefix + "/{webhook_id}", tags=tags)
    def update_webhook(
        webhook_id: str,
        body: WebhookUpdate,
        project: Annotated[Project | None, Depends(owner)],
        session: SessionDep,
    ) -> WebhookPublic:
        hook = webhooks.update(
            session,
            project=project,
            webhook_id=webhook_id,
            url=body.url,
            events=body.events,
            enabled=body.enabled,
        )
        return WebhookPublic.model_validate(hook)

    @router.delete(prefix + "/{webhook_id}", tags=tags)
    def delete_webhook(
        webhook_id: str, project: Annotated[Project | None, Depends(owner)], session: SessionDep
    ) -> Deleted:
        webhooks.delete(session, project=project, webhook_id=webhook_id)
        return Deleted(deleted=webhook_id)

    @router.get(prefix + "/{webhook_id}/deliveries", tags=tags)
    def list_deliveries(
        webhook_id: str,
        project: Annotated[Project | None, Depends(owner)],
        session: SessionDep,
        limit: int = Query(100, ge=1, le=webhooks.MAX_LISTED),
    ) -> DeliveriesPublic:
        rows = webhooks.deliveries(session, project=project, webhook_id=webhook_id, limit=limit)
        return DeliveriesPublic(deliveries=[DeliveryPublic.model_validate(d) for d in rows])

    @router.post(prefix + "/{webhook_id}/deliveries/{delivery_id}/redeliver", tags=tags)
    def redeliver(
        webhook_id: str,
        delivery_id: int,
        project: Annotated[Project | None, Depends(owner)],
        session: SessionDep,
    ) -> DeliveryPublic:
        again = webhooks.redeliver(
            session, project=project, webhook_id=webhook_id, delivery_id=delivery_id
        )
        return DeliveryPublic.model_validate(again)


_routes("/v1/project/{project}/webhooks", _project, ["webhooks"])
_routes("/v1/admin/webhooks", _install, ["webhooks", "admin"])

"""Outbound AWS PrivateLink (native): the deployment's links into customers' endpoint services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query
from pydantic import Field

from privlink.api.deps import CallerDep, ProjectDep, SessionDep
from privlink.api.errors import documented
from privlink.api.routes.privatelinks import BASE, actor
from privlink.api.routes.services import ServiceName
from privlink.api.schemas.events import ReportPublic
from privlink.api.schemas.outbound import (
    AttachmentCreate,
    AttachmentPublic,
    AttachmentsPublic,
    LinkPublic,
    LinksPublic,
    OutboundCreate,
)
from privlink.services import diagnose, outbound, registry
from privlink.state import StateDep

router = APIRouter(tags=["outbound privatelink"], responses=documented(400, 401, 404))
LINKS = BASE + "/outbound"
LINK = LINKS + "/{link_id}"


@router.get(BASE + "/outbound-info", responses=documented(503))
def info(
    project: ProjectDep, session: SessionDep, state: StateDep, service: str = ServiceName
) -> outbound.DeploymentInfo:
    """The deployment's region, AZ IDs and principal: what the customer builds against."""
    found = registry.get_service(session, project=project, name=service)
    return outbound.info(found, state.platform_cloud())


@router.post(LINKS, status_code=201, responses=documented(403, 409, 503))
def create(
    body: OutboundCreate,
    project: ProjectDep,
    session: SessionDep,
    caller: CallerDep,
    state: StateDep,
    after: BackgroundTasks,
    service: str = ServiceName,
) -> LinkPublic:
    link = outbound.create(
        session,
        project=project,
        service_name=service,
        endpoint_service_name=body.service_name,
        platform=state.platform_cloud(),
        limit=state.settings.outbound_link_limit,
        actor=actor(caller),
    )
    after.add_task(state.changed)  # runs once the transaction is committed
    return LinkPublic.model_validate(link)


@router.get(LINKS)
def list_links(project: ProjectDep, session: SessionDep, service: str = ServiceName) -> LinksPublic:
    links = outbound.list_links(session, project=project, service_name=service)
    return LinksPublic(links=[LinkPublic.model_validate(link) for link in links])


@router.get(LINK)
def get(
    link_id: str, project: ProjectDep, session: SessionDep, service: str = ServiceName
) -> LinkPublic:
    link = outbound.get(session, project=project, service_name=service, link_id=link_id)
    return LinkPublic.model_validate(link)


@router.delete(LINK, responses=documented(409))
def delete(
    link_id: str,
    project: ProjectDep,
    session: SessionDep,
    caller: CallerDep,
    state: StateDep,
    after: BackgroundTasks,
    service: str = ServiceName,
) -> LinkPublic:
    link = outbound.delete(
        session, project=project, service_name=service, link_id=link_id, actor=actor(caller)
    )
    after.add_task(state.changed)
    return LinkPublic.model_validate(link)


@router.get(LINK + "/validate", responses=documented(503))
def validate(
    link_id: str,
    project: ProjectDep,
    session: SessionDep,
    state: StateDep,
    service: str = ServiceName,
    port: Annotated[
        list[Annotated[int, Field(ge=1, le=65535)]] | None,
        Query(max_length=20, description="Ports to try (1-65535)"),
    ] = None,
) -> ReportPublic:
    """Check every hop from the deployment to the customer's targets; name the broken one."""
    link = outbound.get(session, project=project, service_name=service, link_id=link_id)
    return ReportPublic.model_validate(
        diagnose.Report.of(
            diagnose.outbound(state.sessions, state.platform_cloud(), link.id, port or [])
        )
    )


@router.post(LINK + "/attachments", status_code=201, responses=documented(409))
def attach(
    link_id: str,
    body: AttachmentCreate,
    project: ProjectDep,
    session: SessionDep,
    caller: CallerDep,
    service: str = ServiceName,
) -> AttachmentPublic:
    attachment = outbound.attach(
        session,
        project=project,
        service_name=service,
        link_id=link_id,
        kind=body.kind,
        name=body.name,
        actor=actor(caller),
    )
    return AttachmentPublic.model_validate(attachment)


@router.get(LINK + "/attachments")
def attachments(
    link_id: str, project: ProjectDep, session: SessionDep, service: str = ServiceName
) -> AttachmentsPublic:
    link = outbound.get(session, project=project, service_name=service, link_id=link_id)
    return AttachmentsPublic(
        attachments=[AttachmentPublic.model_validate(a) for a in link.attachments]
    )


@router.delete(LINK + "/attachments/{attachment_id}")
def detach(
    link_id: str,
    attachment_id: str,
    project: ProjectDep,
    session: SessionDep,
    caller: CallerDep,
    service: str = ServiceName,
) -> AttachmentPublic:
    attachment = outbound.detach(
        session,
        project=project,
        service_name=service,
        link_id=link_id,
        attachment_id=attachment_id,
        actor=actor(caller),
    )
    return AttachmentPublic.model_validate(attachment)

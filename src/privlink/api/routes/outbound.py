"""Outbound AWS PrivateLink (native): the deployment's links into customers' endpoint services."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query
from pydantic import Field

from privlink.api.deps import CallerDep, ProjectDep, SessionDep, StateDep
from privlink.api.routes.privatelinks import BASE, actor
from privlink.api.routes.services import ServiceName
from privlink.api.schemas import Body
from privlink.reconcile import diagnose
from privlink.services import outbound, registry

router = APIRouter(tags=["outbound privatelink"])
LINKS = BASE + "/outbound"
LINK = LINKS + "/{link_id}"


class OutboundCreate(Body):
    service_name: str = Field(max_length=200, description="The customer's endpoint service name")


class AttachmentCreate(Body):
    kind: str = Field(max_length=40, description="What uses the link, e.g. data-integration")
    name: str = Field(max_length=200, description="Its name")


@router.get(BASE + "/outbound-info")
def info(
    project: ProjectDep, session: SessionDep, state: StateDep, service: str = ServiceName
) -> dict[str, Any]:
    """The deployment's region, AZ IDs and principal: what the customer builds against."""
    found = registry.get_service(session, project=project, name=service)
    return outbound.info(found, state.platform_cloud())


@router.post(LINKS, status_code=201)
def create(
    body: OutboundCreate,
    project: ProjectDep,
    session: SessionDep,
    caller: CallerDep,
    state: StateDep,
    after: BackgroundTasks,
    service: str = ServiceName,
) -> dict[str, Any]:
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
    return outbound.public(link)


@router.get(LINKS)
def list_links(
    project: ProjectDep, session: SessionDep, service: str = ServiceName
) -> dict[str, Any]:
    links = outbound.list_links(session, project=project, service_name=service)
    return {"links": [outbound.public(link) for link in links]}


@router.get(LINK)
def get(
    link_id: str, project: ProjectDep, session: SessionDep, service: str = ServiceName
) -> dict[str, Any]:
    link = outbound.get(session, project=project, service_name=service, link_id=link_id)
    return outbound.public(link)


@router.delete(LINK)
def delete(
    link_id: str,
    project: ProjectDep,
    session: SessionDep,
    caller: CallerDep,
    state: StateDep,
    after: BackgroundTasks,
    service: str = ServiceName,
) -> dict[str, Any]:
    link = outbound.delete(
        session, project=project, service_name=service, link_id=link_id, actor=actor(caller)
    )
    after.add_task(state.changed)
    return outbound.public(link)


@router.get(LINK + "/validate")
def validate(
    link_id: str,
    project: ProjectDep,
    session: SessionDep,
    state: StateDep,
    service: str = ServiceName,
    port: Annotated[list[int] | None, Query(max_length=20, description="Ports to try")] = None,
) -> dict[str, Any]:
    """Check every hop from the deployment to the customer's targets; name the broken one."""
    link = outbound.get(session, project=project, service_name=service, link_id=link_id)
    return diagnose.report(
        diagnose.outbound(state.sessions, state.platform_cloud(), link.id, port or [])
    )


@router.post(LINK + "/attachments", status_code=201)
def attach(
    link_id: str,
    body: AttachmentCreate,
    project: ProjectDep,
    session: SessionDep,
    caller: CallerDep,
    service: str = ServiceName,
) -> dict[str, Any]:
    attachment = outbound.attach(
        session,
        project=project,
        service_name=service,
        link_id=link_id,
        kind=body.kind,
        name=body.name,
        actor=actor(caller),
    )
    return outbound.attachment_public(attachment)


@router.get(LINK + "/attachments")
def attachments(
    link_id: str, project: ProjectDep, session: SessionDep, service: str = ServiceName
) -> dict[str, Any]:
    link = outbound.get(session, project=project, service_name=service, link_id=link_id)
    return {"attachments": [outbound.attachment_public(a) for a in link.attachments]}


@router.delete(LINK + "/attachments/{attachment_id}")
def detach(
    link_id: str,
    attachment_id: str,
    project: ProjectDep,
    session: SessionDep,
    caller: CallerDep,
    service: str = ServiceName,
) -> dict[str, Any]:
    attachment = outbound.detach(
        session,
        project=project,
        service_name=service,
        link_id=link_id,
        attachment_id=attachment_id,
        actor=actor(caller),
    )
    return outbound.attachment_public(attachment)

"""Inbound AWS PrivateLink (`avn service privatelink aws …`), its status, events, the CA."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Query
from pydantic import Field

from privlink.api.deps import CallerDep, ProjectDep, SessionDep, StateDep
from privlink.api.routes.services import ServiceName
from privlink.api.schemas import Body
from privlink.domain import catalog
from privlink.domain.errors import InvalidInput
from privlink.reconcile import diagnose
from privlink.services import certificates, events, privatelinks, registry

router = APIRouter(tags=["privatelink"])
BASE = "/v1/project/{project}/service/{service}/privatelink/aws"


class PrivatelinkCreate(Body):
    # Lists longer than the 16 allowed still parse, so the refusal can say why.
    principals: list[str] | None = Field(None, max_length=100)
    supported_regions: list[str] | None = Field(None, max_length=20)


def actor(caller: CallerDep) -> str:
    return "admin" if caller.is_admin else f"token {caller.token_id}"


def _check_regions(
    session: SessionDep, project: ProjectDep, service: str, body: PrivatelinkCreate
) -> None:
    """avn may send `supported_regions`; endpoints can only be in the service's own region."""
    own = catalog.cloud_region(
        registry.get_service(session, project=project, name=service).cloud_name
    )
    extra = [r for r in body.supported_regions or [] if r != own]
    if extra:
        raise InvalidInput(
            f"Cross-region connections are not supported; endpoints must be in {own} "
            f"(got {', '.join(extra)})"
        )


@router.post(BASE)
def create(
    body: PrivatelinkCreate,
    project: ProjectDep,
    session: SessionDep,
    caller: CallerDep,
    state: StateDep,
    after: BackgroundTasks,
    service: str = ServiceName,
) -> dict[str, Any]:
    _check_regions(session, project, service, body)
    pl = privatelinks.create(
        session,
        project=project,
        service_name=service,
        principals=body.principals,
        pool=range(state.settings.port_pool[0], state.settings.port_pool[1] + 1),
        actor=actor(caller),
    )
    after.add_task(state.changed)  # runs once the transaction is committed
    return privatelinks.public(pl)


@router.get(BASE)
def get(project: ProjectDep, session: SessionDep, service: str = ServiceName) -> dict[str, Any]:
    return privatelinks.public(privatelinks.get(session, project=project, service_name=service))


@router.put(BASE)
def update(
    body: PrivatelinkCreate,
    project: ProjectDep,
    session: SessionDep,
    caller: CallerDep,
    state: StateDep,
    after: BackgroundTasks,
    service: str = ServiceName,
) -> dict[str, Any]:
    _check_regions(session, project, service, body)
    pl = privatelinks.update(
        session,
        project=project,
        service_name=service,
        principals=body.principals,
        actor=actor(caller),
    )
    after.add_task(state.changed)
    return privatelinks.public(pl)


@router.delete(BASE)
def delete(
    project: ProjectDep,
    session: SessionDep,
    caller: CallerDep,
    state: StateDep,
    after: BackgroundTasks,
    service: str = ServiceName,
) -> dict[str, Any]:
    pl = privatelinks.delete(session, project=project, service_name=service, actor=actor(caller))
    after.add_task(state.changed)
    return privatelinks.public(pl)


@router.post(BASE + "/refresh")
async def refresh(
    project: ProjectDep, session: SessionDep, state: StateDep, service: str = ServiceName
) -> dict[str, Any]:
    """Look at the customers' endpoints now rather than at the next resync."""
    pl = privatelinks.get(session, project=project, service_name=service)
    if state.runner is None:
        privatelinks.refresh(session, project=project, service_name=service)
        return {}
    privatelinks.refresh_allowed(pl)
    # Read-only here: the step writes in its own transactions.
    await state.runner.refresh(pl.id)
    return {}


@router.get(BASE + "/connections")
def connections(
    project: ProjectDep, session: SessionDep, service: str = ServiceName
) -> dict[str, Any]:
    pl = privatelinks.get(session, project=project, service_name=service)
    return {"connections": [privatelinks.connection_public(c) for c in pl.connections]}


@router.get(BASE + "/connections/{connection_id}")
def connection(
    connection_id: str,
    project: ProjectDep,
    session: SessionDep,
    service: str = ServiceName,
) -> dict[str, Any]:
    pl = privatelinks.get(session, project=project, service_name=service)
    return privatelinks.connection_public(privatelinks.get_connection(pl, connection_id))


@router.get(BASE + "/status")
def status(project: ProjectDep, session: SessionDep, service: str = ServiceName) -> dict[str, Any]:
    """Native: state with reason, the listener port of every component and broker, connections."""
    pl = privatelinks.get(session, project=project, service_name=service)
    return privatelinks.status_public(pl)


@router.get(BASE + "/validate")
def validate(
    project: ProjectDep,
    session: SessionDep,
    state: StateDep,
    service: str = ServiceName,
    connection: str | None = Query(None, max_length=20, description="Only this plc… ID"),
) -> dict[str, Any]:
    """Check every hop from customer endpoints to the nodes; name the broken one."""
    pl = privatelinks.get(session, project=project, service_name=service)
    if connection is not None:
        privatelinks.get_connection(pl, connection)
    return diagnose.report(diagnose.inbound(state.sessions, state.platform, pl.id, connection))


@router.get("/v1/project/{project}/kms/ca")
def project_ca(project: ProjectDep, session: SessionDep) -> dict[str, Any]:
    return {"certificate": certificates.project_ca(session, project)}


@router.get("/v1/project/{project}/events")
def list_events(
    project: ProjectDep,
    session: SessionDep,
    service: str | None = Query(None, max_length=64),
    object_id: str | None = Query(None, max_length=64),
    limit: int = Query(100, ge=1, le=events.MAX_LIMIT),
) -> dict[str, Any]:
    rows = events.list_events(
        session, project=project, service=service, object_id=object_id, limit=limit
    )
    return {"events": [events.event_public(e) for e in rows]}

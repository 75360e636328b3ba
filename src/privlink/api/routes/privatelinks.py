"""Inbound AWS PrivateLink (`avn service privatelink aws …`), its status, events, the CA."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Query

from privlink.api.deps import CallerDep, ProjectDep, SessionDep
from privlink.api.errors import documented
from privlink.api.routes.services import ServiceName
from privlink.api.schemas.events import EventPublic, EventsPublic, ReportPublic
from privlink.api.schemas.privatelinks import (
    CaPublic,
    ConnectionDetail,
    ConnectionPublic,
    ConnectionsPublic,
    PortPublic,
    PrivatelinkCreate,
    PrivatelinkDetail,
    PrivatelinkPublic,
    Refreshed,
    StatusPublic,
)
from privlink.domain import catalog
from privlink.domain.errors import InvalidInput
from privlink.services import certificates, diagnose, events, privatelinks, registry
from privlink.state import StateDep

router = APIRouter(tags=["privatelink"], responses=documented(400, 401, 404))
BASE = "/v1/project/{project}/service/{service}/privatelink/aws"


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


@router.post(BASE, responses=documented(409))
def create(
    body: PrivatelinkCreate,
    project: ProjectDep,
    session: SessionDep,
    caller: CallerDep,
    state: StateDep,
    after: BackgroundTasks,
    service: str = ServiceName,
) -> PrivatelinkPublic:
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
    return PrivatelinkPublic.model_validate(pl)


@router.get(BASE)
def get(project: ProjectDep, session: SessionDep, service: str = ServiceName) -> PrivatelinkPublic:
    pl = privatelinks.get(session, project=project, service_name=service)
    return PrivatelinkPublic.model_validate(pl)


@router.put(BASE, responses=documented(409))
def update(
    body: PrivatelinkCreate,
    project: ProjectDep,
    session: SessionDep,
    caller: CallerDep,
    state: StateDep,
    after: BackgroundTasks,
    service: str = ServiceName,
) -> PrivatelinkPublic:
    _check_regions(session, project, service, body)
    pl = privatelinks.update(
        session,
        project=project,
        service_name=service,
        principals=body.principals,
        actor=actor(caller),
    )
    after.add_task(state.changed)
    return PrivatelinkPublic.model_validate(pl)


@router.delete(BASE, responses=documented(409))
def delete(
    project: ProjectDep,
    session: SessionDep,
    caller: CallerDep,
    state: StateDep,
    after: BackgroundTasks,
    service: str = ServiceName,
) -> PrivatelinkPublic:
    pl = privatelinks.delete(session, project=project, service_name=service, actor=actor(caller))
    after.add_task(state.changed)
    return PrivatelinkPublic.model_validate(pl)


@router.post(BASE + "/refresh", responses=documented(409))
async def refresh(
    project: ProjectDep, session: SessionDep, state: StateDep, service: str = ServiceName
) -> Refreshed:
    """Look at the customers' endpoints now rather than at the next resync."""
    pl = privatelinks.get(session, project=project, service_name=service)
    if state.runner is None:
        privatelinks.refresh(session, project=project, service_name=service)
        return Refreshed()
    privatelinks.refresh_allowed(pl)
    # Read-only here: the step writes in its own transactions.
    await state.runner.refresh(pl.id)
    return Refreshed()


@router.get(BASE + "/connections")
def connections(
    project: ProjectDep, session: SessionDep, service: str = ServiceName
) -> ConnectionsPublic:
    pl = privatelinks.get(session, project=project, service_name=service)
    return ConnectionsPublic(
        connections=[ConnectionPublic.model_validate(c) for c in pl.connections]
    )


@router.get(BASE + "/connections/{connection_id}")
def connection(
    connection_id: str,
    project: ProjectDep,
    session: SessionDep,
    service: str = ServiceName,
) -> ConnectionPublic:
    pl = privatelinks.get(session, project=project, service_name=service)
    return ConnectionPublic.model_validate(privatelinks.get_connection(pl, connection_id))


def _add_status_routes(base: str, provider: str) -> None:
    """`status` and `validate` of a PrivateLink in one cloud (same object, same hops)."""

    @router.get(base + "/status", name=f"{provider}_status")
    def status(
        project: ProjectDep, session: SessionDep, service: str = ServiceName
    ) -> StatusPublic:
        """Native: state with reason, the listener port of every component and broker,
        connections."""
        pl = privatelinks.get(session, project=project, service_name=service, provider=provider)
        return StatusPublic(
            privatelink=PrivatelinkDetail.model_validate(pl),
            ports=[PortPublic.model_validate(p) for p in privatelinks.port_views(pl)],
            connections=[
                ConnectionDetail.model_validate(c) for c in privatelinks.connection_views(pl)
            ],
        )

    @router.get(base + "/validate", name=f"{provider}_validate")
    def validate(
        project: ProjectDep,
        session: SessionDep,
        state: StateDep,
        service: str = ServiceName,
        connection: str | None = Query(None, max_length=20, description="Only this plc… ID"),
    ) -> ReportPublic:
        """Check every hop from customer endpoints to the nodes; name the broken one."""
        pl = privatelinks.get(session, project=project, service_name=service, provider=provider)
        if connection is not None:
            privatelinks.get_connection(pl, connection)
        return ReportPublic.model_validate(
            diagnose.Report.of(
                diagnose.inbound(
                    state.sessions, state.platform, pl.id, connection, state.resolver()
                )
            )
        )


for _base, _provider in (
    (BASE, "aws"),
    ("/v1/project/{project}/service/{service}/privatelink/azure", "azure"),
    ("/v1/project/{project}/service/{service}/privatelink/google", "google"),
):
    _add_status_routes(_base, _provider)


@router.get("/v1/project/{project}/kms/ca")
def project_ca(project: ProjectDep, session: SessionDep) -> CaPublic:
    return CaPublic(certificate=certificates.project_ca(session, project))


@router.get("/v1/project/{project}/events")
def list_events(
    project: ProjectDep,
    session: SessionDep,
    service: str | None = Query(None, max_length=64),
    object_id: str | None = Query(None, max_length=64),
    limit: int = Query(100, ge=1, le=events.MAX_LIMIT),
) -> EventsPublic:
    rows = events.list_events(
        session, project=project, service=service, object_id=object_id, limit=limit
    )
    return EventsPublic(events=[EventPublic.model_validate(e) for e in rows])

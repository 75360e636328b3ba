"""Inbound Azure Private Link and Google Private Service Connect (`avn service privatelink
azure|google …`): the same PrivateLink object as AWS's, in those clouds' shapes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks

from privlink.api.deps import CallerDep, ProjectDep, SessionDep
from privlink.api.errors import documented
from privlink.api.routes.privatelinks import actor
from privlink.api.routes.services import ServiceName
from privlink.api.schemas.privatelinks import (
    AzureConnectionPublic,
    AzureConnectionsPublic,
    AzureCreate,
    AzurePublic,
    GoogleConnectionPublic,
    GoogleConnectionsPublic,
    GoogleCreate,
    GooglePublic,
    Refreshed,
    UserIpUpdate,
)
from privlink.domain import catalog
from privlink.domain import privatelink as rules
from privlink.services import privatelinks
from privlink.state import AppState, StateDep

router = APIRouter(tags=["privatelink"], responses=documented(400, 401, 404))
AZURE = "/v1/project/{project}/service/{service}/privatelink/azure"
GOOGLE = "/v1/project/{project}/service/{service}/privatelink/google"


def _azure(pl: object) -> AzurePublic:
    return AzurePublic.model_validate(pl)


def _google(pl: object) -> GooglePublic:
    return GooglePublic.model_validate(pl)


def _azure_connection(conn: object) -> AzureConnectionPublic:
    return AzureConnectionPublic.model_validate(conn)


def _google_connection(conn: object) -> GoogleConnectionPublic:
    return GoogleConnectionPublic.model_validate(conn)


def _networks(state: AppState, service_cloud: str) -> privatelinks.Networks:
    """Where the cloud shows a consumer endpoint's subnets (the local cloud), a reported
    address is checked against them."""
    return state.platform(catalog.cloud_region(service_cloud)).endpoint_networks


async def _refresh(
    state: AppState, session: SessionDep, project: ProjectDep, service: str, provider: str
) -> object:
    """Look at the customers' endpoints now rather than at the next resync."""
    if state.runner is None:
        return privatelinks.refresh(
            session, project=project, service_name=service, provider=provider
        )
    pl = privatelinks.get(session, project=project, service_name=service, provider=provider)
    privatelinks.refresh_allowed(pl)
    await state.runner.refresh(pl.id)  # read-only here: the step writes in its own transactions
    return pl


def _common_routes(
    base: str,
    provider: str,
    public: type[AzurePublic] | type[GooglePublic],
    listed: type[AzureConnectionsPublic] | type[GoogleConnectionsPublic],
) -> None:
    """get, delete and the connection list: the same in both clouds, in their shapes."""

    @router.get(base, response_model=public, name=f"{provider}_get")
    def get(project: ProjectDep, session: SessionDep, service: str = ServiceName) -> Any:
        pl = privatelinks.get(session, project=project, service_name=service, provider=provider)
        return public.model_validate(pl)

    @router.delete(
        base, response_model=public, responses=documented(409), name=f"{provider}_delete"
    )
    def delete(
        project: ProjectDep,
        session: SessionDep,
        caller: CallerDep,
        state: StateDep,
        after: BackgroundTasks,
        service: str = ServiceName,
    ) -> Any:
        pl = privatelinks.delete(
            session, project=project, service_name=service, actor=actor(caller), provider=provider
        )
        after.add_task(state.changed)
        return public.model_validate(pl)

    @router.get(base + "/connections", response_model=listed, name=f"{provider}_connections")
    def connections(project: ProjectDep, session: SessionDep, service: str = ServiceName) -> Any:
        pl = privatelinks.get(session, project=project, service_name=service, provider=provider)
        return listed.model_validate({"connections": pl.connections}, from_attributes=True)


_common_routes(AZURE, rules.AZURE, AzurePublic, AzureConnectionsPublic)
_common_routes(GOOGLE, rules.GOOGLE, GooglePublic, GoogleConnectionsPublic)


# -- Azure ----------------------------------------------------------------------
@router.post(AZURE, responses=documented(409))
def azure_create(
    body: AzureCreate,
    project: ProjectDep,
    session: SessionDep,
    caller: CallerDep,
    state: StateDep,
    after: BackgroundTasks,
    service: str = ServiceName,
) -> AzurePublic:
    pl = privatelinks.create(
        session,
        project=project,
        service_name=service,
        principals=body.user_subscription_ids,
        pool=range(state.settings.port_pool[0], state.settings.port_pool[1] + 1),
        actor=actor(caller),
        provider=rules.AZURE,
    )
    after.add_task(state.changed)
    return _azure(pl)


@router.put(AZURE, responses=documented(409))
def azure_update(
    body: AzureCreate,
    project: ProjectDep,
    session: SessionDep,
    caller: CallerDep,
    state: StateDep,
    after: BackgroundTasks,
    service: str = ServiceName,
) -> AzurePublic:
    pl = privatelinks.update(
        session,
        project=project,
        service_name=service,
        principals=body.user_subscription_ids,
        actor=actor(caller),
        provider=rules.AZURE,
    )
    after.add_task(state.changed)
    return _azure(pl)


@router.post(AZURE + "/refresh", responses=documented(409))
async def azure_refresh(
    project: ProjectDep, session: SessionDep, state: StateDep, service: str = ServiceName
) -> Refreshed:
    """Look for new private endpoints now rather than at the next resync."""
    await _refresh(state, session, project, service, rules.AZURE)
    return Refreshed()


@router.post(AZURE + "/connections/{connection_id}/approve", responses=documented(409))
def azure_approve(
    connection_id: str,
    project: ProjectDep,
    session: SessionDep,
    caller: CallerDep,
    state: StateDep,
    after: BackgroundTasks,
    service: str = ServiceName,
) -> AzureConnectionPublic:
    """Approve a connection waiting in pending-user-approval."""
    pl = privatelinks.get(session, project=project, service_name=service, provider=rules.AZURE)
    conn = privatelinks.approve(session, pl, connection_id, user_ip=None, actor=actor(caller))
    after.add_task(state.changed)
    return _azure_connection(conn)


@router.put(AZURE + "/connections/{connection_id}", responses=documented(409))
def azure_update_connection(
    connection_id: str,
    body: UserIpUpdate,
    project: ProjectDep,
    session: SessionDep,
    caller: CallerDep,
    state: StateDep,
    after: BackgroundTasks,
    service: str = ServiceName,
) -> AzureConnectionPublic:
    """Report the private endpoint's address: the connection's name points there."""
    pl = privatelinks.get(session, project=project, service_name=service, provider=rules.AZURE)
    conn = privatelinks.set_user_ip(
        session,
        pl,
        connection_id,
        user_ip=body.user_ip_address,
        actor=actor(caller),
        networks=_networks(state, pl.service.cloud_name),
    )
    after.add_task(state.changed)
    return _azure_connection(conn)


# -- Google ---------------------------------------------------------------------
@router.post(GOOGLE, responses=documented(409))
def google_create(
    body: GoogleCreate,
    project: ProjectDep,
    session: SessionDep,
    caller: CallerDep,
    state: StateDep,
    after: BackgroundTasks,
    service: str = ServiceName,
) -> GooglePublic:
    pl = privatelinks.create(
        session,
        project=project,
        service_name=service,
        principals=None,
        pool=range(state.settings.port_pool[0], state.settings.port_pool[1] + 1),
        actor=actor(caller),
        provider=rules.GOOGLE,
    )
    after.add_task(state.changed)
    return _google(pl)


@router.post(GOOGLE + "/refresh", responses=documented(409))
async def google_refresh(
    project: ProjectDep, session: SessionDep, state: StateDep, service: str = ServiceName
) -> GooglePublic:
    """Look for new endpoints now; answers the attachment as it is."""
    return _google(await _refresh(state, session, project, service, rules.GOOGLE))


@router.post(GOOGLE + "/connections/{connection_id}/approve", responses=documented(409))
def google_approve(
    connection_id: str,
    body: UserIpUpdate,
    project: ProjectDep,
    session: SessionDep,
    caller: CallerDep,
    state: StateDep,
    after: BackgroundTasks,
    service: str = ServiceName,
) -> GoogleConnectionPublic:
    """Approve a waiting connection with its endpoint's address."""
    pl = privatelinks.get(session, project=project, service_name=service, provider=rules.GOOGLE)
    conn = privatelinks.approve(
        session,
        pl,
        connection_id,
        user_ip=body.user_ip_address,
        actor=actor(caller),
        networks=_networks(state, pl.service.cloud_name),
    )
    after.add_task(state.changed)
    return _google_connection(conn)

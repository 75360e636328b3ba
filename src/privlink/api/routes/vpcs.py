"""Project VPCs (`avn vpc …`), service placement (`avn service update`) and availability."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Path

from privlink.api.deps import CallerDep, ProjectDep, SessionDep
from privlink.api.errors import documented
from privlink.api.routes.services import ServiceName
from privlink.api.schemas.services import (
    ServiceEnvelope,
    ServicePublic,
    ServiceTypePublic,
    ServiceTypesPublic,
    ServiceUpdate,
)
from privlink.api.schemas.vpcs import (
    AvailabilityPublic,
    VpcCreate,
    VpcPublic,
    VpcsPublic,
)
from privlink.domain import catalog
from privlink.services import registry, service_config, service_view, vpcs
from privlink.state import StateDep

router = APIRouter(tags=["project vpcs"], responses=documented(400, 401, 404))
VpcId = Path(max_length=36, description="Project VPC ID")


@router.post("/v1/project/{project}/vpcs", status_code=201, responses=documented(409))
def create_vpc(
    body: VpcCreate,
    project: ProjectDep,
    session: SessionDep,
    state: StateDep,
    after: BackgroundTasks,
) -> VpcPublic:
    vpc = vpcs.create_vpc(
        session, project=project, cloud_name=body.cloud_name, network_cidr=body.network_cidr
    )
    after.add_task(state.changed)  # runs once the transaction is committed
    return VpcPublic.model_validate(vpc)


@router.get("/v1/project/{project}/vpcs")
def list_vpcs(project: ProjectDep, session: SessionDep) -> VpcsPublic:
    rows = vpcs.list_vpcs(session, project=project)
    return VpcsPublic(vpcs=[VpcPublic.model_validate(v) for v in rows])


@router.get("/v1/project/{project}/vpcs/{vpc_id}")
def get_vpc(project: ProjectDep, session: SessionDep, vpc_id: str = VpcId) -> VpcPublic:
    return VpcPublic.model_validate(vpcs.get_vpc(session, project=project, vpc_id=vpc_id))


@router.delete("/v1/project/{project}/vpcs/{vpc_id}", responses=documented(409))
def delete_vpc(
    project: ProjectDep,
    session: SessionDep,
    state: StateDep,
    after: BackgroundTasks,
    vpc_id: str = VpcId,
) -> VpcPublic:
    vpc = vpcs.delete_vpc(session, project=project, vpc_id=vpc_id)
    after.add_task(state.changed)  # runs once the transaction is committed
    return VpcPublic.model_validate(vpc)


@router.put("/v1/project/{project}/service/{service}", responses=documented(403, 409))
def update_service(
    body: ServiceUpdate,
    project: ProjectDep,
    session: SessionDep,
    caller: CallerDep,
    state: StateDep,
    after: BackgroundTasks,
    service: str = ServiceName,
) -> ServiceEnvelope:
    found = registry.get_service(session, project=project, name=service)
    if "project_vpc_id" in body.model_fields_set:
        vpcs.place_service(session, service=found, project_vpc_id=body.project_vpc_id)
    if body.plan is not None:
        service_config.change_plan(session, found, body.plan, operator=caller.is_admin)
    if service_config.update_user_config(session, found, body.user_config or {}):
        after.add_task(state.changed)  # runs once the transaction is committed
    return ServiceEnvelope(service=ServicePublic.of(service_view.view(session, found)))


@router.get("/v1/project/{project}/service-types/{service_type}")
def get_service_type(
    project: ProjectDep, service_type: str = Path(max_length=32)
) -> ServiceTypePublic:
    return _service_type(service_type)


@router.get("/v1/project/{project}/service_types")
def list_service_types(project: ProjectDep) -> ServiceTypesPublic:
    return ServiceTypesPublic(
        service_types={kind: _service_type(kind) for kind in catalog.COMPONENTS}
    )


def _service_type(kind: str) -> ServiceTypePublic:
    return ServiceTypePublic(
        service_type=catalog.service_type(kind),
        description=f"{kind} managed by the platform",
        user_config_schema=catalog.user_config_schema(kind),
    )


@router.get("/v1/project/{project}/privatelink-availability")
def privatelink_availability(project: ProjectDep, state: StateDep) -> AvailabilityPublic:
    price = state.settings.privatelink_price_usd
    return AvailabilityPublic(privatelink_availability=vpcs.availability(project, price))

"""Project VPCs (`avn vpc …`), service placement (`avn service update`) and availability."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Path
from pydantic import Field

from privlink.api.deps import ProjectDep, SessionDep, StateDep
from privlink.api.routes.services import ServiceName
from privlink.api.schemas import Body
from privlink.domain import catalog
from privlink.services import registry, service_config, vpcs
from privlink.services.service_view import service_public

router = APIRouter(tags=["project vpcs"])
VpcId = Path(max_length=36, description="Project VPC ID")


class VpcCreate(Body):
    cloud_name: str = Field(max_length=64)
    network_cidr: str = Field(max_length=18)
    peering_connections: list[Any] | None = Field(None, max_length=0)


class ServiceUpdate(Body):
    """What `avn service update` sends; fields privlink does not manage are accepted as is."""

    plan: str | None = Field(None, max_length=64)
    project_vpc_id: str | None = Field(None, max_length=36)
    user_config: dict[str, Any] | None = None
    cloud: str | None = Field(None, max_length=64)
    powered: bool | None = None
    maintenance: dict[str, Any] | None = None
    termination_protection: bool | None = None
    disk_space_mb: int | None = None
    karapace: bool | None = None
    schema_registry_authz: bool | None = None
    disaster_recovery_role: str | None = Field(None, max_length=64)
    cmk_id: str | None = Field(None, max_length=128)


@router.post("/v1/project/{project}/vpcs", status_code=201)
def create_vpc(
    body: VpcCreate,
    project: ProjectDep,
    session: SessionDep,
    state: StateDep,
    after: BackgroundTasks,
) -> dict[str, Any]:
    vpc = vpcs.create_vpc(
        session, project=project, cloud_name=body.cloud_name, network_cidr=body.network_cidr
    )
    after.add_task(state.changed)  # runs once the transaction is committed
    return vpcs.vpc_public(vpc)


@router.get("/v1/project/{project}/vpcs")
def list_vpcs(project: ProjectDep, session: SessionDep) -> dict[str, Any]:
    return {"vpcs": [vpcs.vpc_public(v) for v in vpcs.list_vpcs(session, project=project)]}


@router.get("/v1/project/{project}/vpcs/{vpc_id}")
def get_vpc(project: ProjectDep, session: SessionDep, vpc_id: str = VpcId) -> dict[str, Any]:
    return vpcs.vpc_public(vpcs.get_vpc(session, project=project, vpc_id=vpc_id))


@router.delete("/v1/project/{project}/vpcs/{vpc_id}")
def delete_vpc(
    project: ProjectDep,
    session: SessionDep,
    state: StateDep,
    after: BackgroundTasks,
    vpc_id: str = VpcId,
) -> dict[str, Any]:
    vpc = vpcs.delete_vpc(session, project=project, vpc_id=vpc_id)
    after.add_task(state.changed)  # runs once the transaction is committed
    return vpcs.vpc_public(vpc)


@router.put("/v1/project/{project}/service/{service}")
def update_service(
    body: ServiceUpdate,
    project: ProjectDep,
    session: SessionDep,
    state: StateDep,
    after: BackgroundTasks,
    service: str = ServiceName,
) -> dict[str, Any]:
    found = registry.get_service(session, project=project, name=service)
    if "project_vpc_id" in body.model_fields_set:
        vpcs.place_service(session, service=found, project_vpc_id=body.project_vpc_id)
    if body.plan is not None and body.plan != found.plan:
        found.plan = catalog.plan(body.plan)
    if service_config.update_user_config(session, found, body.user_config or {}):
        after.add_task(state.changed)  # runs once the transaction is committed
    return {"service": service_public(session, found)}


@router.get("/v1/project/{project}/service-types/{service_type}")
def get_service_type(
    project: ProjectDep, service_type: str = Path(max_length=32)
) -> dict[str, Any]:
    return _service_type(service_type)


@router.get("/v1/project/{project}/service_types")
def list_service_types(project: ProjectDep) -> dict[str, Any]:
    return {"service_types": {kind: _service_type(kind) for kind in catalog.COMPONENTS}}


def _service_type(kind: str) -> dict[str, Any]:
    return {
        "service_type": catalog.service_type(kind),
        "description": f"{kind} managed by the platform",
        "user_config_schema": catalog.user_config_schema(kind),
    }


@router.get("/v1/project/{project}/privatelink-availability")
def privatelink_availability(project: ProjectDep) -> dict[str, Any]:
    return {"privatelink_availability": vpcs.availability(project)}

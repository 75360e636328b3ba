"""Services in Aiven's shape (`avn service list|get`) and their native registration."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path
from pydantic import Field

from privlink.api.deps import AdminDep, ProjectDep, SessionDep
from privlink.api.schemas import Body
from privlink.domain import catalog
from privlink.services import registry
from privlink.store.tables import Service

router = APIRouter(tags=["services"])
ServiceName = Path(max_length=64, description="Service name")


class ServiceRegister(Body):
    service_name: str = Field(max_length=64)
    service_type: str = Field(max_length=32)
    cloud_name: str = Field(max_length=64)
    plan: str = Field(max_length=64)
    components: dict[str, list[str]] = Field(
        description="Component name -> nodes as HOST:PORT", max_length=8
    )


def public(service: Service) -> dict[str, Any]:
    """A service as Aiven's API shows it (the fields the avn CLI reads)."""
    components = [
        {
            "component": component,
            "host": host,
            "port": port,
            "route": "dynamic",
            "usage": "primary",
            "ssl": True,
            "privatelink_connection_id": None,
        }
        for component, nodes in service.components.items()
        for host, port in [catalog.node(node) for node in nodes[:1]]
    ]
    return {
        "service_name": service.name,
        "service_type": service.service_type,
        "state": service.state,
        "cloud_name": service.cloud_name,
        "plan": service.plan,
        "create_time": service.created_at.isoformat(),
        "update_time": service.updated_at.isoformat(),
        "user_config": service.user_config,
        "components": components,
        "node_count": max((len(n) for n in service.components.values()), default=0),
        "users": [],
        "service_notifications": [],
        "project_vpc_id": service.project_vpc_id,
    }


@router.get("/v1/project/{project}/service")
def list_services(project: ProjectDep, session: SessionDep) -> dict[str, Any]:
    return {"services": [public(s) for s in registry.list_services(session, project=project)]}


@router.get("/v1/project/{project}/service/{service}")
def get_service(
    project: ProjectDep, session: SessionDep, service: str = ServiceName
) -> dict[str, Any]:
    return {"service": public(registry.get_service(session, project=project, name=service))}


@router.post("/v1/project/{project}/service", status_code=201, tags=["admin"])
def register_service(
    body: ServiceRegister, project: ProjectDep, session: SessionDep, _admin: AdminDep
) -> dict[str, Any]:
    """Register a managed service and its nodes (operator only)."""
    service = registry.register_service(
        session,
        project=project,
        name=body.service_name,
        service_type=body.service_type,
        cloud_name=body.cloud_name,
        plan=body.plan,
        components=body.components,
    )
    return {"service": public(service)}

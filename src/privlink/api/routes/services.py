"""Services in Aiven's shape (`avn service list|get`) and their native registration."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path
from pydantic import Field

from privlink.api.deps import AdminDep, ProjectDep, SessionDep
from privlink.api.schemas import Body
from privlink.services import registry
from privlink.services.service_view import service_public

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
    users: dict[str, str] | None = Field(
        None, description="User name -> password (default: avnadmin, new password)", max_length=16
    )


@router.get("/v1/project/{project}/service")
def list_services(project: ProjectDep, session: SessionDep) -> dict[str, Any]:
    return {
        "services": [
            service_public(session, s) for s in registry.list_services(session, project=project)
        ]
    }


@router.get("/v1/project/{project}/service/{service}")
def get_service(
    project: ProjectDep, session: SessionDep, service: str = ServiceName
) -> dict[str, Any]:
    return {
        "service": service_public(
            session, registry.get_service(session, project=project, name=service)
        )
    }


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
        users=body.users,
    )
    return {"service": service_public(session, service)}

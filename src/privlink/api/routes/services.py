"""Services in Aiven's shape (`avn service list|get`) and their native registration."""

from __future__ import annotations

from fastapi import APIRouter, Path

from privlink.api.deps import AdminDep, ProjectDep, SessionDep
from privlink.api.errors import documented
from privlink.api.schemas.services import (
    ServerCertificatePublic,
    ServiceEnvelope,
    ServicePublic,
    ServiceRegister,
    ServicesPublic,
)
from privlink.services import privatelinks, registry, service_view

router = APIRouter(tags=["services"], responses=documented(400, 401, 404))
ServiceName = Path(max_length=64, description="Service name")


@router.get("/v1/project/{project}/service")
def list_services(project: ProjectDep, session: SessionDep) -> ServicesPublic:
    rows = registry.list_services(session, project=project)
    return ServicesPublic(services=[ServicePublic.of(v) for v in service_view.views(session, rows)])


@router.get("/v1/project/{project}/service/{service}")
def get_service(
    project: ProjectDep, session: SessionDep, service: str = ServiceName
) -> ServiceEnvelope:
    row = registry.get_service(session, project=project, name=service)
    return ServiceEnvelope(service=ServicePublic.of(service_view.view(session, row)))


@router.post(
    "/v1/project/{project}/service", status_code=201, tags=["admin"], responses=documented(403, 409)
)
def register_service(
    body: ServiceRegister, project: ProjectDep, session: SessionDep, _admin: AdminDep
) -> ServiceEnvelope:
    """Register a managed service and its nodes (operator only)."""
    row = registry.register_service(
        session,
        project=project,
        name=body.service_name,
        service_type=body.service_type,
        cloud_name=body.cloud_name,
        plan=body.plan,
        components=body.components,
        users=body.users,
    )
    return ServiceEnvelope(service=ServicePublic.of(service_view.view(session, row)))


@router.get(
    "/v1/project/{project}/service/{service}/tls",
    tags=["admin"],
    responses=documented(403),
)
def server_certificate(
    project: ProjectDep, session: SessionDep, _admin: AdminDep, service: str = ServiceName
) -> ServerCertificatePublic:
    """The service's server certificate and key for its nodes (operator only): it covers
    the nodes' hosts and every active connection's names, and is issued again when those
    change (a `certificate` event in the history says when)."""
    found = privatelinks.server_certificate(session, project=project, service_name=service)
    return ServerCertificatePublic(
        certificate=found.certificate, private_key=found.private_key, ca=found.ca, names=found.names
    )

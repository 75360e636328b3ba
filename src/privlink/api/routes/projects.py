"""Projects (Aiven's shape) and API tokens (native, admin only)."""

from __future__ import annotations

from fastapi import APIRouter, Path

from privlink.api.deps import AdminDep, CallerDep, ProjectDep, SessionDep
from privlink.api.errors import documented
from privlink.api.schemas.projects import (
    ProjectCreate,
    ProjectEnvelope,
    ProjectPublic,
    ProjectsPublic,
    TokenCreate,
    TokenCreated,
    TokenPublic,
    TokensPublic,
)
from privlink.services import tenancy
from privlink.services.entities import Project

router = APIRouter(tags=["projects"], responses=documented(401))


def _project(project: Project) -> ProjectPublic:
    return ProjectPublic(project_name=project.name, create_time=project.created_at)


@router.get("/v1/project")
def list_projects(session: SessionDep, caller: CallerDep) -> ProjectsPublic:
    projects = tenancy.list_projects(session, caller=caller)
    return ProjectsPublic(projects=[_project(p) for p in projects])


@router.post("/v1/project", status_code=201, responses=documented(400, 403, 409))
def create_project(body: ProjectCreate, session: SessionDep, _admin: AdminDep) -> ProjectEnvelope:
    return ProjectEnvelope(project=_project(tenancy.create_project(session, name=body.project)))


@router.get("/v1/project/{project}", responses=documented(400, 404))
def get_project(project: ProjectDep) -> ProjectEnvelope:
    return ProjectEnvelope(project=_project(project))


@router.get("/v1/admin/tokens", tags=["admin"], responses=documented(403))
def list_tokens(session: SessionDep, _admin: AdminDep, project: str | None = None) -> TokensPublic:
    return TokensPublic(
        tokens=[TokenPublic.of(t) for t in tenancy.list_tokens(session, project=project)]
    )


@router.post(
    "/v1/admin/tokens", status_code=201, tags=["admin"], responses=documented(400, 403, 404)
)
def create_token(body: TokenCreate, session: SessionDep, _admin: AdminDep) -> TokenCreated:
    issued = tenancy.create_token(
        session, project=body.project, role=body.wanted_role(), description=body.description
    )
    return TokenCreated(**TokenPublic.of(issued.token).model_dump(), full_token=issued.secret)


@router.delete("/v1/admin/tokens/{token_id}", tags=["admin"], responses=documented(400, 403, 404))
def revoke_token(
    session: SessionDep, _admin: AdminDep, token_id: str = Path(max_length=16)
) -> TokenPublic:
    return TokenPublic.of(tenancy.revoke_token(session, token_id=token_id))

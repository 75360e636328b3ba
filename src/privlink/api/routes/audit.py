"""The audit log: a project's (its admins and readers) and the whole install's (operators)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from privlink.api.deps import AdminDep, ProjectDep, SessionDep
from privlink.api.errors import documented
from privlink.api.schemas.audit import AuditPublic, AuditRecordPublic
from privlink.services import audit

router = APIRouter(tags=["audit"], responses=documented(400, 401, 404))
Limit = Annotated[int, Query(ge=1, le=audit.MAX_LIMIT, description="At most this many")]
Before = Annotated[int | None, Query(ge=1, le=2**62, description="Only records older than this ID")]
Actor = Annotated[str | None, Query(max_length=32, description="A token ID, or reconciler")]


@router.get("/v1/project/{project}/audit")
def project_audit(
    project: ProjectDep,
    session: SessionDep,
    limit: Limit = 100,
    before: Before = None,
    actor: Actor = None,
) -> AuditPublic:
    """Changes to this project: by its tokens, by operators, and by the reconciler."""
    rows = audit.read(session, project=project.name, limit=limit, before=before, actor=actor)
    return AuditPublic(records=[AuditRecordPublic.model_validate(r) for r in rows])


@router.get("/v1/admin/audit", tags=["admin"], responses=documented(403))
def install_audit(
    session: SessionDep,
    _admin: AdminDep,
    limit: Limit = 100,
    before: Before = None,
    actor: Actor = None,
    project: Annotated[str | None, Query(max_length=63)] = None,
) -> AuditPublic:
    """Every change on the install, or one project's."""
    rows = audit.read(session, project=project, limit=limit, before=before, actor=actor)
    return AuditPublic(records=[AuditRecordPublic.model_validate(r) for r in rows])

"""The audit log: a project's (its admins and readers) and the whole install's (operators)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from privlink.api.deps import AdminDep, ProjectDep, SessionDep
from privlink.api.errors import documented
from privlink.api.schemas.audit import AuditPublic, AuditRecordPublic
from privlink.services import audit

router = APIRouter(tags=["audit"], responses=documented(400, 401, 404))


@dataclass
class Page:
    """The filters both logs take: newest first, at most `limit`, older than `before`."""

    limit: Annotated[int, Query(ge=1, le=audit.MAX_LIMIT, description="At most this many")] = 100
    before: Annotated[
        int | None, Query(ge=1, le=2**62, description="Only records older than this ID")
    ] = None
    actor: Annotated[str | None, Query(max_length=32, description="A token ID, or reconciler")] = (
        None
    )

    def read(self, session: Session, project: str | None) -> AuditPublic:
        rows = audit.read(
            session, project=project, limit=self.limit, before=self.before, actor=self.actor
        )
        return AuditPublic(records=[AuditRecordPublic.model_validate(r) for r in rows])


PageDep = Annotated[Page, Depends()]


@router.get("/v1/project/{project}/audit")
def project_audit(project: ProjectDep, session: SessionDep, page: PageDep) -> AuditPublic:
    """Changes to this project: by its tokens, by operators, and by the reconciler."""
    return page.read(session, project.name)


@router.get("/v1/admin/audit", tags=["admin"], responses=documented(403))
def install_audit(
    session: SessionDep,
    _admin: AdminDep,
    page: PageDep,
    project: Annotated[str | None, Query(max_length=63)] = None,
) -> AuditPublic:
    """Every change on the install, or one project's."""
    return page.read(session, project)

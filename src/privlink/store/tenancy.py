"""Queries for projects and API tokens."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from privlink.store.tables import ApiToken, Project


def get_project(session: Session, *, name: str) -> Project | None:
    return session.scalar(select(Project).where(Project.name == name))


def list_projects(session: Session) -> Sequence[Project]:
    return session.scalars(select(Project).order_by(Project.name)).all()


def add_project(session: Session, *, name: str) -> Project:
    project = Project(name=name)
    session.add(project)
    session.flush()
    return project


def get_token(session: Session, *, token_id: str) -> ApiToken | None:
    return session.scalar(select(ApiToken).where(ApiToken.token_id == token_id))


def list_tokens(session: Session, *, project_id: int | None = None) -> Sequence[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)
    if project_id is not None:
        query = query.where(ApiToken.project_id == project_id)
    return session.scalars(query).all()


def add_token(
    session: Session,
    *,
    token_id: str,
    secret_hash: str,
    project: Project | None,
    role: str,
    description: str,
) -> ApiToken:
    token = ApiToken(
        token_id=token_id,
        secret_hash=secret_hash,
        project=project,
        role=role,
        description=description,
    )
    session.add(token)
    session.flush()
    return token


def revoke_token(token: ApiToken, *, at: datetime) -> None:
    token.revoked_at = at


def has_live_admin_token(session: Session) -> bool:
    query = select(ApiToken.id).where(ApiToken.role == "operator", ApiToken.revoked_at.is_(None))
    return session.scalar(query.limit(1)) is not None

"""Queries for registered services."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from privlink.store.tables import Project, Service


def get_service(session: Session, *, project: Project, name: str) -> Service | None:
    return session.scalar(
        select(Service).where(Service.project_id == project.id, Service.name == name)
    )


def list_services(session: Session, *, project: Project) -> Sequence[Service]:
    return session.scalars(
        select(Service).where(Service.project_id == project.id).order_by(Service.name)
    ).all()


def add_service(session: Session, service: Service) -> Service:
    session.add(service)
    session.flush()
    return service

"""Tenancy tables: projects and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from privlink.store.base import Base, utcnow


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # PrivateLink is a limited-availability feature the operator turns on per project.
    privatelink_enabled: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="project")


class ApiToken(Base):
    """An API token; only a SHA-256 digest of its secret is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_id: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)

    project: Mapped[Project | None] = relationship(back_populates="tokens")


class Service(Base):
    """A managed service the platform runs, registered by the operator."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_services_project_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    service_type: Mapped[str] = mapped_column(String(32))
    cloud_name: Mapped[str] = mapped_column(String(64))
    plan: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(32), default="RUNNING")
    # {"kafka": ["10.0.0.1:9092", ...], "kafka_connect": [...]}
    components: Mapped[dict[str, Any]] = mapped_column(default=dict)
    user_config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    project_vpc_id: Mapped[str | None] = mapped_column(
        ForeignKey("project_vpcs.id"), index=True, default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    project: Mapped[Project] = relationship()


class ProjectVpc(Base):
    """A project's platform-side network in one cloud; services sit in it to use PrivateLink."""

    __tablename__ = "project_vpcs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    cloud_name: Mapped[str] = mapped_column(String(64))
    network_cidr: Mapped[str] = mapped_column(String(18))
    state: Mapped[str] = mapped_column(String(16), default="APPROVED")
    reason: Mapped[str] = mapped_column(String(500), default="")
    cloud_vpc_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

"""Request and response bodies: `XCreate` in, `XPublic` out."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    """Request bodies refuse unknown fields so typos are reported, not ignored."""

    model_config = ConfigDict(extra="forbid")


class ProjectCreate(Body):
    project: str = Field(max_length=63, description="Project name")


class ProjectPublic(BaseModel):
    project_name: str
    create_time: datetime


class ProjectEnvelope(BaseModel):
    project: ProjectPublic


class ProjectsPublic(BaseModel):
    projects: list[ProjectPublic]


class TokenCreate(Body):
    project: str | None = Field(None, max_length=63)
    admin: bool = False
    description: str = Field("", max_length=200)


class TokenPublic(BaseModel):
    token_id: str
    project: str | None
    admin: bool
    description: str
    create_time: datetime
    revoked: bool


class TokenCreated(TokenPublic):
    full_token: str = Field(description="Shown only once; store it now")


class TokensPublic(BaseModel):
    tokens: list[TokenPublic]

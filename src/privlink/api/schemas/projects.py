"""Projects (Aiven's shape) and API tokens (native, operators only)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from privlink.api.schemas.common import Body, Public, UtcTime
from privlink.services.entities import ApiToken


class ProjectCreate(Body):
    project: str = Field(max_length=63, description="Project name")


class ProjectPublic(Public):
    project_name: str = Field(validation_alias="name")
    create_time: UtcTime = Field(validation_alias="created_at")


class ProjectDetail(ProjectPublic):
    """Native: with what the operator switched on."""

    privatelink_enabled: bool


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
    create_time: UtcTime
    revoked: bool

    @classmethod
    def of(cls, token: ApiToken) -> TokenPublic:
        return cls(
            token_id=token.token_id,
            project=token.project.name if token.project else None,
            admin=token.is_admin,
            description=token.description,
            create_time=token.created_at,
            revoked=token.revoked_at is not None,
        )


class TokenCreated(TokenPublic):
    full_token: str = Field(description="Shown only once; store it now")


class TokensPublic(BaseModel):
    tokens: list[TokenPublic]

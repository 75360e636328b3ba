"""Projects (Aiven's shape) and API tokens (native, operators only)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from privlink.api.schemas.common import Body, Public, UtcTime
from privlink.domain.roles import Role
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
    role: Role | None = Field(
        None,
        description="admin (default with a project), read-only, or operator (no project)",
    )
    admin: bool = Field(False, description="Older spelling of role=operator")
    description: str = Field("", max_length=200)

    def wanted_role(self) -> Role:
        if self.role is not None:
            return self.role
        return Role.OPERATOR if self.admin else Role.ADMIN


class TokenPublic(BaseModel):
    token_id: str
    project: str | None
    role: Role
    admin: bool = Field(description="Whether the role is operator")
    description: str
    create_time: UtcTime
    revoked: bool

    @classmethod
    def of(cls, token: ApiToken) -> TokenPublic:
        return cls(
            token_id=token.token_id,
            project=token.project.name if token.project else None,
            role=Role(token.role),
            admin=token.role == Role.OPERATOR,
            description=token.description,
            create_time=token.created_at,
            revoked=token.revoked_at is not None,
        )


class TokenCreated(TokenPublic):
    full_token: str = Field(description="Shown only once; store it now")


class TokensPublic(BaseModel):
    tokens: list[TokenPublic]

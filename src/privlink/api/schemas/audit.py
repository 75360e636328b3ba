"""The audit log as the API shows it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from privlink.api.schemas.common import Public, UtcTime


class AuditRecordPublic(Public):
    id: int
    time: UtcTime = Field(validation_alias="at")
    project: str | None
    actor: str
    actor_description: str
    role: str
    action: str
    target: str
    address: str
    outcome: str
    status: int | None
    detail: str


class AuditPublic(BaseModel):
    """Newest first; pass the last record's `id` as `before` for the page after."""

    records: list[AuditRecordPublic]

"""The status history and the hop-by-hop validation report."""

from __future__ import annotations

from pydantic import BaseModel, Field

from privlink.api.schemas.common import Public, UtcTime


class EventPublic(Public):
    time: UtcTime = Field(validation_alias="created_at")
    service_name: str
    kind: str = Field(validation_alias="object_kind")
    object_id: str
    state: str
    message: str
    actor: str


class EventsPublic(BaseModel):
    events: list[EventPublic]


class HopPublic(Public):
    hop: str
    ok: bool
    detail: str
    fix: str


class ReportPublic(Public):
    """Every hop in order; `broken` names the first that does not hold."""

    ok: bool
    broken: str | None
    hops: list[HopPublic]

"""What every schema shares: strict request bodies, UTC timestamps, the error body."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict


class Body(BaseModel):
    """Request bodies refuse unknown fields so typos are reported, not ignored."""

    model_config = ConfigDict(extra="forbid")


class Public(BaseModel):
    """Response bodies, read from rows and views by attribute."""

    model_config = ConfigDict(from_attributes=True, validate_by_name=True, validate_by_alias=True)


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcTime = Annotated[datetime, AfterValidator(_utc)]


class ErrorItem(BaseModel):
    message: str
    status: int


class ErrorBody(BaseModel):
    """Every error answer (what avn reads): a sentence saying what was wrong and what to do."""

    message: str
    errors: list[ErrorItem]


class Deleted(BaseModel):
    deleted: str | int

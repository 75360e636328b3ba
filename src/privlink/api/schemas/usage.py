"""Usage per project, service and hour."""

from __future__ import annotations

from pydantic import BaseModel, Field

from privlink.api.schemas.common import UtcTime


class UsageRow(BaseModel):
    hour: UtcTime = Field(description="The hour's start (UTC)")
    service: str
    privatelink_hours: float = Field(description="Hours the inbound PrivateLink existed")
    connection_hours: float = Field(description="Connection-hours spent `active`")
    outbound_link_hours: float = Field(description="Hours outbound links existed")
    bytes_in: int = Field(description="Bytes from clients through the service's endpoints")
    bytes_out: int = Field(description="Bytes to clients through them")
    price_usd: str = Field(description="(PrivateLink + outbound link hours) x the hourly price")


class UsagePublic(BaseModel):
    start: UtcTime = Field(serialization_alias="from")
    end: UtcTime = Field(serialization_alias="to")
    price_usd_per_hour: str
    usage: list[UsageRow]
    total_price_usd: str

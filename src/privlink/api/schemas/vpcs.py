"""Project VPCs (`avn vpc …`) and where PrivateLink is available."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from privlink.api.schemas.common import Body, Public, UtcTime
from privlink.services.vpcs import Offer


class VpcCreate(Body):
    cloud_name: str = Field(max_length=64)
    network_cidr: str = Field(max_length=18)
    peering_connections: list[Any] | None = Field(None, max_length=0)


class VpcPublic(Public):
    project_vpc_id: str = Field(validation_alias="id")
    cloud_name: str
    network_cidr: str
    state: str
    create_time: UtcTime = Field(validation_alias="created_at")
    update_time: UtcTime = Field(validation_alias="updated_at")
    peering_connections: list[Any] = Field(default_factory=list)


class VpcsPublic(BaseModel):
    vpcs: list[VpcPublic]


class AvailabilityPublic(BaseModel):
    privatelink_availability: list[Offer]

"""Outbound AWS PrivateLink (native): links, their attachments, the deployment's facts."""

from __future__ import annotations

from pydantic import BaseModel, Field

from privlink.api.schemas.common import Body, Public, UtcTime


class OutboundCreate(Body):
    service_name: str = Field(max_length=200, description="The customer's endpoint service name")


class AttachmentCreate(Body):
    kind: str = Field(max_length=40, description="What uses the link, e.g. data-integration")
    name: str = Field(max_length=200, description="Its name")


class AttachmentPublic(Public):
    attachment_id: str = Field(validation_alias="id")
    kind: str
    name: str
    create_time: UtcTime = Field(validation_alias="created_at")


class AttachmentsPublic(BaseModel):
    attachments: list[AttachmentPublic]


class LinkPublic(Public):
    link_id: str = Field(validation_alias="id")
    service_name: str = Field(validation_alias="endpoint_service_name")
    endpoint_service_id: str
    state: str
    reason: str
    az_ids: list[str]
    vpc_endpoint_id: str | None
    dns_name: str | None
    addresses: list[str]
    attachments: list[AttachmentPublic]
    create_time: UtcTime = Field(validation_alias="created_at")
    update_time: UtcTime = Field(validation_alias="updated_at")


class LinksPublic(BaseModel):
    links: list[LinkPublic]

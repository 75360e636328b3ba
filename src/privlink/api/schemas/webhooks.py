"""Webhook subscriptions and their deliveries."""

from __future__ import annotations

from pydantic import BaseModel, Field

from privlink.api.schemas.common import Body, Public, UtcTime


class WebhookCreate(Body):
    url: str = Field(max_length=2000, description="http(s) URL the events are POSTed to")
    secret: str | None = Field(
        None, max_length=256, description="Signs each delivery (16+ characters); made if left out"
    )
    events: list[str] | None = Field(
        None,
        max_length=50,
        description="Kinds (privatelink, connection, outbound, certificate, vpc) or "
        "KIND.STATE (connection.active); empty: every event",
    )
    description: str = Field("", max_length=200)


class WebhookUpdate(Body):
    url: str | None = Field(None, max_length=2000)
    events: list[str] | None = Field(None, max_length=50)
    enabled: bool | None = None


class WebhookPublic(Public):
    id: str
    url: str
    events: list[str]
    enabled: bool
    description: str
    create_time: UtcTime = Field(validation_alias="created_at")


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="Shown once: verify each delivery's Privlink-Signature")


class WebhooksPublic(BaseModel):
    webhooks: list[WebhookPublic]


class DeliveryPublic(Public):
    id: int
    event_id: int
    status: str = Field(description="pending, delivered or failed (given up after 24 h)")
    attempts: int
    last_status: int | None
    last_error: str
    next_attempt_at: UtcTime
    created_at: UtcTime
    delivered_at: UtcTime | None


class DeliveriesPublic(BaseModel):
    deliveries: list[DeliveryPublic]

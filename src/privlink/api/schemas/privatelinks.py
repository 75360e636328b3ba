"""Inbound AWS PrivateLink (`avn service privatelink aws …`), its status, the project CA."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from privlink.api.schemas.common import Body, Public, UtcTime


class PrivatelinkCreate(Body):
    # Lists longer than the 16 allowed still parse, so the refusal can say why.
    principals: list[str] | None = Field(None, max_length=100)
    supported_regions: list[str] | None = Field(None, max_length=20)


class PrivatelinkPublic(Public):
    """What `avn service privatelink aws get` prints."""

    aws_service_id: str | None
    aws_service_name: str | None
    principals: list[str]
    state: str


class PrivatelinkDetail(PrivatelinkPublic):
    id: str
    reason: str
    generation: int
    observed_generation: int
    create_time: UtcTime = Field(validation_alias="created_at")
    update_time: UtcTime = Field(validation_alias="updated_at")


class ConnectionPublic(Public):
    privatelink_connection_id: str = Field(validation_alias="id")
    vpc_endpoint_id: str
    dns_name: str
    state: str


class ConnectionsPublic(BaseModel):
    connections: list[ConnectionPublic]


class ConnectionPortPublic(Public):
    component: str
    node: int | None = Field(description="Broker index; null for the whole component")
    host: str = Field(description="The name clients of this connection use for it")
    port: int
    access: bool = Field(description="privatelink_access is on for the component")
    healthy: bool = Field(description="A node behind the listener passes health checks")
    reachable: bool = Field(description="Carries bytes now: connection active, access on, healthy")


class ConnectionDetail(ConnectionPublic):
    host: str = Field(description="The connection's name: <plc>.<service>.<project>.<zone>")
    ports: list[ConnectionPortPublic] = Field(default_factory=list)


class PortPublic(Public):
    component: str
    node: int | None = Field(description="Broker index; null for the whole component")
    target: str | None = Field(description="The node's HOST:PORT; null for the component")
    port: int = Field(description="The load balancer's listener port")
    healthy: bool
    access: bool = Field(description="privatelink_access is on for the component")


class StatusPublic(BaseModel):
    """Native: the object with its reason, every listener port, every connection."""

    privatelink: PrivatelinkDetail
    ports: list[PortPublic]
    connections: list[ConnectionDetail]


class Refreshed(BaseModel):
    """An empty object, as avn expects after a refresh."""

    model_config = ConfigDict(extra="forbid")


class CaPublic(BaseModel):
    certificate: str = Field(description="The project CA certificate, PEM")


# -- Azure Private Link (`avn service privatelink azure …`) ----------------------
class AzureCreate(Body):
    # Lists longer than the 16 allowed still parse, so the refusal can say why.
    user_subscription_ids: list[str] = Field(max_length=100)


def _none_if_empty(value: str | None) -> str | None:
    return value or None


OrNone = Annotated[str | None, AfterValidator(_none_if_empty)]


class AzurePublic(Public):
    """What `avn service privatelink azure get` prints."""

    azure_service_alias: OrNone = Field(validation_alias="aws_service_name")
    azure_service_id: OrNone = Field(validation_alias="resource_id")
    user_subscription_ids: list[str] = Field(validation_alias="principals")
    state: str
    message: str = Field(validation_alias="reason")


class AzureConnectionPublic(Public):
    privatelink_connection_id: str = Field(validation_alias="id")
    private_endpoint_id: str = Field(validation_alias="resource_id")
    state: str
    user_ip_address: str | None


class AzureConnectionsPublic(BaseModel):
    connections: list[AzureConnectionPublic]


class UserIpUpdate(Body):
    user_ip_address: str = Field(max_length=100)


# -- Google Private Service Connect (`avn service privatelink google …`) ----------
class GoogleCreate(Body):
    """avn sends `{}`; nothing is asked for (each connection is approved by itself)."""


class GooglePublic(Public):
    """What `avn service privatelink google get` prints."""

    google_service_attachment: OrNone = Field(validation_alias="aws_service_name")
    state: str
    message: str = Field(validation_alias="reason")


class GoogleConnectionPublic(Public):
    privatelink_connection_id: str = Field(validation_alias="id")
    psc_connection_id: OrNone
    state: str
    user_ip_address: str | None


class GoogleConnectionsPublic(BaseModel):
    connections: list[GoogleConnectionPublic]

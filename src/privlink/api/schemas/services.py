"""Services in Aiven's shape (`avn service list|get|update`), their registration and types."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

from privlink.api.schemas.common import Body, Public, UtcTime
from privlink.services.service_view import ServiceView


class ServiceRegister(Body):
    service_name: str = Field(max_length=64)
    service_type: str = Field(max_length=32)
    cloud_name: str = Field(max_length=64)
    plan: str = Field(max_length=64)
    components: dict[str, list[str]] = Field(
        description="Component name -> nodes as HOST:PORT", max_length=8
    )
    users: dict[str, str] | None = Field(
        None, description="User name -> password (default: avnadmin, new password)", max_length=16
    )


class ServiceUpdate(Body):
    """What `avn service update` sends; fields privlink does not manage are accepted as is."""

    plan: str | None = Field(None, max_length=64)
    project_vpc_id: str | None = Field(None, max_length=36)
    user_config: dict[str, Any] | None = None
    cloud: str | None = Field(None, max_length=64)
    powered: bool | None = None
    maintenance: dict[str, Any] | None = None
    termination_protection: bool | None = None
    disk_space_mb: int | None = None
    karapace: bool | None = None
    schema_registry_authz: bool | None = None
    disaster_recovery_role: str | None = Field(None, max_length=64)
    cmk_id: str | None = Field(None, max_length=128)


class ComponentPublic(Public):
    """One way to reach a component: `dynamic` (directly) or `privatelink` (per connection)."""

    component: str
    host: str
    port: int
    route: str
    usage: str
    ssl: bool
    privatelink_connection_id: str | None
    kafka_authentication_method: str | None = Field(
        None, description="Kafka only: one entry per authentication method"
    )

    @model_serializer(mode="wrap")
    def _only_kafka_has_a_method(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("kafka_authentication_method") is None:
            data.pop("kafka_authentication_method", None)
        return data


class ServicePublic(Public):
    service_name: str
    service_type: str
    state: str
    cloud_name: str
    plan: str
    create_time: UtcTime
    update_time: UtcTime
    user_config: dict[str, Any]
    components: list[ComponentPublic]
    node_count: int
    users: list[dict[str, Any]]
    connection_info: dict[str, Any] = Field(default_factory=dict)
    service_notifications: list[Any] = Field(default_factory=list)
    project_vpc_id: str | None

    @classmethod
    def of(cls, view: ServiceView) -> ServicePublic:
        row = view.service
        return cls(
            service_name=row.name,
            service_type=row.service_type,
            state=row.state,
            cloud_name=row.cloud_name,
            plan=row.plan,
            create_time=row.created_at,
            update_time=row.updated_at,
            user_config=row.user_config,
            components=[ComponentPublic.model_validate(c) for c in view.components],
            node_count=view.node_count,
            users=[dict(u) for u in view.users],
            project_vpc_id=row.project_vpc_id,
        )


class ServiceEnvelope(BaseModel):
    service: ServicePublic


class ServicesPublic(BaseModel):
    services: list[ServicePublic]


class ServiceTypePublic(BaseModel):
    service_type: str
    description: str
    user_config_schema: dict[str, Any]


class ServiceTypesPublic(BaseModel):
    service_types: dict[str, ServiceTypePublic]


class ServerCertificatePublic(BaseModel):
    """A service's TLS server certificate and key, for the platform to install (operator only)."""

    certificate: str = Field(description="PEM, signed by the project CA")
    private_key: str = Field(description="PEM (PKCS#8)")
    ca: str = Field(description="The project CA certificate, PEM")
    names: list[str] = Field(description="What the certificate covers (its SANs)")

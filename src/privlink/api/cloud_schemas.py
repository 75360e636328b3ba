"""Request bodies of the local cloud's customer API (`/v1/cloud/…`)."""

from __future__ import annotations

from pydantic import Field

from privlink.api.schemas import Body

Name = Field(min_length=1, max_length=32)
Id = Field(min_length=1, max_length=64)


class AccountCreate(Body):
    name: str = Field(min_length=1, max_length=63)


class VpcCreate(Body):
    cidr: str = Field("10.0.0.0/16", max_length=18)


class SubnetCreate(Body):
    vpc_id: str = Id
    az_id: str = Field(min_length=1, max_length=16)


class SecurityGroupCreate(Body):
    vpc_id: str = Id
    name: str = Field(min_length=1, max_length=255)


class IngressRule(Body):
    cidr: str = Field(max_length=18)
    from_port: int = Field(ge=0, le=65535)
    to_port: int = Field(ge=0, le=65535)


class HealthCheckSpec(Body):
    interval: float = Field(10.0, ge=1, le=300)
    timeout: float | None = Field(None, gt=0, le=300, description="Default: 5 s or the interval")
    healthy_threshold: int = Field(3, ge=2, le=10)
    unhealthy_threshold: int = Field(3, ge=2, le=10)
    port: int | None = Field(None, ge=1, le=65535)


class TargetGroupCreate(Body):
    name: str = Name
    port: int = Field(ge=1, le=65535)
    health_check: HealthCheckSpec = HealthCheckSpec()
    proxy_protocol_v2: bool = False
    deregistration_delay: float = Field(300.0, ge=0, le=3600)
    client_token: str | None = Field(None, max_length=64)


class TargetSpec(Body):
    host: str = Field(min_length=1, max_length=64)
    port: int = Field(ge=1, le=65535)


class Targets(Body):
    targets: list[TargetSpec] = Field(min_length=1, max_length=100)


class LoadBalancerCreate(Body):
    name: str = Name
    subnet_ids: list[str] = Field(min_length=1, max_length=6)
    client_token: str | None = Field(None, max_length=64)


class ListenerCreate(Body):
    port: int = Field(ge=1, le=65535)
    target_group: str = Name


class EndpointServiceCreate(Body):
    load_balancers: list[str] = Field(min_length=1, max_length=5)
    acceptance_required: bool = True
    client_token: str | None = Field(None, max_length=64)


class Permissions(Body):
    add: list[str] = Field(default_factory=list, max_length=100)
    remove: list[str] = Field(default_factory=list, max_length=100)


class Connections(Body):
    endpoint_ids: list[str] = Field(min_length=1, max_length=100)


class EndpointCreate(Body):
    vpc_id: str = Id
    service_name: str = Field(min_length=1, max_length=128)
    subnet_ids: list[str] = Field(min_length=1, max_length=16)
    security_group_ids: list[str] = Field(default_factory=list, max_length=5)
    principal: str | None = Field(None, max_length=2048)
    client_token: str | None = Field(None, max_length=64)

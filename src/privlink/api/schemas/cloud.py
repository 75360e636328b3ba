"""Bodies of the local cloud's customer API (`/v1/cloud/…`); answers that are the driver
contract's own views (`cloud.contract`) are declared with those dataclasses."""

from __future__ import annotations

from pydantic import BaseModel, Field

from privlink.api.schemas.common import Body, Public
from privlink.cloud import contract as c

Name = Field(min_length=1, max_length=32)
# AWS: up to 64 ASCII characters; an empty token is refused rather than taken as none.
ClientToken = Field(None, min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")
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
    client_token: str | None = ClientToken


class TargetSpec(Body):
    host: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9.:-]*$",
        description="An IP address or host name",
    )
    port: int = Field(ge=1, le=65535)


class Targets(Body):
    targets: list[TargetSpec] = Field(min_length=1, max_length=100)


class LoadBalancerCreate(Body):
    name: str = Name
    subnet_ids: list[str] = Field(min_length=1, max_length=6)
    client_token: str | None = ClientToken


class ListenerCreate(Body):
    port: int = Field(ge=1, le=65535)
    target_group: str = Name


class EndpointServiceCreate(Body):
    load_balancers: list[str] = Field(min_length=1, max_length=5)
    acceptance_required: bool = True
    client_token: str | None = ClientToken


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
    client_token: str | None = ClientToken
    private_dns_enabled: bool = Field(
        False, description="The service's verified private DNS name answers with this endpoint"
    )
    address: str | None = Field(
        None,
        max_length=64,
        description="Azure and Google: the endpoint's private address, inside its subnet",
    )


class DnsZoneCreate(Body):
    name: str = Field(min_length=1, max_length=255, description="e.g. example.com")


class DnsZonePublic(BaseModel):
    id: str
    name: str


class DnsZonesPublic(BaseModel):
    zones: list[DnsZonePublic]


class DnsRecordBody(Body):
    name: str = Field(min_length=1, max_length=255)
    type: str = Field(max_length=8, description="A, CNAME or TXT")
    values: list[str] = Field(default_factory=list, max_length=32)
    ttl: int = Field(60, ge=1, le=86400)


class DnsChange(Body):
    """One batch, all or nothing. A delete names the record set (its values are ignored)."""

    upsert: list[DnsRecordBody] = Field(default_factory=list, max_length=100)
    delete: list[DnsRecordBody] = Field(default_factory=list, max_length=100)


class DnsRecordsPublic(BaseModel):
    records: list[DnsRecordBody]


class PrivateDnsName(Body):
    name: str | None = Field(
        None, max_length=255, description="e.g. api.example.com or *.example.com; null removes it"
    )


class PrivateDnsConfig(BaseModel):
    name: str | None = None
    state: str = Field("", description="pendingVerification, verified or failed")
    type: str = "TXT"
    record_name: str = Field("", description="Where the domain's owner puts the TXT record")
    value: str = Field("", description="The TXT record's value")


class AccountPublic(Public):
    account_id: str = Field(validation_alias="id")
    name: str
    principal: str = Field(description="The account's root principal ARN")
    azure_subscription_id: str = Field(description="The account as an Azure subscription")
    gcp_project: str = Field(description="The account as a Google Cloud project")


NEXT_PAGE = Field(
    None, description="Pass as page_token for the next page; none after the last page"
)


class AccountsPublic(BaseModel):
    accounts: list[AccountPublic]


class VpcPublic(Public):
    id: str
    region: str
    cidr: str
    private_range: str = Field(description="The loopback range its addresses come from")


class VpcsPublic(BaseModel):
    vpcs: list[VpcPublic]


class SubnetPublic(Public):
    id: str
    vpc_id: str
    az_id: str
    cidr: str
    private_range: str | None = None


class SubnetsPublic(BaseModel):
    subnets: list[SubnetPublic]


class IngressPublic(Public):
    cidr: str
    from_port: int
    to_port: int


class SecurityGroupPublic(Public):
    id: str
    vpc_id: str
    name: str
    ingress: list[IngressPublic]


class SecurityGroupsPublic(BaseModel):
    security_groups: list[SecurityGroupPublic]


class TargetGroupsPublic(BaseModel):
    target_groups: list[c.TargetGroup]
    next_page_token: str | None = NEXT_PAGE


class TargetHealthPublic(BaseModel):
    host: str
    port: int
    state: str
    reason: str


class TargetsHealthPublic(BaseModel):
    targets: list[TargetHealthPublic]


class LoadBalancersPublic(BaseModel):
    load_balancers: list[c.LoadBalancer]
    next_page_token: str | None = NEXT_PAGE


class ListenersPublic(BaseModel):
    listeners: list[c.Listener]


class EndpointServicesPublic(BaseModel):
    endpoint_services: list[c.EndpointService]
    next_page_token: str | None = NEXT_PAGE


class EndpointConnectionsPublic(BaseModel):
    connections: list[c.Endpoint]


class EndpointsPublic(BaseModel):
    endpoints: list[c.Endpoint]
    next_page_token: str | None = NEXT_PAGE

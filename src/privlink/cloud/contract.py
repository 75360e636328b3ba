"""The driver contract: what the reconciler may ask of a cloud, shaped like AWS.

Both drivers implement `CloudDriver`. Rules they honour (see docs/local-cloud.md):
creates take a client token and return the existing resource for a repeated
token; every resource carries the tags it was created with; `find_*` by tags is
how a restarted reconciler adopts what it made before a crash; refusals raise
the errors of `privlink.domain.errors` with a message a person can act on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from privlink.domain import naming
from privlink.domain.cloud import HealthCheck
from privlink.domain.dns import Record

Tags = Mapping[str, str]
DEPLOYMENT_TAG = naming.tag_key(naming.Kind.deployment)  # a deployment's VPC (outbound links)
PROJECT_VPC_TAG = naming.tag_key(naming.Kind.project_vpc)  # a project VPC's platform network


@dataclass(frozen=True)
class Target:
    host: str
    port: int


@dataclass(frozen=True)
class TargetHealthView:
    target: Target
    state: str
    reason: str = ""


@dataclass(frozen=True)
class TargetGroup:
    arn: str
    name: str
    port: int
    health_check: HealthCheck
    proxy_protocol_v2: bool
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadBalancer:
    arn: str
    name: str
    region: str
    subnet_ids: tuple[str, ...]
    az_ids: tuple[str, ...]
    state: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Listener:
    arn: str
    load_balancer_arn: str
    port: int
    target_group_arn: str


@dataclass(frozen=True)
class EndpointService:
    id: str
    name: str
    region: str
    state: str
    acceptance_required: bool
    load_balancer_arns: tuple[str, ...]
    az_ids: tuple[str, ...]
    principals: tuple[str, ...]
    tags: dict[str, str] = field(default_factory=dict)
    supported_ip_address_types: tuple[str, ...] = ("ipv4",)
    # False where the cloud hides a service's principals from consumers (AWS).
    principals_known: bool = True
    resource_id: str = ""  # Azure: the Private Link Service's resource ID


@dataclass(frozen=True)
class Subnet:
    id: str
    vpc_id: str
    az_id: str
    cidr: str


@dataclass(frozen=True)
class EndpointAddress:
    subnet_id: str
    az_id: str
    address: str


@dataclass(frozen=True)
class Endpoint:
    id: str
    vpc_id: str
    service_id: str
    service_name: str
    state: str
    owner: str
    subnet_ids: tuple[str, ...]
    addresses: tuple[EndpointAddress, ...]
    dns_name: str
    reason: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    ip_address_type: str = "ipv4"
    # Azure: the private endpoint's resource ID; Google: its forwarding rule's path.
    resource_id: str = ""
    psc_connection_id: str = ""  # Google: the Private Service Connect connection ID


@dataclass(frozen=True)
class ServiceListener:
    """A listener of an endpoint service's load balancer with its targets' health."""

    port: int
    target_group: str
    targets: tuple[TargetHealthView, ...]


class ServiceOwner(ABC):
    """What the owner of an endpoint service does with its consumers' connections and
    its DNS zone: the part every cloud driver shares."""

    @abstractmethod
    def describe_endpoint_connections(self, service_id: str) -> list[Endpoint]: ...

    @abstractmethod
    def accept_endpoint_connections(self, service_id: str, endpoint_ids: Sequence[str]) -> None: ...

    @abstractmethod
    def reject_endpoint_connections(self, service_id: str, endpoint_ids: Sequence[str]) -> None: ...

    # -- DNS: the platform zone's records (Route 53 on AWS) ------------------
    @abstractmethod
    def dns_zone(self, name: str) -> str:
        """The ID of this account's hosted zone `name`, made if missing (idempotent)."""

    @abstractmethod
    def dns_records(self, zone_id: str, under: str) -> list[Record]:
        """The zone's A and TXT record sets named `under` or below it, sorted."""

    @abstractmethod
    def change_dns_records(
        self, zone_id: str, *, upsert: Sequence[Record] = (), delete: Sequence[Record] = ()
    ) -> None:
        """Create or replace `upsert`, remove `delete` (as `dns_records` returned them; one
        already gone counts as removed): one batch, all or nothing, where the cloud has
        batches (Route 53); else one record at a time, each idempotent."""


class CloudDriver(ServiceOwner):
    """One account's view of a cloud in one region, as the reconciler uses it."""

    @abstractmethod
    def vpc_subnets(self, vpc_id: str) -> list[Subnet]: ...

    def client_host(self, endpoint: Endpoint) -> str:
        """Where a client inside the endpoint's VPC reaches it (its DNS name on AWS)."""
        return endpoint.dns_name

    def endpoint_ingress(self, endpoint_id: str) -> list[tuple[str, int, int]] | None:
        """The (cidr, from, to) ingress rules of a consumer's endpoint, if this side may see them.

        AWS shows a service owner nothing of its consumers' security groups: None (also
        where no group filters the endpoint).
        """
        return None

    def endpoint_networks(self, endpoint_id: str) -> list[str] | None:
        """The address ranges of a consumer endpoint's subnets, if this side may see them.

        Azure and Google show a service owner only the endpoint's ID: None."""
        return None

    def probe_source(self, endpoint: Endpoint) -> str | None:
        """A source address inside the endpoint's VPC for a test connection, if there is one."""
        return None

    def service_listeners(self, service_id: str) -> list[ServiceListener] | None:
        """Listeners and target health behind another owner's service, if this side may see them.

        AWS shows a consumer nothing behind an endpoint service: None.
        """
        return None

    @abstractmethod
    def create_target_group(
        self,
        *,
        name: str,
        port: int,
        health_check: HealthCheck,
        proxy_protocol_v2: bool,
        tags: Tags,
        client_token: str,
        vpc_id: str | None = None,
    ) -> TargetGroup:
        """A TCP target group; `vpc_id` is where its targets are (AWS needs it)."""

    @abstractmethod
    def register_targets(self, arn: str, targets: Sequence[Target]) -> None: ...

    @abstractmethod
    def deregister_targets(self, arn: str, targets: Sequence[Target]) -> None: ...

    @abstractmethod
    def describe_target_health(self, arn: str) -> list[TargetHealthView]: ...

    @abstractmethod
    def delete_target_group(self, arn: str) -> None: ...

    @abstractmethod
    def create_load_balancer(
        self, *, name: str, subnet_ids: Sequence[str], tags: Tags, client_token: str
    ) -> LoadBalancer: ...

    @abstractmethod
    def delete_load_balancer(self, arn: str) -> None: ...

    @abstractmethod
    def create_listener(
        self, *, load_balancer_arn: str, port: int, target_group_arn: str
    ) -> Listener: ...

    @abstractmethod
    def describe_listeners(self, load_balancer_arn: str) -> list[Listener]: ...

    @abstractmethod
    def delete_listener(self, arn: str) -> None: ...

    @abstractmethod
    def create_endpoint_service(
        self,
        *,
        load_balancer_arns: Sequence[str],
        acceptance_required: bool,
        tags: Tags,
        client_token: str,
    ) -> EndpointService: ...

    @abstractmethod
    def describe_endpoint_service(self, service_id: str) -> EndpointService: ...

    @abstractmethod
    def modify_endpoint_service_permissions(
        self, service_id: str, *, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> None: ...

    @abstractmethod
    def list_endpoint_connections(self) -> list[Endpoint]:
        """Every endpoint connected, or asking to connect, to any endpoint service of this
        account in the region: one paged listing, not a call per service."""

    @abstractmethod
    def delete_endpoint_service(self, service_id: str) -> None: ...

    @abstractmethod
    def find_endpoint_service(self, name: str) -> EndpointService | None:
        """An endpoint service by name, as a consumer sees it (None if unknown)."""

    @abstractmethod
    def create_endpoint(
        self,
        *,
        vpc_id: str,
        service_name: str,
        subnet_ids: Sequence[str],
        security_group_ids: Sequence[str],
        tags: Tags,
        client_token: str,
    ) -> Endpoint: ...

    @abstractmethod
    def describe_endpoint(self, endpoint_id: str) -> Endpoint: ...

    @abstractmethod
    def delete_endpoint(self, endpoint_id: str) -> None: ...

    @abstractmethod
    def find_tagged(self, kind: str, tags: Tags, names: Sequence[str] = ()) -> dict[str, Tags]:
        """This account's resources of `kind` carrying all of `tags`: ID/ARN -> all tags.

        `names`: the names such a resource is created with, when known. A driver whose
        tag search lags behind creates (AWS's tagging API is eventually consistent) also
        looks these up by name, so a resource made a moment ago is never missed."""

    def find_by_tags(self, kind: str, tags: Tags, names: Sequence[str] = ()) -> list[str]:
        """IDs/ARNs of this account's resources of `kind` carrying all of `tags`."""
        return list(self.find_tagged(kind, tags, names))


@dataclass(frozen=True)
class PublishedUnit:
    """One listener of a published service: a component, or one node of it."""

    key: str  # the unit: `kafka`, `kafka-0`, …
    port: int  # where consumers reach it, through their endpoint
    targets: tuple[Target, ...]
    open: bool  # listened on (privatelink_access on); else its targets are kept, unserved


@dataclass(frozen=True)
class PublishSpec:
    """Everything a published service is, as one wish (Azure's and Google's resources are
    declared whole, by names derived from `key`)."""

    key: str  # the PrivateLink's ID
    network: str  # the platform network its load balancer is in
    units: tuple[PublishedUnit, ...]
    consumers: tuple[str, ...]  # Azure: subscriptions it is visible to; Google: none
    health_check: HealthCheck
    tags: Mapping[str, str]


@dataclass(frozen=True)
class Published:
    id: str  # what connections are listed and accepted by
    name: str  # what consumers connect to: an Azure alias, a Google service attachment
    resource_id: str  # Azure: the Private Link Service's resource ID
    healthy: Mapping[str, bool]  # unit key -> a target passes health checks


class Publisher(ServiceOwner):
    """A cloud where a service is published as one declared whole (Azure: a load balancer
    and a Private Link Service; Google: a load balancer and a service attachment)."""

    @abstractmethod
    def publish(self, spec: PublishSpec) -> Published:
        """Make the cloud hold exactly `spec`: made, changed or left as it is (idempotent,
        so a step killed at any instant is finished by the next)."""

    @abstractmethod
    def unpublish(self, key: str) -> None:
        """Remove everything `publish(key=…)` made (live connections end); idempotent."""


class Platform(ABC):
    """The platform's own side of a cloud: its drivers, principals and deployment networks."""

    @abstractmethod
    def driver(self, region: str, principal: str | None = None) -> CloudDriver:
        """The platform account's driver in a region, acting as `principal` (default: root)."""

    @abstractmethod
    def principal(self, role_name: str) -> str:
        """The ARN of one of the platform's roles, e.g. the one a deployment acts as."""

    @abstractmethod
    def deployment_network(self, region: str, key: str, az_ids: Sequence[str]) -> str:
        """The ID of a deployment's VPC with a subnet in each AZ ID, made if missing."""

    @abstractmethod
    def project_network(self, region: str, key: str, cidr: str, az_ids: Sequence[str]) -> str:
        """The ID of a project VPC's network with a subnet in each AZ ID, made if missing."""

    @abstractmethod
    def delete_project_network(self, region: str, key: str) -> None:
        """Remove a project VPC's network (nothing may use it any more)."""

    def publisher(self, region: str) -> Publisher | None:
        """Where services in this region are published as one declared whole (Azure,
        Google), its driver; None where the reconciler drives each resource (AWS)."""
        return None


DriverFor = Callable[[str], CloudDriver]  # region -> the platform account's driver
# region -> how the reconciler publishes services there: resource by resource, or whole
PublisherFor = Callable[[str], CloudDriver | Publisher]

"""The AWS driver: the driver contract on EC2 and ELBv2 through boto3.

The only module that imports boto3. Credentials and region come the standard
boto3 way (environment, profile, instance role); `AWS_ENDPOINT_URL` (or the
per-service variants) is honoured by botocore itself, which is how the tests
point it at moto. botocore's `standard` retry mode retries throttling
(`Throttling`, `RequestLimitExceeded`), 5xx and connection errors with jittered
exponential backoff, bounded; what is left is mapped once, in `_call`, to
privlink's errors: temporary (`Unavailable`) or permanent with AWS's message.

What AWS does not offer, and how the driver copes:
- ELBv2 creates take no client token: target groups and load balancers are
  idempotent by name (the reconciler's names are deterministic) and adopted by tag.
- A consumer cannot see an endpoint service's principals or what is behind it:
  `find_endpoint_service` answers with `principals_known=False`, `service_listeners`
  with None.
- An endpoint connection names only the consumer's account: its owner is that
  12-digit account ID (`domain.privatelink.allows` knows).
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from privlink.cloud import contract as c
from privlink.domain import cloud as cloud_rules
from privlink.domain import dns
from privlink.domain.cloud import HealthCheck
from privlink.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PrivlinkError,
    Unavailable,
)

RETRIES = botocore.config.Config(retries={"mode": "standard", "max_attempts": 5})
NOT_FOUND = (
    "NotFound",
    "InvalidServiceName",
    "TargetGroupNotFound",
    "LoadBalancerNotFound",
    "NoSuchHostedZone",
)
CONFLICT = ("Duplicate", "ResourceInUse", "TooMany", "Existing")
# The resource is busy or changing state: the same call succeeds once it settles.
IN_PROGRESS = (
    "IncorrectState",
    "DependencyViolation",
    "OperationInProgress",
    "InProgress",
    "PriorRequestNotComplete",  # Route 53: a change to the same records is still applying
)
FORBIDDEN = ("UnauthorizedOperation", "AccessDenied", "AuthFailure")
TEMPORARY = (
    "Throttl",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "InternalError",
    "Unavailable",
)
GONE_STATES = ("deleting", "deleted", "Deleting", "Deleted")
# The tagging API's resource types of what ELBv2 makes.
ELB_TYPES = {
    "target-group": "elasticloadbalancing:targetgroup",
    "load-balancer": "elasticloadbalancing:loadbalancer",
}


def _error(operation: str, error: Exception) -> PrivlinkError:
    """One AWS error as privlink's: throttling and 5xx as Unavailable, "in progress" as a
    temporary Conflict, the rest permanent."""
    if isinstance(error, botocore.exceptions.ClientError):
        info = error.response.get("Error", {})
        code, message = str(info.get("Code", "")), str(info.get("Message", ""))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
        text = f"AWS {operation}: {code}: {message}".strip()
        if status >= 500 or any(code.startswith(t) or t in code for t in TEMPORARY):
            return Unavailable(text)
        if any(n in code for n in NOT_FOUND):
            return NotFound(text)
        if any(n in code for n in IN_PROGRESS):
            return Conflict(text, temporary=True)
        if any(code.startswith(n) for n in CONFLICT):
            return Conflict(text)
        if any(code.startswith(n) for n in FORBIDDEN):
            return Forbidden(text)
        return InvalidInput(text)  # InvalidParameter*, InvalidPrincipal, ValidationError …
    if isinstance(error, botocore.exceptions.ParamValidationError):
        return InvalidInput(f"AWS {operation}: {error}")  # never sent: retrying cannot help
    return Unavailable(f"AWS {operation}: {type(error).__name__}: {error}")


def _call(fn: Callable[..., Any], **params: Any) -> Any:
    try:
        return fn(**params)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        raise _error(getattr(fn, "__name__", "call"), error) from None


def _pages(client: Any, operation: str, key: str, **params: Any) -> Iterator[dict[str, Any]]:
    try:
        for page in client.get_paginator(operation).paginate(**params):
            yield from page.get(key, [])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
        raise _error(operation, error) from None


def _tag_list(tags: c.Tags) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _tagging(tags: c.Tags) -> dict[str, Any]:
    """ELBv2's `Tags` parameter: absent rather than empty."""
    return {"Tags": _tag_list(tags)} if tags else {}


def _tag_specs(resource: str, tags: c.Tags) -> dict[str, Any]:
    """EC2's `TagSpecifications` parameter: absent rather than empty."""
    return (
        {"TagSpecifications": [{"ResourceType": resource, "Tags": _tag_list(tags)}]} if tags else {}
    )


def _tag_dict(tags: Sequence[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in tags or []}


def _filters(tags: c.Tags) -> list[dict[str, Any]]:
    return [{"Name": f"tag:{k}", "Values": [v]} for k, v in tags.items()]


def _tagged(rows: Iterable[dict[str, Any]], tags: c.Tags) -> list[dict[str, Any]]:
    """Rows carrying every tag; checked here too, as not every EC2 API filters by tag."""
    return [r for r in rows if all(_tag_dict(r.get("Tags")).get(k) == v for k, v in tags.items())]


def _unsuccessful(operation: str, answer: dict[str, Any]) -> None:
    """EC2's batch calls answer 200 and list failures: raise the first one."""
    for item in answer.get("Unsuccessful", []):
        error = item.get("Error", {})
        fake = botocore.exceptions.ClientError(
            {"Error": {"Code": error.get("Code", ""), "Message": error.get("Message", "")}},
            operation,
        )
        raise _error(operation, fake)


READS = ("Describe", "Get")


@dataclass(frozen=True)
class Budget:
    """Client-side call rates per region and API (EC2, ELBv2, tagging), kept under AWS's own
    per-account limits so a burst of work slows down here instead of being throttled
    (which would also slow every other user of the account)."""

    reads: float = 20.0  # Describe*/Get* calls per second
    changes: float = 5.0  # every other call per second
    burst: float = 20.0


# Route 53 takes 5 requests a second per account, of every kind together.
ROUTE53_BUDGET = Budget(reads=2.5, changes=2.5, burst=5.0)


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved; `take` waits for one."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.stamp = burst, clock()
        self.lock = threading.Lock()

    def take(self) -> None:
        with self.lock:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            self.tokens -= 1
            wait = -self.tokens / self.rate if self.tokens < 0 else 0.0
        if wait:
            time.sleep(wait)


def _budgeted(client: Any, budget: Budget) -> Any:
    """`client` with every API call taking a token first (reads and changes apart)."""
    reads = TokenBucket(budget.reads, budget.burst)
    changes = TokenBucket(budget.changes, budget.burst)

    def before_call(model: Any, **_: Any) -> None:
        (reads if model.name.startswith(READS) else changes).take()

    client.meta.events.register("before-call", before_call)
    return client


class AwsAccount(c.CloudDriver):
    """The platform's AWS account in one region, as the reconciler uses it."""

    def __init__(
        self,
        session: boto3.Session,
        region: str,
        principal: str,
        budget: Budget | None = None,
        route53: Any = None,
    ) -> None:
        self.region = region
        self.principal = principal
        budget = budget or Budget()
        self.ec2 = _budgeted(session.client("ec2", region_name=region, config=RETRIES), budget)
        self.elbv2 = _budgeted(session.client("elbv2", region_name=region, config=RETRIES), budget)
        self.tagging = _budgeted(
            session.client("resourcegroupstaggingapi", region_name=region, config=RETRIES), budget
        )
        # Global: one client (and one budget) for every region of the account.
        self.route53 = route53 or route53_client(session)
        self._zones: dict[str, str] = {}

    # -- helpers ----------------------------------------------------------
    @functools.cached_property
    def _zone_ids(self) -> dict[str, str]:
        """AZ name -> AZ ID for this account (names are shuffled per account; IDs are not)."""
        zones = _call(self.ec2.describe_availability_zones)["AvailabilityZones"]
        return {z["ZoneName"]: z["ZoneId"] for z in zones}

    def _subnet_azs(self, subnet_ids: Sequence[str]) -> dict[str, str]:
        if not subnet_ids:
            return {}
        subnets = _pages(self.ec2, "describe_subnets", "Subnets", SubnetIds=list(subnet_ids))
        return {s["SubnetId"]: s["AvailabilityZoneId"] for s in subnets}

    # -- networks -----------------------------------------------------------
    def vpc_subnets(self, vpc_id: str) -> list[c.Subnet]:
        subnets = _pages(
            self.ec2,
            "describe_subnets",
            "Subnets",
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}],
        )
        return sorted(
            (
                c.Subnet(
                    id=s["SubnetId"],
                    vpc_id=vpc_id,
                    az_id=s["AvailabilityZoneId"],
                    cidr=s["CidrBlock"],
                )
                for s in subnets
            ),
            key=lambda s: s.az_id,
        )

    def network(self, tag: str, key: str, cidr: str, az_ids: Sequence[str]) -> str:
        """A VPC tagged `tag=key` with one subnet per AZ ID, made if missing."""
        vpcs = _tagged(
            _pages(self.ec2, "describe_vpcs", "Vpcs", Filters=_filters({tag: key})), {tag: key}
        )
        if vpcs:
            vpc_id = str(vpcs[0]["VpcId"])
        else:
            vpc_id = _call(
                self.ec2.create_vpc,
                CidrBlock=cidr,
                TagSpecifications=[{"ResourceType": "vpc", "Tags": _tag_list({tag: key})}],
            )["Vpc"]["VpcId"]
        have = {s.az_id for s in self.vpc_subnets(vpc_id)}
        blocks = list(ipaddress.ip_network(cidr).subnets(prefixlen_diff=2))
        for index, az in enumerate(sorted(az_ids)):
            if az not in have:
                _call(
                    self.ec2.create_subnet,
                    VpcId=vpc_id,
                    CidrBlock=str(blocks[index]),
                    AvailabilityZoneId=az,
                    TagSpecifications=[{"ResourceType": "subnet", "Tags": _tag_list({tag: key})}],
                )
        return vpc_id

    def delete_network(self, tag: str, key: str) -> None:
        found = _pages(self.ec2, "describe_vpcs", "Vpcs", Filters=_filters({tag: key}))
        for vpc in _tagged(found, {tag: key}):
            for subnet in self.vpc_subnets(vpc["VpcId"]):
                _call(self.ec2.delete_subnet, SubnetId=subnet.id)
            _call(self.ec2.delete_vpc, VpcId=vpc["VpcId"])

    # -- target groups ------------------------------------------------------
    def _tg_view(self, tg: dict[str, Any], tags: dict[str, str], ppv2: bool) -> c.TargetGroup:
        port = tg.get("HealthCheckPort", "traffic-port")
        return c.TargetGroup(
            arn=tg["TargetGroupArn"],
            name=tg["TargetGroupName"],
            port=int(tg["Port"]),
            health_check=HealthCheck(
                interval=float(tg.get("HealthCheckIntervalSeconds", 30)),
                timeout=float(tg.get("HealthCheckTimeoutSeconds", 10)),
                healthy_threshold=int(tg.get("HealthyThresholdCount", 5)),
                unhealthy_threshold=int(tg.get("UnhealthyThresholdCount", 2)),
                port=None if port == "traffic-port" else int(port),
            ),
            proxy_protocol_v2=ppv2,
            tags=tags,
        )

    def create_target_group(
        self,
        *,
        name: str,
        port: int,
        health_check: HealthCheck,
        proxy_protocol_v2: bool,
        tags: c.Tags,
        client_token: str,
        vpc_id: str | None = None,
    ) -> c.TargetGroup:
        if vpc_id is None:
            raise InvalidInput("On AWS a target group needs the VPC of its targets")
        hc = health_check
        interval = max(5, round(hc.interval))  # AWS's minimum is 5 s
        created = _call(
            self.elbv2.create_target_group,
            Name=name,
            Protocol="TCP",
            Port=port,
            VpcId=vpc_id,
            TargetType="ip",
            HealthCheckProtocol="TCP",
            HealthCheckPort=str(hc.port) if hc.port else "traffic-port",
            HealthCheckIntervalSeconds=interval,
            # 2-120 s, and below the interval.
            HealthCheckTimeoutSeconds=max(2, min(round(hc.timeout), interval - 1, 120)),
            HealthyThresholdCount=hc.healthy_threshold,
            UnhealthyThresholdCount=hc.unhealthy_threshold,
            **_tagging(tags),
        )["TargetGroups"][0]
        if proxy_protocol_v2:
            _call(
                self.elbv2.modify_target_group_attributes,
                TargetGroupArn=created["TargetGroupArn"],
                Attributes=[{"Key": "proxy_protocol_v2.enabled", "Value": "true"}],
            )
        return self._tg_view(created, dict(tags), proxy_protocol_v2)

    def register_targets(self, arn: str, targets: Sequence[c.Target]) -> None:
        _call(
            self.elbv2.register_targets,
            TargetGroupArn=arn,
            Targets=[{"Id": t.host, "Port": t.port} for t in targets],
        )

    def deregister_targets(self, arn: str, targets: Sequence[c.Target]) -> None:
        _call(
            self.elbv2.deregister_targets,
            TargetGroupArn=arn,
            Targets=[{"Id": t.host, "Port": t.port} for t in targets],
        )

    def describe_target_health(self, arn: str) -> list[c.TargetHealthView]:
        answer = _call(self.elbv2.describe_target_health, TargetGroupArn=arn)
        return [
            c.TargetHealthView(
                target=c.Target(d["Target"]["Id"], int(d["Target"]["Port"])),
                state=d.get("TargetHealth", {}).get("State", "initial"),
                reason=d.get("TargetHealth", {}).get("Reason", ""),
            )
            for d in answer.get("TargetHealthDescriptions", [])
        ]

    def delete_target_group(self, arn: str) -> None:
        _call(self.elbv2.delete_target_group, TargetGroupArn=arn)

    # -- load balancers and listeners ----------------------------------------
    def _lb_view(self, lb: dict[str, Any], tags: dict[str, str]) -> c.LoadBalancer:
        subnets = [z["SubnetId"] for z in lb.get("AvailabilityZones", []) if z.get("SubnetId")]
        azs = self._subnet_azs(subnets)
        return c.LoadBalancer(
            arn=lb["LoadBalancerArn"],
            name=lb["LoadBalancerName"],
            region=self.region,
            subnet_ids=tuple(subnets),
            az_ids=tuple(sorted(set(azs.values()))),
            state=lb.get("State", {}).get("Code", "active"),
            tags=tags,
        )

    def create_load_balancer(
        self, *, name: str, subnet_ids: Sequence[str], tags: c.Tags, client_token: str
    ) -> c.LoadBalancer:
        created = _call(
            self.elbv2.create_load_balancer,
            Name=name,
            Subnets=list(subnet_ids),
            Scheme="internal",
            Type="network",
            IpAddressType="ipv4",
            **_tagging(tags),
        )["LoadBalancers"][0]
        return self._lb_view(created, dict(tags))

    def delete_load_balancer(self, arn: str) -> None:
        _call(self.elbv2.delete_load_balancer, LoadBalancerArn=arn)

    def create_listener(
        self, *, load_balancer_arn: str, port: int, target_group_arn: str
    ) -> c.Listener:
        created = _call(
            self.elbv2.create_listener,
            LoadBalancerArn=load_balancer_arn,
            Protocol="TCP",
            Port=port,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group_arn}],
        )["Listeners"][0]
        return c.Listener(created["ListenerArn"], load_balancer_arn, port, target_group_arn)

    def describe_listeners(self, load_balancer_arn: str) -> list[c.Listener]:
        listeners = _pages(
            self.elbv2, "describe_listeners", "Listeners", LoadBalancerArn=load_balancer_arn
        )
        return [
            c.Listener(
                arn=li["ListenerArn"],
                load_balancer_arn=load_balancer_arn,
                port=int(li["Port"]),
                target_group_arn=next(
                    (a.get("TargetGroupArn", "") for a in li.get("DefaultActions", [])), ""
                ),
            )
            for li in listeners
        ]

    def delete_listener(self, arn: str) -> None:
        _call(self.elbv2.delete_listener, ListenerArn=arn)

    # -- endpoint services ---------------------------------------------------
    def _service_view(self, svc: dict[str, Any], principals: tuple[str, ...]) -> c.EndpointService:
        azs = tuple(sorted(self._zone_ids.get(z, z) for z in svc.get("AvailabilityZones", [])))
        return c.EndpointService(
            id=svc["ServiceId"],
            name=svc["ServiceName"],
            region=self.region,
            state=svc.get("ServiceState", "Available"),
            acceptance_required=bool(svc.get("AcceptanceRequired", True)),
            load_balancer_arns=tuple(svc.get("NetworkLoadBalancerArns", [])),
            az_ids=azs,
            principals=principals,
            tags=_tag_dict(svc.get("Tags")),
            supported_ip_address_types=tuple(svc.get("SupportedIpAddressTypes", ["ipv4"])),
        )

    def create_endpoint_service(
        self,
        *,
        load_balancer_arns: Sequence[str],
        acceptance_required: bool,
        tags: c.Tags,
        client_token: str,
    ) -> c.EndpointService:
        created = _call(
            self.ec2.create_vpc_endpoint_service_configuration,
            AcceptanceRequired=acceptance_required,
            NetworkLoadBalancerArns=list(load_balancer_arns),
            SupportedIpAddressTypes=["ipv4"],
            ClientToken=client_token,
            **_tag_specs("vpc-endpoint-service", tags),
        )["ServiceConfiguration"]
        return self._service_view({**created, "Tags": _tag_list(tags)}, ())

    def _principals(self, service_id: str) -> tuple[str, ...]:
        allowed = _pages(
            self.ec2,
            "describe_vpc_endpoint_service_permissions",
            "AllowedPrincipals",
            ServiceId=service_id,
        )
        return tuple(p["Principal"] for p in allowed)

    def describe_endpoint_service(self, service_id: str) -> c.EndpointService:
        found = list(
            _pages(
                self.ec2,
                "describe_vpc_endpoint_service_configurations",
                "ServiceConfigurations",
                ServiceIds=[service_id],
            )
        )
        if not found:
            raise cloud_rules.service_missing(service_id, self.region)
        return self._service_view(found[0], self._principals(service_id))

    def modify_endpoint_service_permissions(
        self, service_id: str, *, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> None:
        params: dict[str, Any] = {"ServiceId": service_id}
        if add:
            params["AddAllowedPrincipals"] = list(add)
        if remove:
            params["RemoveAllowedPrincipals"] = list(remove)
        _call(self.ec2.modify_vpc_endpoint_service_permissions, **params)

    def _connection_view(self, conn: dict[str, Any]) -> c.Endpoint:
        names = [d["DnsName"] for d in conn.get("DnsEntries", []) if d.get("DnsName")]
        return c.Endpoint(
            id=conn["VpcEndpointId"],
            vpc_id="",
            service_id=conn.get("ServiceId", ""),
            service_name="",
            state=conn.get("VpcEndpointState", ""),
            owner=str(conn.get("VpcEndpointOwner", "")),  # AWS names only the account
            subnet_ids=(),
            addresses=(),
            dns_name=names[0] if names else "",
        )

    def describe_endpoint_connections(self, service_id: str) -> list[c.Endpoint]:
        return self._connections(Filters=[{"Name": "service-id", "Values": [service_id]}])

    def list_endpoint_connections(self) -> list[c.Endpoint]:
        return self._connections(PaginationConfig={"PageSize": 1000})  # AWS's largest page

    def _connections(self, **params: Any) -> list[c.Endpoint]:
        connections = _pages(
            self.ec2, "describe_vpc_endpoint_connections", "VpcEndpointConnections", **params
        )
        return [self._connection_view(conn) for conn in connections]

    def accept_endpoint_connections(self, service_id: str, endpoint_ids: Sequence[str]) -> None:
        answer = _call(
            self.ec2.accept_vpc_endpoint_connections,
            ServiceId=service_id,
            VpcEndpointIds=list(endpoint_ids),
        )
        _unsuccessful("AcceptVpcEndpointConnections", answer)

    def reject_endpoint_connections(self, service_id: str, endpoint_ids: Sequence[str]) -> None:
        answer = _call(
            self.ec2.reject_vpc_endpoint_connections,
            ServiceId=service_id,
            VpcEndpointIds=list(endpoint_ids),
        )
        _unsuccessful("RejectVpcEndpointConnections", answer)

    def delete_endpoint_service(self, service_id: str) -> None:
        answer = _call(self.ec2.delete_vpc_endpoint_service_configurations, ServiceIds=[service_id])
        _unsuccessful("DeleteVpcEndpointServiceConfigurations", answer)

    def find_endpoint_service(self, name: str) -> c.EndpointService | None:
        try:
            answer = _call(self.ec2.describe_vpc_endpoint_services, ServiceNames=[name])
        except NotFound:  # InvalidServiceName: unknown, or not for this principal
            return None
        details = [d for d in answer.get("ServiceDetails", []) if d.get("ServiceName") == name]
        if not details:
            return None
        detail = details[0]
        azs = tuple(sorted(self._zone_ids.get(z, z) for z in detail.get("AvailabilityZones", [])))
        return c.EndpointService(
            id=detail.get("ServiceId", ""),
            name=name,
            region=self.region,
            state="Available",
            acceptance_required=bool(detail.get("AcceptanceRequired", True)),
            load_balancer_arns=(),
            az_ids=azs,
            principals=(),
            principals_known=False,  # AWS lists a private service only to allowed principals
        )

    # -- interface endpoints -------------------------------------------------
    def _endpoint_view(self, ep: dict[str, Any]) -> c.Endpoint:
        addresses: list[c.EndpointAddress] = []
        enis = ep.get("NetworkInterfaceIds", [])
        if enis and ep.get("State") not in GONE_STATES:
            try:
                interfaces = list(
                    _pages(
                        self.ec2,
                        "describe_network_interfaces",
                        "NetworkInterfaces",
                        NetworkInterfaceIds=list(enis),
                    )
                )
            except NotFound:  # the interfaces go a moment before the endpoint
                interfaces = []
            addresses = [
                c.EndpointAddress(
                    subnet_id=eni.get("SubnetId", ""),
                    az_id=self._zone_ids.get(eni.get("AvailabilityZone", ""), ""),
                    address=eni.get("PrivateIpAddress", ""),
                )
                for eni in interfaces
            ]
        names = [d["DnsName"] for d in ep.get("DnsEntries", []) if d.get("DnsName")]
        return c.Endpoint(
            id=ep["VpcEndpointId"],
            vpc_id=ep.get("VpcId", ""),
            service_id="",
            service_name=ep.get("ServiceName", ""),
            state=ep.get("State", ""),
            owner=f"arn:aws:iam::{ep.get('OwnerId', '')}:root",
            subnet_ids=tuple(ep.get("SubnetIds", [])),
            addresses=tuple(addresses),
            dns_name=names[0] if names else "",
            reason=(ep.get("LastError") or {}).get("Message", ""),
            tags=_tag_dict(ep.get("Tags")),
        )

    def create_endpoint(
        self,
        *,
        vpc_id: str,
        service_name: str,
        subnet_ids: Sequence[str],
        security_group_ids: Sequence[str],
        tags: c.Tags,
        client_token: str,
    ) -> c.Endpoint:
        params: dict[str, Any] = {
            "VpcEndpointType": "Interface",
            "VpcId": vpc_id,
            "ServiceName": service_name,
            "SubnetIds": list(subnet_ids),
            "PrivateDnsEnabled": False,
            "ClientToken": client_token,
            **_tag_specs("vpc-endpoint", tags),
        }
        if security_group_ids:
            params["SecurityGroupIds"] = list(security_group_ids)
        created = _call(self.ec2.create_vpc_endpoint, **params)["VpcEndpoint"]
        return self._endpoint_view(created)

    def describe_endpoint(self, endpoint_id: str) -> c.Endpoint:
        found = list(
            _pages(self.ec2, "describe_vpc_endpoints", "VpcEndpoints", VpcEndpointIds=[endpoint_id])
        )
        if not found:
            raise NotFound(f"Endpoint {endpoint_id} does not exist in {self.region}")
        return self._endpoint_view(found[0])

    def delete_endpoint(self, endpoint_id: str) -> None:
        answer = _call(self.ec2.delete_vpc_endpoints, VpcEndpointIds=[endpoint_id])
        _unsuccessful("DeleteVpcEndpoints", answer)

    # -- adoption ---------------------------------------------------------------
    def find_tagged(self, kind: str, tags: c.Tags, names: Sequence[str] = ()) -> dict[str, c.Tags]:
        if kind == "endpoint-service":
            rows = _tagged(
                _pages(
                    self.ec2,
                    "describe_vpc_endpoint_service_configurations",
                    "ServiceConfigurations",
                    Filters=_filters(tags),
                ),
                tags,
            )
            return {
                r["ServiceId"]: _tag_dict(r.get("Tags"))
                for r in rows
                if r.get("ServiceState") not in GONE_STATES
            }
        if kind == "endpoint":
            rows = _tagged(
                _pages(self.ec2, "describe_vpc_endpoints", "VpcEndpoints", Filters=_filters(tags)),
                tags,
            )
            return {
                r["VpcEndpointId"]: _tag_dict(r.get("Tags"))
                for r in rows
                if r.get("State") not in GONE_STATES
            }
        if kind not in ELB_TYPES:
            raise InvalidInput(
                f"Unknown resource kind {kind!r}; known: target-group, load-balancer, "
                "endpoint-service, endpoint"
            )
        # ELBv2 has no tag filter: the tagging API finds them in one call, not by listing
        # every target group of the region and reading their tags 20 at a time.
        tagged = _pages(
            self.tagging,
            "get_resources",
            "ResourceTagMappingList",
            TagFilters=[{"Key": k, "Values": [v]} for k, v in tags.items()],
            ResourceTypeFilters=[ELB_TYPES[kind]],
        )
        found = {r["ResourceARN"]: _tag_dict(r.get("Tags")) for r in tagged}
        return {**self._named(kind, names, tags), **found}

    # -- DNS: Route 53 -------------------------------------------------------------
    def dns_zone(self, name: str) -> str:
        name = dns.zone(name)
        if name not in self._zones:
            self._zones[name] = self._find_zone(name) or self._create_zone(name)
        return self._zones[name]

    def _find_zone(self, name: str) -> str | None:
        answer = _call(self.route53.list_hosted_zones_by_name, DNSName=name, MaxItems="10")
        for zone in answer.get("HostedZones", []):
            if _route53_name(zone["Name"]) == name and not zone["Config"].get("PrivateZone"):
                return str(zone["Id"]).removeprefix("/hostedzone/")
        return None

    def _create_zone(self, name: str) -> str:
        # The caller reference makes two replicas' racing creates one zone.
        reference = "privlink-" + hashlib.sha256(name.encode()).hexdigest()[:32]
        try:
            created = _call(
                self.route53.create_hosted_zone,
                Name=name,
                CallerReference=reference,
                HostedZoneConfig={"Comment": "privlink: PrivateLink connection names"},
            )
        except Conflict:  # made by the racing create, or a zone of this name came back
            found = self._find_zone(name)
            if found is None:
                raise
            return found
        return str(created["HostedZone"]["Id"]).removeprefix("/hostedzone/")

    def dns_records(self, zone_id: str, under: str) -> list[dns.Record]:
        under = dns.name(under)
        end = _reversed(under) + "/"  # past every name below `under`, in Route 53's order
        found = []
        for row in _pages(
            self.route53,
            "list_resource_record_sets",
            "ResourceRecordSets",
            HostedZoneId=zone_id,
            StartRecordName=under,
        ):
            record = _record_of(row)
            if _reversed(record.name) > end:
                break
            if record.type in dns.TYPES and dns.within(record.name, under):
                found.append(record)
        return sorted(found)

    def change_dns_records(
        self,
        zone_id: str,
        *,
        upsert: Sequence[dns.Record] = (),
        delete: Sequence[dns.Record] = (),
    ) -> None:
        zone = next((name for name, id_ in self._zones.items() if id_ == zone_id), None)
        if zone is not None:  # refused before sending, with a clear message
            dns.check_in_zone([*upsert, *delete], zone)
        changes = [{"Action": "DELETE", "ResourceRecordSet": _record_set(r)} for r in delete]
        changes += [{"Action": "UPSERT", "ResourceRecordSet": _record_set(r)} for r in upsert]
        if not changes:
            return
        try:
            _call(
                self.route53.change_resource_record_sets,
                HostedZoneId=zone_id,
                ChangeBatch={"Changes": changes},
            )
        except InvalidInput as error:
            # A delete of a record already gone (or changed) fails the whole batch: drop
            # those deletes, delete what is there now, and try once more.
            if not delete or "not found" not in error.message.lower():
                raise
            here = {
                (r.name, r.type): r
                for name in {r.name for r in delete}
                for r in self.dns_records(zone_id, name)
                if r.name == name
            }
            still = [here[(r.name, r.type)] for r in delete if (r.name, r.type) in here]
            changes = [{"Action": "DELETE", "ResourceRecordSet": _record_set(r)} for r in still]
            changes += [{"Action": "UPSERT", "ResourceRecordSet": _record_set(r)} for r in upsert]
            if changes:
                _call(
                    self.route53.change_resource_record_sets,
                    HostedZoneId=zone_id,
                    ChangeBatch={"Changes": changes},
                )

    def _named(self, kind: str, names: Sequence[str], tags: c.Tags) -> dict[str, c.Tags]:
        """The resources called `names` that carry `tags`: a consistent read, for what the
        tagging API may not list yet."""
        arns = []
        for name in names:
            try:
                if kind == "target-group":
                    answer = _call(self.elbv2.describe_target_groups, Names=[name])
                    arns += [tg["TargetGroupArn"] for tg in answer["TargetGroups"]]
                else:
                    answer = _call(self.elbv2.describe_load_balancers, Names=[name])
                    arns += [lb["LoadBalancerArn"] for lb in answer["LoadBalancers"]]
            except NotFound:
                continue
        if not arns:
            return {}
        described = _call(self.elbv2.describe_tags, ResourceArns=arns)  # at most 20 ARNs
        entries = _tagged(described.get("TagDescriptions", []), tags)
        return {e["ResourceArn"]: _tag_dict(e.get("Tags")) for e in entries}


def route53_client(session: boto3.Session) -> Any:
    return _budgeted(session.client("route53", config=RETRIES), ROUTE53_BUDGET)


def _route53_name(name: str) -> str:
    """Route 53 answers names with a final dot and `*` as `\\052`."""
    return name.rstrip(".").replace("\\052", "*").lower()


def _reversed(name: str) -> str:
    return ".".join(reversed(name.split(".")))


def _record_of(row: dict[str, Any]) -> dns.Record:
    values = tuple(v["Value"] for v in row.get("ResourceRecords", []))
    if row["Type"] == "CNAME":
        values = tuple(_route53_name(v) for v in values)
    if row["Type"] == "TXT":
        values = tuple(v[1:-1] if v.startswith('"') and v.endswith('"') else v for v in values)
    return dns.Record(_route53_name(row["Name"]), row["Type"], values, int(row.get("TTL", 0)))


def _record_set(record: dns.Record) -> dict[str, Any]:
    values = record.values if record.type != "TXT" else tuple(f'"{v}"' for v in record.values)
    return {
        "Name": record.name + ".",
        "Type": record.type,
        "TTL": record.ttl,
        "ResourceRecords": [{"Value": v} for v in values],
    }


class AwsPlatform(c.Platform):
    """The platform's AWS account: one boto3 session, a driver per region."""

    def __init__(
        self,
        session: boto3.Session | None = None,
        principal: str | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.session = session or boto3.Session()
        self._principal = principal
        self.budget = budget or Budget()
        self._drivers: dict[str, AwsAccount] = {}
        self._route53: Any = None

    @functools.cached_property
    def account_id(self) -> str:
        sts = self.session.client("sts", config=RETRIES)
        return str(_call(sts.get_caller_identity)["Account"])

    def driver(self, region: str, principal: str | None = None) -> AwsAccount:
        # One set of credentials acts for every deployment: the principal is informational.
        if region not in self._drivers:
            self._route53 = self._route53 or route53_client(self.session)
            self._drivers[region] = AwsAccount(
                self.session,
                region,
                self._principal or f"arn:aws:iam::{self.account_id}:root",
                self.budget,
                self._route53,
            )
        return self._drivers[region]

    def principal(self, role_name: str) -> str:
        return self._principal or f"arn:aws:iam::{self.account_id}:root"

    def deployment_network(self, region: str, key: str, az_ids: Sequence[str]) -> str:
        return self.driver(region).network(c.DEPLOYMENT_TAG, key, "10.64.0.0/16", az_ids)

    def project_network(self, region: str, key: str, cidr: str, az_ids: Sequence[str]) -> str:
        return self.driver(region).network(c.PROJECT_VPC_TAG, key, cidr, az_ids)

    def delete_project_network(self, region: str, key: str) -> None:
        self.driver(region).delete_network(c.PROJECT_VPC_TAG, key)

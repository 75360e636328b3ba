"""The local cloud's customer API: every step a customer does on AWS, here.

`privlink cloud …` drives these routes; with `PRIVLINK_CLOUD=aws` they are absent. A
project token acts only on the accounts its project made (another tenant's answer as if
they did not exist); the server's own accounts (the platform's, deployments' roles) and
accounts made with an operator token are the operator's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from privlink.api.deps import CallerDep
from privlink.api.errors import documented
from privlink.api.paging import PagingDep
from privlink.api.schemas import cloud as cs
from privlink.api.schemas.common import Deleted
from privlink.cloud import contract as c
from privlink.cloud.contract import Target
from privlink.cloud.local import dialects
from privlink.cloud.local.control import LocalAccount, LocalCloud
from privlink.cloud.local.network import vpc_range
from privlink.domain import dns
from privlink.domain.cloud import HealthCheck
from privlink.domain.errors import NotFound
from privlink.state import StateDep

router = APIRouter(
    prefix="/v1/cloud", tags=["local cloud"], responses=documented(400, 401, 404, 409)
)


def get_cloud(state: StateDep, _caller: CallerDep) -> LocalCloud:
    if state.cloud is None:
        raise NotFound("The local cloud is not enabled (PRIVLINK_CLOUD is not 'local')")
    return state.cloud


CloudDep = Annotated[LocalCloud, Depends(get_cloud)]


AccountKey = Annotated[str, Path(max_length=63, description="Account ID or name")]
RegionName = Annotated[str, Path(max_length=32)]


def _owned(
    cloud: LocalCloud,
    caller: CallerDep,
    account: str,
    region: str,
    principal: str | None = None,
) -> LocalAccount:
    """A project token acts only on its project's accounts; operators on every one."""
    return cloud.account(account, region, principal, project=caller.project, every=caller.is_admin)


def get_account(
    cloud: CloudDep, caller: CallerDep, account: AccountKey, region: RegionName
) -> LocalAccount:
    return _owned(cloud, caller, account, region)


AccountDep = Annotated[LocalAccount, Depends(get_account)]
Scoped = "/{account}/{region}"


def _changed(
    state: StateDep, endpoint_service: str | None = None, endpoints: list[str] | None = None
) -> None:
    """Let the data plane (and those who watch `endpoint_service`) act now, not at the next
    pass; `endpoints`: only these endpoints of it changed."""
    state.changed(endpoint_service=endpoint_service, endpoints=endpoints)


def _account(row: Any) -> cs.AccountPublic:
    return cs.AccountPublic(
        account_id=row.id,
        name=row.name,
        principal=f"arn:aws:iam::{row.id}:root",
        azure_subscription_id=dialects.subscription_id(row.id),
        gcp_project=dialects.gcp_project(row.id),
    )


def _vpc(row: Any) -> cs.VpcPublic:
    return cs.VpcPublic(
        id=row.id, region=row.region, cidr=row.cidr, private_range=vpc_range(row.net_index)
    )


@router.post("/accounts", status_code=201)
def create_account(body: cs.AccountCreate, cloud: CloudDep, caller: CallerDep) -> cs.AccountPublic:
    """An account owned by the caller's project (by nobody's for an operator token)."""
    owner = None if caller.is_admin else caller.project
    return _account(cloud.create_account(body.name, project=owner))


@router.get("/accounts")
def list_accounts(cloud: CloudDep, caller: CallerDep) -> cs.AccountsPublic:
    rows = cloud.list_accounts(project=caller.project, every=caller.is_admin)
    return cs.AccountsPublic(accounts=[_account(a) for a in rows])


@router.post(Scoped + "/vpcs", status_code=201)
def create_vpc(body: cs.VpcCreate, acct: AccountDep) -> cs.VpcPublic:
    return _vpc(acct.create_vpc(body.cidr))


@router.get(Scoped + "/vpcs")
def list_vpcs(acct: AccountDep) -> cs.VpcsPublic:
    return cs.VpcsPublic(vpcs=[_vpc(v) for v in acct.describe_vpcs()])


@router.delete(Scoped + "/vpcs/{vpc_id}")
def delete_vpc(vpc_id: str, acct: AccountDep) -> Deleted:
    """A VPC with no interface endpoint or load balancer in it, with its subnets."""
    acct.delete_vpc(vpc_id)
    return Deleted(deleted=vpc_id)


@router.post(Scoped + "/subnets", status_code=201)
def create_subnet(body: cs.SubnetCreate, acct: AccountDep) -> cs.SubnetPublic:
    made = acct.create_subnet(body.vpc_id, body.az_id)
    ranges = {sub.id: rng for sub, rng in acct.describe_subnets(body.vpc_id)}
    return cs.SubnetPublic(
        id=made.id,
        vpc_id=made.vpc_id,
        az_id=made.az_id,
        cidr=made.cidr,
        private_range=ranges[made.id],
    )


@router.get(Scoped + "/subnets")
def list_subnets(acct: AccountDep, vpc_id: str | None = None) -> cs.SubnetsPublic:
    return cs.SubnetsPublic(
        subnets=[
            cs.SubnetPublic(id=s.id, vpc_id=s.vpc_id, az_id=s.az_id, cidr=s.cidr, private_range=rng)
            for s, rng in acct.describe_subnets(vpc_id)
        ]
    )


@router.delete(Scoped + "/subnets/{subnet_id}")
def delete_subnet(subnet_id: str, acct: AccountDep) -> Deleted:
    acct.delete_subnet(subnet_id)
    return Deleted(deleted=subnet_id)


@router.post(Scoped + "/security-groups", status_code=201)
def create_security_group(body: cs.SecurityGroupCreate, acct: AccountDep) -> cs.SecurityGroupPublic:
    return cs.SecurityGroupPublic.model_validate(acct.create_security_group(body.vpc_id, body.name))


@router.post(Scoped + "/security-groups/{group_id}/ingress")
def authorize_ingress(
    group_id: str, body: cs.IngressRule, acct: AccountDep, state: StateDep
) -> cs.SecurityGroupPublic:
    group = acct.authorize_ingress(group_id, body.cidr, body.from_port, body.to_port)
    _changed(state)
    return cs.SecurityGroupPublic.model_validate(group)


@router.get(Scoped + "/security-groups")
def list_security_groups(acct: AccountDep) -> cs.SecurityGroupsPublic:
    groups = acct.describe_security_groups()
    return cs.SecurityGroupsPublic(
        security_groups=[cs.SecurityGroupPublic.model_validate(g) for g in groups]
    )


def _tg_arn(acct: LocalAccount, name: str) -> str:
    return acct.target_group_arn(name)


def _lb_arn(acct: LocalAccount, name: str) -> str:
    return acct.load_balancer_arn(name)


@router.post(Scoped + "/target-groups", status_code=201)
def create_target_group(body: cs.TargetGroupCreate, acct: AccountDep) -> c.TargetGroup:
    spec = body.health_check
    return acct.create_target_group(
        name=body.name,
        port=body.port,
        health_check=HealthCheck(
            **spec.model_dump(exclude={"timeout"}), timeout=spec.timeout or min(5.0, spec.interval)
        ),
        proxy_protocol_v2=body.proxy_protocol_v2,
        client_token=body.client_token,
        deregistration_delay=body.deregistration_delay,
    )


@router.get(Scoped + "/target-groups")
def list_target_groups(acct: AccountDep, paging: PagingDep) -> cs.TargetGroupsPublic:
    found = acct.describe_target_groups(paging.page)
    return cs.TargetGroupsPublic(
        target_groups=found, next_page_token=paging.next([tg.arn for tg in found])
    )


@router.delete(Scoped + "/target-groups/{name}")
def delete_target_group(name: str, acct: AccountDep) -> Deleted:
    acct.delete_target_group(_tg_arn(acct, name))
    return Deleted(deleted=name)


@router.post(Scoped + "/target-groups/{name}/targets")
def register_targets(
    name: str, body: cs.Targets, acct: AccountDep, state: StateDep
) -> cs.TargetsHealthPublic:
    arn = _tg_arn(acct, name)
    acct.register_targets(arn, [Target(t.host, t.port) for t in body.targets])
    _changed(state)
    return target_health(name, acct)


@router.post(Scoped + "/target-groups/{name}/targets/deregister")
def deregister_targets(
    name: str, body: cs.Targets, acct: AccountDep, state: StateDep
) -> cs.TargetsHealthPublic:
    arn = _tg_arn(acct, name)
    acct.deregister_targets(arn, [Target(t.host, t.port) for t in body.targets])
    _changed(state)
    return target_health(name, acct)


@router.get(Scoped + "/target-groups/{name}/health")
def target_health(name: str, acct: AccountDep) -> cs.TargetsHealthPublic:
    health = acct.describe_target_health(_tg_arn(acct, name))
    return cs.TargetsHealthPublic(
        targets=[
            cs.TargetHealthPublic(
                host=h.target.host, port=h.target.port, state=h.state, reason=h.reason
            )
            for h in health
        ]
    )


@router.post(Scoped + "/load-balancers", status_code=201)
def create_load_balancer(body: cs.LoadBalancerCreate, acct: AccountDep) -> c.LoadBalancer:
    return acct.create_load_balancer(
        name=body.name, subnet_ids=body.subnet_ids, client_token=body.client_token
    )


@router.get(Scoped + "/load-balancers")
def list_load_balancers(acct: AccountDep, paging: PagingDep) -> cs.LoadBalancersPublic:
    found = acct.describe_load_balancers(paging.page)
    return cs.LoadBalancersPublic(
        load_balancers=found, next_page_token=paging.next([lb.arn for lb in found])
    )


@router.delete(Scoped + "/load-balancers/{name}")
def delete_load_balancer(name: str, acct: AccountDep, state: StateDep) -> Deleted:
    acct.delete_load_balancer(_lb_arn(acct, name))
    _changed(state)
    return Deleted(deleted=name)


@router.post(Scoped + "/load-balancers/{name}/listeners", status_code=201)
def create_listener(
    name: str, body: cs.ListenerCreate, acct: AccountDep, state: StateDep
) -> c.Listener:
    listener = acct.create_listener(
        load_balancer_arn=_lb_arn(acct, name),
        port=body.port,
        target_group_arn=_tg_arn(acct, body.target_group),
    )
    _changed(state)
    return listener


@router.get(Scoped + "/load-balancers/{name}/listeners")
def list_listeners(name: str, acct: AccountDep) -> cs.ListenersPublic:
    return cs.ListenersPublic(listeners=acct.describe_listeners(_lb_arn(acct, name)))


@router.delete(Scoped + "/load-balancers/{name}/listeners/{port}")
def delete_listener(name: str, port: int, acct: AccountDep, state: StateDep) -> Deleted:
    for listener in acct.describe_listeners(_lb_arn(acct, name)):
        if listener.port == port:
            acct.delete_listener(listener.arn)
            _changed(state)
            return Deleted(deleted=port)
    raise NotFound(f"Load balancer {name} has no listener on port {port}")


@router.post(Scoped + "/endpoint-services", status_code=201)
def create_endpoint_service(body: cs.EndpointServiceCreate, acct: AccountDep) -> c.EndpointService:
    return acct.create_endpoint_service(
        load_balancer_arns=[_lb_arn(acct, n) for n in body.load_balancers],
        acceptance_required=body.acceptance_required,
        client_token=body.client_token,
    )


@router.get(Scoped + "/endpoint-services")
def list_endpoint_services(acct: AccountDep, paging: PagingDep) -> cs.EndpointServicesPublic:
    found = acct.describe_endpoint_services(paging.page)
    return cs.EndpointServicesPublic(
        endpoint_services=found, next_page_token=paging.next([svc.id for svc in found])
    )


@router.get(Scoped + "/endpoint-services/{service_id}")
def get_endpoint_service(service_id: str, acct: AccountDep) -> c.EndpointService:
    return acct.describe_endpoint_service(service_id)


@router.delete(Scoped + "/endpoint-services/{service_id}")
def delete_endpoint_service(service_id: str, acct: AccountDep, state: StateDep) -> Deleted:
    acct.delete_endpoint_service(service_id)
    _changed(state, service_id)
    return Deleted(deleted=service_id)


@router.post(Scoped + "/endpoint-services/{service_id}/permissions")
def modify_permissions(
    service_id: str, body: cs.Permissions, acct: AccountDep
) -> c.EndpointService:
    acct.modify_endpoint_service_permissions(service_id, add=body.add, remove=body.remove)
    return acct.describe_endpoint_service(service_id)


@router.get(Scoped + "/endpoint-services/{service_id}/connections")
def list_connections(service_id: str, acct: AccountDep) -> cs.EndpointConnectionsPublic:
    return cs.EndpointConnectionsPublic(connections=acct.describe_endpoint_connections(service_id))


@router.post(Scoped + "/endpoint-services/{service_id}/connections/accept")
def accept_connections(
    service_id: str, body: cs.Connections, acct: AccountDep, state: StateDep
) -> cs.EndpointConnectionsPublic:
    acct.accept_endpoint_connections(service_id, body.endpoint_ids)
    _changed(state, service_id, body.endpoint_ids)
    return list_connections(service_id, acct)


@router.post(Scoped + "/endpoint-services/{service_id}/connections/reject")
def reject_connections(
    service_id: str, body: cs.Connections, acct: AccountDep, state: StateDep
) -> cs.EndpointConnectionsPublic:
    acct.reject_endpoint_connections(service_id, body.endpoint_ids)
    _changed(state, service_id, body.endpoint_ids)
    return list_connections(service_id, acct)


@router.post(Scoped + "/endpoints", status_code=201, responses=documented(403))
def create_endpoint(
    _yours: AccountDep,  # the account is the caller's: checked before the body is
    body: cs.EndpointCreate,
    cloud: CloudDep,
    caller: CallerDep,
    state: StateDep,
    account: AccountKey,
    region: RegionName,
) -> c.Endpoint:
    acct = _owned(cloud, caller, account, region, body.principal)
    endpoint = acct.create_endpoint(
        vpc_id=body.vpc_id,
        service_name=body.service_name,
        subnet_ids=body.subnet_ids,
        security_group_ids=body.security_group_ids,
        client_token=body.client_token,
        private_dns_enabled=body.private_dns_enabled,
        address=body.address,
    )
    _changed(state, endpoint.service_id)
    return endpoint


@router.get(Scoped + "/endpoints")
def list_endpoints(acct: AccountDep, paging: PagingDep) -> cs.EndpointsPublic:
    found = acct.describe_endpoints(paging.page)
    return cs.EndpointsPublic(endpoints=found, next_page_token=paging.next([e.id for e in found]))


@router.get(Scoped + "/endpoints/{endpoint_id}")
def get_endpoint(endpoint_id: str, acct: AccountDep) -> c.Endpoint:
    return acct.describe_endpoint(endpoint_id)


@router.delete(Scoped + "/endpoints/{endpoint_id}")
def delete_endpoint(endpoint_id: str, acct: AccountDep, state: StateDep) -> Deleted:
    service_id = acct.describe_endpoint(endpoint_id).service_id
    acct.delete_endpoint(endpoint_id)
    _changed(state, service_id)
    return Deleted(deleted=endpoint_id)


# -- private DNS names of endpoint services ------------------------------------
@router.put(Scoped + "/endpoint-services/{service_id}/private-dns")
def set_private_dns_name(
    service_id: str, body: cs.PrivateDnsName, acct: AccountDep
) -> cs.PrivateDnsConfig:
    """Give the service a private DNS name; it answers once its domain is verified."""
    return cs.PrivateDnsConfig(**acct.set_private_dns_name(service_id, body.name))


@router.get(Scoped + "/endpoint-services/{service_id}/private-dns")
def get_private_dns_name(service_id: str, acct: AccountDep) -> cs.PrivateDnsConfig:
    return cs.PrivateDnsConfig(**acct.private_dns_config(service_id))


@router.post(Scoped + "/endpoint-services/{service_id}/private-dns/verify")
def verify_private_dns_name(service_id: str, acct: AccountDep) -> cs.PrivateDnsConfig:
    """Look for the TXT record that proves the domain is the service owner's."""
    return cs.PrivateDnsConfig(**acct.verify_private_dns_name(service_id))


# -- hosted zones (global, as Route 53's: the region in the path is not used) ----
@router.post(Scoped + "/dns/zones", status_code=201)
def create_zone(body: cs.DnsZoneCreate, acct: AccountDep) -> cs.DnsZonePublic:
    zone_id = acct.dns_zone(body.name)
    return next(cs.DnsZonePublic(id=i, name=n) for i, n in acct.list_dns_zones() if i == zone_id)


@router.get(Scoped + "/dns/zones")
def list_zones(acct: AccountDep) -> cs.DnsZonesPublic:
    return cs.DnsZonesPublic(
        zones=[cs.DnsZonePublic(id=i, name=n) for i, n in acct.list_dns_zones()]
    )


@router.delete(Scoped + "/dns/zones/{zone_id}")
def delete_zone(zone_id: str, acct: AccountDep) -> Deleted:
    acct.delete_dns_zone(zone_id)
    return Deleted(deleted=zone_id)


def _zone_name(acct: LocalAccount, zone_id: str) -> str:
    for found, name in acct.list_dns_zones():
        if found == zone_id:
            return name
    raise NotFound(f"Hosted zone {zone_id!r} does not exist in account {acct.account_id}")


@router.get(Scoped + "/dns/zones/{zone_id}/records")
def list_records(
    zone_id: str, acct: AccountDep, under: str | None = Query(None, max_length=255)
) -> cs.DnsRecordsPublic:
    found = acct.dns_records(zone_id, under or _zone_name(acct, zone_id))
    return cs.DnsRecordsPublic(records=[_record_body(r) for r in found])


@router.post(Scoped + "/dns/zones/{zone_id}/records")
def change_records(zone_id: str, body: cs.DnsChange, acct: AccountDep) -> cs.DnsRecordsPublic:
    upsert = [dns.record(r.name, r.type, r.values, r.ttl) for r in body.upsert]
    named = {(dns.name(r.name), r.type) for r in body.delete}
    current = acct.dns_records(zone_id, _zone_name(acct, zone_id))
    acct.change_dns_records(
        zone_id, upsert=upsert, delete=[r for r in current if (r.name, r.type) in named]
    )
    return list_records(zone_id, acct, under=None)


def _record_body(record: dns.Record) -> cs.DnsRecordBody:
    return cs.DnsRecordBody(
        name=record.name, type=record.type, values=list(record.values), ttl=record.ttl
    )

"""The local cloud's customer API: every step a customer does on AWS, here.

`privlink cloud …` drives these routes. Any valid token may use them, the way an
emulated cloud accepts any credentials; with `PRIVLINK_CLOUD=aws` they are absent.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from privlink.api import cloud_schemas as cs
from privlink.api.deps import CallerDep, StateDep
from privlink.cloud.contract import Target
from privlink.cloud.local.control import LocalAccount, LocalCloud
from privlink.cloud.local.network import vpc_range
from privlink.domain.cloud import HealthCheck
from privlink.domain.errors import NotFound

router = APIRouter(prefix="/v1/cloud", tags=["local cloud"])


def get_cloud(state: StateDep, _caller: CallerDep) -> LocalCloud:
    if state.cloud is None:
        raise NotFound("The local cloud is not enabled (PRIVLINK_CLOUD is not 'local')")
    return state.cloud


CloudDep = Annotated[LocalCloud, Depends(get_cloud)]


def get_account(
    cloud: CloudDep,
    account: Annotated[str, Path(max_length=63, description="Account ID or name")],
    region: Annotated[str, Path(max_length=32)],
) -> LocalAccount:
    return cloud.account(account, region)


AccountDep = Annotated[LocalAccount, Depends(get_account)]
Scoped = "/{account}/{region}"


def _changed(
    state: StateDep, endpoint_service: str | None = None, endpoints: list[str] | None = None
) -> None:
    """Let the data plane (and those who watch `endpoint_service`) act now, not at the next
    pass; `endpoints`: only these endpoints of it changed."""
    state.changed(endpoint_service=endpoint_service, endpoints=endpoints)


def _account(row: Any) -> dict[str, Any]:
    return {"account_id": row.id, "name": row.name, "principal": f"arn:aws:iam::{row.id}:root"}


def _row(row: Any, *fields: str) -> dict[str, Any]:
    return {f: getattr(row, f) for f in fields}


@router.post("/accounts", status_code=201)
def create_account(body: cs.AccountCreate, cloud: CloudDep) -> dict[str, Any]:
    return _account(cloud.create_account(body.name))


@router.get("/accounts")
def list_accounts(cloud: CloudDep) -> dict[str, Any]:
    return {"accounts": [_account(a) for a in cloud.list_accounts()]}


@router.post(Scoped + "/vpcs", status_code=201)
def create_vpc(body: cs.VpcCreate, acct: AccountDep) -> dict[str, Any]:
    vpc = acct.create_vpc(body.cidr)
    return _row(vpc, "id", "region", "cidr") | {"private_range": vpc_range(vpc.net_index)}


@router.get(Scoped + "/vpcs")
def list_vpcs(acct: AccountDep) -> dict[str, Any]:
    return {
        "vpcs": [
            _row(v, "id", "region", "cidr") | {"private_range": vpc_range(v.net_index)}
            for v in acct.describe_vpcs()
        ]
    }


@router.post(Scoped + "/subnets", status_code=201)
def create_subnet(body: cs.SubnetCreate, acct: AccountDep) -> dict[str, Any]:
    subnet = acct.create_subnet(body.vpc_id, body.az_id)
    return _row(subnet, "id", "vpc_id", "az_id", "cidr")


@router.get(Scoped + "/subnets")
def list_subnets(acct: AccountDep, vpc_id: str | None = None) -> dict[str, Any]:
    return {
        "subnets": [
            _row(s, "id", "vpc_id", "az_id", "cidr") | {"private_range": rng}
            for s, rng in acct.describe_subnets(vpc_id)
        ]
    }


@router.post(Scoped + "/security-groups", status_code=201)
def create_security_group(body: cs.SecurityGroupCreate, acct: AccountDep) -> dict[str, Any]:
    return _row(
        acct.create_security_group(body.vpc_id, body.name), "id", "vpc_id", "name", "ingress"
    )


@router.post(Scoped + "/security-groups/{group_id}/ingress")
def authorize_ingress(
    group_id: str, body: cs.IngressRule, acct: AccountDep, state: StateDep
) -> dict[str, Any]:
    group = acct.authorize_ingress(group_id, body.cidr, body.from_port, body.to_port)
    _changed(state)
    return _row(group, "id", "vpc_id", "name", "ingress")


@router.get(Scoped + "/security-groups")
def list_security_groups(acct: AccountDep) -> dict[str, Any]:
    return {
        "security_groups": [
            _row(g, "id", "vpc_id", "name", "ingress") for g in acct.describe_security_groups()
        ]
    }


def _tg_arn(acct: LocalAccount, name: str) -> str:
    for tg in acct.describe_target_groups():
        if name in (tg.name, tg.arn):
            return tg.arn
    raise NotFound(f"Target group {name!r} does not exist in {acct.region}")


def _lb_arn(acct: LocalAccount, name: str) -> str:
    for lb in acct.describe_load_balancers():
        if name in (lb.name, lb.arn):
            return lb.arn
    raise NotFound(f"Load balancer {name!r} does not exist in {acct.region}")


@router.post(Scoped + "/target-groups", status_code=201)
def create_target_group(body: cs.TargetGroupCreate, acct: AccountDep) -> dict[str, Any]:
    spec = body.health_check
    tg = acct.create_target_group(
        name=body.name,
        port=body.port,
        health_check=HealthCheck(
            **spec.model_dump(exclude={"timeout"}), timeout=spec.timeout or min(5.0, spec.interval)
        ),
        proxy_protocol_v2=body.proxy_protocol_v2,
        client_token=body.client_token,
        deregistration_delay=body.deregistration_delay,
    )
    return asdict(tg)


@router.get(Scoped + "/target-groups")
def list_target_groups(acct: AccountDep) -> dict[str, Any]:
    return {"target_groups": [asdict(tg) for tg in acct.describe_target_groups()]}


@router.delete(Scoped + "/target-groups/{name}")
def delete_target_group(name: str, acct: AccountDep) -> dict[str, Any]:
    acct.delete_target_group(_tg_arn(acct, name))
    return {"deleted": name}


@router.post(Scoped + "/target-groups/{name}/targets")
def register_targets(
    name: str, body: cs.Targets, acct: AccountDep, state: StateDep
) -> dict[str, Any]:
    arn = _tg_arn(acct, name)
    acct.register_targets(arn, [Target(t.host, t.port) for t in body.targets])
    _changed(state)
    return target_health(name, acct)


@router.post(Scoped + "/target-groups/{name}/targets/deregister")
def deregister_targets(
    name: str, body: cs.Targets, acct: AccountDep, state: StateDep
) -> dict[str, Any]:
    arn = _tg_arn(acct, name)
    acct.deregister_targets(arn, [Target(t.host, t.port) for t in body.targets])
    _changed(state)
    return target_health(name, acct)


@router.get(Scoped + "/target-groups/{name}/health")
def target_health(name: str, acct: AccountDep) -> dict[str, Any]:
    health = acct.describe_target_health(_tg_arn(acct, name))
    return {
        "targets": [
            {"host": h.target.host, "port": h.target.port, "state": h.state, "reason": h.reason}
            for h in health
        ]
    }


@router.post(Scoped + "/load-balancers", status_code=201)
def create_load_balancer(body: cs.LoadBalancerCreate, acct: AccountDep) -> dict[str, Any]:
    lb = acct.create_load_balancer(
        name=body.name, subnet_ids=body.subnet_ids, client_token=body.client_token
    )
    return asdict(lb)


@router.get(Scoped + "/load-balancers")
def list_load_balancers(acct: AccountDep) -> dict[str, Any]:
    return {"load_balancers": [asdict(lb) for lb in acct.describe_load_balancers()]}


@router.delete(Scoped + "/load-balancers/{name}")
def delete_load_balancer(name: str, acct: AccountDep, state: StateDep) -> dict[str, Any]:
    acct.delete_load_balancer(_lb_arn(acct, name))
    _changed(state)
    return {"deleted": name}


@router.post(Scoped + "/load-balancers/{name}/listeners", status_code=201)
def create_listener(
    name: str, body: cs.ListenerCreate, acct: AccountDep, state: StateDep
) -> dict[str, Any]:
    listener = acct.create_listener(
        load_balancer_arn=_lb_arn(acct, name),
        port=body.port,
        target_group_arn=_tg_arn(acct, body.target_group),
    )
    _changed(state)
    return asdict(listener)


@router.get(Scoped + "/load-balancers/{name}/listeners")
def list_listeners(name: str, acct: AccountDep) -> dict[str, Any]:
    return {"listeners": [asdict(li) for li in acct.describe_listeners(_lb_arn(acct, name))]}


@router.delete(Scoped + "/load-balancers/{name}/listeners/{port}")
def delete_listener(name: str, port: int, acct: AccountDep, state: StateDep) -> dict[str, Any]:
    for listener in acct.describe_listeners(_lb_arn(acct, name)):
        if listener.port == port:
            acct.delete_listener(listener.arn)
            _changed(state)
            return {"deleted": port}
    raise NotFound(f"Load balancer {name} has no listener on port {port}")


@router.post(Scoped + "/endpoint-services", status_code=201)
def create_endpoint_service(body: cs.EndpointServiceCreate, acct: AccountDep) -> dict[str, Any]:
    svc = acct.create_endpoint_service(
        load_balancer_arns=[_lb_arn(acct, n) for n in body.load_balancers],
        acceptance_required=body.acceptance_required,
        client_token=body.client_token,
    )
    return asdict(svc)


@router.get(Scoped + "/endpoint-services")
def list_endpoint_services(acct: AccountDep) -> dict[str, Any]:
    return {"endpoint_services": [asdict(s) for s in acct.describe_endpoint_services()]}


@router.get(Scoped + "/endpoint-services/{service_id}")
def get_endpoint_service(service_id: str, acct: AccountDep) -> dict[str, Any]:
    return asdict(acct.describe_endpoint_service(service_id))


@router.delete(Scoped + "/endpoint-services/{service_id}")
def delete_endpoint_service(service_id: str, acct: AccountDep, state: StateDep) -> dict[str, Any]:
    acct.delete_endpoint_service(service_id)
    _changed(state, service_id)
    return {"deleted": service_id}


@router.post(Scoped + "/endpoint-services/{service_id}/permissions")
def modify_permissions(service_id: str, body: cs.Permissions, acct: AccountDep) -> dict[str, Any]:
    acct.modify_endpoint_service_permissions(service_id, add=body.add, remove=body.remove)
    return asdict(acct.describe_endpoint_service(service_id))


@router.get(Scoped + "/endpoint-services/{service_id}/connections")
def list_connections(service_id: str, acct: AccountDep) -> dict[str, Any]:
    return {"connections": [asdict(e) for e in acct.describe_endpoint_connections(service_id)]}


@router.post(Scoped + "/endpoint-services/{service_id}/connections/accept")
def accept_connections(
    service_id: str, body: cs.Connections, acct: AccountDep, state: StateDep
) -> dict[str, Any]:
    acct.accept_endpoint_connections(service_id, body.endpoint_ids)
    _changed(state, service_id, body.endpoint_ids)
    return list_connections(service_id, acct)


@router.post(Scoped + "/endpoint-services/{service_id}/connections/reject")
def reject_connections(
    service_id: str, body: cs.Connections, acct: AccountDep, state: StateDep
) -> dict[str, Any]:
    acct.reject_endpoint_connections(service_id, body.endpoint_ids)
    _changed(state, service_id, body.endpoint_ids)
    return list_connections(service_id, acct)


@router.post(Scoped + "/endpoints", status_code=201)
def create_endpoint(
    body: cs.EndpointCreate, cloud: CloudDep, state: StateDep, account: str, region: str
) -> dict[str, Any]:
    acct = cloud.account(account, region, principal=body.principal)
    endpoint = acct.create_endpoint(
        vpc_id=body.vpc_id,
        service_name=body.service_name,
        subnet_ids=body.subnet_ids,
        security_group_ids=body.security_group_ids,
        client_token=body.client_token,
    )
    _changed(state, endpoint.service_id)
    return asdict(endpoint)


@router.get(Scoped + "/endpoints")
def list_endpoints(acct: AccountDep) -> dict[str, Any]:
    return {"endpoints": [asdict(e) for e in acct.describe_endpoints()]}


@router.get(Scoped + "/endpoints/{endpoint_id}")
def get_endpoint(endpoint_id: str, acct: AccountDep) -> dict[str, Any]:
    return asdict(acct.describe_endpoint(endpoint_id))


@router.delete(Scoped + "/endpoints/{endpoint_id}")
def delete_endpoint(endpoint_id: str, acct: AccountDep, state: StateDep) -> dict[str, Any]:
    service_id = acct.describe_endpoint(endpoint_id).service_id
    acct.delete_endpoint(endpoint_id)
    _changed(state, service_id)
    return {"deleted": endpoint_id}

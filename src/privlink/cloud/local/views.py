"""Local-cloud rows as the driver contract's views (what a cloud API answers)."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from privlink.cloud import contract as c
from privlink.cloud.local import dialects
from privlink.domain import cloud as rules
from privlink.store.cloud_tables import (
    LcEndpoint,
    LcEndpointService,
    LcListener,
    LcLoadBalancer,
    LcTargetGroup,
)


def hex_id(n: int) -> str:
    return secrets.token_hex(n)[:n]


def clean_tags(tags: c.Tags | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (tags or {}).items()}


def health_of(tg: LcTargetGroup) -> rules.HealthCheck:
    return rules.HealthCheck(
        interval=tg.hc_interval,
        timeout=tg.hc_timeout,
        healthy_threshold=tg.hc_healthy_threshold,
        unhealthy_threshold=tg.hc_unhealthy_threshold,
        port=tg.hc_port,
    )


def tg_view(tg: LcTargetGroup) -> c.TargetGroup:
    return c.TargetGroup(
        arn=tg.arn,
        name=tg.name,
        port=tg.port,
        health_check=health_of(tg),
        proxy_protocol_v2=tg.proxy_protocol_v2,
        tags=dict(tg.tags),
    )


def lb_view(lb: LcLoadBalancer) -> c.LoadBalancer:
    return c.LoadBalancer(
        arn=lb.arn,
        name=lb.name,
        region=lb.region,
        subnet_ids=tuple(lb.subnet_ids),
        az_ids=tuple(lb.az_ids),
        state=lb.state,
        tags=dict(lb.tags),
    )


def listener_view(listener: LcListener) -> c.Listener:
    return c.Listener(
        arn=listener.arn,
        load_balancer_arn=listener.load_balancer_arn,
        port=listener.port,
        target_group_arn=listener.target_group_arn,
    )


def endpoint_view(ep: LcEndpoint) -> c.Endpoint:
    return c.Endpoint(
        id=ep.id,
        vpc_id=ep.vpc_id,
        service_id=ep.service_id,
        service_name=ep.service_name,
        state=ep.state,
        owner=ep.principal,
        subnet_ids=tuple(ep.subnet_ids),
        addresses=tuple(c.EndpointAddress(**a) for a in ep.addresses),
        dns_name=ep.dns_name,
        reason=ep.reason,
        tags=dict(ep.tags),
        resource_id=dialects.endpoint_resource_id(ep.region, ep.account_id, ep.id),
        psc_connection_id=dialects.psc_connection_id(ep.region, ep.id),
    )


def service_view(s: Session, svc: LcEndpointService) -> c.EndpointService:
    """An endpoint service; its AZs are those of its load balancers."""
    azs: list[str] = []
    for arn in svc.load_balancer_arns:
        lb = s.get(LcLoadBalancer, arn)
        azs += [az for az in (lb.az_ids if lb else []) if az not in azs]
    return c.EndpointService(
        id=svc.id,
        name=svc.name,
        region=svc.region,
        state=svc.state,
        acceptance_required=svc.acceptance_required,
        load_balancer_arns=tuple(svc.load_balancer_arns),
        az_ids=tuple(sorted(azs)),
        principals=tuple(svc.principals),
        tags=dict(svc.tags),
        resource_id=dialects.service_resource_id(svc.region, svc.account_id, svc.id),
    )

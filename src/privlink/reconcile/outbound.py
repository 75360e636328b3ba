"""Outbound PrivateLink: the deployment's interface endpoint into a customer's endpoint service.

One step, idempotent, finding its endpoint again by tag (and client token):

  creating: the deployment's network (a VPC with a subnet per AZ ID) is made if
  missing; an endpoint is created, as the deployment's principal, in the subnets
  whose AZ IDs the customer's load balancer covers.
  creating/pending-acceptance/running: the endpoint's state says the link's
  (`domain.outbound.observed`): waiting for the owner's acceptance, running, or
  failed (rejected, service deleted by its owner, endpoint failed).
  failed: looked at again on resync only to sharpen the reason.
  deleting: the endpoint is deleted, then the link; its events stay.

A refusal by the cloud (no such service, principal not allowed, no shared AZ)
is permanent: the link goes `failed` with the cloud's message.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud import contract as c
from privlink.domain import cloud as cloud_rules
from privlink.domain import naming
from privlink.domain import outbound as rules
from privlink.reconcile import queue
from privlink.services import events
from privlink.store.tables import OutboundLink

KIND = "outbound"
PENDING_POLL = 5.0  # seconds between looks while the owner has not answered (clouds don't push)
PROVISIONING_POLL = 0.5  # accepted: available within moments


@dataclass(frozen=True)
class Config:
    resync: float = 30.0
    backoff: float = 0.5


@dataclass(frozen=True)
class Desired:
    link_id: str
    state: str
    incarnation: int
    region: str
    deployment_key: str
    deployment_azs: tuple[str, ...]
    role: str
    service_name: str
    project: str


def kind(sessions: sessionmaker[Session], platform: c.Platform, cfg: Config) -> queue.Kind:
    """Outbound links on the shared work queue; failed ones are still resynced, only to
    sharpen their reason."""
    return queue.Kind(
        name="outbound",
        model=OutboundLink,
        step=lambda link_id: step(sessions, platform, link_id, cfg),
        fail=lambda s, link, reason: move(s, link, rules.FAILED, reason),
        resync=cfg.resync,
        backoff=cfg.backoff,
        resync_failed=True,
        routes=True,
    )


def run(sessions: sessionmaker[Session], platform: c.Platform, link_id: str, cfg: Config) -> None:
    kind(sessions, platform, cfg).run(sessions, link_id)


def _read(sessions: sessionmaker[Session], link_id: str) -> Desired | None:
    with sessions() as s:
        link = s.get(OutboundLink, link_id)
        if link is None:
            return None
        service = link.service
        region, azs, role = rules.deployment(service.project.name, service.name, service.cloud_name)
        return Desired(
            link_id=link.id,
            state=link.state,
            incarnation=link.incarnation,
            region=region,
            deployment_key=rules.deployment_key(service.project.name, service.name),
            deployment_azs=azs,
            role=role,
            service_name=link.endpoint_service_name,
            project=service.project.name,
        )


def step(
    sessions: sessionmaker[Session], platform: c.Platform, link_id: str, cfg: Config
) -> float | None:
    """One pass toward the desired state; seconds until the next pass is wanted."""
    want = _read(sessions, link_id)
    if want is None:
        return None
    cloud = platform.driver(want.region, platform.principal(want.role))
    tags = naming.finder_tags(naming.Kind.outbound, want.link_id)
    found = cloud.find_by_tags(naming.Resource.endpoint, tags)
    if want.state == rules.DELETING:
        for endpoint_id in found:
            cloud.delete_endpoint(endpoint_id)
        _forget(sessions, want, found)
        return None
    if not found and want.state == rules.FAILED:
        return None  # failed before an endpoint existed: nothing to watch
    incarnation, recreated = want.incarnation, False
    if found:
        endpoint = cloud.describe_endpoint(found[0])
    else:
        recreated = want.state in (rules.PENDING, rules.RUNNING)  # vanished: make it again
        incarnation += int(recreated)
        created = naming.created_tags(naming.Kind.outbound, want.link_id, want.project)
        token = naming.client_token(want.link_id, incarnation, "endpoint")
        endpoint = _create(cloud, platform, want, created, token)
    service_exists = cloud.find_endpoint_service(want.service_name) is not None
    state, reason = rules.observed(endpoint.state, endpoint.reason, service_exists)
    _record(sessions, want, endpoint, state, reason, incarnation if recreated else None)
    if endpoint.state == "pending":
        return PROVISIONING_POLL
    return min(PENDING_POLL, cfg.resync) if state in (rules.CREATING, rules.PENDING) else None


def _create(
    cloud: c.CloudDriver, platform: c.Platform, want: Desired, tags: c.Tags, client_token: str
) -> c.Endpoint:
    vpc_id = platform.deployment_network(want.region, want.deployment_key, want.deployment_azs)
    service = cloud.find_endpoint_service(want.service_name)
    if service is None:
        raise cloud_rules.service_missing(
            want.service_name,
            want.region,
            " (or it is not available to the deployment's principal)",
        )
    shared = rules.check_azs(service.az_ids, want.deployment_azs, service.id)
    subnets = [sub.id for sub in cloud.vpc_subnets(vpc_id) if sub.az_id in shared]
    return cloud.create_endpoint(
        vpc_id=vpc_id,
        service_name=want.service_name,
        subnet_ids=subnets,
        security_group_ids=(),
        tags=tags,
        client_token=client_token,
    )


def _record(
    sessions: sessionmaker[Session],
    want: Desired,
    endpoint: c.Endpoint,
    state: str,
    reason: str,
    incarnation: int | None,
) -> None:
    with sessions() as s, s.begin():
        link = s.get(OutboundLink, want.link_id)
        if link is None or link.state == rules.DELETING:
            return  # delete asked meanwhile: the next pass removes the endpoint
        if incarnation is not None:
            link.incarnation = incarnation
            _event(s, link, f"endpoint was deleted out of band; re-created as {endpoint.id}")
        link.vpc_endpoint_id, link.dns_name = endpoint.id, endpoint.dns_name
        link.addresses = [a.address for a in endpoint.addresses]
        if link.state == rules.FAILED and state != rules.FAILED:
            return  # failed is final: delete the link and create a new one
        if state == link.state and state in (rules.CREATING, rules.RUNNING):
            return  # nothing new (a retry's reason stays until the state moves)
        if state == rules.RUNNING:
            addresses = ", ".join(link.addresses)
            move(
                s,
                link,
                state,
                f"endpoint {endpoint.id} is available at {addresses} ({endpoint.dns_name})",
            )
            link.reason = ""
        elif (state, reason) != (link.state, link.reason):
            move(s, link, state, reason)


def _event(s: Session, link: OutboundLink, message: str) -> None:
    events.record_for(s, link, KIND, message)


def move(s: Session, link: OutboundLink, state: str, reason: str) -> None:
    link.state, link.reason = state, reason[:1000]
    _event(s, link, reason or state)


def _forget(sessions: sessionmaker[Session], want: Desired, endpoints: list[str]) -> None:
    with sessions() as s, s.begin():
        link = s.get(OutboundLink, want.link_id)
        if link is None:
            return
        gone = f"endpoint {', '.join(endpoints)} deleted" if endpoints else "no endpoint to delete"
        move(s, link, "deleted", gone)
        s.delete(link)

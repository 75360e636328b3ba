"""Inbound PrivateLink: make the platform account's cloud match the desired object.

Every move is idempotent and finds its resource again by tags (or its client
token), so a step killed at any instant resumes without duplicates or leaks:

  creating/active: a target group per unit (component, or one Kafka broker) with
  its nodes registered; an internal NLB in the project VPC's subnets; a listener
  per unit whose component has `privatelink_access` on; an endpoint service
  allowing the principals; customer endpoints of allowed principals accepted and
  recorded as connections; each available one's names published in the platform
  zone (`domain.dns`), and then it is `active`, whichever components are on.
  deleting: connections rejected, names, endpoint service, listeners, NLB and
  target groups removed, then the object (and its ports) are gone.

Work is claimed and retried through `reconcile.queue`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, cast

import structlog
from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud import contract as c
from privlink.cloud import piecewise
from privlink.domain import catalog, dns, naming
from privlink.domain import privatelink as rules
from privlink.domain.cloud import HealthCheck
from privlink.domain.errors import Conflict, NotFound
from privlink.reconcile import queue
from privlink.services import certificates, events
from privlink.store.tables import Privatelink, PrivatelinkConnection, ProjectVpc

log = structlog.get_logger(__name__)
HEALTH_POLL = 1.0  # seconds between steps while targets or connections are settling


def kind(sessions: sessionmaker[Session], driver_for: c.PublisherFor, cfg: Config) -> queue.Kind:
    """Inbound PrivateLinks on the shared work queue."""
    return queue.Kind(
        name="privatelink",
        model=Privatelink,
        step=lambda pl_id: step(sessions, driver_for, pl_id, cfg),
        fail=lambda s, pl, reason: _move(s, pl, rules.FAILED, reason),
        resync=cfg.resync,
        backoff=cfg.backoff,
        routes=True,
    )


def run(
    sessions: sessionmaker[Session], driver_for: c.PublisherFor, pl_id: str, cfg: Config
) -> None:
    """Claim the object, take one step, record the outcome, release the lease."""
    kind(sessions, driver_for, cfg).run(sessions, pl_id)


# -- one step ---------------------------------------------------------------
@dataclass(frozen=True)
class Config:
    health_check: HealthCheck
    resync: float = 30.0
    backoff: float = 0.5
    # Seconds between steps while accessible targets are unhealthy; None when the cloud
    # reports health changes itself (the local cloud's data plane wakes the object).
    health_poll: float | None = HEALTH_POLL
    dns_zone: str = "pl.privlink.internal"  # where connection names are published


@dataclass(frozen=True)
class Desired:
    pl_id: str
    state: str
    generation: int
    incarnation: int
    principals: tuple[str, ...]
    region: str
    platform_vpc: str | None
    units: tuple[rules.Unit, ...]
    ports: dict[str, int]
    access: dict[str, bool]
    was_active: bool
    project: str
    service: str
    connections: dict[str, str]  # endpoint ID -> connection ID, of those recorded
    dns_published: tuple[dns.Record, ...]
    provider: str = rules.AWS
    # Azure and Google: endpoint ID -> the address the customer reported, of connections
    # the customer approved (None: not reported yet).
    approved: dict[str, str | None] | None = None


def _read(sessions: sessionmaker[Session], pl_id: str) -> Desired | None:
    with sessions() as s:
        pl = s.get(Privatelink, pl_id)
        if pl is None:
            return None
        service = pl.service
        vpc = s.get(ProjectVpc, service.project_vpc_id) if service.project_vpc_id else None
        return Desired(
            pl_id=pl.id,
            state=pl.state,
            generation=pl.generation,
            incarnation=pl.incarnation,
            principals=tuple(pl.principals),
            region=catalog.cloud_region(service.cloud_name),
            platform_vpc=vpc.cloud_vpc_id if vpc is not None and vpc.state == "ACTIVE" else None,
            units=tuple(rules.units(service.service_type, service.components)),
            ports={p.unit: p.port for p in pl.ports},
            access=rules.access(service.user_config),
            was_active=pl.aws_service_id is not None,
            project=service.project.name,
            service=service.name,
            connections={conn.vpc_endpoint_id: conn.id for conn in pl.connections},
            dns_published=tuple(_records(pl.dns_published)),
            provider=pl.provider,
            approved={
                conn.vpc_endpoint_id: conn.user_ip_address
                for conn in pl.connections
                if conn.approved
            },
        )


def _records(stored: list[Any]) -> list[dns.Record]:
    """Records as `Privatelink.dns_published` keeps them: [name, type, values, ttl]."""
    return [dns.Record(name, kind, tuple(values), ttl) for name, kind, values, ttl in stored]


def _stored(records: tuple[dns.Record, ...]) -> list[Any]:
    return [[r.name, r.type, list(r.values), r.ttl] for r in records]


def connection_id(pl_id: str, endpoint_id: str) -> str:
    """A connection's ID, the same for the same endpoint: a name published for it before
    its record was written (a crash between) is the one the next pass publishes again."""
    return "plc" + hashlib.sha256(f"{pl_id}/{endpoint_id}".encode()).hexdigest()[:11]


def step(
    sessions: sessionmaker[Session], driver_for: c.PublisherFor, pl_id: str, cfg: Config
) -> float | None:
    """One pass toward the desired state; returns seconds until the next pass is wanted."""
    want = _read(sessions, pl_id)
    if want is None:
        return None
    cloud = driver_for(want.region)
    whole = _whole(cloud)
    if want.state == rules.DELETING:
        # Names first: clients stop finding the endpoints before they stop answering. The
        # subtree is listed whatever was recorded (a crash may have published unrecorded).
        _sync_zone(cloud, want, cfg, ())
        if whole is not None:
            whole.unpublish(want.pl_id)
        else:
            tg_names = [naming.target_group_name(want.pl_id, p) for p in want.ports.values()]
            piecewise.remove(cast(c.CloudDriver, cloud), want.pl_id, tg_names)
        _forget(sessions, want)
        return None
    if whole is not None:
        return _converge_whole(sessions, whole, want, cfg)
    return _converge(sessions, cast(c.CloudDriver, cloud), want, cfg)


def _whole(cloud: c.CloudDriver | c.Publisher) -> c.Publisher | None:
    """The cloud as a `Publisher` if it publishes services whole (it may be wrapped for
    metering and audit, so this asks what it can do rather than what class it is)."""
    return cast(c.Publisher, cloud) if callable(getattr(cloud, "publish", None)) else None


def _converge_whole(
    sessions: sessionmaker[Session], cloud: c.Publisher, want: Desired, cfg: Config
) -> float | None:
    """Azure and Google: the load balancer and the service declared whole, then the
    connections and names as on AWS."""
    if want.platform_vpc is None:
        raise Conflict("The service's project VPC is not ACTIVE; move the service into one")
    spec = c.PublishSpec(
        key=want.pl_id,
        network=want.platform_vpc,
        units=tuple(
            c.PublishedUnit(
                key=u.key,
                port=want.ports[u.key],
                targets=tuple(c.Target(h, p) for h, p in u.targets),
                open=bool(want.access.get(u.component)),
            )
            for u in want.units
        ),
        consumers=want.principals,
        health_check=cfg.health_check,
        tags=naming.created_tags(naming.Kind.privatelink, want.pl_id, want.project),
    )
    published = cloud.publish(spec)
    service = c.EndpointService(
        id=published.id,
        name=published.name,
        region=want.region,
        state="Available",
        acceptance_required=True,
        load_balancer_arns=(),
        az_ids=(),
        principals=want.principals,
        resource_id=published.resource_id,
    )
    healthy = dict(published.healthy)
    if not want.was_active:  # `active` as soon as the service is there
        _record(sessions, want, cfg, service, None, healthy, want.dns_published, [])
    endpoints = _settle_endpoints(cloud, published.id, want)
    names = _publish(sessions, cloud, want, cfg, endpoints)
    settling = _record(sessions, want, cfg, service, endpoints, healthy, names, [])
    if settling:
        return HEALTH_POLL
    unhealthy = any(not healthy.get(u.key) for u in spec.units if u.open)
    return cfg.health_poll if unhealthy else None


class _Builder:
    """The create/adopt moves of one pass, with what they noticed along the way."""

    def __init__(self, cloud: c.CloudDriver, want: Desired) -> None:
        self.cloud, self.want = cloud, want
        self.tags = naming.finder_tags(naming.Kind.privatelink, want.pl_id)
        self.created_tags = naming.created_tags(naming.Kind.privatelink, want.pl_id, want.project)
        self.recreated: list[str] = []

    def token(self, kind: str, unit: str = "") -> str:
        return naming.client_token(self.want.pl_id, self.want.incarnation, kind, unit)

    def found(self, kind: str, what: str) -> str | None:
        ids = self.cloud.find_by_tags(kind, self.tags)
        if not ids and self.want.was_active:
            self.recreated.append(what)
        return ids[0] if ids else None


def _converge(
    sessions: sessionmaker[Session], cloud: c.CloudDriver, want: Desired, cfg: Config
) -> float | None:
    if want.platform_vpc is None:
        raise Conflict("The service's project VPC is not ACTIVE; move the service into one")
    b = _Builder(cloud, want)
    groups: dict[str, str] = {}
    healthy: dict[str, bool] = {}
    # One search for every target group of the PrivateLink: each unit's is told by its
    # unit tag (the first found wins), and the rest are orphans (of units that are gone).
    tagged = cloud.find_tagged(naming.Resource.target_group, b.tags)
    of_unit = {tags.get(naming.UNIT_TAG): arn for arn, tags in reversed(tagged.items())}
    for unit in want.units:
        port = want.ports[unit.key]
        arn = of_unit.get(unit.key)
        if arn is None and want.was_active:
            b.recreated.append(f"target group {unit.key}")
        fresh = arn is None  # made by this pass: nothing registered yet
        if arn is None:
            arn = cloud.create_target_group(
                name=naming.target_group_name(want.pl_id, port),
                port=unit.targets[0][1],
                health_check=cfg.health_check,
                proxy_protocol_v2=False,
                tags={**b.created_tags, naming.UNIT_TAG: unit.key},
                client_token=b.token("tg", unit.key),
                vpc_id=want.platform_vpc,
            ).arn
        groups[unit.key] = arn
        try:
            healthy[unit.key] = _sync_targets(cloud, arn, unit, fresh=fresh)
        except NotFound as error:  # deleted since this pass found it: the next re-creates it
            raise Conflict(
                f"{error.message}; re-created on the next try", temporary=True
            ) from error
    lb = b.found(naming.Resource.load_balancer, "load balancer")
    # What this pass made is known to be empty: no describe of it (a create's pass makes
    # every resource, and the fewer calls the more PrivateLinks per second).
    fresh = lb is None
    if lb is None:
        subnets = [sub.id for sub in cloud.vpc_subnets(want.platform_vpc)]
        lb = cloud.create_load_balancer(
            name=naming.load_balancer_name(want.pl_id),
            subnet_ids=subnets,
            tags=b.created_tags,
            client_token=b.token("nlb"),
        ).arn
    wanted = {want.ports[u.key]: groups[u.key] for u in want.units if want.access.get(u.component)}
    have = set()
    for listener in [] if fresh else cloud.describe_listeners(lb):
        if wanted.get(listener.port) == listener.target_group_arn:
            have.add(listener.port)
        else:
            cloud.delete_listener(listener.arn)
    for port, arn in sorted(wanted.items()):
        if port not in have:
            cloud.create_listener(load_balancer_arn=lb, port=port, target_group_arn=arn)
    for arn in tagged:
        if arn not in groups.values():
            cloud.delete_target_group(arn)
    service_id = b.found(naming.Resource.endpoint_service, "endpoint service")
    fresh = service_id is None
    if service_id is None:
        service = cloud.create_endpoint_service(
            load_balancer_arns=[lb],
            acceptance_required=True,
            tags=b.created_tags,
            client_token=b.token("svc"),
        )
        service_id = service.id
    else:
        service = cloud.describe_endpoint_service(service_id)
    add = [p for p in want.principals if p not in service.principals]
    remove = [p for p in service.principals if p not in want.principals]
    if add or remove:
        cloud.modify_endpoint_service_permissions(service_id, add=add, remove=remove)
    # The endpoint service is ready: `active` now, whatever the connections say next
    # (an object already active records everything once, below).
    published = want.dns_published
    if fresh:  # no endpoint can have asked to connect yet: one record says it all
        endpoints: list[c.Endpoint] = []
    else:
        if not want.was_active or b.recreated:
            _record(sessions, want, cfg, service, None, healthy, published, b.recreated)
        endpoints = _settle_endpoints(cloud, service_id, want)
        published = _publish(sessions, cloud, want, cfg, endpoints)
    settling = _record(
        sessions, want, cfg, service, endpoints, healthy, published, b.recreated if fresh else []
    )
    accessible_unhealthy = any(
        not healthy[u.key] for u in want.units if want.access.get(u.component)
    )
    if settling:
        return HEALTH_POLL
    return cfg.health_poll if accessible_unhealthy else None


def _sync_targets(cloud: c.CloudDriver, arn: str, unit: rules.Unit, *, fresh: bool) -> bool:
    """Register the unit's nodes, deregister others; whether any target is healthy.
    A `fresh` group (just made) has none registered yet."""
    wanted = [c.Target(host, port) for host, port in unit.targets]
    views = [] if fresh else [v for v in cloud.describe_target_health(arn) if v.state != "draining"]
    current = {v.target for v in views}
    missing = [t for t in wanted if t not in current]
    extra = [t for t in current if t not in wanted]
    if missing:
        cloud.register_targets(arn, missing)
    if extra:
        cloud.deregister_targets(arn, extra)
    return any(v.state == "healthy" and v.target in wanted for v in views)


def _settle_endpoints(cloud: c.ServiceOwner, service_id: str, want: Desired) -> list[c.Endpoint]:
    """AWS: accept endpoints of allowed principals, reject the others. Azure and Google:
    accept those the customer approved; the rest wait. The live ones after."""
    endpoints = cloud.describe_endpoint_connections(service_id)
    waiting = [e for e in endpoints if e.state == "pendingAcceptance"]
    if want.provider == rules.AWS:
        accept = [e.id for e in waiting if rules.allows(want.principals, e.owner)]
        reject = [e.id for e in waiting if e.id not in accept]
    else:
        accept, reject = [e.id for e in waiting if e.id in (want.approved or {})], []
    if accept:
        cloud.accept_endpoint_connections(service_id, accept)
    if reject:
        cloud.reject_endpoint_connections(service_id, reject)
    if accept or reject:
        endpoints = cloud.describe_endpoint_connections(service_id)
    return [e for e in endpoints if e.state in rules.CONNECTION_STATES]


def _names(want: Desired, cfg: Config, endpoints: list[c.Endpoint]) -> list[dns.Record]:
    """The records of every available connection: its name, its nodes', its AZs'."""
    per_node = [u.key for u in want.units if u.node >= 0]
    records = []
    for ep in endpoints:
        if rules.CONNECTION_STATES.get(ep.state) != "connected":
            continue
        plc = want.connections.get(ep.id) or connection_id(want.pl_id, ep.id)
        host = dns.connection_host(cfg.dns_zone, want.service, want.project, plc)
        if want.provider != rules.AWS:
            # The owner sees no consumer address in Azure or Google: the name points at the
            # one the customer reported, once they did.
            ip = (want.approved or {}).get(ep.id)
            if ip:
                records += dns.connection_records(host, [("", ip)], per_node, zonal=False)
            continue
        addresses = [(a.az_id, a.address) for a in ep.addresses]
        records += dns.connection_records(host, addresses, per_node, alias=ep.dns_name)
    return sorted(records)


def _publish(
    sessions: sessionmaker[Session],
    cloud: c.ServiceOwner,
    want: Desired,
    cfg: Config,
    endpoints: list[c.Endpoint],
) -> tuple[dns.Record, ...]:
    """Make the service's subtree of the platform zone hold exactly the connections'
    records; no call while they are what was published last.

    What is about to be published is recorded first (with what was): a crash after the
    change leaves the record unlike the wish, so the next pass lists the zone and puts it
    right, even if the connection is gone by then."""
    wanted = tuple(_names(want, cfg, endpoints))
    if wanted == want.dns_published:
        return wanted
    maybe = tuple(sorted(set(want.dns_published) | set(wanted)))
    if maybe != want.dns_published:
        with sessions() as s, s.begin():
            pl = s.get(Privatelink, want.pl_id)
            if pl is not None:
                pl.dns_published = _stored(maybe)
    _sync_zone(cloud, want, cfg, wanted)
    return wanted


def _sync_zone(
    cloud: c.ServiceOwner, want: Desired, cfg: Config, wanted: tuple[dns.Record, ...]
) -> None:
    zone_id = cloud.dns_zone(cfg.dns_zone)
    current = cloud.dns_records(
        zone_id, dns.service_subtree(cfg.dns_zone, want.service, want.project)
    )
    upsert, delete = dns.changes(wanted, current)
    if upsert or delete:
        cloud.change_dns_records(zone_id, upsert=upsert, delete=delete)


def _record(
    sessions: sessionmaker[Session],
    want: Desired,
    cfg: Config,
    service: c.EndpointService,
    endpoints: list[c.Endpoint] | None,
    healthy: dict[str, bool],
    published: tuple[dns.Record, ...],
    recreated: list[str],
) -> bool:
    """Write what was observed (connections too, unless `endpoints` is None); whether
    anything is still settling. An available endpoint's connection is `active`: its
    names are `published` by now."""
    settling = False
    with sessions() as s, s.begin():
        pl = s.get(Privatelink, want.pl_id)
        if pl is None or pl.state == rules.DELETING or pl.generation != want.generation:
            return True  # changed meanwhile: the next pass works on the new wish
        project_id, service_name = pl.service.project_id, pl.service.name

        def event(kind: str, object_id: str, state: str, message: str) -> None:
            events.record(
                s,
                project_id=project_id,
                service_name=service_name,
                kind=kind,
                object_id=object_id,
                state=state,
                message=message,
            )

        for what in recreated:
            event("privatelink", pl.id, pl.state, f"{what} was deleted out of band; re-created")
        if recreated:
            pl.incarnation += 1
        for port in pl.ports:
            port.healthy = healthy.get(port.unit, False)
        by_endpoint = {conn.vpc_endpoint_id: conn for conn in pl.connections}
        if endpoints is None:
            by_endpoint, endpoints = {}, []  # connections are not looked at in this phase
        named = {r.name for r in published}
        for ep in endpoints:
            conn = by_endpoint.pop(ep.id, None)
            if conn is None:
                conn = PrivatelinkConnection(
                    id=connection_id(pl.id, ep.id), vpc_endpoint_id=ep.id, owner=ep.owner, state=""
                )
                pl.connections.append(conn)
            host = dns.connection_host(cfg.dns_zone, want.service, want.project, conn.id)
            state = rules.CONNECTION_STATES[ep.state]
            if state == "pending-user-approval" and conn.approved:
                state = "user-approved"  # the customer did; the cloud accepts it next
            if state == "connected" and host in named:
                state = rules.CONNECTION_ACTIVE
            conn.dns_name, conn.host = ep.dns_name, host
            conn.resource_id, conn.psc_connection_id = ep.resource_id, ep.psc_connection_id
            if conn.state != state:
                conn.state = state
                event("connection", conn.id, state, f"endpoint {ep.id} of {ep.owner} is {ep.state}")
            # Waiting on a person (approval, the endpoint's address) is not settling.
            settling |= state not in (rules.CONNECTION_ACTIVE, "connected") and (
                pl.provider == rules.AWS or state == "user-approved"
            )
        for conn in by_endpoint.values():
            event("connection", conn.id, "removed", f"endpoint {conn.vpc_endpoint_id} is gone")
            pl.connections.remove(conn)
        hosts = [conn.host for conn in pl.connections if conn.state == rules.CONNECTION_ACTIVE]
        if certificates.ensure_server_certificate(s, pl.service, hosts):
            names = ", ".join(pl.service.tls_names)
            event("certificate", service_name, "issued", f"server certificate for {names}"[:1000])
        if pl.state != rules.ACTIVE:
            pl.state, pl.reason = rules.ACTIVE, ""
            event(
                "privatelink",
                pl.id,
                rules.ACTIVE,
                f"endpoint service {service.id} ({service.name}) is ready",
            )
        pl.aws_service_id, pl.aws_service_name = service.id, service.name
        pl.resource_id = service.resource_id
        pl.dns_published = _stored(published)
        pl.observed_generation = want.generation
        pl.reason = ""
    return settling


def _move(s: Session, pl: Privatelink, state: str, reason: str) -> None:
    pl.state, pl.reason = state, reason[:1000]
    events.record_for(s, pl, "privatelink", reason)


def _forget(sessions: sessionmaker[Session], want: Desired) -> None:
    with sessions() as s, s.begin():
        pl = s.get(Privatelink, want.pl_id)
        if pl is None:
            return
        for conn in pl.connections:  # they end with it (usage counts them until here)
            events.record(
                s,
                project_id=pl.service.project_id,
                service_name=pl.service.name,
                kind="connection",
                object_id=conn.id,
                state="removed",
                message=f"endpoint {conn.vpc_endpoint_id} rejected: the PrivateLink is deleted",
            )
        _move(s, pl, "deleted", "endpoint service, load balancer and target groups removed")
        s.delete(pl)

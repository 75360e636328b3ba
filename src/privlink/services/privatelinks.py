"""Inbound PrivateLink use cases: create, update, delete, refresh, connections, ports.

These record desired state only; the reconciler makes the cloud match it.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from privlink.domain import dns
from privlink.domain import privatelink as rules
from privlink.domain.errors import Conflict, NotFound
from privlink.services import certificates, events, registry
from privlink.store.base import as_utc, utcnow
from privlink.store.tables import (
    Privatelink,
    PrivatelinkConnection,
    PrivatelinkPort,
    Project,
    ProjectVpc,
    Service,
)

KIND = "privatelink"


def find(session: Session, service: Service) -> Privatelink | None:
    return session.scalar(select(Privatelink).where(Privatelink.service_id == service.id))


def get(session: Session, *, project: Project, service_name: str) -> Privatelink:
    service = registry.get_service(session, project=project, name=service_name)
    found = find(session, service)
    if found is None:
        raise NotFound(
            f"Service '{service_name}' has no AWS PrivateLink; create one with "
            f"`avn service privatelink aws create --principal ARN {service_name}`"
        )
    return found


def _event(session: Session, pl: Privatelink, message: str, actor: str) -> None:
    events.record_for(session, pl, KIND, message, actor=actor)


def _due_now(pl: Privatelink) -> None:
    pl.next_attempt_at, pl.attempts = utcnow(), 0


def _wake(pl: Privatelink) -> bool:
    """Due now, unless a retry after a failure is set for later (its backoff stands); a
    poll set for later (a step waiting for something to settle) is brought forward. A
    step already due or in flight is stamped again: the queue keeps a wake newer than the
    step's claim, so a change seen while the step ran (after it read) gets a step of its
    own."""
    due = as_utc(pl.next_attempt_at)
    backing_off = pl.attempts > 0 and due is not None and due > utcnow()
    if pl.state == rules.DELETING or backing_off:
        return False
    _due_now(pl)
    return True


def create(
    session: Session,
    *,
    project: Project,
    service_name: str,
    principals: Sequence[str] | None,
    pool: range,
    actor: str,
) -> Privatelink:
    service = registry.get_service(session, project=project, name=service_name)
    allowed = rules.principals(principals)
    vpc = session.get(ProjectVpc, service.project_vpc_id) if service.project_vpc_id else None
    rules.check_can_use(
        service_type=service.service_type,
        plan=service.plan,
        in_vpc=vpc is not None and vpc.state == "ACTIVE",
        feature_enabled=project.privatelink_enabled,
    )
    existing = find(session, service)
    if existing is not None:
        raise Conflict(
            f"Service '{service_name}' already has an AWS PrivateLink ({existing.state}); "
            "change its principals with `avn service privatelink aws update`"
        )
    units = rules.units(service.service_type, service.components)
    ports = rules.allocate_ports([u.key for u in units], {}, pool)
    pl = Privatelink(id=str(uuid.uuid4()), service=service, principals=allowed, state="creating")
    pl.ports = [
        PrivatelinkPort(unit=u.key, component=u.component, node=u.node, port=ports[u.key])
        for u in units
    ]
    _due_now(pl)
    session.add(pl)
    try:
        session.flush()
    except IntegrityError as error:  # a concurrent create won the race
        raise Conflict(f"Service '{service_name}' already has an AWS PrivateLink") from error
    _event(session, pl, f"create requested; principals {', '.join(allowed)}", actor)
    return pl


def update(
    session: Session,
    *,
    project: Project,
    service_name: str,
    principals: Sequence[str] | None,
    actor: str,
) -> Privatelink:
    pl = get(session, project=project, service_name=service_name)
    rules.check_changeable(pl.state, "updated")
    allowed = rules.principals(principals)
    if allowed != pl.principals or pl.state == rules.FAILED:
        pl.principals = allowed
        pl.generation += 1
        if pl.state == rules.FAILED:
            pl.state, pl.reason = rules.CREATING, ""
        _due_now(pl)
        _event(session, pl, f"principals set to {', '.join(allowed)}", actor)
    return pl


def delete(session: Session, *, project: Project, service_name: str, actor: str) -> Privatelink:
    pl = get(session, project=project, service_name=service_name)
    rules.check_changeable(pl.state, "deleted again")
    pl.state, pl.reason = rules.DELETING, ""
    pl.generation += 1
    _due_now(pl)
    _event(session, pl, "delete requested", actor)
    return pl


def refresh_allowed(pl: Privatelink) -> None:
    rules.check_changeable(pl.state, "refreshed")


def refresh(session: Session, *, project: Project, service_name: str) -> Privatelink:
    """Mark the object due now (when no runner in this process can step it at once)."""
    pl = get(session, project=project, service_name=service_name)
    refresh_allowed(pl)
    _due_now(pl)
    return pl


def wake(session: Session, *, aws_service_id: str) -> bool:
    """Customers touched endpoints of this endpoint service: look at them now. Whether
    one was woken."""
    found = session.scalars(select(Privatelink).where(Privatelink.aws_service_id == aws_service_id))
    return sum(_wake(pl) for pl in found) > 0  # every one woken, not just the first


def wake_ids(session: Session, pl_ids: list[str]) -> int:
    """Something these PrivateLinks show changed in the cloud (e.g. target health):
    their next step is due now. How many were woken."""
    found = session.scalars(select(Privatelink).where(Privatelink.id.in_(pl_ids)))
    return sum(_wake(pl) for pl in found)


def desired_changed(session: Session, service: Service) -> None:
    """The service's config changed (e.g. privatelink_access): reconcile its PrivateLink."""
    pl = find(session, service)
    if pl is not None and pl.state != rules.DELETING:
        pl.generation += 1
        _due_now(pl)


def get_connection(pl: Privatelink, connection_id: str) -> PrivatelinkConnection:
    rules.connection_id(connection_id)
    for conn in pl.connections:
        if conn.id == connection_id:
            return conn
    raise NotFound(
        f"PrivateLink connection {connection_id} does not exist for service "
        f"'{pl.service.name}'; list them with "
        f"`avn service privatelink aws connection list {pl.service.name}`"
    )


@dataclass(frozen=True)
class PortView:
    """A listener port of the PrivateLink: a whole component, or one node of it."""

    component: str
    node: int | None
    target: str | None
    port: int
    healthy: bool
    access: bool


def port_views(pl: Privatelink) -> list[PortView]:
    nodes = pl.service.components
    enabled = rules.access(pl.service.user_config)
    return [
        PortView(
            component=p.component,
            node=p.node if p.node >= 0 else None,
            target=nodes[p.component][p.node] if p.node >= 0 else None,
            port=p.port,
            healthy=p.healthy,
            access=enabled.get(p.component, False),
        )
        for p in pl.ports
    ]


@dataclass(frozen=True)
class ConnectionPortView:
    """One listener as a connection's clients reach it: by which name, and whether it
    carries bytes now (the connection active, access on, a node healthy behind)."""

    component: str
    node: int | None
    host: str
    port: int
    access: bool
    healthy: bool
    reachable: bool


@dataclass(frozen=True)
class ConnectionView:
    id: str
    vpc_endpoint_id: str
    dns_name: str
    state: str
    host: str
    ports: list[ConnectionPortView]


def connection_views(pl: Privatelink) -> list[ConnectionView]:
    enabled = rules.access(pl.service.user_config)
    views = []
    for conn in pl.connections:
        active = conn.state == rules.CONNECTION_ACTIVE
        ports = []
        for p in pl.ports:
            access = enabled.get(p.component, False)
            ports.append(
                ConnectionPortView(
                    component=p.component,
                    node=p.node if p.node >= 0 else None,
                    host=dns.node_host(conn.host, p.unit) if p.node >= 0 else conn.host,
                    port=p.port,
                    access=access,
                    healthy=p.healthy,
                    reachable=active and access and p.healthy,
                )
            )
        views.append(
            ConnectionView(
                conn.id, conn.vpc_endpoint_id, conn.dns_name, conn.state, conn.host, ports
            )
        )
    return views


@dataclass(frozen=True)
class ComponentRoute:
    """One way to reach a component, in Aiven's terms (`route` dynamic or privatelink)."""

    component: str
    host: str
    port: int
    route: str
    usage: str = "primary"
    ssl: bool = True
    privatelink_connection_id: str | None = None
    kafka_authentication_method: str | None = None


def routes(session: Session, service: Service) -> list[ComponentRoute]:
    """One `route: privatelink` component entry per (component with access, active connection)."""
    return routes_of(service, find(session, service))


def of_services(session: Session, services: Sequence[Service]) -> dict[int, Privatelink]:
    """The PrivateLinks of many services with their ports and connections: three queries
    however many services (a list must not cost queries per row)."""
    if not services:
        return {}
    found = session.scalars(
        select(Privatelink)
        .where(Privatelink.service_id.in_([s.id for s in services]))
        .options(selectinload(Privatelink.ports), selectinload(Privatelink.connections))
    ).all()
    return {pl.service_id: pl for pl in found}


def routes_of(service: Service, pl: Privatelink | None) -> list[ComponentRoute]:
    if pl is None or pl.state != rules.ACTIVE:
        return []
    enabled = rules.access(service.user_config)
    entries = []
    for port in pl.ports:
        if port.node >= 0 or not enabled.get(port.component) or not port.healthy:
            continue
        for conn in pl.connections:
            if conn.state != rules.CONNECTION_ACTIVE:
                continue
            entries += component_entries(
                service.service_type,
                port.component,
                conn.host,
                port.port,
                route="privatelink",
                connection_id=conn.id,
            )
    return entries


def component_entries(
    service_type: str,
    component: str,
    host: str,
    port: int,
    *,
    route: str,
    connection_id: str | None = None,
) -> list[ComponentRoute]:
    """Aiven's component entries; Kafka brokers get one per authentication method."""
    base = ComponentRoute(
        component=component,
        host=host,
        port=port,
        route=route,
        privatelink_connection_id=connection_id,
    )
    if (service_type, component) == ("kafka", "kafka"):
        return [
            dataclasses.replace(base, kafka_authentication_method=m)
            for m in ("certificate", "sasl")
        ]
    return [base]


def server_certificate(
    session: Session, *, project: Project, service_name: str
) -> certificates.ServerCertificate:
    """The service's certificate for its hosts and its active connections' names, as the
    platform installs it in the service's nodes (issued again if those names changed)."""
    service = registry.get_service(session, project=project, name=service_name)
    pl = find(session, service)
    hosts = [
        conn.host
        for conn in (pl.connections if pl is not None else [])
        if conn.state == rules.CONNECTION_ACTIVE
    ]
    return certificates.server_certificate(session, service, hosts)

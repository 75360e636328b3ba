"""Inbound PrivateLink use cases: create, update, delete, refresh, connections, ports.

These record desired state only; the reconciler makes the cloud match it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from privlink.domain import catalog, dns
from privlink.domain import privatelink as rules
from privlink.domain.errors import Conflict, InvalidInput, NotFound
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
NAMES = {
    rules.AWS: "AWS PrivateLink",
    rules.AZURE: "Azure Private Link",
    rules.GOOGLE: "Google Private Service Connect",
}
_CREATE = {
    rules.AWS: "avn service privatelink aws create --principal ARN",
    rules.AZURE: "avn service privatelink azure create --user-subscription-id GUID",
    rules.GOOGLE: "avn service privatelink google create",
}
# Connection states an Azure or Google connection passes through before it is active.
WAITING, APPROVED = "pending-user-approval", "user-approved"


def find(session: Session, service: Service) -> Privatelink | None:
    return session.scalar(select(Privatelink).where(Privatelink.service_id == service.id))


def get(
    session: Session, *, project: Project, service_name: str, provider: str = rules.AWS
) -> Privatelink:
    service = registry.get_service(session, project=project, name=service_name)
    found = find(session, service)
    if found is None or found.provider != provider:
        raise NotFound(
            f"Service '{service_name}' has no {NAMES[provider]}; create one with "
            f"`{_CREATE[provider]} {service_name}`"
        )
    return found


def _a(name: str) -> str:
    return f"{'an' if name[0] in 'AEIOU' else 'a'} {name}"


def consumers(provider: str, value: Sequence[str] | None) -> list[str]:
    """Who may connect, checked: principals (AWS), subscriptions (Azure); none for Google,
    whose connections are approved one by one."""
    if provider == rules.AZURE:
        return rules.subscription_ids(value)
    if provider == rules.GOOGLE:
        return []
    return rules.principals(value)


def _check_provider(service: Service, provider: str) -> None:
    own = catalog.cloud_provider(service.cloud_name)
    if own != provider:
        raise InvalidInput(
            f"Service '{service.name}' runs in {service.cloud_name}; publish it with "
            f"`{_CREATE[own]} {service.name}`"
        )


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
    provider: str = rules.AWS,
) -> Privatelink:
    service = registry.get_service(session, project=project, name=service_name)
    _check_provider(service, provider)
    allowed = consumers(provider, principals)
    vpc = session.get(ProjectVpc, service.project_vpc_id) if service.project_vpc_id else None
    rules.check_can_use(
        service_type=service.service_type,
        plan=service.plan,
        in_vpc=vpc is not None and vpc.state == "ACTIVE",
        feature_enabled=project.privatelink_enabled,
    )
    existing = find(session, service)
    if existing is not None:
        hint = (
            "there is one per service"
            if existing.provider == rules.GOOGLE
            else f"change who may connect with `avn service privatelink {existing.provider} update`"
        )
        raise Conflict(
            f"Service '{service_name}' already has {_a(NAMES[existing.provider])} "
            f"({existing.state}); {hint}"
        )
    units = rules.units(service.service_type, service.components)
    ports = rules.allocate_ports([u.key for u in units], {}, pool)
    pl = Privatelink(
        id=str(uuid.uuid4()),
        service=service,
        provider=provider,
        principals=allowed,
        state="creating",
    )
    pl.ports = [
        PrivatelinkPort(unit=u.key, component=u.component, node=u.node, port=ports[u.key])
        for u in units
    ]
    _due_now(pl)
    session.add(pl)
    try:
        session.flush()
    except IntegrityError as error:  # a concurrent create won the race
        raise Conflict(f"Service '{service_name}' already has {_a(NAMES[provider])}") from error
    _event(session, pl, f"create requested; {_allowed(pl)}", actor)
    return pl


def update(
    session: Session,
    *,
    project: Project,
    service_name: str,
    principals: Sequence[str] | None,
    actor: str,
    provider: str = rules.AWS,
) -> Privatelink:
    pl = get(session, project=project, service_name=service_name, provider=provider)
    rules.check_changeable(pl.state, "updated")
    allowed = consumers(provider, principals)
    if allowed != pl.principals or pl.state == rules.FAILED:
        pl.principals = allowed
        pl.generation += 1
        if pl.state == rules.FAILED:
            pl.state, pl.reason = rules.CREATING, ""
        _due_now(pl)
        _event(session, pl, f"{_allowed(pl)}", actor)
    return pl


def _allowed(pl: Privatelink) -> str:
    if pl.provider == rules.GOOGLE:
        return "connections wait for approval one by one"
    what = "subscriptions" if pl.provider == rules.AZURE else "principals"
    return f"{what} {', '.join(pl.principals)}"


def delete(
    session: Session,
    *,
    project: Project,
    service_name: str,
    actor: str,
    provider: str = rules.AWS,
) -> Privatelink:
    pl = get(session, project=project, service_name=service_name, provider=provider)
    rules.check_changeable(pl.state, "deleted again")
    pl.state, pl.reason = rules.DELETING, ""
    pl.generation += 1
    _due_now(pl)
    _event(session, pl, "delete requested", actor)
    return pl


def refresh_allowed(pl: Privatelink) -> None:
    rules.check_changeable(pl.state, "refreshed")


def refresh(
    session: Session, *, project: Project, service_name: str, provider: str = rules.AWS
) -> Privatelink:
    """Mark the object due now (when no runner in this process can step it at once)."""
    pl = get(session, project=project, service_name=service_name, provider=provider)
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
        f"`avn service privatelink {pl.provider} connection list {pl.service.name}`"
    )


# A consumer endpoint ID -> its subnets' address ranges, where the cloud shows them.
Networks = Callable[[str], list[str] | None]


def _check_ip(conn: PrivatelinkConnection, ip: str, networks: Networks | None) -> None:
    """An address the customer reports must be inside the endpoint's subnet, where the
    cloud lets the platform see it (the local cloud; not Azure's or Google's)."""
    ranges = networks(conn.vpc_endpoint_id) if networks is not None else None
    if ranges is None:
        return
    if not any(ipaddress.ip_address(ip) in ipaddress.ip_network(r) for r in ranges):
        raise InvalidInput(
            f"Address {ip} is outside the subnet of endpoint {conn.resource_id or conn.id} "
            f"({', '.join(ranges)}); give the endpoint's own private address"
        )


def approve(
    session: Session,
    pl: Privatelink,
    connection_id: str,
    *,
    user_ip: str | None,
    actor: str,
    networks: Networks | None = None,
) -> PrivatelinkConnection:
    """The customer approves a waiting Azure or Google connection (Google's with the
    endpoint's address); the reconciler accepts it in the cloud. Nothing changes when
    anything given is wrong."""
    rules.check_changeable(pl.state, "changed")
    conn = get_connection(pl, connection_id)
    ip = rules.user_ip(user_ip) if user_ip is not None else None
    if pl.provider == rules.GOOGLE and ip is None:
        raise InvalidInput("Give the endpoint's address: --user-ip-address IP")
    if ip is not None:
        _check_ip(conn, ip, networks)
    if conn.approved and (ip is None or ip == conn.user_ip_address):
        return conn  # approved already: asking again changes nothing
    if not conn.approved and conn.state != WAITING:
        raise Conflict(
            f"Connection {conn.id} is {conn.state}; only a {WAITING} connection can be approved"
        )
    if not conn.approved:
        conn.approved, conn.state = True, APPROVED
    if ip is not None:
        conn.user_ip_address = ip
    _record_connection(session, pl, conn, f"approved by {actor}", actor)
    return conn


def set_user_ip(
    session: Session,
    pl: Privatelink,
    connection_id: str,
    *,
    user_ip: str,
    actor: str,
    networks: Networks | None = None,
) -> PrivatelinkConnection:
    """The customer reports an approved Azure endpoint's private address: its name points
    there, and the connection becomes active."""
    rules.check_changeable(pl.state, "changed")
    conn = get_connection(pl, connection_id)
    ip = rules.user_ip(user_ip)
    if not conn.approved:
        raise Conflict(
            f"Connection {conn.id} is {conn.state}; approve it first "
            f"(avn service privatelink azure connection approve {pl.service.name} {conn.id})"
        )
    _check_ip(conn, ip, networks)
    if conn.user_ip_address != ip:
        conn.user_ip_address = ip
        _record_connection(session, pl, conn, f"endpoint address set to {ip}", actor)
    return conn


def _record_connection(
    session: Session, pl: Privatelink, conn: PrivatelinkConnection, message: str, actor: str
) -> None:
    events.record(
        session,
        project_id=pl.service.project_id,
        service_name=pl.service.name,
        kind="connection",
        object_id=conn.id,
        state=conn.state,
        message=message,
        actor=actor,
    )
    _wake(pl)


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

"""`validate`: check every hop from a customer's endpoint to the service's nodes.

Each hop says whether it holds, what was seen and, when broken, what to do.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud import contract as c
from privlink.cloud.contract import DriverFor
from privlink.domain import catalog, naming
from privlink.domain import outbound as out
from privlink.domain import privatelink as rules
from privlink.store.tables import OutboundLink, Privatelink

PROBE_WAIT = 1.0  # seconds a test connection waits for a reset before calling it open
PG_SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")  # PostgreSQL's
Resolve = Callable[[str], list[str]]  # a name -> its addresses (raises OSError if none)


def system_resolve(name: str) -> list[str]:
    """The addresses the host's resolver gives for `name` (following CNAMEs)."""
    found = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in found})


def server_resolve(server: str, port: int) -> Resolve:
    """Ask the DNS server at server:port (the local cloud's) for A records."""

    def resolve(name: str) -> list[str]:
        query = dns.message.make_query(name, dns.rdatatype.A)
        try:
            answer = dns.query.udp(query, server, port=port, timeout=3)
        except (dns.exception.DNSException, OSError) as error:
            raise OSError(f"no answer from {server}:{port}: {error}") from None
        if answer.rcode() != dns.rcode.NOERROR:
            raise OSError(dns.rcode.to_text(answer.rcode()))
        return sorted(
            item.to_text()
            for rrset in answer.answer
            if rrset.rdtype == dns.rdatatype.A
            for item in rrset
        )

    return resolve


@dataclass(frozen=True)
class Hop:
    hop: str
    ok: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Report:
    """Every hop in order; `broken` names the first that does not hold."""

    ok: bool
    broken: str | None
    hops: list[Hop]

    @classmethod
    def of(cls, hops: list[Hop]) -> Report:
        broken = next((h for h in hops if not h.ok), None)
        return cls(ok=broken is None, broken=broken.hop if broken else None, hops=hops)


@dataclass(frozen=True)
class Tls:
    """How a service's nodes start TLS, and the CA their certificates chain to."""

    ca: str
    after_ssl_request: bool  # PostgreSQL: an SSLRequest first, then the handshake


def inbound(
    sessions: sessionmaker[Session],
    driver_for: DriverFor,
    pl_id: str,
    plc: str | None,
    resolve: Resolve = system_resolve,
) -> list[Hop]:
    with sessions() as s:
        pl = s.get(Privatelink, pl_id)
        if pl is None:
            return [Hop("privatelink", False, "the PrivateLink is gone")]
        name = pl.service.name
        state, reason, principals = pl.state, pl.reason, tuple(pl.principals)
        region = catalog.cloud_region(pl.service.cloud_name)
        access = rules.access(pl.service.user_config)
        ports = [(p.unit, p.component, p.node, p.port) for p in pl.ports]
        connections = {conn.vpc_endpoint_id: conn.id for conn in pl.connections}
        hosts = {conn.vpc_endpoint_id: conn.host for conn in pl.connections}
        consent = Consent(
            pl.provider,
            principals,
            frozenset(conn.vpc_endpoint_id for conn in pl.connections if conn.approved),
            name,
        )
        tls = Tls(pl.service.project.ca_certificate or "", pl.service.service_type == "pg")
    if plc is not None and plc not in connections.values():
        return [
            Hop(
                "connection",
                False,
                f"no connection {plc} on {name}",
                f"list them: avn service privatelink {consent.provider} connection list {name}",
            )
        ]
    hops: list[Hop] = []
    if state != rules.ACTIVE:
        hops.append(
            Hop(
                "privatelink",
                False,
                f"state {state}" + (f": {reason}" if reason else ""),
                f"wait for `active`; `privlink events --service {name}` shows what it is doing",
            )
        )
        return hops
    hops.append(Hop("privatelink", True, "active"))
    cloud = driver_for(region)
    found = cloud.find_by_tags(
        naming.Resource.endpoint_service, naming.finder_tags(naming.Kind.privatelink, pl_id)
    )
    if not found:
        hops.append(
            Hop(
                "endpoint service",
                False,
                "missing in the cloud",
                "the reconciler re-creates it at the next resync",
            )
        )
        return hops
    service = cloud.describe_endpoint_service(found[0])
    missing = [p for p in principals if p not in service.principals]
    hops.append(
        Hop(
            "principals",
            not missing,
            f"allowed: {', '.join(service.principals) or 'none'}",
            "" if not missing else "the reconciler is still applying the list; retry shortly",
        )
    )
    open_units = [(u, comp, node, port) for u, comp, node, port in ports if access.get(comp)]
    if not open_units:
        hops.append(
            Hop(
                "access",
                False,
                "no component has privatelink_access on",
                f"avn service update -c privatelink_access.COMPONENT=true {name}",
            )
        )
    else:
        on = sorted({comp for _u, comp, _n, _p in open_units})
        hops.append(Hop("access", True, f"on for {', '.join(on)}"))
    lbs = cloud.find_by_tags(
        naming.Resource.load_balancer, naming.finder_tags(naming.Kind.privatelink, pl_id)
    )
    listeners = {li.port: li.target_group_arn for lb in lbs for li in cloud.describe_listeners(lb)}
    hops += _targets(cloud, listeners, open_units)
    endpoints = [e for e in cloud.describe_endpoint_connections(service.id) if e.id in connections]
    endpoints = [e for e in endpoints if plc is None or connections[e.id] == plc]
    if not endpoints:
        hops.append(
            Hop(
                "connections",
                False,
                "no customer endpoint is connected",
                f"create an interface endpoint to {service.name} in your VPC",
            )
        )
    for ep in endpoints:
        hops += _endpoint(cloud, service, ep, connections[ep.id], consent, open_units)
        if ep.state == "available":
            hops += _names(ep, connections[ep.id], hosts[ep.id], open_units, resolve)
            hops += _tls(cloud, ep, connections[ep.id], hosts[ep.id], open_units, resolve, tls)
    return hops


def _names(
    ep: c.Endpoint,
    plc: str,
    host: str,
    open_units: list[tuple[str, str, int, int]],
    resolve: Resolve,
) -> list[Hop]:
    """The connection's name, and each open broker's, resolve to the endpoint's addresses."""
    names = [host] + [f"{unit}.{host}" for unit, _c, node, _p in open_units if node >= 0]
    expected = sorted({a.address for a in ep.addresses})
    hops = []
    for name in names:
        try:
            found = resolve(name)
        except OSError as error:
            found, detail = [], f"{name}: {error.strerror or error}"
        else:
            detail = f"{name} -> {', '.join(found) or 'nothing'}"
        # The cloud may hide the endpoint's addresses from its service's owner (AWS).
        ok = bool(found) and (not expected or found == expected)
        fix = (
            ""
            if ok
            else "names are published when the connection turns active; if it is active, "
            "point your resolver at the platform zone's servers (README: DNS)"
        )
        hops.append(Hop(f"{plc} dns {name}", ok, detail, fix))
    return hops


def _tls(
    cloud: c.CloudDriver,
    ep: c.Endpoint,
    plc: str,
    host: str,
    open_units: list[tuple[str, str, int, int]],
    resolve: Resolve,
    tls: Tls,
) -> list[Hop]:
    """A TLS handshake by the connection's name through the endpoint: the chain must
    verify against the project CA and the certificate must cover the name."""
    whole = [port for _u, _c, node, port in open_units if node < 0]
    if not whole or not tls.ca:
        return []
    try:
        address = resolve(host)[0]
    except (OSError, IndexError):
        return []  # the DNS hop already says why
    ok, detail = handshake(address, whole[0], host, tls, cloud.probe_source(ep))
    fix = (
        ""
        if ok
        else "install the certificate the project CA issued for the service's names "
        "(privlink admin service certificate SERVICE --project PROJECT --dir DIR)"
    )
    return [Hop(f"{plc} tls {whole[0]}", ok, detail, fix)]


def handshake(address: str, port: int, name: str, tls: Tls, source: str | None) -> tuple[bool, str]:
    """(holds, what was seen) of a verified TLS handshake with `name` at address:port. A
    node that does not start TLS at all is reported, not failed (nothing to verify)."""
    context = ssl.create_default_context(cadata=tls.ca)
    try:
        with socket.create_connection(
            (address, port), timeout=3, source_address=(source, 0) if source else None
        ) as raw:
            if tls.after_ssl_request:
                raw.sendall(PG_SSL_REQUEST)
                if raw.recv(1) != b"S":
                    return False, "the server refused TLS (SSLRequest answered N)"
            with context.wrap_socket(raw, server_hostname=name) as sock:
                cert = sock.getpeercert() or {}
    except ssl.SSLCertVerificationError as error:
        return False, f"{name}:{port}: {error.verify_message or error.reason}"
    except ssl.SSLError as error:
        return True, f"not checked: {name}:{port} does not start TLS ({error.reason})"
    except OSError as error:
        return False, f"{name}:{port}: {error.strerror or error}"
    return True, f"{name}:{port} verified against the project CA until {cert.get('notAfter')}"


def _targets(
    cloud: c.CloudDriver,
    listeners: dict[int, str],
    open_units: list[tuple[str, str, int, int]],
) -> list[Hop]:
    hops = []
    for unit, _comp, node, port in open_units:
        if node >= 0:
            continue  # each broker's node is also checked through the component's group
        arn = listeners.get(port)
        if arn is None:
            hops.append(Hop(f"listener {port}", False, f"no listener for {unit}", "wait a moment"))
            continue
        views = cloud.describe_target_health(arn)
        bad = [v for v in views if v.state != "healthy"]
        detail = ", ".join(f"{v.target.host}:{v.target.port} {v.state}" for v in views)
        fix = ""
        if bad:
            fix = (
                "; ".join(
                    f"node {v.target.host}:{v.target.port} is {v.state}"
                    + (f" ({v.reason})" if v.reason else "")
                    for v in bad
                )
                + " — check that the node is up and accepts TCP connections"
            )
        hops.append(
            Hop(f"targets {unit}", not bad and bool(views), detail or "no targets registered", fix)
        )
    return hops


@dataclass(frozen=True)
class Consent:
    """Who may connect to an inbound PrivateLink, and which connections were approved."""

    provider: str
    principals: tuple[str, ...]
    approved: frozenset[str]  # endpoint IDs (Azure and Google)
    service: str


def _consent(ep: c.Endpoint, plc: str, consent: Consent) -> list[Hop]:
    """AWS: the endpoint's principal is allowed. Azure: its subscription is, and the
    customer approved it. Google: the customer approved it."""
    hops = []
    avn = f"avn service privatelink {consent.provider}"
    if consent.provider == rules.AWS:
        allowed = rules.allows(consent.principals, ep.owner)
        fix = (
            f"allow it: {avn} update --principal {ep.owner} "
            "(repeat --principal for each one to keep)"
        )
        hops.append(
            Hop(f"{plc} principal", allowed, f"endpoint {ep.id} belongs to {ep.owner}", fix)
        )
    if consent.provider == rules.AZURE:
        allowed = ep.owner in consent.principals
        fix = f"{avn} update --user-subscription-id {ep.owner} (repeat for each one to keep)"
        hops.append(
            Hop(f"{plc} subscription", allowed, f"endpoint in subscription {ep.owner}", fix)
        )
    if consent.provider != rules.AWS:
        approved = ep.id in consent.approved
        how = (
            f"{avn} connection approve {consent.service} {plc}"
            if consent.provider == rules.AZURE
            else f"{avn} connection approve {consent.service} --privatelink-connection-id {plc} "
            "--user-ip-address IP"
        )
        hops.append(
            Hop(
                f"{plc} approval",
                approved,
                "approved by the customer" if approved else "waiting for approval",
                how,
            )
        )
    return [h if not h.ok else Hop(h.hop, True, h.detail) for h in hops]


def _endpoint(
    cloud: c.CloudDriver,
    service: c.EndpointService,
    ep: c.Endpoint,
    plc: str,
    consent: Consent,
    open_units: list[tuple[str, str, int, int]],
) -> list[Hop]:
    hops = _consent(ep, plc, consent)
    good = ep.state == "available"
    fixes = {
        "pendingAcceptance": "accepted at the next step; or now with "
        f"`avn service privatelink {consent.provider} refresh`",
        "pending": "the endpoint is being provisioned; wait a moment",
        "rejected": "its principal was not allowed: allow it, then create the endpoint again",
    }
    hops.append(
        Hop(
            f"{plc} endpoint",
            good,
            f"{ep.id} is {ep.state}",
            "" if good else fixes.get(ep.state, "recreate the endpoint"),
        )
    )
    azs = sorted({a.az_id for a in ep.addresses})
    outside = [az for az in azs if az not in service.az_ids]
    hops.append(
        Hop(
            f"{plc} AZs",
            bool(azs) and not outside,
            f"endpoint in {', '.join(azs) or 'no AZ'}; service in {', '.join(service.az_ids)}",
            "" if azs and not outside else "put endpoint subnets in the service's AZ IDs",
        )
    )
    ingress = cloud.endpoint_ingress(ep.id)
    ports = sorted({port for _u, _c, _n, port in open_units})
    if ingress is None:
        hops.append(
            Hop(f"{plc} security group", True, "none filters it, or not visible to the owner")
        )
    else:
        blocked = [p for p in ports if not any(lo <= p <= hi for _cidr, lo, hi in ingress)]
        source = cloud.probe_source(ep)
        if source is not None:
            blocked += [
                p
                for p in ports
                if p not in blocked
                and not any(
                    lo <= p <= hi and ipaddress.ip_address(source) in ipaddress.ip_network(cidr)
                    for cidr, lo, hi in ingress
                )
            ]
        hops.append(
            Hop(
                f"{plc} security group",
                not blocked,
                f"ingress {', '.join(f'{cidr} {lo}-{hi}' for cidr, lo, hi in ingress) or 'none'}",
                ""
                if not blocked
                else f"allow TCP ports {', '.join(map(str, blocked))} (10000-31000 covers every "
                "port of the pool) from your clients in the endpoint's security group",
            )
        )
    if good:
        hops += connects(cloud, ep, ports, f"{plc} ", "see the target and security group hops")
    return hops


def connects(
    cloud: c.CloudDriver, endpoint: c.Endpoint, ports: list[int], prefix: str, fix: str
) -> list[Hop]:
    """A real TCP connection to each port of the endpoint, from inside its VPC if possible."""
    host, source = cloud.client_host(endpoint), cloud.probe_source(endpoint)
    where = f" from {source}" if source else ""
    hops = []
    for port in ports:
        ok, detail = probe(host, port, source)
        hops.append(
            Hop(f"{prefix}connect {port}", ok, f"{host}:{port}{where}: {detail}", "" if ok else fix)
        )
    return hops


def probe(host: str, port: int, source: str | None) -> tuple[bool, str]:
    """A real TCP connection: open, and not reset within PROBE_WAIT seconds."""
    try:
        sock = socket.create_connection(
            (host, port), timeout=3, source_address=(source, 0) if source else None
        )
    except OSError as error:
        return False, f"connect failed: {error.strerror or error}"
    with sock:
        sock.settimeout(PROBE_WAIT)
        try:
            data = sock.recv(1)
        except TimeoutError:
            return True, "open"
        except OSError as error:
            return False, f"reset: {error.strerror or error}"
        return True, "open (answered)" if data else "open (closed by the server)"


def outbound(
    sessions: sessionmaker[Session], platform: c.Platform, link_id: str, ports: list[int]
) -> list[Hop]:
    """Hops from the deployment to the customer's targets: service, principal, AZs,
    acceptance, targets (as far as the cloud shows them), a real TCP connect."""
    with sessions() as s:
        link = s.get(OutboundLink, link_id)
        if link is None:
            return [Hop("link", False, "the link is gone")]
        name, state, reason = link.endpoint_service_name, link.state, link.reason
        service_name = link.service.name
        region, azs, role = out.deployment(
            link.service.project.name, link.service.name, link.service.cloud_name
        )
    principal = platform.principal(role)
    cloud = platform.driver(region, principal)
    hops = [
        Hop(
            "link",
            state == out.RUNNING,
            state + (f": {reason}" if reason else ""),
            "" if state == out.RUNNING else f"`privlink events --service {service_name}`",
        )
    ]
    service = cloud.find_endpoint_service(name)
    if service is None:
        hops.append(
            Hop(
                "endpoint service",
                False,
                f"{name} does not exist in {region} (or is not Available)",
                "the customer re-creates it; then delete this link and create a new one",
            )
        )
        return hops
    hops.append(Hop("endpoint service", True, f"{service.id} is {service.state}"))
    # A cloud that hides the principals (AWS) shows the service only to allowed ones.
    allowed = not service.principals_known or rules.allows(service.principals, principal)
    hops.append(
        Hop(
            "principal",
            allowed,
            f"{principal} is {'' if allowed else 'not '}allowed",
            ""
            if allowed
            else f"privlink cloud endpoint-service allow {service.id} --principal {principal}",
        )
    )
    shared = sorted(set(service.az_ids) & set(azs))
    hops.append(
        Hop(
            "AZ overlap",
            bool(shared),
            f"service in {', '.join(service.az_ids) or 'no AZ'}; deployment in {', '.join(azs)}",
            "" if shared else "put the load balancer in one of the deployment's AZ IDs",
        )
    )
    found = cloud.find_by_tags(
        naming.Resource.endpoint, naming.finder_tags(naming.Kind.outbound, link_id)
    )
    endpoint = cloud.describe_endpoint(found[0]) if found else None
    accepted = endpoint is not None and endpoint.state == "available"
    waiting = endpoint is not None and endpoint.state == "pendingAcceptance"
    hops.append(
        Hop(
            "acceptance",
            accepted,
            f"endpoint {endpoint.id} is {endpoint.state}" if endpoint else "no endpoint yet",
            ""
            if accepted
            else f"the owner accepts it: privlink cloud connections accept {service.id} "
            f"{endpoint.id}"
            if waiting and endpoint
            else "",
        )
    )
    listeners = cloud.service_listeners(service.id)
    if listeners is None:
        hops.append(Hop("targets", True, "not visible to a consumer on this cloud"))
    else:
        for listener in listeners:
            healthy = [v for v in listener.targets if v.state == "healthy"]
            detail = ", ".join(
                f"{v.target.host}:{v.target.port} {v.state}" for v in listener.targets
            )
            hops.append(
                Hop(
                    f"targets {listener.port}",
                    bool(healthy),
                    f"{listener.target_group}: {detail or 'no targets registered'}",
                    ""
                    if healthy
                    else "the customer's targets fail their health check: check "
                    "that they are up and that the health-check port answers",
                )
            )
        ports = ports or [listener.port for listener in listeners]
    if not ports:
        hops.append(Hop("connect", False, "no port to try", "give the port: --port N"))
    if accepted and endpoint is not None:
        hops += connects(cloud, endpoint, ports, "", "see the target hops")
    return hops

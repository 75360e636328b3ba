"""Usage per project, service and hour: PrivateLink, connection and outbound link hours
from the status history (`domain.usage`), bytes through endpoints from the data plane's
counters (`record_bytes`), priced at the PrivateLink hourly price."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from privlink.domain import usage as rules
from privlink.domain.errors import InvalidInput
from privlink.store.base import as_utc
from privlink.store.tables import (
    Event,
    OutboundLink,
    Privatelink,
    PrivatelinkConnection,
    Project,
    Service,
    UsageBytes,
)

MAX_HOURS = 24 * 93  # a quarter at most per report


@dataclass(frozen=True)
class Row:
    hour: datetime
    service: str
    privatelink_hours: float
    connection_hours: float
    outbound_link_hours: float
    bytes_in: int
    bytes_out: int
    price_usd: str


def endpoint_owners(session: Session, endpoint_ids: list[str]) -> dict[str, tuple[int, str]]:
    """endpoint ID -> (project ID, service name) of the inbound connections and outbound
    links these endpoints are."""
    found: dict[str, tuple[int, str]] = {}
    inbound = session.execute(
        select(PrivatelinkConnection.vpc_endpoint_id, Service.project_id, Service.name)
        .join(Privatelink, PrivatelinkConnection.privatelink_id == Privatelink.id)
        .join(Service, Privatelink.service_id == Service.id)
        .where(PrivatelinkConnection.vpc_endpoint_id.in_(endpoint_ids))
    )
    outbound = session.execute(
        select(OutboundLink.vpc_endpoint_id, Service.project_id, Service.name)
        .join(Service, OutboundLink.service_id == Service.id)
        .where(OutboundLink.vpc_endpoint_id.in_(endpoint_ids))
    )
    for endpoint, project_id, service in [*inbound, *outbound]:
        found[str(endpoint)] = (int(project_id), str(service))
    return found


def record_bytes(session: Session, deltas: Mapping[str, tuple[int, int]], at: datetime) -> None:
    """Add bytes (in, out) seen since the last record to each endpoint's row of the hour."""
    hour = rules.hour_of(at)
    owners = endpoint_owners(session, [e for e, d in deltas.items() if any(d)])
    for endpoint, (project_id, service) in owners.items():
        row = session.scalar(
            select(UsageBytes).where(UsageBytes.endpoint_id == endpoint, UsageBytes.hour == hour)
        )
        if row is None:
            row = UsageBytes(
                project_id=project_id,
                service_name=service,
                endpoint_id=endpoint,
                hour=hour,
                bytes_in=0,
                bytes_out=0,
            )
            session.add(row)
        bytes_in, bytes_out = deltas[endpoint]
        row.bytes_in += bytes_in
        row.bytes_out += bytes_out


def report(
    session: Session, *, project: Project, start: datetime, end: datetime, price: Decimal
) -> list[Row]:
    """One row per (hour, service) with any usage in [start, end), oldest first."""
    if end <= start:
        raise InvalidInput("`to` must be after `from`")
    if (end - start) > rules.HOUR * MAX_HOURS:
        raise InvalidInput(f"A report covers at most {MAX_HOURS // 24} days; ask for less")
    changes = [
        rules.Change(as_utc(e.created_at), e.object_kind, e.object_id, e.service_name, e.state)
        for e in session.scalars(
            select(Event)
            .where(
                Event.project_id == project.id,
                Event.object_kind.in_(list(rules.RULES)),
                Event.created_at < end,
            )
            .order_by(Event.id)
        )
    ]
    seconds = rules.by_hour(rules.intervals(changes, end), start, end)
    traffic = session.scalars(
        select(UsageBytes).where(
            UsageBytes.project_id == project.id,
            UsageBytes.hour >= rules.hour_of(start),
            UsageBytes.hour < end,
        )
    ).all()
    keys = {(hour, service) for hour, service, _kind in seconds}
    keys |= {(rules.hour_of(as_utc(t.hour)), t.service_name) for t in traffic}
    rows = []
    for hour, service in sorted(keys):
        hours = {kind: seconds.get((hour, service, kind), 0.0) / 3600 for kind in rules.RULES}
        moved = [
            t
            for t in traffic
            if rules.hour_of(as_utc(t.hour)) == hour and t.service_name == service
        ]
        billable = Decimal(str(hours["privatelink"] + hours["outbound"]))
        rows.append(
            Row(
                hour=hour,
                service=service,
                privatelink_hours=round(hours["privatelink"], 6),
                connection_hours=round(hours["connection"], 6),
                outbound_link_hours=round(hours["outbound"], 6),
                bytes_in=sum(t.bytes_in for t in moved),
                bytes_out=sum(t.bytes_out for t in moved),
                price_usd=str((billable * price).quantize(Decimal("0.0001"), ROUND_HALF_UP)),
            )
        )
    return rows

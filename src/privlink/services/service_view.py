"""A service as Aiven's API shows it, with its access routes (what `avn` reads)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from privlink.domain import catalog
from privlink.services import privatelinks
from privlink.services.privatelinks import ComponentRoute
from privlink.store import sealing
from privlink.store.tables import Service


@dataclass(frozen=True)
class ServiceView:
    """The service row with every route to its components (direct, then per connection)."""

    service: Service
    components: list[ComponentRoute]
    node_count: int
    users: list[dict[str, str]]  # passwords opened (they are sealed in the database)


def view(session: Session, service: Service) -> ServiceView:
    return _view(session, service, privatelinks.routes(session, service))


def views(session: Session, services: Sequence[Service]) -> list[ServiceView]:
    """Many services at once, with a fixed number of queries (`avn service list`)."""
    found = privatelinks.of_services(session, services)
    return [_view(session, s, privatelinks.routes_of(s, found.get(s.id))) for s in services]


def _view(session: Session, service: Service, routes: list[ComponentRoute]) -> ServiceView:
    components = [
        entry
        for component, nodes in service.components.items()
        for host, port in [catalog.node(nodes[0])]
        for entry in privatelinks.component_entries(
            service.service_type, component, host, port, route="dynamic"
        )
    ]
    components += routes
    nodes = max((len(n) for n in service.components.values()), default=0)
    return ServiceView(
        service=service, components=components, node_count=nodes, users=users(session, service)
    )


def users(session: Session, service: Service) -> list[dict[str, str]]:
    sealer = sealing.of(session)
    opened = []
    for user in service.users:
        row = {**user, "password": sealer.open(user["password"])}
        if "access_key" in user:
            row["access_key"] = sealer.open(user["access_key"])
        opened.append(row)
    return opened

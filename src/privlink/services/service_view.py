"""A service as Aiven's API shows it, with its access routes (what `avn` reads)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from privlink.domain import catalog
from privlink.services import privatelinks
from privlink.store.tables import Service


def service_public(session: Session, service: Service) -> dict[str, Any]:
    components = [
        entry
        for component, nodes in service.components.items()
        for host, port in [catalog.node(nodes[0])]
        for entry in privatelinks.component_entries(
            service.service_type, component, host, port, route="dynamic"
        )
    ]
    components += privatelinks.routes(session, service)
    return {
        "service_name": service.name,
        "service_type": service.service_type,
        "state": service.state,
        "cloud_name": service.cloud_name,
        "plan": service.plan,
        "create_time": service.created_at.isoformat(),
        "update_time": service.updated_at.isoformat(),
        "user_config": service.user_config,
        "components": components,
        "node_count": max((len(n) for n in service.components.values()), default=0),
        "users": [dict(u) for u in service.users],
        "connection_info": {},
        "service_notifications": [],
        "project_vpc_id": service.project_vpc_id,
    }

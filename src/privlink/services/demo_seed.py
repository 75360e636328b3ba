"""First start: a `demo` project with a Kafka-like service and a token for it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from privlink import demo
from privlink.services import registry, tenancy
from privlink.store import tenancy as store


def seed(session: Session) -> str | None:
    """Create the demo project, service and token once; the token's secret, or None if seeded."""
    if store.get_project(session, name=demo.PROJECT) is not None:
        return None
    project = tenancy.create_project(session, name=demo.PROJECT)
    tenancy.set_privatelink(session, name=demo.PROJECT, enabled=True)
    registry.register_service(
        session,
        project=project,
        name=demo.SERVICE,
        service_type="kafka",
        cloud_name=demo.CLOUD,
        plan=demo.PLAN,
        components={"kafka": [f"{host}:{port}" for _name, host, port in demo.NODES]},
    )
    issued = tenancy.create_token(session, project=demo.PROJECT, description="demo project")
    return issued.secret

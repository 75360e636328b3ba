"""First start: a `demo` project with a Kafka-like service, an MQTT deployment, a token.

Services added to the demo later are seeded on the next start of an older install.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from privlink import demo
from privlink.services import registry, tenancy
from privlink.store import services as services_store
from privlink.store import tenancy as store


def seed(session: Session) -> str | None:
    """Create the demo project and token once, and each demo service if missing.

    The token's secret when the project was made now, else None.
    """
    project = store.get_project(session, name=demo.PROJECT)
    secret = None
    if project is None:
        project = tenancy.create_project(session, name=demo.PROJECT)
        tenancy.set_privatelink(session, name=demo.PROJECT, enabled=True)
        secret = tenancy.create_token(
            session, project=demo.PROJECT, description="demo project"
        ).secret
    _name, mqtt_host, mqtt_port = demo.MQTT_NODE
    brokers = {"kafka": [f"{h}:{p}" for _n, h, p in demo.NODES]}
    services = {
        demo.SERVICE: ("kafka", demo.PLAN, brokers, demo.CLOUD),
        demo.AZURE_SERVICE: ("kafka", demo.PLAN, brokers, demo.AZURE_CLOUD),
        demo.GOOGLE_SERVICE: ("kafka", demo.PLAN, brokers, demo.GOOGLE_CLOUD),
        demo.MQTT_SERVICE: (
            "mqtt",
            demo.MQTT_PLAN,
            {"mqtt": [f"{mqtt_host}:{mqtt_port}"]},
            demo.CLOUD,
        ),
    }
    for name, (kind, plan, components, cloud) in services.items():
        if services_store.get_service(session, project=project, name=name) is None:
            registry.register_service(
                session,
                project=project,
                name=name,
                service_type=kind,
                cloud_name=cloud,
                plan=plan,
                components=components,
            )
    return secret

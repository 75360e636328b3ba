"""What the console shows of a service: connection information per component and route."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from privlink.services.service_view import ServiceView


@dataclass(frozen=True)
class ConnectionInfo:
    host: str
    port: int
    user: str
    uri: str


def connection_info(
    service: ServiceView, component: str | None, route: str | None, connection: str | None
) -> tuple[ConnectionInfo | None, dict[str, Any]]:
    """The entry chosen by component / route / connection (first match), and the choices."""
    entries = [e for e in service.components if e.kafka_authentication_method != "certificate"]
    components = list(dict.fromkeys(e.component for e in entries))
    component = component if component in components else (components[0] if components else None)
    for_component = [e for e in entries if e.component == component]
    routes = list(dict.fromkeys(e.route for e in for_component))
    route = route if route in routes else (routes[0] if routes else None)
    for_route = [e for e in for_component if e.route == route]
    connections = [e.privatelink_connection_id for e in for_route if e.privatelink_connection_id]
    chosen = next(
        (e for e in for_route if connection is None or e.privatelink_connection_id == connection),
        for_route[0] if for_route else None,
    )
    choices = {
        "components": components,
        "routes": routes,
        "connections": connections,
        "component": component,
        "route": route,
        "connection": chosen.privatelink_connection_id if chosen else None,
    }
    if chosen is None:
        return None, choices
    users = service.users or [{"username": "", "password": ""}]
    user, password = users[0].get("username", ""), users[0].get("password", "")
    kind, host, port = service.service.service_type, chosen.host, chosen.port
    uri = _uri(kind, chosen.component, host, port, user, password)
    return ConnectionInfo(host=host, port=port, user=user, uri=uri), choices


def _uri(kind: str, component: str, host: str, port: int, user: str, password: str) -> str:
    if component in ("pg", "pgbouncer"):
        return f"postgres://{user}:{password}@{host}:{port}/defaultdb?sslmode=require"
    if component == "valkey":
        return f"rediss://{user}:{password}@{host}:{port}"
    if (kind, component) == ("kafka", "kafka"):
        return (
            f"kcat -b {host}:{port} -X security.protocol=SASL_SSL -X sasl.mechanisms=SCRAM-SHA-256 "
            f"-X sasl.username={user} -X sasl.password={password} -X ssl.ca.location=ca.pem"
        )
    if component == "mqtt":
        return f"mqtts://{user}:{password}@{host}:{port}"
    return f"https://{user}:{password}@{host}:{port}"

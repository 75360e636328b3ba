"""The service registry: the managed services the operator registers, per project."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from privlink.domain import catalog, validation
from privlink.domain.errors import Conflict, InvalidInput, NotFound
from privlink.services import certificates
from privlink.store import sealing
from privlink.store import services as store
from privlink.store.tables import Project, Service

MAX_NODES = 64
_USER = re.compile(r"[A-Za-z0-9_-]{1,64}")


def register_service(
    session: Session,
    *,
    project: Project,
    name: str,
    service_type: str,
    cloud_name: str,
    plan: str,
    components: Mapping[str, Sequence[str]],
    users: Mapping[str, str] | None = None,
) -> Service:
    """Register a service with its components' nodes (`host:port`) and users.

    `users` maps user name to password; by default `avnadmin` with a new password.
    """
    validation.service_name(name)
    catalog.service_type(service_type)
    catalog.cloud_region(cloud_name)
    catalog.plan(plan)
    if not components:
        raise InvalidInput(
            f"A {service_type} service needs at least one component with nodes; its components "
            f"are {', '.join(catalog.COMPONENTS[service_type])}"
        )
    nodes: dict[str, list[str]] = {}
    for component, addresses in components.items():
        catalog.component(service_type, component)
        if not addresses or len(addresses) > MAX_NODES:
            raise InvalidInput(f"Component {component} needs 1-{MAX_NODES} nodes (HOST:PORT)")
        for address in addresses:
            catalog.node(address)
        nodes[component] = list(addresses)
    accounts = dict(users or {"avnadmin": secrets.token_urlsafe(18)})
    for username, password in accounts.items():
        if not _USER.fullmatch(username) or not 1 <= len(password) <= 256:
            raise InvalidInput(
                f"Invalid user {username!r}; accepted: a name of 1-64 letters, digits, "
                "'_' or '-' with a password of 1-256 characters"
            )
    if store.get_service(session, project=project, name=name) is not None:
        raise Conflict(f"Service '{name}' already exists in project '{project.name}'")
    sealer = sealing.of(session)
    service = Service(
        project=project,
        name=name,
        service_type=service_type,
        cloud_name=cloud_name,
        plan=plan,
        components=nodes,
        user_config={},
    )
    users_ = []
    for username, password in accounts.items():
        # Each user's client certificate (Kafka's `certificate` authentication), by the CA.
        cert, key = certificates.client_certificate(session, service, username)
        users_.append(
            {
                "username": username,
                "password": sealer.seal(password),
                "type": "primary" if username == "avnadmin" else "normal",
                "access_cert": cert,
                "access_key": sealer.seal(key),
            }
        )
    service.users = users_
    try:
        return store.add_service(session, service)
    except IntegrityError as error:  # a concurrent register won the race
        raise Conflict(f"Service '{name}' already exists in project '{project.name}'") from error


def get_service(session: Session, *, project: Project, name: str) -> Service:
    service = store.get_service(session, project=project, name=name)
    if service is None:
        raise NotFound(f"Service '{name}' does not exist in project '{project.name}'")
    return service


def list_services(session: Session, *, project: Project) -> Sequence[Service]:
    return store.list_services(session, project=project)

"""`privlink admin …`: operator commands run directly on the server's database.

They work before any token exists (that is how the first project is made).
Loaded lazily by `cli.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from cryptography.fernet import Fernet
from sqlalchemy.orm import Session

from privlink.api.schemas.projects import ProjectDetail, TokenPublic
from privlink.domain.errors import InvalidInput, PrivlinkError
from privlink.domain.roles import Role
from privlink.server import open_database
from privlink.services import (
    audit,
    certificates,
    privatelinks,
    registry,
    sealed,
    service_config,
    tenancy,
)
from privlink.settings import Settings, sealing_keys
from privlink.store import sealing
from privlink.store.db import make_sessionmaker
from privlink.store.tables import ApiToken, Project

T = TypeVar("T")
# Operator commands act with admin rights on every project.
OPERATOR = tenancy.Caller(
    token_id="cli", role=Role.OPERATOR, project=None, description="privlink admin (server CLI)"
)


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    engine = open_database(settings)
    try:
        with make_sessionmaker(engine, sealing.load(settings))() as session, session.begin():
            yield session
    finally:
        engine.dispose()


def _run(settings: Settings, action: Callable[[Session], T]) -> T:
    with _session(settings) as session:
        return action(session)


def _change(
    settings: Settings, what: str, target: str, project: str | None, action: Callable[[Session], T]
) -> T:
    """Run a change and record it in the audit log as the server CLI's, refused or done."""
    try:
        result = _run(settings, action)
    except PrivlinkError as error:
        _audit(settings, what, target, project, "refused", error.message)
        raise
    _audit(settings, what, target, project, "ok", "")
    return result


def _audit(
    settings: Settings, what: str, target: str, project: str | None, outcome: str, detail: str
) -> None:
    entry = audit.Entry(
        actor=OPERATOR.token_id,
        actor_description=OPERATOR.description,
        role=OPERATOR.role.value,
        action=f"admin {what}",
        target=target,
        project=project,
        outcome=outcome,
        detail=detail,
        address="local",
    )
    with _session(settings) as session:
        audit.record(session, entry)


def project_row(project: Project) -> dict[str, Any]:
    return ProjectDetail.model_validate(project).model_dump(mode="json")


def update_project(settings: Settings, name: str, *, privatelink: bool) -> dict[str, Any]:
    return _change(
        settings,
        f"project update privatelink={'on' if privatelink else 'off'}",
        name,
        name,
        lambda s: project_row(tenancy.set_privatelink(s, name=name, enabled=privatelink)),
    )


def token_row(token: ApiToken) -> dict[str, Any]:
    return TokenPublic.of(token).model_dump(mode="json")


def create_project(settings: Settings, name: str) -> dict[str, Any]:
    return _change(
        settings,
        "project create",
        name,
        name,
        lambda s: project_row(tenancy.create_project(s, name=name)),
    )


def list_projects(settings: Settings) -> list[dict[str, Any]]:
    return _run(
        settings, lambda s: [project_row(p) for p in tenancy.list_projects(s, caller=OPERATOR)]
    )


def create_token(
    settings: Settings, *, project: str | None, role: str, description: str
) -> dict[str, Any]:
    def action(session: Session) -> dict[str, Any]:
        issued = tenancy.create_token(session, project=project, role=role, description=description)
        return {**token_row(issued.token), "full_token": issued.secret}

    return _change(settings, f"token create role={role[:16]}", description[:100], project, action)


def list_tokens(settings: Settings, project: str | None) -> list[dict[str, Any]]:
    return _run(settings, lambda s: [token_row(t) for t in tenancy.list_tokens(s, project=project)])


def revoke_token(settings: Settings, token_id: str) -> dict[str, Any]:
    return _change(
        settings,
        "token revoke",
        token_id,
        None,
        lambda s: token_row(tenancy.revoke_token(s, token_id=token_id)),
    )


def register_service(
    settings: Settings,
    *,
    project: str,
    name: str,
    service_type: str,
    cloud_name: str,
    plan: str,
    nodes: list[str],
    users: list[str] | None = None,
) -> dict[str, Any]:
    """Register a service; `nodes` are `component=HOST:PORT`, `users` `NAME:PASSWORD`."""
    accounts: dict[str, str] = {}
    for item in users or []:
        username, sep, password = item.partition(":")
        if not sep:
            raise InvalidInput(f"User {item!r}: write NAME:PASSWORD, e.g. avnadmin:s3cret")
        accounts[username] = password
    components: dict[str, list[str]] = {}
    for item in nodes:
        component, sep, address = item.partition("=")
        if not sep:
            raise InvalidInput(
                f"Node {item!r}: write COMPONENT=HOST:PORT, e.g. kafka=10.0.0.1:9092"
            )
        components.setdefault(component, []).append(address)

    def action(session: Session) -> dict[str, Any]:
        owner = tenancy.get_project(session, caller=OPERATOR, name=project)
        service = registry.register_service(
            session,
            project=owner,
            name=name,
            service_type=service_type,
            cloud_name=cloud_name,
            plan=plan,
            components=components,
            users=accounts or None,
        )
        return {
            "service_name": service.name,
            "service_type": service.service_type,
            "cloud_name": service.cloud_name,
            "plan": service.plan,
            "components": service.components,
        }

    return _change(settings, "service register", f"{project}/{name}", project, action)


def update_service(settings: Settings, *, project: str, name: str, plan: str) -> dict[str, Any]:
    """Move a service to another plan (only operators may; never to one that drops a live
    PrivateLink or outbound link)."""

    def action(session: Session) -> dict[str, Any]:
        owner = tenancy.get_project(session, caller=OPERATOR, name=project)
        service = registry.get_service(session, project=owner, name=name)
        service_config.change_plan(session, service, plan, operator=True)
        return {"service_name": service.name, "plan": service.plan}

    return _change(
        settings, f"service update plan={plan[:64]}", f"{project}/{name}", project, action
    )


def service_certificate(
    settings: Settings, *, project: str, name: str, directory: Path
) -> dict[str, Any]:
    """Write the service's server certificate, key (0600) and CA into `directory`, as its
    nodes load them (server.crt, server.key, ca.crt)."""

    def action(session: Session) -> certificates.ServerCertificate:
        owner = tenancy.get_project(session, caller=OPERATOR, name=project)
        return privatelinks.server_certificate(session, project=owner, service_name=name)

    found = _run(settings, action)
    directory.mkdir(parents=True, exist_ok=True)
    files = {"server.crt": found.certificate, "server.key": found.private_key, "ca.crt": found.ca}
    for file_name, text in files.items():
        path = directory / file_name
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600 if file_name == "server.key" else 0o644)
        path.write_text(text)
    return {"directory": str(directory), "files": sorted(files), "names": found.names}


def new_secret_key() -> str:
    return Fernet.generate_key().decode()


def rotate_secret_key(settings: Settings) -> dict[str, Any]:
    """Reseal every secret under a new key. With the key file: a new key is made, put
    first, everything resealed, then the old key dropped (a crash in between leaves both
    keys in the file, so nothing is lost). With PRIVLINK_SECRET_KEYS: everything is
    resealed under its first key; the old ones may then be removed from the setting."""
    path = sealing.key_file(settings)
    from_file = settings.secret_keys is None
    if from_file:
        sealing.load(settings)  # the file exists from here on
        old = sealing_keys(path.read_text())
        sealing.write_keys(path, [Fernet.generate_key(), *old])
    engine = open_database(settings)
    try:
        sessions = make_sessionmaker(engine, sealing.load(settings))
        with sessions() as session, session.begin():
            count = sealed.reseal(session, only_plain=False)
    finally:
        engine.dispose()
    if from_file:
        sealing.write_keys(path, sealing_keys(path.read_text())[:1])
    _audit(settings, "secret-key rotate", "", None, "ok", f"{count} secrets resealed")
    return {"resealed": count, "key_file": str(path) if from_file else None}

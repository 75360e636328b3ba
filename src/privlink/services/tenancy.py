"""Projects, API tokens and who may see what.

Tokens look like `plk_<token id>_<secret>`; only a SHA-256 digest of the whole
token is stored, and the token id finds the row without scanning.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from privlink.domain import validation
from privlink.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from privlink.domain.roles import READ_METHODS, ROLES, Role, may_change
from privlink.store import tenancy as store
from privlink.store.base import as_utc, utcnow
from privlink.store.tables import ApiToken, ConsoleSession, Project

TOKEN_PREFIX = "plk"
MAX_DESCRIPTION = 200


@dataclass(frozen=True)
class Caller:
    """Who is calling: resolved from a token."""

    token_id: str
    role: Role
    project: str | None
    description: str = ""

    @property
    def is_admin(self) -> bool:
        """An operator: acts on every project and on the install itself."""
        return self.role == Role.OPERATOR

    @property
    def read_only(self) -> bool:
        return not may_change(self.role)


@dataclass(frozen=True)
class IssuedToken:
    """A freshly made token; `secret` is the only time the full token exists."""

    token: ApiToken
    secret: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_project(session: Session, *, name: str) -> Project:
    validation.project_name(name)
    if store.get_project(session, name=name) is not None:
        raise Conflict(f"Project '{name}' already exists")
    try:
        return store.add_project(session, name=name)
    except IntegrityError as error:  # a concurrent create won the race
        raise Conflict(f"Project '{name}' already exists") from error


def list_projects(session: Session, *, caller: Caller) -> Sequence[Project]:
    projects = store.list_projects(session)
    if caller.is_admin:
        return projects
    return [project for project in projects if project.name == caller.project]


def get_project(session: Session, *, caller: Caller, name: str) -> Project:
    """The project, if the caller may see it; otherwise 404 so existence is not leaked."""
    if caller.is_admin or caller.project == name:
        project = store.get_project(session, name=name)
        if project is not None:
            return project
    raise NotFound(f"Project '{name}' does not exist")


def create_token(
    session: Session,
    *,
    project: str | None,
    role: Role | str = Role.ADMIN,
    description: str = "",
) -> IssuedToken:
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"Token description is longer than {MAX_DESCRIPTION} characters")
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput(f"Unknown role {str(role)[:40]!r}; roles are {ROLES}") from None
    if role is Role.OPERATOR and project is not None:
        raise InvalidInput("An operator token acts on every project; leave its project out")
    if role is not Role.OPERATOR and project is None:
        raise InvalidInput(f"A {role.value} token needs a project (only operator tokens have none)")
    owner = None
    if project is not None:
        owner = store.get_project(session, name=project)
        if owner is None:
            raise NotFound(f"Project '{project}' does not exist")
    token_id = secrets.token_hex(6)
    secret = f"{TOKEN_PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
    token = store.add_token(
        session,
        token_id=token_id,
        secret_hash=_digest(secret),
        project=owner,
        role=role.value,
        description=description,
    )
    return IssuedToken(token=token, secret=secret)


def list_tokens(session: Session, *, project: str | None = None) -> Sequence[ApiToken]:
    project_id = None
    if project is not None:
        owner = store.get_project(session, name=project)
        if owner is None:
            raise NotFound(f"Project '{project}' does not exist")
        project_id = owner.id
    return store.list_tokens(session, project_id=project_id)


def revoke_token(session: Session, *, token_id: str) -> ApiToken:
    token = store.get_token(session, token_id=token_id)
    if token is None:
        raise NotFound(f"Token '{token_id}' does not exist")
    if token.revoked_at is None:
        store.revoke_token(token, at=utcnow())
    return token


def authenticate(session: Session, *, secret: str | None) -> Caller:
    """Resolve a presented token to a caller, or raise `Unauthenticated`."""
    if not secret:
        raise Unauthenticated(
            "Authentication required: send 'Authorization: aivenv1 TOKEN' or 'Bearer TOKEN'"
        )
    prefix, _, rest = secret.partition("_")
    token_id, _, _ = rest.partition("_")
    token = store.get_token(session, token_id=token_id) if prefix == TOKEN_PREFIX else None
    if (
        token is None
        or token.revoked_at is not None
        or not hmac.compare_digest(token.secret_hash, _digest(secret))
    ):
        raise Unauthenticated("Invalid or revoked token")
    return _caller_of(token)


SESSION_LIFETIME = timedelta(hours=12)


def open_session(session: Session, *, secret: str | None) -> str:
    """Log in to the console with an API token: a new random session secret (the
    cookie's value); only its digest is stored, tied to the token."""
    caller = authenticate(session, secret=secret)
    token = store.get_token(session, token_id=caller.token_id)
    assert token is not None
    session_secret = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            id=_digest(session_secret),
            token_id=token.id,
            expires_at=utcnow() + SESSION_LIFETIME,
        )
    )
    return session_secret


def session_caller(session: Session, *, secret: str | None) -> Caller:
    """Who a console session is: its token, unless the session ended, expired or the
    token was revoked."""
    found = session.get(ConsoleSession, _digest(secret)) if secret else None
    if found is None or as_utc(found.expires_at) <= utcnow() or found.token.revoked_at:
        raise Unauthenticated("No console session; log in again")
    return _caller_of(found.token)


def close_session(session: Session, *, secret: str | None) -> None:
    """Log out: the session's row goes, so its cookie no longer works anywhere."""
    if secret:
        found = session.get(ConsoleSession, _digest(secret))
        if found is not None:
            session.delete(found)


def _caller_of(token: ApiToken) -> Caller:
    return Caller(
        token_id=token.token_id,
        role=Role(token.role),
        project=token.project.name if token.project is not None else None,
        description=token.description,
    )


def require_admin(caller: Caller) -> None:
    if not caller.is_admin:
        raise Forbidden("This operation needs an operator token")


def authorize(caller: Caller, *, method: str) -> Caller:
    """The one check of a role against a request (API and console): read-only tokens
    may only read. Which objects a caller reaches is checked where they are looked up."""
    if method.upper() not in READ_METHODS and not may_change(caller.role):
        raise Forbidden(
            f"Token {caller.token_id} is read-only: it may list, get, validate and read "
            "events and the audit log, but not create, change, delete, accept or reject"
        )
    return caller


def ensure_admin_token(session: Session) -> IssuedToken | None:
    """Issue the first admin token when none is live; None when one already exists."""
    if store.has_live_admin_token(session):
        return None
    return create_token(
        session, project=None, role=Role.OPERATOR, description="first-start operator"
    )


def set_privatelink(session: Session, *, name: str, enabled: bool) -> Project:
    """Turn the limited-availability PrivateLink feature on or off for a project."""
    project = store.get_project(session, name=name)
    if project is None:
        raise NotFound(f"Project '{name}' does not exist")
    project.privatelink_enabled = enabled
    return project

"""FastAPI dependencies: `SessionDep`, `CallerDep`, `ProjectDep` (and `StateDep`, shared
with the console)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from privlink.services import tenancy
from privlink.services.entities import Project
from privlink.state import StateDep

_SCHEMES = ("aivenv1", "bearer")


def get_session(state: StateDep) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent."""
    with state.sessions() as session, session.begin():
        yield session


# scope="function": the transaction ends when the route returns, so a failed
# commit becomes an error response instead of being hidden after a 200.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in _SCHEMES and value.strip():
        return value.strip()
    return None


def get_caller(session: SessionDep, request: Request) -> tenancy.Caller:
    """Who calls, and whether their role allows this kind of request (every route)."""
    caller = tenancy.authenticate(session, secret=get_token(request))
    request.state.caller = caller  # the audit log records who it was
    return tenancy.authorize(caller, method=request.method)


CallerDep = Annotated[tenancy.Caller, Depends(get_caller)]


def get_admin(caller: CallerDep) -> tenancy.Caller:
    tenancy.require_admin(caller)
    return caller


AdminDep = Annotated[tenancy.Caller, Depends(get_admin)]

ProjectName = Annotated[str, Path(max_length=63, description="Project name")]


def get_project(session: SessionDep, caller: CallerDep, project: ProjectName) -> Project:
    return tenancy.get_project(session, caller=caller, name=project)


ProjectDep = Annotated[Project, Depends(get_project)]

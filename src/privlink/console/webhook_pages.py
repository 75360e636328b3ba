"""The console's Webhooks page: a project's subscriptions, their recent deliveries, and
create / delete / redeliver (the secret is shown once, after create)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from privlink.console import session as auth
from privlink.console.routes import Csrf, DbDep, _back, _change, _not_found, _page, pages
from privlink.domain.errors import NotFound, PrivlinkError
from privlink.services import tenancy, webhooks
from privlink.state import StateDep

Url = Annotated[str, Form(max_length=2000)]
Events = Annotated[str, Form(max_length=2000)]


def _url(project: str) -> str:
    return f"/console/projects/{project}/webhooks"


def _show(
    request: Request,
    session: Session,
    project: str,
    *,
    status: int = 200,
    error: str | None = None,
    secret: str | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    caller = auth.caller(request, session)
    try:
        found = tenancy.get_project(session, caller=caller, name=project)
    except NotFound as missing:
        return _not_found(request, session, missing.message)
    hooks = webhooks.list_webhooks(session, project=found)
    recent = {
        h.id: webhooks.deliveries(session, project=found, webhook_id=h.id, limit=10) for h in hooks
    }
    return _page(
        request,
        session,
        "webhooks.html",
        status,
        project=found.name,
        hooks=hooks,
        recent=recent,
        error=error,
        secret=secret,
        values=values or {},
    )


@pages.get("/console/projects/{project}/webhooks")
def webhooks_page(request: Request, session: DbDep, project: str) -> HTMLResponse:
    return _show(request, session, project)


@pages.post("/console/projects/{project}/webhooks")
def create_webhook(
    request: Request,
    session: DbDep,
    state: StateDep,
    project: str,
    csrf: Csrf,
    url: Url = "",  # checked after the project (an empty one is refused with the reason)
    events: Events = "",
) -> Response:
    auth.check_csrf(request, csrf)
    caller = auth.caller(request, session)
    chosen = [e.strip() for e in events.replace(",", " ").split() if e.strip()]
    try:
        with state.sessions() as s, s.begin():
            owner = tenancy.get_project(s, caller=caller, name=project)
            secret = webhooks.create(s, project=owner, url=url, secret=None, events=chosen).secret
    except PrivlinkError as refused:
        values = {"url": url, "events": events}
        return _show(request, session, project, status=400, error=refused.message, values=values)
    return _show(request, session, project, secret=secret)


@pages.post("/console/projects/{project}/webhooks/{webhook_id}/delete")
def delete_webhook(
    request: Request, session: DbDep, state: StateDep, project: str, webhook_id: str, csrf: Csrf
) -> Response:
    auth.check_csrf(request, csrf)
    caller = auth.caller(request, session)

    def action(s: Session) -> None:
        owner = tenancy.get_project(s, caller=caller, name=project)
        webhooks.delete(s, project=owner, webhook_id=webhook_id)

    error = _change(state, action)
    if error is not None:
        return _show(request, session, project, status=404, error=error)
    return _back(_url(project))


@pages.post("/console/projects/{project}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver")
def redeliver(
    request: Request,
    session: DbDep,
    state: StateDep,
    project: str,
    webhook_id: str,
    delivery_id: int,
    csrf: Csrf,
) -> Response:
    auth.check_csrf(request, csrf)
    caller = auth.caller(request, session)

    def action(s: Session) -> None:
        owner = tenancy.get_project(s, caller=caller, name=project)
        webhooks.redeliver(s, project=owner, webhook_id=webhook_id, delivery_id=delivery_id)

    error = _change(state, action)
    if error is not None:
        return _show(request, session, project, status=404, error=error)
    return _back(_url(project))

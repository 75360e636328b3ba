"""The console's pages. Each reads and changes state through the service layer only.

Reads use the request's transaction; every change runs in its own transaction so a
refusal (a `PrivlinkError`) leaves nothing behind, and the page is shown again with
the message next to the field and the user's input kept. A change that succeeds
redirects (POST, redirect, GET) and wakes the reconciler.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from privlink.console import session as auth
from privlink.console import views
from privlink.domain import catalog, validation
from privlink.domain import outbound as outbound_rules
from privlink.domain import privatelink as privatelink_rules
from privlink.domain.errors import NotFound, PrivlinkError
from privlink.services import (
    diagnose,
    events,
    outbound,
    privatelinks,
    registry,
    service_config,
    service_view,
    tenancy,
)
from privlink.services.entities import OutboundLink, Privatelink, Project, Service
from privlink.state import AppState, StateDep

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
Csrf = Annotated[str, Form(max_length=128)]


def db(state: StateDep) -> Iterator[Session]:
    with state.sessions() as session, session.begin():
        yield session


DbDep = Annotated[Session, Depends(db)]


def signed_in(request: Request, session: DbDep) -> tenancy.Caller:
    """Every page's first check, before its form or query is read: a live session whose
    role allows the request (else the log-in page, or a 403 page for a read-only token)."""
    return auth.caller(request, session)


# Log-in and log-out are on `router`; everything behind them on `pages`.
pages = APIRouter(include_in_schema=False, dependencies=[Depends(signed_in)])


def _page(
    request: Request,
    session: Session,
    template: str,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    caller = auth.caller(request, session)
    token = auth.token_of(request) or ""
    projects = [p.name for p in tenancy.list_projects(session, caller=caller)]
    return templates.TemplateResponse(
        request,
        template,
        {"caller": caller, "projects": projects, "csrf": auth.csrf_token(token), **context},
        status_code=status,
    )


def _not_found(request: Request, session: Session, message: str) -> HTMLResponse:
    return _page(request, session, "not_found.html", 404, message=message)


def _service(
    request: Request, session: Session, project: str, service: str
) -> tuple[Project, Service]:
    caller = auth.caller(request, session)
    found = tenancy.get_project(session, caller=caller, name=project)
    return found, registry.get_service(session, project=found, name=service)


def _change(state: AppState, action: Callable[[Session], Any]) -> str | None:
    """Run `action` in its own transaction; the refusal's message, or None when done."""
    try:
        with state.sessions() as session, session.begin():
            action(session)
    except PrivlinkError as error:
        return error.message
    state.changed()
    return None


def _back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# -- log in and out -------------------------------------------------------------
@router.get("/")
def home() -> RedirectResponse:
    return _back("/console")


def _login_form(
    request: Request, state: AppState, error: str | None = None, token: str = ""
) -> HTMLResponse:
    """The log-in page with a fresh CSRF pair: a random cookie and its HMAC in the form."""
    nonce = secrets.token_urlsafe(16)
    context = {"error": error, "token": token, "csrf": auth.csrf_token(nonce)}
    response = templates.TemplateResponse(
        request, "login.html", context, status_code=401 if error else 200
    )
    secure = state.settings.console_secure_cookies
    auth.set_cookie(response, request, auth.LOGIN_COOKIE, nonce, secure=secure)
    return response


@router.get("/login")
def login_page(request: Request, state: StateDep) -> HTMLResponse:
    return _login_form(request, state)


@router.post("/login")
def login(
    request: Request,
    state: StateDep,
    csrf: Annotated[str, Form(max_length=128)] = "",
    token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    auth.check_csrf(request, csrf, cookie=auth.LOGIN_COOKIE)
    try:
        with state.sessions() as session, session.begin():
            secret = tenancy.open_session(session, secret=token.strip() or None)
            request.state.caller = tenancy.session_caller(session, secret=secret)  # audit
    except PrivlinkError as error:
        return _login_form(request, state, error.message, token)
    response = _back("/console")
    secure = state.settings.console_secure_cookies
    auth.set_cookie(response, request, auth.COOKIE, secret, secure=secure)
    response.delete_cookie(auth.LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, state: StateDep, csrf: Csrf = "") -> RedirectResponse:
    auth.check_csrf(request, csrf)
    with state.sessions() as session, session.begin():
        tenancy.close_session(session, secret=auth.token_of(request))
    response = _back("/login")
    response.delete_cookie(auth.COOKIE, path="/")
    return response


@pages.get("/console")
def console_home(request: Request, session: DbDep) -> Response:
    caller = auth.caller(request, session)
    projects = tenancy.list_projects(session, caller=caller)
    if not projects:
        return _page(request, session, "not_found.html", 200, message="There are no projects yet.")
    return _back(f"/console/projects/{projects[0].name}/services")


@pages.get("/console/switch")
def switch(project: Annotated[str, Query(max_length=63)]) -> RedirectResponse:
    """The project switcher (a GET form): go to that project's services."""
    return _back(f"/console/projects/{project}/services")


# -- services -------------------------------------------------------------------
@pages.get("/console/projects/{project}/services")
def services_page(request: Request, session: DbDep, project: str) -> HTMLResponse:
    caller = auth.caller(request, session)
    try:
        found = tenancy.get_project(session, caller=caller, name=project)
    except NotFound as error:
        return _not_found(request, session, error.message)
    rows = registry.list_services(session, project=found)
    return _page(request, session, "services.html", project=found.name, services=rows)


def _overview(
    request: Request,
    session: Session,
    project: str,
    service: str,
    query: dict[str, str | None],
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    try:
        found, row = _service(request, session, project, service)
    except NotFound as error_:
        return _not_found(request, session, error_.message)
    public = service_view.view(session, row)
    info, choices = views.connection_info(
        public, query.get("component"), query.get("route"), query.get("connection")
    )
    access = privatelink_rules.access(row.user_config)
    return _page(
        request,
        session,
        "service.html",
        status,
        project=found.name,
        service=row,
        info=info,
        choices=choices,
        components=catalog.COMPONENTS[row.service_type],
        access=access,
        config_error=error,
    )


@pages.get("/console/projects/{project}/services/{service}")
def service_page(
    request: Request,
    session: DbDep,
    project: str,
    service: str,
    component: str | None = None,
    route: str | None = None,
    connection: str | None = None,
) -> HTMLResponse:
    query = {"component": component, "route": route, "connection": connection}
    return _overview(request, session, project, service, query)


@pages.post("/console/projects/{project}/services/{service}/config")
async def save_config(
    request: Request, state: StateDep, session: DbDep, project: str, service: str
) -> Response:
    form = await request.form()
    auth.check_csrf(request, str(form.get("csrf", "")))
    _found, row = _service(request, session, project, service)
    wanted = {
        component: form.get(f"access.{component}") == "on"
        for component in catalog.COMPONENTS[row.service_type]
    }

    def action(s: Session) -> None:
        target = s.get(Service, row.id)
        assert target is not None
        service_config.update_user_config(s, target, {"privatelink_access": wanted})

    error = _change(state, action)
    if error is not None:
        return _overview(request, session, project, service, {}, 400, error)
    return _back(f"/console/projects/{project}/services/{service}?saved=1")


# -- inline checks: the API's own rules, as the user types ----------------------------
@pages.post("/console/check/{field}")
def check_field(
    request: Request,
    session: DbDep,
    field: str,
    csrf: Csrf,
    value: Annotated[str, Form(max_length=20000)] = "",
) -> JSONResponse:
    """Whether a form field's value would be accepted, with the API's message if not."""
    auth.caller(request, session)
    auth.check_csrf(request, csrf)
    checks: dict[str, Callable[[str], object]] = {
        "principals": lambda text: privatelink_rules.principals(_principals(text) or None),
        "subscriptions": lambda text: privatelink_rules.subscription_ids(_principals(text)),
        "service_name": lambda text: validation.endpoint_service_name(text.strip()),
    }
    if field not in checks:
        return JSONResponse({"message": f"Unknown field {field[:40]!r}"}, status_code=404)
    try:
        checks[field](value)
    except PrivlinkError as error:
        return JSONResponse({"ok": False, "message": error.message})
    return JSONResponse({"ok": True, "message": ""})


# -- the Network page -------------------------------------------------------------
def _network(
    request: Request,
    session: Session,
    state: AppState,
    project: str,
    service: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    open_dialog: str | None = None,
    validate: str | None = None,
) -> HTMLResponse:
    try:
        found, row = _service(request, session, project, service)
    except NotFound as error:
        return _not_found(request, session, error.message)
    pl = privatelinks.find(session, row)
    links = outbound.list_links(session, project=found, service_name=row.name)
    history = events.list_events(session, project=found, service=row.name, limit=200)
    hops = None
    if validate == "inbound" and pl is not None:
        hops = diagnose.Report.of(
            diagnose.inbound(state.sessions, state.platform, pl.id, None, state.resolver())
        )
    elif validate and any(link.id == validate for link in links):
        hops = diagnose.Report.of(
            diagnose.outbound(state.sessions, state.platform_cloud(), validate, [])
        )
    try:
        facts = outbound.info(row, state.platform_cloud())
    except PrivlinkError:
        facts = None
    states = json.dumps(_states(pl, links), separators=(",", ":"))
    return _page(
        request,
        session,
        "network.html",
        status,
        project=found.name,
        service=row,
        provider=catalog.cloud_provider(row.cloud_name),
        pl=pl,
        links=links,
        deletable=outbound_rules.DELETABLE,
        facts=facts,
        history=list(reversed(history)),
        errors=errors or {},
        values=values or {},
        open_dialog=open_dialog,
        validate=validate,
        hops=hops,
        states_json=states,
    )


def _network_url(project: str, service: str) -> str:
    return f"/console/projects/{project}/services/{service}/network"


@pages.get("/console/projects/{project}/services/{service}/network")
def network_page(
    request: Request,
    session: DbDep,
    state: StateDep,
    project: str,
    service: str,
    validate: str | None = None,
) -> HTMLResponse:
    return _network(request, session, state, project, service, validate=validate)


@pages.get("/console/projects/{project}/services/{service}/network/states")
def network_states(request: Request, session: DbDep, project: str, service: str) -> Response:
    """What the badges show, for the page to poll."""
    try:
        found, row = _service(request, session, project, service)
    except NotFound as error:
        return JSONResponse({"message": error.message}, status_code=404)
    pl = privatelinks.find(session, row)
    links = outbound.list_links(session, project=found, service_name=row.name)
    return JSONResponse(_states(pl, links))


def _states(pl: Privatelink | None, links: list[OutboundLink]) -> dict[str, Any]:
    """What the page shows that the reconciler changes: the page reloads when it differs."""
    return {
        "inbound": pl.state if pl else None,
        "service": pl.aws_service_id if pl else None,
        "connections": [[c.id, c.state] for c in pl.connections] if pl else [],
        "links": [[link.id, link.state, link.reason] for link in links],
    }


def _principals(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _actor(request: Request, session: Session) -> str:
    caller = auth.caller(request, session)
    return "admin (console)" if caller.is_admin else f"token {caller.token_id} (console)"


def _network_change(
    request: Request,
    session: Session,
    state: AppState,
    where: tuple[str, str],
    csrf: str,
    action: Callable[[Session, Project, str], object],
    *,
    field: str,
    value: str = "",
    dialog: str | None = None,
    status: int = 400,
) -> Response:
    """One change from the Network page: done, back to the page; refused, the page again
    with the message at `field`, the input kept and its dialog open."""
    project, service = where
    auth.check_csrf(request, csrf)
    found, _row = _service(request, session, project, service)
    actor = _actor(request, session)
    error = _change(state, lambda s: action(s, s.merge(found), actor))
    if error is None:
        return _back(_network_url(project, service))
    return _network(
        request,
        session,
        state,
        project,
        service,
        status=status,
        errors={field: error},
        values={field: value},
        open_dialog=dialog,
    )


Principals = Annotated[str, Form(max_length=20000)]


@pages.post("/console/projects/{project}/services/{service}/privatelink")
def create_privatelink(
    request: Request,
    session: DbDep,
    state: StateDep,
    project: str,
    service: str,
    csrf: Csrf,
    principals: Principals = "",
) -> Response:
    pool = range(state.settings.port_pool[0], state.settings.port_pool[1] + 1)
    return _network_change(
        request,
        session,
        state,
        (project, service),
        csrf,
        lambda s, p, actor: privatelinks.create(
            s,
            project=p,
            service_name=service,
            principals=_principals(principals) or None,
            pool=pool,
            actor=actor,
            provider=_provider(s, p, service),
        ),
        field="principals",
        value=principals,
        dialog="create-privatelink",
    )


@pages.post("/console/projects/{project}/services/{service}/privatelink/principals")
def edit_principals(
    request: Request,
    session: DbDep,
    state: StateDep,
    project: str,
    service: str,
    csrf: Csrf,
    principals: Principals = "",
) -> Response:
    return _network_change(
        request,
        session,
        state,
        (project, service),
        csrf,
        lambda s, p, actor: privatelinks.update(
            s,
            project=p,
            service_name=service,
            principals=_principals(principals) or None,
            actor=actor,
            provider=_provider(s, p, service),
        ),
        field="edit",
        value=principals,
        dialog="edit-principals",
    )


@pages.post("/console/projects/{project}/services/{service}/privatelink/delete")
def delete_privatelink(
    request: Request, session: DbDep, state: StateDep, project: str, service: str, csrf: Csrf
) -> Response:
    return _network_change(
        request,
        session,
        state,
        (project, service),
        csrf,
        lambda s, p, actor: privatelinks.delete(
            s, project=p, service_name=service, actor=actor, provider=_provider(s, p, service)
        ),
        field="inbound",
        status=409,
    )


def _provider(session: Session, project: Project, service: str) -> str:
    """The cloud of the service: which PrivateLink flow its page drives."""
    return catalog.cloud_provider(
        registry.get_service(session, project=project, name=service).cloud_name
    )


@pages.post("/console/projects/{project}/services/{service}/privatelink/connections/{plc}/approve")
def approve_connection(
    request: Request,
    session: DbDep,
    state: StateDep,
    project: str,
    service: str,
    plc: str,
    csrf: Csrf,
    user_ip: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Azure: approve a waiting connection. Google: approve it with its endpoint's address."""

    def approve(s: Session, p: Project, actor: str) -> object:
        pl = privatelinks.get(s, project=p, service_name=service, provider=_provider(s, p, service))
        return privatelinks.approve(
            s,
            pl,
            plc,
            user_ip=user_ip.strip() or None,
            actor=actor,
            networks=_networks(state, pl.service.cloud_name),
        )

    return _network_change(
        request, session, state, (project, service), csrf, approve, field=f"approve-{plc}"
    )


@pages.post("/console/projects/{project}/services/{service}/privatelink/connections/{plc}/address")
def set_connection_address(
    request: Request,
    session: DbDep,
    state: StateDep,
    project: str,
    service: str,
    plc: str,
    csrf: Csrf,
    user_ip: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Azure: the private endpoint's address, which the connection's name points at."""

    def set_address(s: Session, p: Project, actor: str) -> object:
        pl = privatelinks.get(s, project=p, service_name=service, provider="azure")
        return privatelinks.set_user_ip(
            s,
            pl,
            plc,
            user_ip=user_ip.strip(),
            actor=actor,
            networks=_networks(state, pl.service.cloud_name),
        )

    return _network_change(
        request,
        session,
        state,
        (project, service),
        csrf,
        set_address,
        field=f"address-{plc}",
        value=user_ip,
    )


def _networks(state: AppState, cloud_name: str) -> privatelinks.Networks:
    return state.platform(catalog.cloud_region(cloud_name)).endpoint_networks


@pages.post("/console/projects/{project}/services/{service}/outbound")
def create_link(
    request: Request,
    session: DbDep,
    state: StateDep,
    project: str,
    service: str,
    csrf: Csrf,
    service_name: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    return _network_change(
        request,
        session,
        state,
        (project, service),
        csrf,
        lambda s, p, actor: outbound.create(
            s,
            project=p,
            service_name=service,
            endpoint_service_name=service_name.strip(),
            platform=state.platform_cloud(),
            limit=state.settings.outbound_link_limit,
            actor=actor,
        ),
        field="service_name",
        value=service_name,
        dialog="create-link",
    )


@pages.post("/console/projects/{project}/services/{service}/outbound/{link_id}/delete")
def delete_link(
    request: Request,
    session: DbDep,
    state: StateDep,
    project: str,
    service: str,
    link_id: str,
    csrf: Csrf,
) -> Response:
    return _network_change(
        request,
        session,
        state,
        (project, service),
        csrf,
        lambda s, p, actor: outbound.delete(
            s, project=p, service_name=service, link_id=link_id, actor=actor
        ),
        field=link_id,
        status=409,
    )

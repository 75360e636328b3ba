"""`privlink service privatelink aws …` and `privlink events`: the platform side, over HTTP.

Verbs mirror avn's; `--wait` follows the object until it settles and exits
non-zero if it fails; `validate` names the broken hop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from privlink.commands import common
from privlink.commands.common import Json, Timeout, Url, Wait, call
from privlink.output import fail, show

if TYPE_CHECKING:
    from privlink.client import Client

service_app = typer.Typer(
    help="Managed services and their PrivateLink.", no_args_is_help=True, rich_markup_mode=None
)
privatelink_app = typer.Typer(
    help="PrivateLink of a service.", no_args_is_help=True, rich_markup_mode=None
)
aws_app = typer.Typer(
    help="AWS PrivateLink: inbound (publish the service), outbound (reach a customer's).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
connection_app = typer.Typer(
    help="Customer connections.", no_args_is_help=True, rich_markup_mode=None
)
azure_app = typer.Typer(
    help="Azure Private Link: publish the service to customers' VNets.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
google_app = typer.Typer(
    help="Google Private Service Connect: publish the service to customers' VPCs.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
azure_connection_app = typer.Typer(
    help="Customers' private endpoints.", no_args_is_help=True, rich_markup_mode=None
)
google_connection_app = typer.Typer(
    help="Customers' Private Service Connect endpoints.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
service_app.add_typer(privatelink_app, name="privatelink")
privatelink_app.add_typer(aws_app, name="aws")
privatelink_app.add_typer(azure_app, name="azure")
privatelink_app.add_typer(google_app, name="google")
aws_app.add_typer(connection_app, name="connection")
azure_app.add_typer(azure_connection_app, name="connection")
google_app.add_typer(google_connection_app, name="connection")

Project = Annotated[
    str | None,
    typer.Option("--project", "-P", envvar="PRIVLINK_PROJECT", help="Project name."),
]
Principals = Annotated[
    list[str] | None,
    typer.Option("--principal", help="AWS principal ARN allowed to connect (repeatable)."),
]
COLUMNS = ("aws_service_id", "aws_service_name", "principals", "state")


def _base(project: str | None, service: str, provider: str = "aws") -> str:
    if not project:
        fail("Give the project with --project NAME or PRIVLINK_PROJECT")
    return f"/v1/project/{project}/service/{service}/privatelink/{provider}"


def _state(client: Client, base: str) -> dict[str, Any]:
    status: dict[str, Any] = client.get(base + "/status")["privatelink"]
    return status


def watch(
    fetch: Callable[[], dict[str, Any]],
    settled: Callable[[dict[str, Any] | None], bool],
    what: str,
    timeout: float,
) -> dict[str, Any] | None:
    """Print each state change until `settled` (None: gone); exit 1 on `failed`."""
    return common.watch(
        lambda: common.fetch_or_none(fetch),
        done=settled,
        failed=lambda s: f"{what} failed: {s['reason']}" if s["state"] == "failed" else None,
        label=lambda s: (
            (s["state"] + (f" — {s['reason']}" if s["reason"] else "")) if s else "gone"
        ),
        timeout=timeout,
    )


def follow(client: Client, base: str, want: str | None, timeout: float) -> dict[str, Any] | None:
    """Follow the PrivateLink until `want` (None: gone) or `failed`."""
    return watch(
        lambda: _state(client, base),
        lambda status: status is None if want is None else bool(status and status["state"] == want),
        "PrivateLink",
        timeout,
    )


def _create(base: str, body: dict[str, Any], wait: bool, timeout: float, url: str | None) -> Any:
    def action(client: Client) -> Any:
        created = client.post(base, body)
        if wait:
            follow(client, base, "active", timeout)
            return client.get(base)
        return created

    return call(action, url)


def _delete(base: str, wait: bool, timeout: float, url: str | None) -> Any:
    def action(client: Client) -> Any:
        deleted = client.delete(base)
        if wait:
            follow(client, base, None, timeout)
            return {**deleted, "state": "deleted"}
        return deleted

    return call(action, url)


@aws_app.command("create")
def create(
    service: str,
    principal: Principals = None,
    project: Project = None,
    wait: Wait = False,
    timeout: Timeout = 600,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Publish SERVICE: a load balancer and an endpoint service allowing the principals."""
    body = {"principals": principal or None}
    show(
        _create(_base(project, service), body, wait, timeout, url), as_json=as_json, columns=COLUMNS
    )


@aws_app.command("update")
def update(
    service: str,
    principal: Principals = None,
    project: Project = None,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Replace the whole list of allowed principals."""
    base = _base(project, service)
    body = {"principals": principal or None}
    show(call(lambda c: c.request("PUT", base, json=body), url), as_json=as_json, columns=COLUMNS)


def _status(base: str, service: str, as_json: bool, url: str | None) -> None:
    body = call(lambda c: c.get(base + "/status"), url)
    if as_json:
        show(body, as_json=True)
        return
    pl = body["privatelink"]
    typer.echo(f"{service}: {pl['state']}" + (f" — {pl['reason']}" if pl["reason"] else ""))
    show(body["ports"], as_json=False)


def _validate(base: str, connection: str | None, as_json: bool, url: str | None) -> None:
    result = call(lambda c: c.get(base + "/validate", connection=connection), url)
    print_hops(result, as_json)


def print_hops(result: dict[str, Any], as_json: bool) -> None:
    """Each hop with its fix, then the verdict; exit 1 if a hop is broken."""
    if as_json:
        show(result, as_json=True)
    else:
        for hop in result["hops"]:
            typer.echo(f"{'ok  ' if hop['ok'] else 'FAIL'}  {hop['hop']}: {hop['detail']}")
            if hop["fix"]:
                typer.echo(f"      -> {hop['fix']}")
        typer.echo("All hops hold." if result["ok"] else f"Broken hop: {result['broken']}")
    if not result["ok"]:
        raise typer.Exit(1)


# -- the verbs every cloud's PrivateLink has, registered once per cloud -------------------
Connection = Annotated[
    str | None,
    typer.Option("--privatelink-connection-id", "-p", help="Only this plc… ID."),
]


def _common_verbs(
    app: typer.Typer,
    connection_app: typer.Typer,
    provider: str,
    columns: tuple[str, ...],
    connection_columns: tuple[str, ...] | None,
) -> None:
    """get, delete, refresh, status, validate and `connection list` of one cloud's flow."""

    @app.command("get")
    def get(service: str, project: Project = None, as_json: Json = False, url: Url = None) -> None:
        """Show the PrivateLink of SERVICE."""
        base = _base(project, service, provider)
        show(call(lambda c: c.get(base), url), as_json=as_json, columns=columns)

    @app.command("delete")
    def delete(
        service: str,
        project: Project = None,
        wait: Wait = False,
        timeout: Timeout = 600,
        as_json: Json = False,
        url: Url = None,
    ) -> None:
        """Delete the PrivateLink: connections end, its cloud resources are removed."""
        base = _base(project, service, provider)
        show(_delete(base, wait, timeout, url), as_json=as_json, columns=columns)

    @app.command("refresh")
    def refresh(service: str, project: Project = None, url: Url = None) -> None:
        """Look at customers' endpoints now (and list new connections)."""
        call(lambda c: c.post(_base(project, service, provider) + "/refresh"), url)
        typer.echo("Refreshed.")

    @app.command("status")
    def status(
        service: str, project: Project = None, as_json: Json = False, url: Url = None
    ) -> None:
        """State with reason, and the listener port of every component and broker."""
        _status(_base(project, service, provider), service, as_json, url)

    @app.command("validate")
    def validate(
        service: str,
        connection: Connection = None,
        project: Project = None,
        as_json: Json = False,
        url: Url = None,
    ) -> None:
        """Check every hop from the customers' endpoints to the nodes; exit 1 if one is broken."""
        _validate(_base(project, service, provider), connection, as_json, url)

    @connection_app.command("list")
    def connections(
        service: str, project: Project = None, as_json: Json = False, url: Url = None
    ) -> None:
        """Customers' endpoints connected (or asking to) with their plc… IDs and states."""
        rows = call(lambda c: c.get(_base(project, service, provider) + "/connections"), url)
        show(rows["connections"], as_json=as_json, columns=connection_columns)


_common_verbs(aws_app, connection_app, "aws", COLUMNS, None)


# -- Azure ------------------------------------------------------------------------
Subscriptions = Annotated[
    list[str] | None,
    typer.Option(
        "--user-subscription-id", help="Azure subscription ID allowed to connect (repeatable)."
    ),
]
AZURE_COLUMNS = ("azure_service_alias", "user_subscription_ids", "state", "message")
AZURE_CONNECTION_COLUMNS = (
    "privatelink_connection_id",
    "private_endpoint_id",
    "state",
    "user_ip_address",
)
ConnectionId = Annotated[str, typer.Argument(help="The connection's plc… ID.")]


@azure_app.command("create")
def azure_create(
    service: str,
    user_subscription_id: Subscriptions = None,
    project: Project = None,
    wait: Wait = False,
    timeout: Timeout = 600,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Publish SERVICE: a Private Link Service visible to the subscriptions."""
    base = _base(project, service, "azure")
    body = {"user_subscription_ids": user_subscription_id or []}
    show(_create(base, body, wait, timeout, url), as_json=as_json, columns=AZURE_COLUMNS)


@azure_app.command("update")
def azure_update(
    service: str,
    user_subscription_id: Subscriptions = None,
    project: Project = None,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Replace the whole list of subscriptions the service is visible to."""
    base = _base(project, service, "azure")
    body = {"user_subscription_ids": user_subscription_id or []}
    show(
        call(lambda c: c.request("PUT", base, json=body), url),
        as_json=as_json,
        columns=AZURE_COLUMNS,
    )


_common_verbs(azure_app, azure_connection_app, "azure", AZURE_COLUMNS, AZURE_CONNECTION_COLUMNS)


@azure_connection_app.command("approve")
def azure_approve(
    service: str,
    privatelink_connection_id: ConnectionId,
    project: Project = None,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Approve a connection waiting in pending-user-approval."""
    path = f"{_base(project, service, 'azure')}/connections/{privatelink_connection_id}/approve"
    show(call(lambda c: c.post(path), url), as_json=as_json, columns=AZURE_CONNECTION_COLUMNS)


@azure_connection_app.command("update")
def azure_connection_update(
    service: str,
    privatelink_connection_id: ConnectionId,
    endpoint_ip_address: Annotated[
        str, typer.Option(help="The private endpoint's private IP address.")
    ],
    project: Project = None,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Report the private endpoint's address: the connection's name points there."""
    path = f"{_base(project, service, 'azure')}/connections/{privatelink_connection_id}"
    body = {"user_ip_address": endpoint_ip_address}
    show(
        call(lambda c: c.request("PUT", path, json=body), url),
        as_json=as_json,
        columns=AZURE_CONNECTION_COLUMNS,
    )


# -- Google -----------------------------------------------------------------------
GOOGLE_COLUMNS = ("google_service_attachment", "state", "message")
GOOGLE_CONNECTION_COLUMNS = (
    "privatelink_connection_id",
    "psc_connection_id",
    "state",
    "user_ip_address",
)


@google_app.command("create")
def google_create(
    service: str,
    project: Project = None,
    wait: Wait = False,
    timeout: Timeout = 600,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Publish SERVICE: a service attachment; each endpoint waits for approval."""
    base = _base(project, service, "google")
    show(_create(base, {}, wait, timeout, url), as_json=as_json, columns=GOOGLE_COLUMNS)


_common_verbs(
    google_app, google_connection_app, "google", GOOGLE_COLUMNS, GOOGLE_CONNECTION_COLUMNS
)


@google_connection_app.command("approve")
def google_approve(
    service: str,
    privatelink_connection_id: Annotated[
        str, typer.Option(help="The plc… ID of the connection to approve.")
    ],
    user_ip_address: Annotated[
        str, typer.Option(help="The address of the customer's PSC endpoint.")
    ],
    project: Project = None,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Approve a waiting connection with its endpoint's address."""
    path = f"{_base(project, service, 'google')}/connections/{privatelink_connection_id}/approve"
    body = {"user_ip_address": user_ip_address}
    show(
        call(lambda c: c.post(path, body), url), as_json=as_json, columns=GOOGLE_CONNECTION_COLUMNS
    )


def events(
    project: Project = None,
    service: Annotated[
        str | None, typer.Option("--service", "-s", help="Only this service.")
    ] = None,
    object_id: Annotated[
        str | None, typer.Option("--object", help="Only this object (e.g. a link's plo… ID).")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many (newest).")] = 100,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """The status history: every state change with its reason, oldest first."""
    if not project:
        fail("Give the project with --project NAME or PRIVLINK_PROJECT")
    rows = call(
        lambda c: c.get(
            f"/v1/project/{project}/events", service=service, object_id=object_id, limit=limit
        ),
        url,
    )["events"]
    show(
        rows,
        as_json=as_json,
        columns=("time", "service_name", "kind", "object_id", "state", "message"),
    )

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
service_app.add_typer(privatelink_app, name="privatelink")
privatelink_app.add_typer(aws_app, name="aws")
aws_app.add_typer(connection_app, name="connection")

Project = Annotated[
    str | None,
    typer.Option("--project", "-P", envvar="PRIVLINK_PROJECT", help="Project name."),
]
Principals = Annotated[
    list[str] | None,
    typer.Option("--principal", help="AWS principal ARN allowed to connect (repeatable)."),
]
COLUMNS = ("aws_service_id", "aws_service_name", "principals", "state")


def _base(project: str | None, service: str) -> str:
    if not project:
        fail("Give the project with --project NAME or PRIVLINK_PROJECT")
    return f"/v1/project/{project}/service/{service}/privatelink/aws"


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
    base = _base(project, service)

    def action(client: Client) -> Any:
        created = client.post(base, {"principals": principal or None})
        if wait:
            follow(client, base, "active", timeout)
            return client.get(base)
        return created

    show(call(action, url), as_json=as_json, columns=COLUMNS)


@aws_app.command("get")
def get(service: str, project: Project = None, as_json: Json = False, url: Url = None) -> None:
    """Show the PrivateLink of SERVICE."""
    show(call(lambda c: c.get(_base(project, service)), url), as_json=as_json, columns=COLUMNS)


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


@aws_app.command("delete")
def delete(
    service: str,
    project: Project = None,
    wait: Wait = False,
    timeout: Timeout = 600,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Delete the PrivateLink: connections are rejected, its cloud resources removed."""
    base = _base(project, service)

    def action(client: Client) -> Any:
        deleted = client.delete(base)
        if wait:
            follow(client, base, None, timeout)
            return {**deleted, "state": "deleted"}
        return deleted

    show(call(action, url), as_json=as_json, columns=COLUMNS)


@aws_app.command("refresh")
def refresh(service: str, project: Project = None, url: Url = None) -> None:
    """Look at customers' endpoints now (accept and list new connections)."""
    call(lambda c: c.post(_base(project, service) + "/refresh"), url)
    typer.echo("Refreshed.")


@connection_app.command("list")
def connections(
    service: str, project: Project = None, as_json: Json = False, url: Url = None
) -> None:
    """Customer endpoints connected to the PrivateLink, with their plc… IDs."""
    rows = call(lambda c: c.get(_base(project, service) + "/connections"), url)["connections"]
    show(rows, as_json=as_json)


@aws_app.command("status")
def status(service: str, project: Project = None, as_json: Json = False, url: Url = None) -> None:
    """State with reason, and the listener port of every component and broker."""
    body = call(lambda c: c.get(_base(project, service) + "/status"), url)
    if as_json:
        show(body, as_json=True)
        return
    pl = body["privatelink"]
    typer.echo(f"{service}: {pl['state']}" + (f" — {pl['reason']}" if pl["reason"] else ""))
    show(body["ports"], as_json=False)


@aws_app.command("validate")
def validate(
    service: str,
    connection: Annotated[
        str | None, typer.Option("--privatelink-connection-id", "-p", help="Only this plc… ID.")
    ] = None,
    project: Project = None,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Check every hop from the customers' endpoints to the nodes; exit 1 if one is broken."""
    base = _base(project, service)
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

"""`privlink service privatelink aws outbound …`: the deployment's links into customers' services.

`info` first (the customer needs the region, AZ IDs and principal); `create
--wait` follows the link until the customer has to act; `get --wait` until
`running`; any `--wait` exits 1 on `failed`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from privlink.commands.common import Json, Timeout, Url, Wait, call
from privlink.commands.privatelink import Project, print_hops, watch

if TYPE_CHECKING:
    from privlink.client import Client
from privlink.output import fail, show

app = typer.Typer(
    help="Outbound PrivateLink: connect a deployment to a customer's endpoint service.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
attachment_app = typer.Typer(
    help="What uses a link (e.g. data integrations).", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(attachment_app, name="attachment")

COLUMNS = ("link_id", "service_name", "state", "addresses", "reason")
LinkId = Annotated[str, typer.Argument(help="The link's ID (plo…).")]


def _links(project: str | None, service: str) -> str:
    if not project:
        fail("Give the project with --project NAME or PRIVLINK_PROJECT")
    return f"/v1/project/{project}/service/{service}/privatelink/aws/outbound"


def _next_step(link: dict[str, Any]) -> None:
    if link["state"] == "pending-acceptance" and link["vpc_endpoint_id"]:
        typer.echo(
            f"Next: the owner of {link['endpoint_service_id']} accepts endpoint "
            f"{link['vpc_endpoint_id']}, e.g. `privlink cloud connections accept "
            f"{link['endpoint_service_id']} {link['vpc_endpoint_id']} --account OWNER`",
            err=True,
        )


@app.command("info")
def info(service: str, project: Project = None, as_json: Json = False, url: Url = None) -> None:
    """The deployment's region, AZ IDs and principal: build the load balancer in those AZ IDs
    and allow that principal on the endpoint service."""
    base = _links(project, service)
    body = call(lambda c: c.get(base + "-info"), url)
    show(body, as_json=as_json, columns=("region", "az_ids", "principal", "plan"))


@app.command("create")
def create(
    service: str,
    endpoint_service_name: Annotated[
        str, typer.Argument(help="The customer's endpoint service name (com.….vpce-svc-…).")
    ],
    project: Project = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow until the customer must accept (or running).")
    ] = False,
    timeout: Timeout = 600,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Connect SERVICE's deployment to a customer's endpoint service."""
    base = _links(project, service)

    def action(client: Client) -> Any:
        link: dict[str, Any] = client.post(base, {"service_name": endpoint_service_name})
        if wait:
            return watch(
                lambda: client.get(f"{base}/{link['link_id']}"),
                lambda s: bool(s and s["state"] in ("pending-acceptance", "running")),
                "Link",
                timeout,
            )
        return link

    link = call(action, url)
    show(link, as_json=as_json, columns=COLUMNS)
    _next_step(link)


@app.command("list")
def list_links(
    service: str, project: Project = None, as_json: Json = False, url: Url = None
) -> None:
    """The deployment's outbound links."""
    rows = call(lambda c: c.get(_links(project, service)), url)["links"]
    show(rows, as_json=as_json, columns=COLUMNS)


@app.command("get")
def get(
    service: str,
    link_id: LinkId,
    project: Project = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow until running.")] = False,
    timeout: Timeout = 600,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """One link: state with reason, endpoint addresses and DNS name, attachments."""
    path = f"{_links(project, service)}/{link_id}"

    def action(client: Client) -> Any:
        if wait:
            return watch(
                lambda: client.get(path),
                lambda s: bool(s and s["state"] == "running"),
                "Link",
                timeout,
            )
        return client.get(path)

    link = call(action, url)
    show(link, as_json=as_json, columns=(*COLUMNS, "vpc_endpoint_id", "dns_name"))
    _next_step(link)


@app.command("delete")
def delete(
    service: str,
    link_id: LinkId,
    project: Project = None,
    wait: Wait = False,
    timeout: Timeout = 600,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Delete a link (running or failed, with no attachments): its endpoint is removed."""
    path = f"{_links(project, service)}/{link_id}"

    def action(client: Client) -> Any:
        link = client.delete(path)
        if wait:
            watch(lambda: client.get(path), lambda s: s is None, "Link", timeout)
            return {**link, "state": "deleted", "reason": ""}
        return link

    show(call(action, url), as_json=as_json, columns=COLUMNS)


@app.command("validate")
def validate(
    service: str,
    link_id: LinkId,
    port: Annotated[
        list[int] | None, typer.Option("--port", help="Port to test-connect (repeatable).")
    ] = None,
    project: Project = None,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Check every hop from the deployment to the customer's targets; exit 1 if one is broken."""
    path = f"{_links(project, service)}/{link_id}/validate"
    result = call(lambda c: c.get(path, port=port or None), url)
    print_hops(result, as_json)


@attachment_app.command("add")
def attach(
    service: str,
    link_id: LinkId,
    kind: Annotated[str, typer.Option(help="data-integration, rule-action, connector, other")],
    name: Annotated[str, typer.Option(help="What uses the link.")],
    project: Project = None,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Record that a resource of the deployment uses the link."""
    path = f"{_links(project, service)}/{link_id}/attachments"
    show(call(lambda c: c.post(path, {"kind": kind, "name": name}), url), as_json=as_json)


@attachment_app.command("list")
def attachments(
    service: str, link_id: LinkId, project: Project = None, as_json: Json = False, url: Url = None
) -> None:
    """What uses the link."""
    path = f"{_links(project, service)}/{link_id}/attachments"
    show(call(lambda c: c.get(path), url)["attachments"], as_json=as_json)


@attachment_app.command("delete")
def detach(
    service: str,
    link_id: LinkId,
    attachment_id: str,
    project: Project = None,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Record that a resource no longer uses the link."""
    path = f"{_links(project, service)}/{link_id}/attachments/{attachment_id}"
    show(call(lambda c: c.delete(path), url), as_json=as_json)

"""`privlink webhook …`: subscriptions to a project's events (or, without --project and
with an operator token, to every project's), and their deliveries."""

from __future__ import annotations

from typing import Annotated

import typer

from privlink.commands.common import Json, Url, call
from privlink.commands.privatelink import Project
from privlink.output import show

app = typer.Typer(
    help="Webhooks: events POSTed to your URL, signed (Privlink-Signature).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
COLUMNS = ("id", "url", "events", "enabled", "description", "create_time")
DELIVERY_COLUMNS = (
    "id",
    "event_id",
    "status",
    "attempts",
    "last_status",
    "last_error",
    "next_attempt_at",
    "delivered_at",
)


def _base(project: str | None) -> str:
    return f"/v1/project/{project}/webhooks" if project else "/v1/admin/webhooks"


@app.command("create")
def create(
    webhook_url: Annotated[str, typer.Argument(metavar="URL", help="Where events are POSTed.")],
    event: Annotated[
        list[str] | None,
        typer.Option(
            help="privatelink, connection, outbound, certificate, vpc or KIND.STATE "
            "(repeatable; none: every event)."
        ),
    ] = None,
    secret: Annotated[
        str | None, typer.Option(help="Signing secret (16+ characters); made if left out.")
    ] = None,
    description: Annotated[str, typer.Option(help="What it is for.")] = "",
    project: Project = None,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Subscribe a URL; the secret is shown once: keep it to verify signatures."""
    body = {"url": webhook_url, "events": event, "secret": secret, "description": description}
    created = call(lambda c: c.post(_base(project), body), url)
    show(created, as_json=as_json, columns=(*COLUMNS, "secret"))


@app.command("list")
def list_(project: Project = None, as_json: Json = False, url: Url = None) -> None:
    """List subscriptions (never their secrets)."""
    show(call(lambda c: c.get(_base(project)), url)["webhooks"], as_json=as_json, columns=COLUMNS)


@app.command("update")
def update(
    webhook_id: str,
    webhook_url: Annotated[str | None, typer.Option("--to", help="A new URL.")] = None,
    event: Annotated[list[str] | None, typer.Option(help="A new event filter.")] = None,
    enabled: Annotated[bool | None, typer.Option("--enabled/--disabled")] = None,
    project: Project = None,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Change a subscription's URL, event filter, or pause it (deliveries wait)."""
    body = {"url": webhook_url, "events": event, "enabled": enabled}
    path = f"{_base(project)}/{webhook_id}"
    found = call(lambda c: c.request("PUT", path, json=body), url)
    show(found, as_json=as_json, columns=COLUMNS)


@app.command("delete")
def delete(
    webhook_id: str, project: Project = None, as_json: Json = False, url: Url = None
) -> None:
    """Delete a subscription and its pending deliveries."""
    show(call(lambda c: c.delete(f"{_base(project)}/{webhook_id}"), url), as_json=as_json)


@app.command("deliveries")
def deliveries(
    webhook_id: str,
    limit: Annotated[int, typer.Option(help="At most this many (newest).")] = 100,
    project: Project = None,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """A subscription's deliveries: status, tries, the receiver's last answer."""
    path = f"{_base(project)}/{webhook_id}/deliveries"
    rows = call(lambda c: c.get(path, limit=limit), url)["deliveries"]
    show(rows, as_json=as_json, columns=DELIVERY_COLUMNS)


@app.command("redeliver")
def redeliver(
    webhook_id: str,
    delivery_id: int,
    project: Project = None,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Send a delivery's event again now."""
    path = f"{_base(project)}/{webhook_id}/deliveries/{delivery_id}/redeliver"
    show(call(lambda c: c.post(path), url), as_json=as_json, columns=DELIVERY_COLUMNS)

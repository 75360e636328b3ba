"""`privlink usage`: a project's PrivateLink hours, connection hours, outbound link hours
and bytes per service and hour, priced."""

from __future__ import annotations

from typing import Annotated

import typer

from privlink.commands.common import Json, Url, call
from privlink.commands.privatelink import Project
from privlink.output import fail, show

COLUMNS = (
    "hour",
    "service",
    "privatelink_hours",
    "connection_hours",
    "outbound_link_hours",
    "bytes_in",
    "bytes_out",
    "price_usd",
)


def usage(
    project: Project = None,
    start: Annotated[
        str | None, typer.Option("--from", help="ISO time with a zone (default: this month).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="ISO time with a zone (default: now).")
    ] = None,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV, as billing systems read it.")] = False,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Usage per service and hour (PRIVLINK_PROJECT or --project)."""
    if not project:
        fail("Give the project with --project NAME or PRIVLINK_PROJECT")
    params = {"from": start, "to": end, "format": "csv" if as_csv else "json"}
    path = f"/v1/project/{project}/usage"
    if as_csv:
        typer.echo(call(lambda c: c.text(path, **params), url), nl=False)
        return
    found = call(lambda c: c.get(path, **params), url)
    if as_json:
        show(found, as_json=True)
        return
    show(found["usage"], as_json=False, columns=COLUMNS)
    typer.echo(f"total: {found['total_price_usd']} USD at {found['price_usd_per_hour']} USD/hour")

"""`privlink audit`: who changed what, from where, and how it ended."""

from __future__ import annotations

from typing import Annotated

import typer

from privlink.commands.common import Json, Url, call
from privlink.commands.privatelink import Project
from privlink.output import show


def audit(
    project: Project = None,
    actor: Annotated[str | None, typer.Option(help="Only this token ID (or `reconciler`).")] = None,
    before: Annotated[
        int | None, typer.Option(help="Only records older than this ID (the next page).")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many (newest).")] = 100,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """The audit log, newest first: a project's, or without --project (operator token)
    the whole install's."""
    path = f"/v1/project/{project}/audit" if project else "/v1/admin/audit"
    rows = call(lambda c: c.get(path, actor=actor, before=before, limit=limit), url)["records"]
    show(
        rows,
        as_json=as_json,
        columns=("id", "time", "actor", "action", "target", "address", "outcome", "detail"),
    )

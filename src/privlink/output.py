"""How CLI commands print: tables for people, JSON for scripts, one-line errors."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NoReturn

import typer


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items())
    return str(value)


def show(
    rows: Sequence[dict[str, Any]] | dict[str, Any],
    *,
    as_json: bool,
    columns: Sequence[str] | None = None,
) -> None:
    """Print rows as a table for people or as JSON for scripts."""
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    items = [rows] if isinstance(rows, dict) else list(rows)
    if not items:
        typer.echo("(none)")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    names = list(columns or items[0])
    for name in names:
        table.add_column(name.upper())
    for item in items:
        table.add_row(*(_cell(item.get(n)) for n in names))
    console = Console()
    if not console.is_terminal:  # piped: never cut IDs short
        console = Console(width=250)
    console.print(table)

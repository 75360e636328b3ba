"""What every HTTP command shares: its options, one API client per run (a transport can be
injected through the click context, as tests do), and one `--wait` loop.

Light on purpose: the HTTP client (httpx) is imported only when a request is made, so
`--help` and shell completion never pay for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from privlink.output import fail

if TYPE_CHECKING:
    from privlink.client import Client

T = TypeVar("T")

Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Url = Annotated[str | None, typer.Option("--url", envvar="PRIVLINK_URL", help="privlink API.")]
Wait = Annotated[bool, typer.Option("--wait", help="Follow progress until settled.")]
Timeout = Annotated[float, typer.Option(help="Seconds --wait waits at most.")]


@dataclass
class Runtime:
    """`ctx.obj` of a CLI run: how to reach the API. Tests pass one with a transport."""

    transport: Any = None  # an httpx.BaseTransport
    client_for_url: dict[str | None, Client] | None = None

    def client(self, url: str | None) -> Client:
        from privlink.client import Client

        clients = self.client_for_url = self.client_for_url or {}
        if url not in clients:
            clients[url] = Client(url, transport=self.transport)
        return clients[url]


_current = Runtime()


def start(ctx: typer.Context) -> None:
    """The root callback: this run's Runtime is the one passed as `obj`, or a new one."""
    global _current
    _current = ctx.obj if isinstance(ctx.obj, Runtime) else Runtime()


def runtime() -> Runtime:
    return _current


def call(action: Callable[[Client], T], url: str | None = None) -> T:
    """Run `action` with the run's client; an API error becomes one line and exit 1."""
    from privlink.client import ApiError

    try:
        return action(runtime().client(url))
    except ApiError as error:
        fail(error.message)


def fetch_or_none(fetch: Callable[[], T]) -> T | None:
    """`fetch()`, or None if the object is gone (404)."""
    from privlink.client import ApiError

    try:
        return fetch()
    except ApiError as error:
        if error.status == 404:
            return None
        raise


def watch(
    fetch: Callable[[], T | None],
    *,
    done: Callable[[T | None], bool],
    failed: Callable[[T], str | None],
    label: Callable[[T | None], str],
    timeout: float,
    interval: float = 0.3,
) -> T | None:
    """The one `--wait` loop: print each change of `label` until `done`; exit 1 with the
    reason when `failed` names one, or when `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    seen = ""
    while True:
        value = fetch()
        line = label(value)
        if line != seen:
            typer.echo(f"  {time.strftime('%H:%M:%S')}  {line}", err=True)
            seen = line
        if done(value):
            return value
        reason = failed(value) if value is not None else None
        if reason is not None:
            fail(reason)
        if time.monotonic() > deadline:
            fail(f"Still {line} after {timeout:.0f}s; see `privlink events`")
        time.sleep(interval)

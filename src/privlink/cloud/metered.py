"""Counting the reconciler's cloud calls: a platform whose drivers report each call,
its outcome and how long it took.

The count is what the cloud API budget is spent on (`privlink_cloud_calls_total` on
/metrics, by region, call and outcome); bench-scale turns it into calls per object per
hour.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from privlink.cloud import contract as c
from privlink.domain.errors import Conflict, NotFound, PrivlinkError

OnCall = Callable[[str, str, str, float], None]  # region, call name, outcome, seconds
T = TypeVar("T")


def outcome(error: BaseException | None) -> str:
    """A call's outcome as a metric label: ok, not_found, conflict, temporary, error."""
    if error is None:
        return "ok"
    if isinstance(error, PrivlinkError) and error.temporary:
        return "temporary"
    if isinstance(error, NotFound):
        return "not_found"
    if isinstance(error, Conflict):
        return "conflict"
    return "error"


def timed(on_call: OnCall, region: str, name: str, call: Callable[[], T]) -> T:
    started = time.perf_counter()
    try:
        result = call()
    except BaseException as error:
        on_call(region, name, outcome(error), time.perf_counter() - started)
        raise
    on_call(region, name, "ok", time.perf_counter() - started)
    return result


class _MeteredDriver:
    def __init__(self, inner: c.CloudDriver | c.Publisher, region: str, on_call: OnCall) -> None:
        self._inner = inner
        self._region = region
        self._on_call = on_call

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name.startswith("_") or not callable(attr):
            return attr

        @functools.wraps(attr)
        def counted(*args: Any, **kwargs: Any) -> Any:
            return timed(self._on_call, self._region, name, lambda: attr(*args, **kwargs))

        return counted


class MeteredPlatform(c.Platform):
    """`inner`, with every driver call (and network change) reported to `on_call`."""

    def __init__(self, inner: c.Platform, on_call: OnCall) -> None:
        self._inner = inner
        self._on_call = on_call

    def driver(self, region: str, principal: str | None = None) -> c.CloudDriver:
        inner = self._inner.driver(region, principal)
        return cast(c.CloudDriver, _MeteredDriver(inner, region, self._on_call))

    def publisher(self, region: str) -> c.Publisher | None:
        inner = self._inner.publisher(region)
        if inner is None:
            return None
        return cast(c.Publisher, _MeteredDriver(inner, region, self._on_call))

    def principal(self, role_name: str) -> str:
        return self._inner.principal(role_name)

    def deployment_network(self, region: str, key: str, az_ids: Sequence[str]) -> str:
        return timed(
            self._on_call,
            region,
            "deployment_network",
            lambda: self._inner.deployment_network(region, key, az_ids),
        )

    def project_network(self, region: str, key: str, cidr: str, az_ids: Sequence[str]) -> str:
        return timed(
            self._on_call,
            region,
            "project_network",
            lambda: self._inner.project_network(region, key, cidr, az_ids),
        )

    def delete_project_network(self, region: str, key: str) -> None:
        timed(
            self._on_call,
            region,
            "delete_project_network",
            lambda: self._inner.delete_project_network(region, key),
        )

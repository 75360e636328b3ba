"""Counting the reconciler's cloud calls: a platform whose drivers report each call.

The count is what the cloud API budget is spent on (`privlink_cloud_calls_total` on
/metrics, by region and call); bench-scale turns it into calls per object per hour.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, cast

from privlink.cloud import contract as c

OnCall = Callable[[str, str], None]  # region, call name


class _MeteredDriver:
    def __init__(self, inner: c.CloudDriver, region: str, on_call: OnCall) -> None:
        self._inner = inner
        self._region = region
        self._on_call = on_call

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name.startswith("_") or not callable(attr):
            return attr

        @functools.wraps(attr)
        def counted(*args: Any, **kwargs: Any) -> Any:
            self._on_call(self._region, name)
            return attr(*args, **kwargs)

        return counted


class MeteredPlatform(c.Platform):
    """`inner`, with every driver call (and network change) reported to `on_call`."""

    def __init__(self, inner: c.Platform, on_call: OnCall) -> None:
        self._inner = inner
        self._on_call = on_call

    def driver(self, region: str, principal: str | None = None) -> c.CloudDriver:
        inner = self._inner.driver(region, principal)
        return cast(c.CloudDriver, _MeteredDriver(inner, region, self._on_call))

    def principal(self, role_name: str) -> str:
        return self._inner.principal(role_name)

    def deployment_network(self, region: str, key: str, az_ids: Sequence[str]) -> str:
        self._on_call(region, "deployment_network")
        return self._inner.deployment_network(region, key, az_ids)

    def project_network(self, region: str, key: str, cidr: str, az_ids: Sequence[str]) -> str:
        self._on_call(region, "project_network")
        return self._inner.project_network(region, key, cidr, az_ids)

    def delete_project_network(self, region: str, key: str) -> None:
        self._on_call(region, "delete_project_network")
        self._inner.delete_project_network(region, key)

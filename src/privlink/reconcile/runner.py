"""Runs reconcile steps in the background of `privlink serve`.

Each pass runs one step for every object that is due, in a worker thread. Every
kind (project VPCs, PrivateLinks, outbound links) is a `queue.Kind` on the one
work queue kept in the objects' rows: retries, backoff and leases live in the
database. A temporary error only delays convergence: the object is tried again
after a backoff that doubles up to the resync interval.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog
from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud import contract as c
from privlink.domain.cloud import HealthCheck
from privlink.reconcile import outbound, privatelinks, queue, vpcs
from privlink.store.base import utcnow

log = structlog.get_logger(__name__)


class Runner:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        platform: c.Platform,
        *,
        resync_interval: float = 30.0,
        config: privatelinks.Config | None = None,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.sessions = sessions
        self.platform_cloud = platform
        self.resync_interval = resync_interval
        self.config = config or privatelinks.Config(
            health_check=HealthCheck(), resync=resync_interval
        )
        backoff = self.config.backoff
        self.privatelinks = privatelinks.kind(sessions, self.platform, self.config)
        self.kinds = [
            vpcs.kind(sessions, platform, resync=resync_interval, backoff=backoff),
            self.privatelinks,
            outbound.kind(sessions, platform, outbound.Config(resync_interval, backoff)),
        ]
        self.on_change = on_change
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def kick(self) -> None:
        self._kick.set()

    def platform(self, region: str) -> c.CloudDriver:
        """The platform account's driver in a region: where inbound resources live."""
        return self.platform_cloud.driver(region)

    async def run_once(self) -> None:
        """One step for every due object, kind by kind (project VPCs before what uses them)."""
        async with self._lock:
            for kind in self.kinds:
                for obj_id in await asyncio.to_thread(kind.due, self.sessions):
                    await self._run(kind, obj_id)

    async def _run(self, kind: queue.Kind, obj_id: str) -> None:
        await asyncio.to_thread(kind.run, self.sessions, obj_id)
        if kind.routes:
            self.on_change()

    async def refresh(self, pl_id: str) -> None:
        """Run a PrivateLink's step now, e.g. to see new connections at once."""
        async with self._lock:
            await self._run(self.privatelinks, pl_id)

    async def _delay(self) -> float:
        delay = self.resync_interval
        for kind in self.kinds:
            soonest = await asyncio.to_thread(kind.next_due, self.sessions)
            if soonest is not None:
                delay = min(delay, max((soonest - utcnow()).total_seconds(), 0.0))
        return max(delay, 0.05)

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
                delay = await self._delay()
            except Exception as error:  # e.g. the database is briefly unavailable
                log.warning("reconcile pass failed", error=str(error))
                delay = self.resync_interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), delay)
            self._kick.clear()

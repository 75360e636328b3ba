"""Runs reconcile steps in the background of `privlink serve`.

Each pass runs one step for every object that is due, in a worker thread.
Project VPCs keep their retry count in memory; PrivateLinks and outbound links
keep theirs (and a lease) in the database (`reconcile.queue`). An error only
delays convergence: the object is tried again after a backoff that doubles up
to the resync interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable

import structlog
from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud import contract as c
from privlink.domain.cloud import HealthCheck
from privlink.reconcile import outbound, privatelinks, vpcs
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
        tick: float = 0.2,
    ) -> None:
        self.sessions = sessions
        self.platform_cloud = platform
        self.resync_interval = resync_interval
        self.config = config or privatelinks.Config(
            health_check=HealthCheck(), resync=resync_interval
        )
        self.outbound_config = outbound.Config(resync=resync_interval, backoff=self.config.backoff)
        self.on_change = on_change
        self.tick = tick
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failures: dict[str, int] = {}
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
        async with self._lock:
            for vpc_id in await asyncio.to_thread(vpcs.pending, self.sessions):
                try:
                    await asyncio.to_thread(
                        vpcs.reconcile, self.sessions, self.platform_cloud, vpc_id
                    )
                    self._failures.pop(vpc_id, None)
                except Exception as error:  # temporary until proven otherwise; retried
                    count = self._failures.get(vpc_id, 0) + 1
                    self._failures[vpc_id] = count
                    log.warning("reconcile failed", object=vpc_id, attempt=count, error=str(error))
            due = await asyncio.to_thread(privatelinks.due, self.sessions, self.resync_interval)
            for pl_id in due:
                await self.run_privatelink(pl_id)
            links = await asyncio.to_thread(outbound.due, self.sessions, self.resync_interval)
            for link_id in links:
                await asyncio.to_thread(
                    outbound.run, self.sessions, self.platform_cloud, link_id, self.outbound_config
                )
            if links:
                self.on_change()

    async def run_privatelink(self, pl_id: str) -> None:
        await asyncio.to_thread(privatelinks.run, self.sessions, self.platform, pl_id, self.config)
        self.on_change()

    async def refresh(self, pl_id: str) -> None:
        """Run a PrivateLink's step now, e.g. to see new connections at once."""
        async with self._lock:
            await self.run_privatelink(pl_id)

    async def _delay(self) -> float:
        delay = self.resync_interval
        if self._failures:
            worst = max(self._failures.values())
            delay = min(delay, self.tick * 2**worst) * random.uniform(0.5, 1.0)
        for next_due in (privatelinks.next_due, outbound.next_due):
            soonest = await asyncio.to_thread(next_due, self.sessions)
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

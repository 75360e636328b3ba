"""Runs reconcile steps in the background of `privlink serve`.

Each pass works through the objects that are due in batches, kind by kind (project VPCs
before what uses them); each batch is read afresh with asked-for steps first, so a create
never waits behind a backlog of resyncs. Steps of different objects run side by side in
worker threads (`concurrency`), never two of one object (its lease). Every kind (project
VPCs, PrivateLinks, outbound links) is a `queue.Kind` on the one work queue kept in the
objects' rows: retries, backoff, resync times and leases live in the database. A
temporary error only delays convergence: the object is tried again after a backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import structlog
from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud import contract as c
from privlink.domain.cloud import HealthCheck
from privlink.reconcile import outbound, privatelinks, queue, sweep, vpcs
from privlink.store.base import utcnow

log = structlog.get_logger(__name__)
MAX_BATCHES = 1000  # per pass; then the loop looks at the clock and its wakes again
# The longest the loop sleeps between looks at the queue: work made due by another
# replica (its API, its data plane's health wakes) is seen within this, kicked or not.
MAX_SLEEP = 2.0


class Runner:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        platform: c.Platform,
        *,
        resync_interval: float = 30.0,
        config: privatelinks.Config | None = None,
        on_change: Callable[[], None] = lambda: None,
        concurrency: int = 4,
        sweep_interval: float = 0.0,
        sweep_leads: Callable[[], bool] = lambda: True,
        on_step: Callable[[str, str, float], None] = lambda kind, outcome, seconds: None,
    ) -> None:
        self.sessions = sessions
        self.platform_cloud = platform
        self.resync_interval = resync_interval
        self.config = config or privatelinks.Config(
            health_check=HealthCheck(), resync=resync_interval
        )
        backoff = self.config.backoff
        self.privatelinks = privatelinks.kind(sessions, self.publisher, self.config)
        self.kinds = [
            vpcs.kind(sessions, platform, resync=resync_interval, backoff=backoff),
            self.privatelinks,
            outbound.kind(sessions, platform, outbound.Config(resync_interval, backoff)),
        ]
        self.on_change = on_change
        self.on_step = on_step  # kind, outcome, seconds: the step-duration histogram
        self.concurrency = concurrency
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Endpoint sweeps (`sweep`): every `sweep_interval` s, by the replica that leads.
        self.sweep_interval = sweep_interval
        self.sweep_leads = sweep_leads
        self._sweeping: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._loop_of: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop_of = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._loop())
        if self.sweep_interval > 0:
            self._sweeping = asyncio.create_task(self._sweep_loop())

    async def stop(self) -> None:
        for task in (self._task, self._sweeping):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def kick(self) -> None:
        """Look for due work now; may be called from any thread."""
        loop = self._loop_of
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._kick.set()
        else:
            loop.call_soon_threadsafe(self._kick.set)

    def platform(self, region: str) -> c.CloudDriver:
        """The platform account's driver in a region: where inbound resources live."""
        return self.platform_cloud.driver(region)

    def publisher(self, region: str) -> c.CloudDriver | c.Publisher:
        """How services are published in a region: whole (Azure, Google) or piece by piece."""
        return self.platform_cloud.publisher(region) or self.platform_cloud.driver(region)

    async def run_once(self) -> None:
        """Steps until nothing is due (at most MAX_BATCHES batches, then the loop goes on)."""
        for _ in range(MAX_BATCHES):
            async with self._lock:
                worked = False
                for kind in self.kinds:
                    batch = await asyncio.to_thread(kind.due, self.sessions, self.batch_size)
                    if batch:
                        worked = True
                        await self._run_all(kind, batch)
            if not worked:
                return

    @property
    def batch_size(self) -> int:
        return self.concurrency * 8

    async def _run_all(self, kind: queue.Kind, batch: list[str]) -> None:
        slots = asyncio.Semaphore(self.concurrency)

        async def one(obj_id: str) -> None:
            async with slots:
                await self._run(kind, obj_id)

        await asyncio.gather(*(one(obj_id) for obj_id in batch))

    async def _run(self, kind: queue.Kind, obj_id: str) -> None:
        """One step, its lease renewed every third of the lease while it runs."""
        done = asyncio.Event()

        async def renew() -> None:
            every = queue.LEASE.total_seconds() / 3
            while not done.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), every)
                if not done.is_set():
                    await asyncio.to_thread(queue.renew, self.sessions, kind.model, obj_id)

        renewing = asyncio.create_task(renew())
        try:
            started = time.perf_counter()
            outcome = await asyncio.to_thread(kind.run, self.sessions, obj_id)
            self.on_step(kind.name, outcome, time.perf_counter() - started)
        finally:
            done.set()
            await renewing
        if kind.routes:
            self.on_change()

    async def refresh(self, pl_id: str) -> None:
        """Run a PrivateLink's step now, e.g. to see new connections at once."""
        async with self._lock:
            await self._run(self.privatelinks, pl_id)

    async def _delay(self) -> float:
        delay = MAX_SLEEP
        for kind in self.kinds:
            soonest = await asyncio.to_thread(kind.next_due, self.sessions)
            if soonest is not None:
                delay = min(delay, max((soonest - utcnow()).total_seconds(), 0.0))
        return max(delay, 0.05)

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval)
            try:
                leads = await asyncio.to_thread(self.sweep_leads)
                woken = (
                    await asyncio.to_thread(sweep.sweep, self.sessions, self.platform)
                    if leads
                    else 0
                )
                if woken:
                    self.kick()
            except Exception as error:  # e.g. throttled: the next sweep tries again
                log.warning("endpoint sweep failed", error=str(error))

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
                delay = await self._delay()
            except Exception as error:  # e.g. the database is briefly unavailable
                log.warning("reconcile pass failed", error=str(error))
                delay = MAX_SLEEP  # not a resync interval (an hour): others' work waits
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), delay)
            self._kick.clear()

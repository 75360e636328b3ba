"""Runs reconcile steps in the background of `privlink serve`.

Each pass looks for objects that are not settled and runs one step for each in a
worker thread. An error leaves the object as it is; the next pass (after a
backoff that doubles up to the resync interval) tries again, so a crash or a
temporary cloud failure only delays convergence.
"""

from __future__ import annotations

import asyncio
import contextlib
import random

import structlog
from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud.local.control import LocalCloud
from privlink.reconcile import vpcs

log = structlog.get_logger(__name__)


class Runner:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        cloud: LocalCloud,
        *,
        resync_interval: float = 30.0,
        tick: float = 0.2,
    ) -> None:
        self.sessions = sessions
        self.cloud = cloud
        self.resync_interval = resync_interval
        self.tick = tick
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failures: dict[str, int] = {}

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def kick(self) -> None:
        self._kick.set()

    async def run_once(self) -> None:
        for vpc_id in await asyncio.to_thread(vpcs.pending, self.sessions):
            try:
                await asyncio.to_thread(vpcs.reconcile, self.sessions, self.cloud, vpc_id)
                self._failures.pop(vpc_id, None)
            except Exception as error:  # temporary until proven otherwise; retried
                count = self._failures.get(vpc_id, 0) + 1
                self._failures[vpc_id] = count
                log.warning("reconcile failed", object=vpc_id, attempt=count, error=str(error))

    def _delay(self) -> float:
        if not self._failures:
            return self.resync_interval
        worst = max(self._failures.values())
        return float(min(self.resync_interval, self.tick * 2**worst) * random.uniform(0.5, 1.0))

    async def _loop(self) -> None:
        while True:
            await self.run_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self._delay())
            self._kick.clear()

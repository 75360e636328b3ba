"""The local data plane: keeps listeners, connections and health in line with the cloud.

Started by `privlink serve` (the API's lifespan). Level-based like the
reconciler: each pass reads what should be listening from the database and
makes it so, so a restart simply forwards again.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from privlink.cloud.contract import Target
from privlink.cloud.local.control import LocalCloud
from privlink.cloud.local.forwarder import Forwarder, Listen
from privlink.cloud.local.health import HealthBoard, HealthChecker
from privlink.domain.cloud import TargetHealth

log = structlog.get_logger(__name__)


class DataPlane:
    def __init__(
        self, cloud: LocalCloud, *, sync_interval: float = 0.25, health_tick: float = 0.1
    ) -> None:
        self.cloud = cloud
        self.sync_interval = sync_interval
        self.health_tick = health_tick
        self.board = HealthBoard()
        self.forwarder = Forwarder(self.board.healthy)
        self.checker = HealthChecker(self.board, self._persist_health)
        self.mode = "userspace"
        self._kick = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._writes: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self.sync()
        self._tasks = [
            asyncio.create_task(self._sync_loop()),
            asyncio.create_task(self._health_loop()),
        ]
        log.info("data plane started", mode=self.mode, listeners=len(self.forwarder.servers))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.forwarder.close()

    def kick(self) -> None:
        """Sync now rather than at the next interval (after a change through the API)."""
        self._kick.set()

    async def sync(self) -> None:
        """One pass: bind what should listen, drop what should not, provision endpoints."""
        routes = await asyncio.to_thread(self.cloud.routes)
        wanted = {
            (r.address, r.port): Listen(
                r.endpoint_id, r.address, r.port, r.target_group_arn, r.proxy_protocol_v2, r.ingress
            )
            for r in routes
        }
        for key in [k for k in self.forwarder.servers if k not in wanted]:
            await self.forwarder.stop(key)
        bound: set[str] = set()
        failed: set[str] = set()
        for spec in wanted.values():
            try:
                await self.forwarder.listen(spec)
                bound.add(spec.endpoint_id)
            except OSError as error:
                failed.add(spec.endpoint_id)
                log.error("cannot listen", address=spec.address, port=spec.port, error=str(error))
        live = {r.endpoint_id for r in routes}
        for endpoint_id in [e for e in self.forwarder.pairs if e not in live]:
            ended = self.forwarder.end_endpoint(endpoint_id)
            log.info("endpoint connections ended", endpoint=endpoint_id, connections=ended)
        pending = await asyncio.to_thread(self.cloud.pending_endpoints)
        ready = [e for e in pending if e in bound and e not in failed]
        ready += [e for e in pending if e not in live]  # no listener yet: nothing to bind
        if ready:
            await asyncio.to_thread(self.cloud.mark_provisioned, ready)
        await asyncio.to_thread(self.cloud.drop_drained)
        groups = await asyncio.to_thread(self.cloud.health_targets)
        self.board.load(
            [
                (group, [(t.id, Target(t.host, t.port), t.state, t.reason) for t in targets])
                for group, targets in groups
            ]
        )

    def _persist_health(self, target_id: int, health: TargetHealth) -> None:
        task = asyncio.ensure_future(
            asyncio.to_thread(
                self.cloud.record_health, target_id, health.state.value, health.reason
            )
        )
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _sync_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self.sync_interval)
            self._kick.clear()
            try:
                await self.sync()
            except Exception:  # keep forwarding; the next pass retries
                log.exception("data plane sync failed")

    async def _health_loop(self) -> None:
        while True:
            try:
                await self.checker.tick()
            except Exception:
                log.exception("health check pass failed")
            await asyncio.sleep(self.health_tick)

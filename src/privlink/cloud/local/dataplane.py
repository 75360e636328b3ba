"""The local data plane: keeps listeners, rules, connections and health in line with the cloud.

Started by `privlink serve` (the API's lifespan). Level-based like the
reconciler: each pass reads what should forward from the database and makes it
so, so a restart simply forwards again. Two modes with one behaviour:
`kernel` programs nftables DNAT (fast path; needs CAP_NET_ADMIN and nft),
`userspace` forwards with asyncio; Proxy Protocol v2 always goes through
userspace, since the kernel cannot add the header.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import datetime

import structlog

from privlink.cloud.contract import Target
from privlink.cloud.local import nft
from privlink.cloud.local.control import LocalCloud, Route
from privlink.cloud.local.forwarder import Forwarder, Listen, Meter
from privlink.cloud.local.health import HealthBoard, HealthChecker
from privlink.cloud.local.workers import WorkerPool, compiled
from privlink.domain.cloud import TargetHealth
from privlink.domain.errors import InvalidInput
from privlink.store.base import utcnow

log = structlog.get_logger(__name__)
MODES = ("auto", "kernel", "userspace")
FULL_SYNC = 300.0  # seconds between passes with no change seen (a safety net)


def resolve_mode(mode: str) -> str:
    """The mode to run: `auto` picks kernel where nftables can be programmed."""
    if mode not in MODES:
        raise InvalidInput(f"Data plane mode {mode!r}; accepted: {', '.join(MODES)}")
    if mode == "userspace":
        return mode
    ok, why = nft.available()
    if ok:
        return "kernel"
    if mode == "kernel":
        raise InvalidInput(
            f"Kernel data plane unavailable: {why}; use PRIVLINK_DATAPLANE=userspace or auto"
        )
    log.info("kernel data plane unavailable, using userspace", reason=why)
    return "userspace"


class DataPlane:
    def __init__(
        self,
        cloud: LocalCloud,
        *,
        mode: str = "auto",
        workers: int = 0,
        sync_interval: float = 0.25,
        health_tick: float = 0.1,
        on_provisioned: Callable[[list[str]], None] = lambda _ids: None,
        on_health: Callable[[list[str]], None] = lambda _owners: None,
    ) -> None:
        self.cloud = cloud
        self.on_provisioned = on_provisioned
        self.on_health = on_health  # owners (finder tags) of groups whose health moved
        self.requested_mode = mode
        self.mode = "userspace"
        self.sync_interval = sync_interval
        self.health_tick = health_tick
        self.board = HealthBoard()
        # Userspace forwarding: in this process, or in worker processes (one per core).
        self.workers = workers
        self.forwarder: Forwarder | WorkerPool = Forwarder()
        self._pushed: dict[str, tuple[Target, ...]] = {}  # healthy targets the forwarder has
        self._user_groups: frozenset[str] = frozenset()  # groups userspace routes forward to
        self._pushing = asyncio.Lock()
        self.checker = HealthChecker(self.board, self._persist_health)
        self._kick = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._writes: set[asyncio.Task[None]] = set()
        self._kernel_routes: list[Route] = []
        self._retired: frozenset[str] = frozenset()
        self._applied: str = ""
        self._kernel_targets: dict[str, tuple[Target, ...]] = {}
        self._kernel_lock = asyncio.Lock()
        self._generation = -1  # of the cloud's forwarding state last synced
        self._drain_at: datetime | None = None
        self._full_at = 0.0

    async def start(self) -> None:
        self.mode = await asyncio.to_thread(resolve_mode, self.requested_mode)
        program = await asyncio.to_thread(compiled) if self.workers else None
        if program is not None:
            self.forwarder = WorkerPool(self.workers, program)
        elif self.workers:
            log.warning("no C compiler: userspace forwarding runs in this process")
        await self.forwarder.start()
        await self.sync()
        self._tasks = [
            asyncio.create_task(self._sync_loop()),
            asyncio.create_task(self._health_loop()),
        ]
        log.info(
            "data plane started",
            mode=self.mode,
            routes=len(self.forwarder.servers) + len(self._kernel_routes),
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.forwarder.close()
        if self.mode == "kernel":
            await asyncio.to_thread(nft.remove)

    async def meters(self) -> dict[str, Meter]:
        """Per endpoint: bytes each way, connections accepted and failed, since the data
        plane started (userspace forwarding; the kernel's DNAT is not counted)."""
        return await self.forwarder.read_meters()

    def kick(self) -> None:
        """Look for changes now rather than at the next interval (after an API change)."""
        self._kick.set()

    def forwarding_to(self, target_group_arn: str) -> list[Target]:
        """The targets new connections for this group go to right now, in either mode."""
        if self.mode == "kernel" and any(
            r.target_group_arn == target_group_arn for r in self._kernel_routes
        ):
            return list(self._kernel_targets.get(target_group_arn, ()))
        if target_group_arn in self._user_groups:
            return self.forwarder.healthy(target_group_arn)
        return self.board.healthy(target_group_arn)  # no listener yet: what it will get

    async def connections(self, endpoint_id: str, addresses: list[str]) -> int:
        """Live connections through an endpoint, in either mode."""
        kernel = 0
        if self.mode == "kernel":
            kernel = await asyncio.to_thread(nft.count_connections, addresses)
        return (await self.forwarder.stats(endpoint_id)).live.get(endpoint_id, 0) + kernel

    async def _due(self) -> bool:
        """Whether a pass is needed: what forwards changed (one row read, so idle costs
        nothing per object), a deregistered target's delay ended, or the slow safety pass."""
        if await asyncio.to_thread(self.cloud.generation) != self._generation:
            return True
        if self._drain_at is not None and self._drain_at <= utcnow():
            return True
        return time.monotonic() >= self._full_at

    async def sync(self) -> None:
        """One pass: forward what should, stop what should not, provision endpoints."""
        self._generation = await asyncio.to_thread(self.cloud.generation)
        self._full_at = time.monotonic() + FULL_SYNC
        routes = await asyncio.to_thread(self.cloud.routes)
        in_kernel = [r for r in routes if self.mode == "kernel" and not r.proxy_protocol_v2]
        in_user = [r for r in routes if r not in in_kernel]
        groups = await asyncio.to_thread(self.cloud.health_targets)
        self.board.load(
            [
                (group, [(t.id, Target(t.host, t.port), t.state, t.reason) for t in targets])
                for group, targets in groups
            ]
        )
        # Targets first: a listener must never accept before it knows where to forward.
        self._user_groups = frozenset(r.target_group_arn for r in in_user)
        await self._push_targets()
        bound, failed = await self._sync_userspace(in_user)
        if self.mode == "kernel":
            retired = frozenset(await asyncio.to_thread(self.cloud.retired_addresses))
            try:
                await self._apply_kernel(in_kernel, retired)
                bound |= {r.endpoint_id for r in in_kernel}
            except nft.NftError as error:
                failed |= {r.endpoint_id for r in in_kernel}
                log.error("nftables refused the ruleset", error=str(error))
        live = {r.endpoint_id for r in routes}
        for endpoint_id, ended in (await self.forwarder.retain(live)).items():
            log.info("endpoint connections ended", endpoint=endpoint_id, connections=ended)
        pending = await asyncio.to_thread(self.cloud.pending_endpoints)
        ready = [e for e in pending if (e in bound or e not in live) and e not in failed]
        if ready:
            await asyncio.to_thread(self.cloud.mark_provisioned, ready)
            self.on_provisioned(ready)  # consumers waiting for `available` may look now
        await asyncio.to_thread(self.cloud.drop_drained)
        self._drain_at = await asyncio.to_thread(self.cloud.next_drain)

    async def _push_targets(self) -> None:
        """Give the forwarder the healthy targets of its groups that changed since the
        last push (only the changes: a health move costs one message, at any size)."""
        async with self._pushing:  # one push at a time, so they land in order
            current = {arn: tuple(self.board.healthy(arn)) for arn in self._user_groups}
            changed = {
                arn: list(targets)
                for arn, targets in current.items()
                if self._pushed.get(arn, ()) != targets
            }
            changed |= {arn: [] for arn in self._pushed if arn not in current}
            if changed:
                await self.forwarder.set_targets(changed)
            self._pushed = {arn: targets for arn, targets in current.items() if targets}

    async def _sync_userspace(self, routes: list[Route]) -> tuple[set[str], set[str]]:
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
        return bound, failed

    async def _apply_kernel(
        self, routes: list[Route] | None = None, retired: frozenset[str] | None = None
    ) -> None:
        """Rewrite the nftables table if routes, retired addresses or health changed."""
        async with self._kernel_lock:
            if routes is not None:
                self._kernel_routes = routes
            newly_retired = (retired or frozenset()) - self._retired
            if retired is not None:
                self._retired = retired
            targets = {
                r.target_group_arn: tuple(self.board.healthy(r.target_group_arn))
                for r in self._kernel_routes
            }
            script = nft.render(
                [
                    nft.KernelRoute(r.address, r.port, targets[r.target_group_arn], r.ingress)
                    for r in self._kernel_routes
                ],
                self._retired,
            )
            if script != self._applied:
                await asyncio.to_thread(nft.apply, script)
                self._applied = script
            self._kernel_targets = targets
            if newly_retired:
                await asyncio.to_thread(nft.flush_conntrack, sorted(newly_retired))

    def _persist_health(self, target_id: int, health: TargetHealth) -> None:
        async def persist() -> None:
            owner = await asyncio.to_thread(
                self.cloud.record_health, target_id, health.state.value, health.reason
            )
            if owner is not None:
                await asyncio.to_thread(self.on_health, [owner])

        task = asyncio.ensure_future(persist())
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _sync_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self.sync_interval)
            self._kick.clear()
            try:
                await self.forwarder.revive()
                if await self._due():
                    await self.sync()
            except Exception:  # keep forwarding; the next pass retries
                log.exception("data plane sync failed")

    async def _health_loop(self) -> None:
        while True:
            try:
                version = self.board.version
                await self.checker.tick()
                if self.board.version != version:
                    await self._push_targets()
                    if self.mode == "kernel":
                        await self._apply_kernel()
            except Exception:
                log.exception("health check pass failed")
            await asyncio.sleep(self.health_tick)

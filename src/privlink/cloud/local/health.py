"""Target health: real TCP connects on the check port, with the group's thresholds.

`HealthBoard` is the in-memory truth the forwarder reads on every new
connection; `HealthChecker` moves it one check at a time and persists changes
so `describe_target_health` and a restarted process see them.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from privlink.cloud.contract import Target, TargetGroup
from privlink.domain.cloud import HealthCheck, TargetHealth, TargetState

log = structlog.get_logger(__name__)


@dataclass
class Tracked:
    target_id: int
    target: Target
    check: HealthCheck
    health: TargetHealth
    due: float = 0.0


@dataclass
class HealthBoard:
    """Targets per target group and their health; `healthy()` is on the hot path."""

    groups: dict[str, dict[int, Tracked]] = field(default_factory=dict)
    _healthy: dict[str, list[Target]] = field(default_factory=dict)
    version: int = 0  # bumped whenever a healthy set changes
    loads: int = 0  # bumped whenever the targets are taken from the database again

    def healthy(self, target_group_arn: str) -> list[Target]:
        return self._healthy.get(target_group_arn, [])

    def refresh(self, arn: str) -> None:
        healthy = [
            t.target
            for t in self.groups.get(arn, {}).values()
            if t.health.state is TargetState.healthy
        ]
        if healthy != self._healthy.get(arn):
            self._healthy[arn] = healthy
            self.version += 1

    def load(self, groups: list[tuple[TargetGroup, list[tuple[int, Target, str, str]]]]) -> None:
        """Take the current targets from the database, keeping health already observed.

        Known targets are updated in place: a health pass that is probing them
        right now must land its result on the objects the board still holds.
        """
        self.loads += 1
        seen: dict[str, dict[int, Tracked]] = {}
        for group, targets in groups:
            known = self.groups.get(group.arn, {})
            tracked: dict[int, Tracked] = {}
            for target_id, target, state, reason in targets:
                entry = known.get(target_id)
                if entry is None:
                    first = (
                        TargetState(state)
                        if state in TargetState.__members__
                        else (TargetState.initial)
                    )
                    entry = Tracked(
                        target_id, target, group.health_check, TargetHealth(first, reason=reason)
                    )
                entry.target, entry.check = target, group.health_check
                if state == TargetState.draining:
                    entry.health = TargetHealth(TargetState.draining, reason=reason)
                tracked[target_id] = entry
            seen[group.arn] = tracked
        self.groups = seen
        for arn in list(self._healthy):
            if arn not in seen:
                del self._healthy[arn]
                self.version += 1
        for arn in seen:
            self.refresh(arn)


async def probe(host: str, port: int, limit: float) -> tuple[bool, str]:
    """One TCP health check: connect, then close at once."""
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), limit)
    except TimeoutError:
        return False, "Target.Timeout"
    except OSError:
        return False, "Target.FailedHealthChecks"
    writer.close()
    return True, ""


class HealthChecker:
    """Runs the checks that are due and reports state changes.

    Targets wait in a heap ordered by when their next check is due, so a tick looks only
    at the ones due now, not at every target (10 ticks a second, any number of targets).
    The heap is rebuilt when the board takes targets from the database again.
    """

    def __init__(
        self, board: HealthBoard, on_change: Callable[[int, TargetHealth], object]
    ) -> None:
        self.board = board
        self.on_change = on_change
        self._heap: list[tuple[float, int, str, Tracked]] = []
        self._loads = -1
        self._order = itertools.count()
        self.outcomes: dict[str, int] = {"pass": 0, "fail": 0}  # checks made, for /metrics

    def _schedule(self) -> None:
        if self._loads == self.board.loads:
            return
        self._loads = self.board.loads
        self._heap = [
            (t.due, next(self._order), arn, t)
            for arn, targets in self.board.groups.items()
            for t in targets.values()
        ]
        heapq.heapify(self._heap)

    def _due(self, now: float) -> list[tuple[str, Tracked]]:
        due = []
        while self._heap and self._heap[0][0] <= now:
            _when, _n, arn, tracked = heapq.heappop(self._heap)
            if self.board.groups.get(arn, {}).get(tracked.target_id) is not tracked:
                continue  # deregistered (or reloaded) since it was scheduled
            if tracked.health.state in (TargetState.draining, TargetState.unused):
                tracked.due = now + tracked.check.interval  # looked at again later
                heapq.heappush(self._heap, (tracked.due, next(self._order), arn, tracked))
                continue
            due.append((arn, tracked))
        return due

    async def tick(self) -> None:
        self._schedule()
        now = time.monotonic()
        due = self._due(now)
        if not due:
            return
        results = await asyncio.gather(
            *(
                probe(t.target.host, t.check.port or t.target.port, t.check.timeout)
                for _arn, t in due
            )
        )
        changed = set()
        for (arn, tracked), (ok, reason) in zip(due, results, strict=True):
            self.outcomes["pass" if ok else "fail"] += 1
            tracked.due = now + tracked.check.interval
            if self._loads == self.board.loads:  # else the next tick rebuilds the heap
                heapq.heappush(self._heap, (tracked.due, next(self._order), arn, tracked))
            before = tracked.health.state
            tracked.health = tracked.health.observe(ok, tracked.check, reason)
            if tracked.health.state is not before:
                changed.add(arn)
                log.info(
                    "target health",
                    target=f"{tracked.target.host}:{tracked.target.port}",
                    state=tracked.health.state.value,
                    reason=tracked.health.reason,
                )
                self.on_change(tracked.target_id, tracked.health)
        for arn in changed:
            self.board.refresh(arn)

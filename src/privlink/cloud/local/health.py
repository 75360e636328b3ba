"""Target health: real TCP connects on the check port, with the group's thresholds.

`HealthBoard` is the in-memory truth the forwarder reads on every new
connection; `HealthChecker` moves it one check at a time and persists changes
so `describe_target_health` and a restarted process see them.
"""

from __future__ import annotations

import asyncio
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

    def healthy(self, target_group_arn: str) -> list[Target]:
        return self._healthy.get(target_group_arn, [])

    def refresh(self, arn: str) -> None:
        self._healthy[arn] = [
            t.target
            for t in self.groups.get(arn, {}).values()
            if t.health.state is TargetState.healthy
        ]

    def load(self, groups: list[tuple[TargetGroup, list[tuple[int, Target, str, str]]]]) -> None:
        """Take the current targets from the database, keeping health already observed.

        Known targets are updated in place: a health pass that is probing them
        right now must land its result on the objects the board still holds.
        """
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
    """Runs the checks that are due and reports state changes."""

    def __init__(
        self, board: HealthBoard, on_change: Callable[[int, TargetHealth], object]
    ) -> None:
        self.board = board
        self.on_change = on_change

    async def tick(self) -> None:
        now = time.monotonic()
        due = [
            (arn, t)
            for arn, targets in self.board.groups.items()
            for t in targets.values()
            if t.due <= now and t.health.state not in (TargetState.draining, TargetState.unused)
        ]
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
            tracked.due = now + tracked.check.interval
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

"""Usage from the status history (`privlink.domain.usage`): properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from privlink.domain import usage

T0 = datetime(2026, 11, 1, tzinfo=UTC)
STATES = st.sampled_from(["pending-user-approval", "connected", "active", "removed"])


@given(st.lists(st.tuples(st.integers(0, 20_000), STATES), max_size=12))
def test_connection_hours_are_the_time_spent_active(steps: list[tuple[int, str]]) -> None:
    changes = []
    at = T0
    for gap, state in steps:
        at += timedelta(seconds=gap)
        changes.append(usage.Change(at, "connection", "plc1", "svc", state))
    until = at + timedelta(seconds=500)
    expected, since = 0.0, None
    for change in changes:
        if change.state == "active" and since is None:
            since = change.at
        elif change.state != "active" and since is not None:
            expected += (change.at - since).total_seconds()
            since = None
    if since is not None:
        expected += (until - since).total_seconds()
    spans = usage.intervals(changes, until)
    assert sum((s.end - s.start).total_seconds() for s in spans) == expected
    hourly = usage.by_hour(spans, T0, until)
    assert abs(sum(hourly.values()) - expected) < 1e-6  # split by the hour, nothing lost
    assert all(0 < v <= 3600 for v in hourly.values())
    assert all(hour.minute == hour.second == 0 for hour, _s, _k in hourly)


@given(st.integers(1, 10_000), st.integers(0, 10_000), st.integers(0, 10_000))
def test_a_privatelink_counts_from_create_to_deleted_within_the_window(
    lived: int, window_start: int, window_length: int
) -> None:
    created, deleted = T0, T0 + timedelta(seconds=lived)
    changes = [
        usage.Change(created, "privatelink", "pl", "svc", "creating"),
        usage.Change(created + timedelta(seconds=lived / 2), "privatelink", "pl", "svc", "active"),
        usage.Change(deleted, "privatelink", "pl", "svc", "deleted"),
    ]
    start = T0 + timedelta(seconds=window_start)
    end = start + timedelta(seconds=window_length)
    hourly = usage.by_hour(usage.intervals(changes, end), start, end)
    overlap = max(0.0, (min(deleted, end) - max(created, start)).total_seconds())
    assert abs(sum(hourly.values()) - overlap) < 1e-6

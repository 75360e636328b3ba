"""Usage from the status history: how long each billable object was in a billable state,
split by the hour. Pure: the events in, seconds per (hour, object) out, so a restart of
any process changes nothing (the events are the record) and nothing is counted twice.

  privatelink  from its first event (create requested) to `deleted`
  connection   while `active`
  outbound     from its first event (create requested) to `deleted`
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

HOUR = timedelta(hours=1)
# kind -> (states that open an interval, None: the first event; states that close it)
RULES: dict[str, tuple[frozenset[str] | None, frozenset[str]]] = {
    "privatelink": (None, frozenset({"deleted"})),
    "outbound": (None, frozenset({"deleted"})),
    "connection": (frozenset({"active"}), frozenset()),  # any other state closes it
}


@dataclass(frozen=True)
class Change:
    at: datetime
    kind: str
    object_id: str
    service: str
    state: str


@dataclass(frozen=True)
class Interval:
    kind: str
    object_id: str
    service: str
    start: datetime
    end: datetime


def intervals(changes: Iterable[Change], until: datetime) -> list[Interval]:
    """Billable intervals from `changes` (in time order); one still open ends `until`."""
    open_: dict[tuple[str, str], Change] = {}
    seen: set[tuple[str, str]] = set()
    found = []
    for change in changes:
        if change.kind not in RULES:
            continue
        opens, closes = RULES[change.kind]
        key = (change.kind, change.object_id)
        first = key not in seen
        seen.add(key)
        started = open_.get(key)
        closing = change.state in closes or (opens is not None and change.state not in opens)
        if started is not None and closing:
            found.append(
                Interval(change.kind, change.object_id, change.service, started.at, change.at)
            )
            del open_[key]
        elif started is None and not closing and (change.state in opens if opens else first):
            open_[key] = change
    for (kind, object_id), started in open_.items():
        if started.at < until:
            found.append(Interval(kind, object_id, started.service, started.at, until))
    return found


def hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def by_hour(
    spans: Iterable[Interval], start: datetime, end: datetime
) -> dict[tuple[datetime, str, str], float]:
    """Seconds per (hour, service, kind) of the intervals, within [start, end)."""
    totals: dict[tuple[datetime, str, str], float] = {}
    for span in spans:
        low, high = max(span.start, start), min(span.end, end)
        hour = hour_of(low)
        while low < high:
            cut = min(hour + HOUR, high)
            key = (hour, span.service, span.kind)
            totals[key] = totals.get(key, 0.0) + (cut - low).total_seconds()
            low, hour = cut, hour + HOUR
    return totals

"""What /metrics shows beyond the process's basics (see docs/operations.md).

From the database, at each scrape (a few grouped counts): objects by kind and state, the
work queue's backlog, events by kind, webhook deliveries by status and, for the local
cloud, targets by group and health. From this process: the data plane's per-endpoint
traffic (a snapshot taken every few seconds on the replica that runs it) and its health
checks. Step durations and cloud calls are histograms fed as they happen (app.py).

Per-endpoint and per-target-group series exist only on the local cloud, one set per
endpoint or group; PRIVLINK_METRICS_PER_ENDPOINT=0 leaves them out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from privlink.cloud.local.forwarder import Meter
from privlink.services import inventory, usage
from privlink.state import AppState
from privlink.store.base import utcnow

log = structlog.get_logger(__name__)
METER_INTERVAL = 5.0  # seconds between snapshots of the data plane's counters


class Inventory(Collector):
    def __init__(self, state: AppState) -> None:
        self.state = state
        self.meters: dict[str, Meter] = {}
        self.live: dict[str, int] = {}
        self._counted_plane: object = None

    def collect(self) -> Iterator[Metric]:
        try:
            yield from self._database()
        except Exception as error:  # a scrape while the database is away: the rest still
            log.warning("metrics from the database unavailable", error=str(error))
        yield from self._dataplane()

    def _database(self) -> Iterator[Metric]:
        objects = GaugeMetricFamily(
            "privlink_objects", "Objects by kind and state.", labels=["kind", "state"]
        )
        due = GaugeMetricFamily(
            "privlink_queue_due", "Reconcile steps due now, by kind.", labels=["kind"]
        )
        oldest = GaugeMetricFamily(
            "privlink_queue_oldest_due_seconds",
            "How long the oldest due step has waited, by kind.",
            labels=["kind"],
        )
        events = CounterMetricFamily(
            "privlink_events", "Status-history events recorded, by kind.", labels=["kind"]
        )
        deliveries = GaugeMetricFamily(
            "privlink_webhook_deliveries", "Webhook deliveries by status.", labels=["status"]
        )
        with self.state.sessions() as s:
            for kind, state, count in inventory.object_states(s):
                objects.add_metric([kind, state], count)
            for kind, count, waited in inventory.backlog(s, utcnow()):
                due.add_metric([kind], count)
                oldest.add_metric([kind], waited)
            for kind, count in inventory.event_counts(s):
                events.add_metric([kind], count)
            for status, count in inventory.delivery_states(s):
                deliveries.add_metric([status], count)
            targets = list(inventory.target_health(s)) if self._per_endpoint() else []
        yield from (objects, due, oldest, events, deliveries)
        if targets:
            health = GaugeMetricFamily(
                "privlink_targets",
                "Local cloud: targets by target group and health state.",
                labels=["target_group", "state"],
            )
            for arn, state, count in targets:
                health.add_metric([arn, state], count)
            yield health

    def _per_endpoint(self) -> bool:
        return self.state.cloud is not None and self.state.settings.metrics_per_endpoint

    def _dataplane(self) -> Iterator[Metric]:
        dataplane = self.state.dataplane
        if dataplane is None:
            return
        checks = CounterMetricFamily(
            "privlink_health_checks",
            "Local cloud: TCP health checks of targets, by outcome.",
            labels=["outcome"],
        )
        for outcome, count in dataplane.checker.outcomes.items():
            checks.add_metric([outcome], count)
        yield checks
        if not self._per_endpoint():
            return
        families = {
            "bytes_in": CounterMetricFamily(
                "privlink_endpoint_received_bytes",
                "Local cloud: bytes from clients through an endpoint.",
                labels=["endpoint"],
            ),
            "bytes_out": CounterMetricFamily(
                "privlink_endpoint_sent_bytes",
                "Local cloud: bytes to clients through an endpoint.",
                labels=["endpoint"],
            ),
            "total": CounterMetricFamily(
                "privlink_endpoint_connections",
                "Local cloud: connections accepted by an endpoint.",
                labels=["endpoint"],
            ),
            "errors": CounterMetricFamily(
                "privlink_endpoint_connection_errors",
                "Local cloud: connections an endpoint refused or could not forward.",
                labels=["endpoint"],
            ),
        }
        for endpoint, meter in sorted(self.meters.items()):
            for field, family in families.items():
                family.add_metric([endpoint], getattr(meter, field))
        yield from families.values()
        active = GaugeMetricFamily(
            "privlink_endpoint_active_connections",
            "Local cloud: connections open through an endpoint now.",
            labels=["endpoint"],
        )
        for endpoint, count in sorted(self.live.items()):
            active.add_metric([endpoint], count)
        yield active

    async def keep_meters(self) -> None:
        """Every METER_INTERVAL: snapshot the data plane's counters (scrapes read it) and
        add what went through each endpoint since the last snapshot to its hour of usage.
        A last snapshot is taken when the server stops, so a clean restart loses nothing."""
        try:
            while True:
                await self._take_meters()
                await asyncio.sleep(METER_INTERVAL)
        finally:
            with contextlib.suppress(Exception):
                await self._take_meters()

    async def _take_meters(self) -> None:
        dataplane = self.state.dataplane
        if dataplane is None:
            return
        try:
            meters = await dataplane.meters()
            self.live = (await dataplane.forwarder.stats()).live
        except Exception as error:  # a worker restarting: next time
            log.warning("data plane counters unavailable", error=str(error))
            return
        if dataplane is not self._counted_plane:  # a new data plane counts from zero
            self._counted_plane, self.meters = dataplane, {}
        deltas = {e: _delta(self.meters.get(e), m) for e, m in meters.items()}
        if any(any(d) for d in deltas.values()):
            await asyncio.to_thread(self._record, deltas)
        self.meters = meters

    def _record(self, deltas: dict[str, tuple[int, int]]) -> None:
        with self.state.sessions() as s, s.begin():
            usage.record_bytes(s, deltas, utcnow())


def _delta(before: Meter | None, now: Meter) -> tuple[int, int]:
    """Bytes (in, out) since `before`; a counter that went down restarted (a worker was
    started again) and counts from zero."""
    if before is None:
        return now.bytes_in, now.bytes_out
    bytes_in = now.bytes_in - before.bytes_in
    bytes_out = now.bytes_out - before.bytes_out
    return (
        bytes_in if bytes_in >= 0 else now.bytes_in,
        bytes_out if bytes_out >= 0 else now.bytes_out,
    )

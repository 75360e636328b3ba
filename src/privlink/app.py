"""The composition root: settings -> store -> cloud platform -> reconciler -> API + console.

The one place that knows every part; nothing is built at import time. `privlink serve`,
the tests and the benchmarks all start the app through `create_app`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio.to_thread
import structlog
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

import privlink
from privlink import api, demo
from privlink.api.cache import ResponseCache, SharedRead
from privlink.api.middleware import AuditTrail, BodyLimit, RequestContext
from privlink.cloud.contract import Platform
from privlink.cloud.local.control import LocalCloud
from privlink.cloud.local.dataplane import DataPlane
from privlink.cloud.local.dns_server import DnsServer
from privlink.cloud.local.platform import LocalPlatform
from privlink.cloud.metered import MeteredPlatform
from privlink.console import app as console
from privlink.domain.cloud import HealthCheck
from privlink.metrics import Inventory
from privlink.reconcile.privatelinks import HEALTH_POLL, Config
from privlink.reconcile.runner import Runner
from privlink.services import audit
from privlink.services.webhook_sender import WebhookSender
from privlink.settings import CloudDriver, Role, Settings
from privlink.state import AppState
from privlink.store import generations, sealing
from privlink.store.db import background_engine, make_engine, make_sessionmaker
from privlink.store.leader import SWEEP_LOCK, Leadership


def reconcile_config(settings: Settings) -> Config:
    interval = settings.health_check_interval
    check = HealthCheck(
        interval=interval,
        timeout=min(interval, 5.0),
        healthy_threshold=2,
        unhealthy_threshold=2,
    )
    # The local cloud's data plane reports health changes (AppState.health_changed), so
    # PrivateLinks need not poll while their targets settle; other clouds are polled.
    poll = None if settings.cloud == CloudDriver.local else HEALTH_POLL
    return Config(
        health_check=check,
        resync=settings.resync_interval,
        health_poll=poll,
        dns_zone=settings.dns_zone,
    )


def platform_for(settings: Settings, local: LocalCloud | None) -> Platform:
    """The platform's side of the configured cloud."""
    if local is not None:
        return LocalPlatform(local)
    from privlink.cloud.aws import AwsPlatform, Budget  # boto3 only where AWS is used
    from privlink.cloud.clouds import Clouds, Provider

    budget = Budget(reads=settings.aws_reads_per_second, changes=settings.aws_changes_per_second)
    aws = AwsPlatform(principal=settings.aws_principal, budget=budget)
    others: dict[str, Callable[[], Provider]] = {}
    if settings.azure_subscription_id:
        subscription, group = settings.azure_subscription_id, settings.azure_resource_group

        def azure() -> Provider:
            from privlink.cloud.azure import AzureCloud  # the Azure SDK only where used

            return AzureCloud(subscription_id=subscription, resource_group=group)

        others["azure"] = azure
    if settings.gcp_project:
        project, nat = settings.gcp_project, settings.gcp_nat_subnetwork

        def google() -> Provider:
            from privlink.cloud.gcp import GoogleCloud  # Google's SDK only where used

            return GoogleCloud(project=project, nat_subnetwork=nat)

        others["google"] = google
    return Clouds(aws, others)


def local_cloud(settings: Settings, sessions: sessionmaker[Session]) -> LocalCloud | None:
    """The embedded cloud over these sessions, when it is the configured one."""
    if settings.cloud is not CloudDriver.local:
        return None
    return LocalCloud(
        sessions,
        settings.cloud_call_delay,
        settings.cloud_vpc_quota,
        settings.target_ranges,
        settings.cloud_resource_quota,
    )


log = structlog.get_logger(__name__)
LEAD_INTERVAL = 2.0  # seconds between a replica's checks of data-plane leadership


def metered(platform: Platform, registry: CollectorRegistry) -> Platform:
    """The reconciler's platform, its calls counted on /metrics."""
    calls = Counter(
        "privlink_cloud_calls",
        "Cloud API calls the reconciler made (reads and changes), by region, call and "
        "outcome (ok, not_found, conflict, temporary, error).",
        ["region", "call", "outcome"],
        registry=registry,
    )
    seconds = Histogram(
        "privlink_cloud_call_seconds",
        "How long the reconciler's cloud API calls took, by call and outcome.",
        ["call", "outcome"],
        registry=registry,
        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    )

    def on_call(region: str, call: str, outcome: str, took: float) -> None:
        calls.labels(region, call, outcome).inc()
        seconds.labels(call, outcome).observe(took)

    return MeteredPlatform(platform, on_call)


async def lead_dataplane(state: AppState, local: LocalCloud, leadership: Leadership) -> None:
    """Run the data plane here if this replica leads (always, on SQLite); stop it if it
    lost the lead (its database connection ended)."""
    try:
        leads = await asyncio.to_thread(leadership.try_lead)
    except Exception as error:  # the database is unreachable: whoever can reach it leads
        log.warning("data plane leadership unknown", error=str(error))
        leads = False
    if leads and state.dataplane is None:
        dataplane = DataPlane(
            local,
            mode=state.settings.dataplane.value,
            workers=state.settings.dataplane_workers,
            on_provisioned=state.provisioned,
            on_health=state.health_changed,
        )
        await dataplane.start()
        state.dataplane = dataplane
        address = state.settings.dns_address
        if address is not None:  # the local cloud's DNS: beside its data plane, one replica
            server = DnsServer(local.resolve, *address)
            try:
                await server.start()
                state.dns_server = server
            except OSError as error:  # the rest of the local cloud still works
                log.error(
                    "dns server cannot listen; set PRIVLINK_DNS_LISTEN to a free "
                    "ADDRESS:PORT (empty turns it off)",
                    address=state.settings.dns_listen,
                    error=str(error),
                )
        if leadership.shared:
            log.info("this replica runs the data plane")
    elif not leads and state.dataplane is not None:
        dataplane, state.dataplane = state.dataplane, None
        await dataplane.stop()
        await state.stop_dns()
        log.warning("data plane leadership lost; stopped here")


async def keep_leading(state: AppState, local: LocalCloud, leadership: Leadership) -> None:
    try:
        while True:
            await asyncio.sleep(LEAD_INTERVAL)
            await lead_dataplane(state, local, leadership)
    finally:
        await asyncio.to_thread(leadership.resign)


def responses_generation(engine: Engine) -> Callable[[], Awaitable[int]]:
    """How many visible changes the database has seen (the response cache's check). On
    SQLite a read of a local file on a connection of its own, in the event loop (never
    waiting for the pool); elsewhere in a thread, on a pooled connection, shared by the
    requests that arrive together."""
    if engine.dialect.name == "sqlite":
        own = engine.raw_connection()
        own.detach()

        async def inline() -> int:
            return generations.current(own, generations.RESPONSES)

        return inline

    def pooled() -> int:
        connection = engine.raw_connection()
        try:
            return generations.current(connection, generations.RESPONSES)
        finally:
            connection.close()

    async def threaded() -> int:
        return await anyio.to_thread.run_sync(pooled)

    return SharedRead(threaded)


def _freeze() -> None:
    """Move what start-up made (modules, classes, routes, schemas: ~200,000 objects that
    live as long as the process) out of the garbage collector's sight. A full collection
    then walks only what came after: on a busy 2-core host it paused a replica for
    0.2-0.7 s (the API's p99) when it walked them all."""
    gc.collect()
    gc.freeze()


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    run_dataplane: bool = True,
    freeze_startup: bool = False,
) -> FastAPI:
    """The whole HTTP surface; with the local cloud, its data plane runs in the lifespan.
    `freeze_startup`: the process is this app's alone (`privlink serve`), see `_freeze`."""
    # API requests wait at most 5 s for a connection, then answer 503 (never hang).
    engine = engine or make_engine(settings.database_url, pool_timeout=5)
    sealer = sealing.load(settings)
    sessions = make_sessionmaker(engine, sealer)
    registry = CollectorRegistry()
    local = local_cloud(settings, sessions)
    state = AppState(
        settings=settings,
        engine=engine,
        sessions=sessions,
        registry=registry,
        cloud=local,
        platform_side=platform_for(settings, local),
    )
    if local is not None:
        local.on_owners_changed = state.owners_changed
    inventory = Inventory(state)
    registry.register(inventory)
    steps = Histogram(
        "privlink_reconcile_step_seconds",
        "How long reconcile steps took, by kind and outcome (done, requeue, temporary, "
        "permanent, busy).",
        ["kind", "outcome"],
        registry=registry,
        buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        nodes = await demo.start_nodes() if settings.demo and run_dataplane else []
        # The reconciler and the data plane: a database pool of their own.
        work_engine = background_engine(engine)
        work = sessions if work_engine is engine else make_sessionmaker(work_engine, sealer)
        work_local = local if work is sessions else local_cloud(settings, work)
        if work_local is not None:
            work_local.on_owners_changed = state.owners_changed
        leading: asyncio.Task[None] | None = None
        if run_dataplane and work_local is not None and Role.dataplane in settings.role_set:
            leadership = Leadership(work_engine)
            await lead_dataplane(state, work_local, leadership)
            if leadership.shared:  # replicas: whoever holds the lock runs it
                leading = asyncio.create_task(keep_leading(state, work_local, leadership))
        if run_dataplane and Role.reconciler in settings.role_set:
            state.runner = Runner(
                work,
                audit.audited(metered(platform_for(settings, work_local), registry), work),
                resync_interval=settings.resync_interval,
                concurrency=settings.reconcile_concurrency,
                config=reconcile_config(settings),
                on_change=state.kick_dataplane,
                # The local cloud wakes what its changes touch: only other clouds sweep.
                sweep_interval=settings.endpoint_sweep_interval if work_local is None else 0.0,
                sweep_leads=Leadership(work_engine, SWEEP_LOCK).try_lead,
                on_step=lambda kind, outcome, took: steps.labels(kind, outcome).observe(took),
            )
            state.runner.start()
            state.webhooks = WebhookSender(
                work,
                retry_base=settings.webhook_retry_base,
                allow_private=settings.webhook_allow_private,
            )
            state.webhooks.start()
        metering = asyncio.create_task(inventory.keep_meters()) if work_local else None
        if freeze_startup:
            _freeze()
        try:
            yield
        finally:
            if state.runner is not None:
                await state.runner.stop()
            if state.webhooks is not None:
                await state.webhooks.stop()
            if metering is not None:
                metering.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await metering
            if leading is not None:
                leading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await leading
            if state.dataplane is not None:
                await state.dataplane.stop()
            await state.stop_dns()
            await demo.stop_nodes(nodes)
            if work_engine is not engine:
                work_engine.dispose()

    app = FastAPI(
        title="privlink",
        version=privlink.__version__,
        description="PrivateLink control plane: an Aiven-compatible API plus native endpoints.",
        lifespan=lifespan,
    )
    app.state.privlink = state
    serve_api = Role.api in settings.role_set
    api.install(app, serve_api=serve_api)
    if serve_api:
        console.install(app)
    # Outermost last: RequestContext sees every response, including 413s.
    app.add_middleware(AuditTrail, record=audit.recorder(sessions))
    app.add_middleware(BodyLimit)
    app.add_middleware(
        ResponseCache,
        generation=responses_generation(engine),
        max_bytes=settings.response_cache_mib * 1024 * 1024,
    )
    app.add_middleware(RequestContext, registry=registry)
    return app

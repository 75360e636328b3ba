"""Sends webhook deliveries: per subscription one at a time, oldest first (a receiver sees
events in order), subscriptions side by side, each try bounded in time. It runs in its
own task of `privlink serve`, apart from the reconciler: a slow or failing receiver only
delays its own deliveries. Claims are leases in the database, so replicas never send one
delivery twice at once, and a restart resumes where the last try left off."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import structlog
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from privlink.domain import webhooks as rules
from privlink.services import webhooks
from privlink.store import sealing
from privlink.store.base import as_utc, utcnow
from privlink.store.tables import Project, Webhook, WebhookDelivery

log = structlog.get_logger(__name__)
POLL = 1.0  # seconds between looks for due deliveries (two cheap queries a look)
TIMEOUT = 10.0  # seconds one try may take, connect to last byte
BATCH = 50  # subscriptions served per look


@dataclass(frozen=True)
class Due:
    delivery_id: int
    url: str
    secret: str
    body: bytes
    event_id: int
    attempt: int
    private_ok: bool  # the operator's subscription: any address is fine


class WebhookSender:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        retry_base: float = 5.0,
        allow_private: bool = False,
        concurrency: int = 8,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.sessions = sessions
        self.retry_base = retry_base
        self.allow_private = allow_private
        self.limit = asyncio.Semaphore(concurrency)
        self.transport = transport
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def kick(self) -> None:
        self._kick.set()

    async def _loop(self) -> None:
        async with httpx.AsyncClient(
            timeout=TIMEOUT, follow_redirects=False, transport=self.transport
        ) as client:
            while True:
                try:
                    due = await asyncio.to_thread(self.claim)
                    await asyncio.gather(*(self._send(client, d) for d in due))
                except asyncio.CancelledError:
                    raise
                except Exception:  # the database away, say: try again at the next look
                    log.exception("webhook sender pass failed")
                    due = []
                if not due:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._kick.wait(), POLL)
                    self._kick.clear()

    def claim(self) -> list[Due]:
        """The oldest pending delivery of each subscription, if it is due and unclaimed;
        claimed for as long as a try can take."""
        now = utcnow()
        with self.sessions() as s, s.begin():
            heads = (
                select(func.min(WebhookDelivery.id))
                .where(WebhookDelivery.status == "pending")
                .group_by(WebhookDelivery.webhook_id)
                .limit(BATCH)
            )
            query = select(WebhookDelivery).where(
                WebhookDelivery.id.in_(heads),
                WebhookDelivery.next_attempt_at <= now,
                or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now),
            )
            if s.bind is not None and s.bind.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            found = []
            sealer = sealing.of(s)
            for delivery in s.scalars(query):
                hook = s.get(Webhook, delivery.webhook_id)
                if hook is None or not hook.enabled:
                    continue
                delivery.claimed_until = now + timedelta(seconds=TIMEOUT + 30)
                event = delivery.event
                project = s.get(Project, event.project_id)
                body = json.dumps(
                    webhooks.payload(event, project.name if project else ""), separators=(",", ":")
                ).encode()
                found.append(
                    Due(
                        delivery_id=delivery.id,
                        url=hook.url,
                        secret=sealer.open(hook.secret),
                        body=body,
                        event_id=event.id,
                        attempt=delivery.attempts + 1,
                        private_ok=hook.project_id is None,
                    )
                )
            return found

    async def _send(self, client: httpx.AsyncClient, due: Due) -> None:
        async with self.limit:
            status: int | None = None
            try:
                if not (due.private_ok or self.allow_private):
                    await asyncio.to_thread(_refuse_private, due.url)
                stamp = int(time.time())
                response = await client.post(
                    due.url,
                    content=due.body,
                    headers={
                        "Content-Type": "application/json",
                        "User-Agent": "privlink-webhooks",
                        rules.SIGNATURE_HEADER: rules.sign(due.secret, stamp, due.body),
                        "Privlink-Event-Id": f"evt_{due.event_id}",
                        "Privlink-Delivery-Id": str(due.delivery_id),
                        "Privlink-Attempt": str(due.attempt),
                    },
                )
                status = response.status_code
                error = "" if 200 <= status < 300 else f"HTTP {status}: {response.text[:200]}"
            except (httpx.HTTPError, OSError) as failure:
                error = f"{type(failure).__name__}: {failure}"[:500]
            await asyncio.to_thread(self.record, due.delivery_id, status, error)

    def record(self, delivery_id: int, status: int | None, error: str) -> None:
        """One try's outcome: delivered, or retried after a backoff, or given up once the
        event is older than the retry period."""
        now = utcnow()
        with self.sessions() as s, s.begin():
            delivery = s.get(WebhookDelivery, delivery_id)
            if delivery is None:
                return
            delivery.attempts += 1
            delivery.last_status, delivery.last_error = status, error
            delivery.claimed_until = None
            if not error:
                delivery.status, delivery.delivered_at = "delivered", now
                return
            age = (now - as_utc(delivery.created_at)).total_seconds()
            if age >= rules.RETRY_FOR:
                delivery.status = "failed"
                log.warning("webhook delivery given up", delivery=delivery_id, error=error)
                return
            delay = rules.retry_delay(delivery.attempts, self.retry_base)
            delivery.next_attempt_at = now + timedelta(seconds=delay)


def _refuse_private(url: str) -> None:
    """A project's webhook may not reach the platform's own network (SSRF): its host must
    resolve to public addresses only (PRIVLINK_WEBHOOK_ALLOW_PRIVATE lifts this)."""
    host = urlsplit(url).hostname or ""
    found = {info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)}
    private = sorted(a for a in found if rules.is_private(str(a)))
    if private:
        raise OSError(
            f"{host} resolves to {', '.join(map(str, private))}, a private address; "
            "the operator can allow them (PRIVLINK_WEBHOOK_ALLOW_PRIVATE)"
        )

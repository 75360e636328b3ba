"""Cached answers to the API's busiest reads, checked against the `responses` generation.

A GET of one of `ROUTES` is answered from memory when a request with the same token
asked for the same URL since the last visible change (any replica's: the check is one
row read); otherwise it runs as usual and its 200 answer is kept. Requests that miss
together on one key wait for the first one's answer instead of each computing it. The
answers are byte for byte what the route returns; `x-privlink-cache` says hit or miss.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Reads whose answers come from the database alone (no clock, no live cloud call).
ROUTES = (
    "/v1/project/{project}/service",
    "/v1/project/{project}/service/{service}",
    "/v1/project/{project}/service/{service}/privatelink/aws",
    "/v1/project/{project}/service/{service}/privatelink/aws/connections",
    "/v1/project/{project}/vpcs",
    "/v1/project/{project}/vpcs/{vpc_id}",
)
HEADER = b"x-privlink-cache"
log = structlog.get_logger(__name__)


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(template)))


@dataclass
class Answer:
    generation: int
    start: Message
    body: bytes


@dataclass
class Pending:
    """A miss being computed; others asking for the same key at the same generation wait."""

    done: asyncio.Event = field(default_factory=asyncio.Event)
    answer: Answer | None = None


class SharedRead:
    """A read whose concurrent callers share one run, as long as it started after they
    asked: who arrives while a read runs waits for the next one, so every request still
    sees all the changes committed before it came, and 50 requests at once make ~2 reads."""

    def __init__(self, read: Callable[[], Awaitable[int]]) -> None:
        self.read = read
        self.next: asyncio.Future[int] | None = None  # served by the next read to start
        self.runner: asyncio.Task[None] | None = None

    async def __call__(self) -> int:
        if self.next is None:
            self.next = asyncio.get_running_loop().create_future()
        waiting = self.next
        if self.runner is None:
            self.runner = asyncio.create_task(self._run())
        return await asyncio.shield(waiting)

    async def _run(self) -> None:
        serving: asyncio.Future[int] | None = None
        try:
            while self.next is not None:
                serving, self.next = self.next, None
                try:
                    serving.set_result(await self.read())
                except Exception as error:  # each waiting caller sees it
                    serving.set_exception(error)
        finally:
            self.runner = None
            for left in (serving, self.next):  # cancelled (shutdown): nobody waits forever
                if left is not None and not left.done():
                    left.cancel()


class ResponseCache:
    """`generation()` reads the current `responses` count; at most `max_bytes` of bodies
    are kept (least recently used go first); 0 turns caching off."""

    def __init__(
        self,
        app: ASGIApp,
        generation: Callable[[], Awaitable[int]],
        max_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.app = app
        self.generation = generation
        self.max_bytes = max_bytes
        self.routes = [(template, _pattern(template)) for template in ROUTES]
        self.answers: OrderedDict[tuple[bytes, str, bytes], Answer] = OrderedDict()
        self.pending: dict[tuple[tuple[bytes, str, bytes], int], Pending] = {}
        self.size = 0
        self.seen = -1  # the newest generation seen; older answers are dropped

    def _route(self, path: str) -> str | None:
        for template, pattern in self.routes:
            if pattern.fullmatch(path):
                return template
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self._route(scope["path"]) if scope["type"] == "http" else None
        token = dict(scope["headers"]).get(b"authorization") if route else None
        if route is None or token is None or scope["method"] != "GET" or not self.max_bytes:
            await self.app(scope, receive, send)
            return
        scope["route"] = SimpleNamespace(path=route)  # for the metrics' route label
        key = (hashlib.sha256(token).digest(), scope["path"], scope["query_string"])
        try:
            generation = await self.generation()
        except Exception as error:  # the route itself reports a database that is down
            log.warning("response cache skipped: generation unreadable", error=str(error))
            await self.app(scope, receive, send)
            return
        if generation > self.seen:
            self._forget_older(generation)
        answer = self.answers.get(key)
        if answer is not None and answer.generation == generation:
            self.answers.move_to_end(key)
            await self._send(send, answer, b"hit")
            return
        pending = self.pending.get((key, generation))
        if pending is not None:
            await pending.done.wait()
            if pending.answer is not None:
                await self._send(send, pending.answer, b"hit")
                return
            await self.app(scope, receive, send)  # the first one's answer was not kept
            return
        pending = self.pending[(key, generation)] = Pending()
        try:
            pending.answer = await self._compute(scope, receive, send, generation)
            if pending.answer is not None and generation == self.seen:
                self._keep(key, pending.answer)
        finally:
            del self.pending[(key, generation)]
            pending.done.set()

    async def _compute(
        self, scope: Scope, receive: Receive, send: Send, generation: int
    ) -> Answer | None:
        """Run the route, passing its answer on as it comes; the answer if it may be kept."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                message = {**message, "headers": [*message.get("headers", []), (HEADER, b"miss")]}
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        if start is None or start["status"] != 200:
            return None
        if any(name.lower() == b"set-cookie" for name, _ in start.get("headers", [])):
            return None
        return Answer(generation, start, b"".join(chunks))

    async def _send(self, send: Send, answer: Answer, how: bytes) -> None:
        headers = [*answer.start.get("headers", []), (HEADER, how)]
        await send({**answer.start, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})

    def _keep(self, key: tuple[bytes, str, bytes], answer: Answer) -> None:
        if len(answer.body) > self.max_bytes:
            return
        old = self.answers.pop(key, None)
        if old is not None:
            self.size -= len(old.body)
        self.answers[key] = answer
        self.size += len(answer.body)
        while self.size > self.max_bytes:
            _, evicted = self.answers.popitem(last=False)
            self.size -= len(evicted.body)

    def _forget_older(self, generation: int) -> None:
        self.seen = generation
        self.answers.clear()
        self.size = 0

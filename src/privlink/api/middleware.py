"""Pure ASGI middleware: request IDs with access logs and metrics, a body size cap, and
the audit trail of changes."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable

import anyio
import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from privlink.api.errors import error_response
from privlink.domain.roles import reads
from privlink.services import audit

log = structlog.get_logger("privlink.access")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
MAX_BODY_BYTES = 1024 * 1024


class BodyLimit:
    """Refuse bodies over `limit` bytes with 413, whether declared or streamed.

    The body is read here (at most `limit` bytes are ever held) and replayed to
    the app, because FastAPI turns any error raised while it reads a body into
    a generic 400.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # client went away; let the app see an empty body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413, f"Request body is larger than the {self.limit // 1024} KiB that are accepted"
        )
        await response(scope, receive, send)


class RequestContext:
    """Give each request an ID, log one access line, and count it in Prometheus."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "privlink_http_requests",
            "HTTP requests served",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "privlink_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        offered = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = offered if _REQUEST_ID.fullmatch(offered) else uuid.uuid4().hex
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                    *security_headers(scope["path"]),
                ]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - started
                route = _route_template(scope)
                self.requests.labels(scope["method"], route, str(status)).inc()
                self.latency.labels(scope["method"], route).observe(elapsed)
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    ms=round(elapsed * 1000, 1),
                )


def _route_template(scope: Scope) -> str:
    """The matched route's template keeps metric label counts bounded."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


# Pages and answers are never framed, sniffed or followed by a referrer; pages load only
# their own script and styles (inline style attributes are the console's). The API docs
# pages (/docs, /redoc) load FastAPI's bundled viewer and keep the browser's defaults.
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
_CSP = (
    b"content-security-policy",
    b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
)


def security_headers(path: str) -> tuple[tuple[bytes, bytes], ...]:
    if path.startswith(("/docs", "/redoc")):
        return _ALWAYS
    return (*_ALWAYS, _CSP)


class AuditTrail:
    """Record every request that asks for a change (API and console) once it is answered:
    who (the caller the route resolved), the route and path, the client's address and the
    outcome, with the refusal's message. Requests of no known caller (no or a bad token)
    are left to the access log, so nobody can fill the audit log anonymously."""

    def __init__(self, app: ASGIApp, record: Callable[[audit.Entry], None]) -> None:
        self.app = app
        self.record = record

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or reads(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        status = 500
        error_body = b""

        async def capture(message: Message) -> None:
            nonlocal status, error_body
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and status >= 400:
                error_body = (error_body + message.get("body", b""))[:4096]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            entry = _entry(scope, status, error_body)
            if entry is not None:
                await anyio.to_thread.run_sync(self.record, entry)


def _entry(scope: Scope, status: int, error_body: bytes) -> audit.Entry | None:
    caller = scope.get("state", {}).get("caller")
    if caller is None:
        return None
    params = scope.get("path_params", {})
    # A tenant's attempts are its own project's record, even on another's path.
    project = params.get("project") if caller.is_admin else caller.project
    client = scope.get("client")
    return audit.Entry(
        actor=caller.token_id,
        actor_description=caller.description,
        role=str(caller.role),
        action=f"{scope['method']} {_route_template(scope)}",
        target=scope["path"],
        address=client[0] if client else "",
        outcome=audit.outcome_of(status),
        status=status,
        project=project,
        detail=_message(error_body),
    )


def _message(body: bytes) -> str:
    """The error body's message (the API's shape), or nothing (e.g. a console page)."""
    if not body:
        return ""
    try:
        found = json.loads(body)
    except ValueError:
        return ""
    message = found.get("message") if isinstance(found, dict) else None
    return message if isinstance(message, str) else ""

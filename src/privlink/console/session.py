"""Console sessions: a random secret in an HttpOnly cookie, kept on the server.

Logging in with an API token opens a session (`tenancy.open_session`): the cookie holds
the session's own random secret, never the token, and only its digest is stored, so
log-out ends it everywhere at once. The cookie is HttpOnly, SameSite=Strict, and
`Secure` when the console is served over HTTPS (or `PRIVLINK_CONSOLE_SECURE_COOKIES`).
Every form carries `csrf`, an HMAC of the session secret that a page of another site
cannot compute, and every POST checks it; the log-in form's comes from a cookie of its own.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request, Response
from sqlalchemy.orm import Session

from privlink.domain.errors import Forbidden, Unauthenticated
from privlink.domain.roles import reads
from privlink.services import tenancy

COOKIE = "privlink_session"
LOGIN_COOKIE = "privlink_login"  # a random value the log-in form's CSRF token is made from


class LoginRequired(Exception):
    """No valid session: the console sends the browser to the login page."""


class BadForm(Exception):
    """A POST without this session's CSRF token: refused with a page saying so."""


class ReadOnly(BadForm):
    """A change asked for with a read-only token: refused with a page saying so."""


def token_of(request: Request) -> str | None:
    return request.cookies.get(COOKIE) or None


def caller(request: Request, session: Session) -> tenancy.Caller:
    """Who the session is, if their role allows this request; looked up once per request."""
    known: tenancy.Caller | None = getattr(request.state, "caller", None)
    if known is not None:
        return known
    try:
        found = tenancy.session_caller(session, secret=token_of(request))
    except Unauthenticated:
        raise LoginRequired() from None
    request.state.caller = found
    method = "GET" if reads(request.method, request.url.path) else request.method
    try:
        tenancy.authorize(found, method=method)
    except Forbidden as error:
        raise ReadOnly(error.message) from None
    return found


def csrf_token(token: str) -> str:
    return hmac.new(token.encode(), b"privlink-console-csrf", hashlib.sha256).hexdigest()


def check_csrf(request: Request, submitted: str, cookie: str = COOKIE) -> None:
    secret = request.cookies.get(cookie) or None
    if secret is None or not hmac.compare_digest(csrf_token(secret), submitted or ""):
        raise BadForm("The form has expired or did not come from this console; reload the page")


def set_cookie(
    response: Response, request: Request, name: str, value: str, *, secure: bool
) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="strict",
        path="/",
        max_age=int(tenancy.SESSION_LIFETIME.total_seconds()),
        secure=secure or request.url.scheme == "https",
    )

"""Console sessions: the API token in an HttpOnly cookie, and a CSRF token derived from it.

The cookie holds the token itself (it is the credential the API takes too), marked
HttpOnly and SameSite=Strict. Every form carries `csrf`, an HMAC of the token that
a page of another site cannot compute, and every POST checks it.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request
from sqlalchemy.orm import Session

from privlink.domain.errors import Unauthenticated
from privlink.services import tenancy

COOKIE = "privlink_session"


class LoginRequired(Exception):
    """No valid session: the console sends the browser to the login page."""


class BadForm(Exception):
    """A POST without this session's CSRF token: refused with a page saying so."""


def token_of(request: Request) -> str | None:
    return request.cookies.get(COOKIE) or None


def caller(request: Request, session: Session) -> tenancy.Caller:
    """Who the session is; looked up once per request."""
    known: tenancy.Caller | None = getattr(request.state, "caller", None)
    if known is not None:
        return known
    try:
        found = tenancy.authenticate(session, secret=token_of(request))
    except Unauthenticated:
        raise LoginRequired() from None
    request.state.caller = found
    return found


def csrf_token(token: str) -> str:
    return hmac.new(token.encode(), b"privlink-console-csrf", hashlib.sha256).hexdigest()


def check_csrf(request: Request, submitted: str) -> None:
    token = token_of(request)
    if token is None or not hmac.compare_digest(csrf_token(token), submitted or ""):
        raise BadForm("The form has expired or did not come from this console; reload the page")

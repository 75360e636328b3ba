"""Webhook rules: what a subscription may say, how a delivery is signed, when it is retried.

A delivery is signed the way the well-known providers do it (Stripe's scheme): the header
`Privlink-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the
subscription's secret>`. A receiver recomputes it over the raw body and refuses a
timestamp far from its clock (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit

from privlink.domain.errors import InvalidInput

SIGNATURE_HEADER = "Privlink-Signature"
KINDS = ("privatelink", "connection", "outbound", "certificate", "vpc")
MIN_SECRET, MAX_SECRET = 16, 256
RETRY_FOR = 24 * 3600.0  # seconds a delivery is retried before it is given up
MAX_DELAY = 3600.0  # the longest wait between two tries
TOLERANCE = 300  # seconds a receiver should accept between a signature's time and its clock


def url(value: str) -> str:
    """An http(s) URL with a host, no credentials, at most 2,000 characters."""
    parts = urlsplit(value)
    if (
        len(value) <= 2000
        and parts.scheme in ("http", "https")
        and parts.hostname
        and not parts.username
        and not parts.password
    ):
        return value
    raise InvalidInput(
        f"Invalid webhook URL {value[:80]!r}; accepted: http:// or https:// with a host "
        "(no user:password@), at most 2000 characters"
    )


def secret(value: str) -> str:
    if MIN_SECRET <= len(value) <= MAX_SECRET and value.isprintable():
        return value
    raise InvalidInput(
        f"A webhook secret is {MIN_SECRET}-{MAX_SECRET} printable characters; leave it out "
        "to have one made"
    )


def events(value: Sequence[str] | None) -> list[str]:
    """An event filter: kinds (`privatelink`) or kind.state (`connection.active`); empty or
    None means every event."""
    chosen = list(dict.fromkeys(value or []))
    for item in chosen:
        kind, _, state = item.partition(".")
        if kind not in KINDS or (state and not state.replace("-", "").isalnum()):
            raise InvalidInput(
                f"Unknown event {item[:60]!r}; accepted: {', '.join(KINDS)}, or KIND.STATE "
                "such as connection.active (none: every event)"
            )
    return chosen


def matches(chosen: Sequence[str], kind: str, state: str) -> bool:
    return not chosen or kind in chosen or f"{kind}.{state}" in chosen


def sign(secret_: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret_.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret_: str, header: str, body: bytes, now: int, tolerance: int = TOLERANCE) -> bool:
    """Whether `header` signs `body` with `secret_` within `tolerance` seconds of `now`."""
    fields = dict(part.partition("=")[::2] for part in header.split(","))
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return False
    expected = sign(secret_, timestamp, body).partition(",v1=")[2]
    return abs(now - timestamp) <= tolerance and hmac.compare_digest(expected, fields.get("v1", ""))


def retry_delay(attempts: int, base: float) -> float:
    """Seconds before try `attempts + 1`: doubling from `base`, at most an hour."""
    return float(min(MAX_DELAY, base * 2 ** min(max(attempts - 1, 0), 20)))


def is_private(host: str) -> bool:
    """Whether `host` is a literal private, loopback or link-local address."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local

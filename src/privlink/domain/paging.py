"""Pages of long lists: at most `limit` items after the key an opaque token names, in key
order (keyset paging: a page costs the same wherever it starts, and items made or
removed meanwhile never shift the others)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from privlink.domain.errors import InvalidInput

MAX_LIMIT = 1000


@dataclass(frozen=True)
class Page:
    limit: int
    after: str | None = None  # the last key of the page before


def token_of(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def after_of(token: str) -> str:
    """The key a token names; a token this API did not give is refused."""
    try:
        key = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = ""
    if not key or not key.isprintable():
        raise InvalidInput(
            f"page_token {token[:40]!r} is not one this API gave; pass the next_page_token "
            "of the page before, or none for the first page"
        )
    return key


def next_token(page: Page | None, keys: list[str]) -> str | None:
    """The token of the page after this one, or None when this one was the last."""
    if page is None or len(keys) < page.limit:
        return None
    return token_of(keys[-1])

"""`PagingDep`: the `limit` and `page_token` query parameters of paged lists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

from privlink.domain import paging


@dataclass
class Paging:
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=paging.MAX_LIMIT,
            description=f"At most this many items (1-{paging.MAX_LIMIT}); all when left out",
        ),
    ] = None
    page_token: Annotated[
        str | None,
        Query(max_length=400, description="The next_page_token of the page before"),
    ] = None

    @property
    def page(self) -> paging.Page | None:
        if self.limit is None and self.page_token is None:
            return None
        after = paging.after_of(self.page_token) if self.page_token is not None else None
        return paging.Page(limit=self.limit or paging.MAX_LIMIT, after=after)

    def next(self, keys: list[str]) -> str | None:
        return paging.next_token(self.page, keys)


PagingDep = Annotated[Paging, Depends()]

"""Paged local-cloud lists: `limit` and `page_token` walk a list in key order, items made
or removed meanwhile never make another appear twice or go missing; without them the
whole list comes back, as before."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privlink.domain import paging
from privlink.domain.errors import InvalidInput
from tests.api.conftest import CloudApi

GROUPS = "/acme/eu-west-1/target-groups"


def make(cloud: CloudApi, *names: str) -> None:
    for name in names:
        cloud.call("POST", GROUPS, {"name": name, "port": 80}, 201)


def walk(cloud: CloudApi, limit: int, between: Any = None) -> list[list[str]]:
    """Every page's target group names, following next_page_token to the end."""
    pages: list[list[str]] = []
    token: str | None = None
    while True:
        query = f"?limit={limit}" + (f"&page_token={token}" if token else "")
        answer = cloud.call("GET", GROUPS + query)
        pages.append([tg["name"] for tg in answer["target_groups"]])
        token = answer["next_page_token"]
        if token is None:
            return pages
        if between is not None:
            between(len(pages))
        assert len(pages) < 50, "paging does not end"


@pytest.fixture
def seven(cloud: CloudApi) -> list[str]:
    cloud.call("POST", "/accounts", {"name": "acme"}, 201)
    names = [f"tg-{i}" for i in range(7)]
    make(cloud, *names)
    return names


def test_pages_cover_the_list_once_in_key_order(cloud: CloudApi, seven: list[str]) -> None:
    whole = cloud.call("GET", GROUPS)
    assert whole["next_page_token"] is None
    ordered = [tg["name"] for tg in whole["target_groups"]]
    assert sorted(ordered) == sorted(seven)
    pages = walk(cloud, 3)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [name for page in pages for name in page] == ordered


def test_changes_between_pages_neither_repeat_nor_hide_the_others(
    cloud: CloudApi, seven: list[str]
) -> None:
    before = {tg["name"] for tg in cloud.call("GET", GROUPS)["target_groups"]}
    gone: list[str] = []

    def churn(pages_so_far: int) -> None:
        make(cloud, f"new-{pages_so_far}")
        victim = sorted(before - set(gone))[-1]  # one not seen yet, probably
        cloud.call("DELETE", f"{GROUPS}/{victim}")
        gone.append(victim)

    seen = [name for page in walk(cloud, 2, between=churn) for name in page]
    assert len(seen) == len(set(seen))
    assert (before - set(gone)) <= set(seen)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?page_token=not-a-token!", "is not one this API gave"),
        ("?page_token=%E2%9C%93", "is not one this API gave"),
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
    ],
)
def test_bad_paging_is_a_clear_400(
    cloud: CloudApi, seven: list[str], query: str, message: str
) -> None:
    refused = cloud.call("GET", GROUPS + query, status=400)
    assert message in refused["message"]


@pytest.mark.parametrize(
    "path",
    ["/load-balancers", "/endpoint-services", "/endpoints"],
)
def test_every_platform_scale_list_pages(
    cloud: CloudApi, provider: dict[str, Any], path: str
) -> None:
    answer = cloud.call("GET", f"/acme/eu-west-1{path}?limit=1000")
    assert answer["next_page_token"] is None
    assert cloud.call("GET", f"/acme/eu-west-1{path}") == answer


@given(st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1))
def test_a_token_names_its_key(key: str) -> None:
    if key.isprintable():
        assert paging.after_of(paging.token_of(key)) == key


@given(st.text(max_size=60))
def test_any_other_token_is_refused_or_read_never_crashes(token: str) -> None:
    try:
        key = paging.after_of(token)
    except InvalidInput as refused:
        assert "page_token" in refused.message
    else:
        assert key
        assert key.isprintable()

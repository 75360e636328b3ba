"""Inbound PrivateLink rules: principal lists, who may connect, listener ports."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privlink.domain import privatelink as rules
from privlink.domain.errors import Conflict, InvalidInput

accounts = st.integers(min_value=10**11, max_value=10**12 - 1).map(str)
names = st.from_regex(r"[A-Za-z0-9+=,.@_-]{1,20}", fullmatch=True)
arns = st.one_of(
    accounts.map(lambda a: f"arn:aws:iam::{a}:root"),
    st.tuples(accounts, st.sampled_from(["user", "role"]), names).map(
        lambda t: f"arn:aws:iam::{t[0]}:{t[1]}/{t[2]}"
    ),
)


@given(st.lists(arns, min_size=1, max_size=16))
def test_up_to_sixteen_principals_are_kept_in_order_without_duplicates(given_: list[str]) -> None:
    kept = rules.principals(given_ + given_[:1])
    assert kept == list(dict.fromkeys(given_))


@given(st.lists(arns, min_size=17, max_size=30, unique=True))
def test_more_than_sixteen_are_refused(given_: list[str]) -> None:
    with pytest.raises(InvalidInput, match="at most 16"):
        rules.principals(given_)


@given(accounts, names)
def test_an_account_root_allows_its_users_and_roles(account: str, name: str) -> None:
    root = f"arn:aws:iam::{account}:root"
    assert rules.allows([root], f"arn:aws:iam::{account}:user/{name}")
    assert rules.allows(["*"], f"arn:aws:iam::{account}:role/{name}")
    assert not rules.allows([f"arn:aws:iam::{account}:user/{name}x"], root)


keys = st.lists(st.from_regex(r"[a-z]{1,8}(-[0-9])?", fullmatch=True), unique=True, max_size=30)


@given(keys, keys, st.integers(min_value=1024, max_value=60000))
def test_ports_are_unique_in_the_pool_and_stable(
    first: list[str], more: list[str], low: int
) -> None:
    pool = range(low, low + 64)
    taken = rules.allocate_ports(first, {}, pool)
    assert len(set(taken.values())) == len(first)
    assert all(p in pool for p in taken.values())
    wanted = first + [k for k in more if k not in first]
    if len(wanted) > len(pool):
        with pytest.raises(Conflict):
            rules.allocate_ports(wanted, taken, pool)
        return
    again = rules.allocate_ports(wanted, taken, pool)
    assert {k: again[k] for k in first} == taken  # kept across changes and restarts
    assert len(set(again.values())) == len(wanted)


def test_kafka_brokers_get_a_unit_each_other_components_one() -> None:
    units = rules.units(
        "kafka", {"kafka": ["a:1", "b:1", "c:1"], "schema_registry": ["a:2", "b:2"]}
    )
    assert [u.key for u in units] == ["kafka", "kafka-0", "kafka-1", "kafka-2", "schema_registry"]
    assert [len(u.targets) for u in units] == [3, 1, 1, 1, 2]


@given(accounts, names)
def test_an_owner_known_only_by_account_is_allowed_by_any_principal_of_it(
    account: str, name: str
) -> None:
    assert rules.allows([f"arn:aws:iam::{account}:role/{name}"], account)
    assert rules.allows(["*"], account)
    other = str(int(account) + 1).zfill(12)[-12:]
    assert not rules.allows([f"arn:aws:iam::{other}:role/{name}"], account)

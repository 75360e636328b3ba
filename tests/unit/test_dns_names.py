"""Connection names and record changes (`privlink.domain.dns`): properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privlink.domain import dns
from privlink.domain.errors import InvalidInput

LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
NAMES = st.lists(LABEL, min_size=2, max_size=5).map(".".join)
SERVICE = st.from_regex(r"[a-z]([a-z0-9]|-(?=[a-z0-9])){0,63}", fullmatch=True)
ADDRESS = st.tuples(st.integers(0, 255), st.integers(0, 255)).map(lambda p: f"127.64.{p[0]}.{p[1]}")
RECORD = st.builds(
    dns.Record,
    name=st.sampled_from(["a.z.example", "b.z.example", "c.a.z.example"]),
    type=st.sampled_from(["A", "TXT"]),
    values=st.lists(ADDRESS, min_size=1, max_size=3).map(lambda v: tuple(sorted(set(v)))),
)


@given(NAMES)
def test_a_valid_name_is_kept_in_one_form(value: str) -> None:
    assert dns.name(value) == value
    assert dns.name(value.upper() + ".") == value


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "com",
        "a..example",
        "-a.example",
        "a-.example",
        "a b.example",
        "é.example",
        "a" * 64 + ".x",
    ],
)
def test_a_bad_name_is_refused_saying_what_is_accepted(bad: str) -> None:
    with pytest.raises(InvalidInput, match=r"accepted: a name such as db\.example\.com"):
        dns.name(bad)


@given(st.lists(RECORD, max_size=6), st.lists(RECORD, max_size=6))
def test_the_changes_turn_what_is_there_into_what_is_wanted(
    wanted: list[dns.Record], current: list[dns.Record]
) -> None:
    want = {(r.name, r.type): r for r in wanted}
    have = {(r.name, r.type): r for r in current}
    upsert, delete = dns.changes(want.values(), have.values())
    for r in delete:
        del have[(r.name, r.type)]
    for r in upsert:
        have[(r.name, r.type)] = r
    assert have == want
    assert not set(upsert) & set(have.values()) - set(want.values())
    if want == {(r.name, r.type): r for r in current}:
        assert (upsert, delete) == ([], [])  # nothing to do: no call


@given(SERVICE, SERVICE, SERVICE, SERVICE)
def test_two_services_never_share_a_subtree(s1: str, p1: str, s2: str, p2: str) -> None:
    """Names of one tenant's service are never under another's (no `a-b` + `c` vs `a` +
    `b-c` meeting), however long the names are."""
    one = dns.service_subtree("pl.example", s1, p1)
    two = dns.service_subtree("pl.example", s2, p2)
    if (s1, p1) != (s2, p2):
        assert one != two
        assert not dns.within(one, two)
        assert not dns.within(two, one)
    assert all(len(label) <= 63 for label in one.split("."))


@given(st.lists(st.tuples(st.sampled_from(["euw1-az1", "euw1-az2"]), ADDRESS), max_size=4))
def test_a_connection_has_a_name_per_node_and_az_under_its_own(
    addresses: list[tuple[str, str]],
) -> None:
    host = dns.connection_host("pl.example", "kafka-1", "shop", "plc0123456789a")
    records = dns.connection_records(host, addresses, ["kafka-0", "kafka-1"])
    if not addresses:
        assert records == []
        return
    every = tuple(sorted({a for _, a in addresses}))
    by_name = {r.name: r.values for r in records}
    assert by_name[host] == every
    assert by_name[f"kafka-1.{host}"] == every
    for az in {az for az, _ in addresses}:
        assert by_name[f"{az}.{host}"] == tuple(sorted({a for z, a in addresses if z == az}))
    assert all(dns.within(r.name, "kafka-1.shop.pl.example") for r in records)


def test_without_addresses_the_names_stand_for_the_endpoints_own() -> None:
    host = dns.connection_host("pl.example", "pg-1", "shop", "plc0123456789a")
    alias = "vpce-0123-abc.vpce-svc-1.eu-west-1.vpce.amazonaws.com."
    records = dns.connection_records(host, [], ["pg-0"], alias=alias)
    assert sorted(records) == sorted(
        [
            dns.Record(host, "CNAME", (alias.rstrip("."),)),
            dns.Record(f"pg-0.{host}", "CNAME", (alias.rstrip("."),)),
        ]
    )


@pytest.mark.parametrize(
    ("kind", "values", "message"),
    [
        ("MX", ["a"], "accepted: A, CNAME, TXT"),
        ("A", ["300.1.1.1"], "IPv4 addresses"),
        ("A", [], "at least one value"),
        ("CNAME", ["a.example", "b.example"], "exactly one value"),
        ("TXT", ["\x00"], r"printable ASCII"),
    ],
)
def test_a_bad_record_is_refused(kind: str, values: list[str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        dns.record("x.example", kind, values)

"""Outbound PrivateLink rules: deployment facts, who may create or delete, observed states."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from privlink.domain import outbound as rules
from privlink.domain import validation
from privlink.domain.cloud import AWS_REGIONS as REGIONS
from privlink.domain.errors import Conflict, Forbidden, InvalidInput, PrivlinkError

labels = st.from_regex(r"[a-z][a-z0-9-]{0,62}", fullmatch=True)
regions = st.sampled_from(sorted(REGIONS))
ENDPOINT_STATES = [
    "pendingAcceptance",
    "PendingAcceptance",
    "pending",
    "available",
    "rejected",
    "failed",
    "expired",
    "deleting",
    "deleted",
    "partial",
    None,
]


@given(regions, labels, labels)
def test_deployment_spans_two_of_the_regions_azs_stably(
    region: str, project: str, name: str
) -> None:
    got_region, azs, role = rules.deployment(project, name, f"aws-{region}")
    assert got_region == region
    assert len(azs) == 2
    assert len(set(azs)) == 2
    assert set(azs) <= set(REGIONS[region])
    assert rules.deployment(project, name, f"aws-{region}") == (got_region, azs, role)
    # The role makes a principal AWS accepts.
    assert validation.principal(f"arn:aws:iam::123456789012:role/{role}")


def test_deployments_are_spread_over_the_azs() -> None:
    seen = {rules.deployment("p", f"svc-{n}", "aws-eu-west-1")[1] for n in range(60)}
    assert len(seen) == 3  # every pair of eu-west-1's three AZ IDs is used


@given(st.sampled_from(ENDPOINT_STATES), st.text(max_size=30), st.booleans())
def test_observed_state_is_total_and_running_only_when_available(
    endpoint_state: str | None, reason: str, service_exists: bool
) -> None:
    state, why = rules.observed(endpoint_state, reason, service_exists)
    assert state in rules.STATES
    assert (state == rules.RUNNING) == (endpoint_state == "available" and service_exists)
    if state == rules.FAILED:
        assert why  # a failed link always says why
    if not service_exists and state == rules.FAILED and endpoint_state != "failed":
        assert "no longer exists" in why


@given(
    plan=st.sampled_from(["dedicated-4", "premium-8", "business-4", "startup-2", "hobbyist"]),
    enabled=st.booleans(),
    linked=st.lists(st.sampled_from("abcdefghij"), unique=True, max_size=10),
    target=st.sampled_from("abcdefghijk"),
    limit=st.integers(1, 12),
)
def test_create_is_refused_exactly_when_a_rule_says_so(
    plan: str, enabled: bool, linked: list[str], target: str, limit: int
) -> None:
    allowed = (
        enabled
        and plan.split("-")[0] in ("dedicated", "premium")
        and target not in linked
        and len(linked) < limit
    )
    try:
        rules.check_can_create(
            plan=plan, feature_enabled=enabled, linked=linked, service_name=target, limit=limit
        )
    except (Forbidden, Conflict) as error:
        assert not allowed
        assert error.message
    else:
        assert allowed


@given(st.sampled_from(rules.STATES), st.lists(st.text(min_size=1, max_size=10), max_size=3))
def test_delete_only_while_running_or_failed_and_unused(state: str, used_by: list[str]) -> None:
    try:
        rules.check_deletable("plo0123456789a", state, used_by)
    except Conflict as error:
        assert state not in rules.DELETABLE or used_by
        assert all(name in error.message for name in used_by) or state not in rules.DELETABLE
    else:
        assert state in rules.DELETABLE
        assert not used_by


@given(st.lists(st.sampled_from(["euw1-az1", "euw1-az2", "euw1-az3"]), unique=True))
def test_az_overlap_is_the_intersection_or_a_refusal_naming_both(service: list[str]) -> None:
    deployment = ["euw1-az2", "euw1-az3"]
    shared = sorted(set(service) & set(deployment))
    if shared:
        assert rules.check_azs(service, deployment, "vpce-svc-x") == shared
    else:
        with pytest.raises(InvalidInput) as refused:
            rules.check_azs(service, deployment, "vpce-svc-x")
        assert "euw1-az2, euw1-az3" in refused.value.message


@given(st.text(max_size=20))
def test_link_ids_are_validated(text: str) -> None:
    assert rules.link_id(rules.new_link_id())
    assert rules.attachment_id(rules.new_attachment_id())
    try:
        rules.link_id(text)
    except PrivlinkError as error:
        assert isinstance(error, InvalidInput)
    else:
        assert len(text) == 14
        assert text.startswith("plo")


@given(st.text(max_size=120), st.sampled_from([*rules.ATTACHMENT_KINDS, "cron", ""]))
def test_attachment_names_are_printable_and_bounded(name: str, kind: str) -> None:
    try:
        rules.attachment(kind, name)
    except InvalidInput:
        assert (
            kind not in rules.ATTACHMENT_KINDS
            or not 1 <= len(name) <= 100
            or not name.isprintable()
            or name != name.strip()
        )
    else:
        assert kind in rules.ATTACHMENT_KINDS
        assert 1 <= len(name) <= 100

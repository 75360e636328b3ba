"""Local-cloud VPCs (issue 15, finding 2): a project's accounts hold at most their quota,
tenants never take the platform's reserve of ranges, and VPCs and subnets can be
deleted, which frees their range."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from privlink.cloud.local import network
from privlink.cloud.local.control import LocalCloud
from privlink.domain.errors import Conflict
from privlink.store.db import make_sessionmaker

REGION = "eu-west-1"


@pytest.fixture
def cloud(migrated: Engine) -> LocalCloud:
    return LocalCloud(make_sessionmaker(migrated), vpc_quota=2)


class TestVpcQuota:
    def test_a_project_holds_at_most_its_quota_over_all_its_accounts(
        self, cloud: LocalCloud
    ) -> None:
        cloud.create_account("a1", project="alpha")
        cloud.create_account("a2", project="alpha")
        cloud.account("a1", REGION).create_vpc("10.0.0.0/16")
        cloud.account("a2", REGION).create_vpc("10.0.0.0/16")
        with pytest.raises(Conflict, match="quota"):
            cloud.account("a2", REGION).create_vpc("10.0.0.0/16")
        cloud.create_account("b1", project="beta")  # another tenant is not affected
        cloud.account("b1", REGION).create_vpc("10.0.0.0/16")
        assert len(cloud.account("a1", REGION).describe_vpcs()) == 1

    def test_deleting_a_vpc_frees_quota_and_range(self, cloud: LocalCloud) -> None:
        cloud.create_account("a1", project="alpha")
        account = cloud.account("a1", REGION)
        first = account.create_vpc("10.0.0.0/16")
        account.create_subnet(first.id, "euw1-az1")
        account.create_vpc("10.0.0.0/16")
        account.delete_vpc(first.id)  # its subnet goes with it
        again = account.create_vpc("10.0.0.0/16")
        assert again.net_index == first.net_index
        assert [sub.vpc_id for sub, _ in account.describe_subnets()] == []

    def test_tenants_never_take_the_platform_reserve(
        self, cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(network, "MAX_VPCS", 4)
        monkeypatch.setattr(network, "PLATFORM_RESERVE", 2)
        cloud.vpc_quota = 10
        cloud.create_account("a1", project="alpha")
        tenant = cloud.account("a1", REGION)
        tenant.create_vpc("10.0.0.0/16")
        tenant.create_vpc("10.0.0.0/16")
        with pytest.raises(Conflict, match="kept for the platform"):
            tenant.create_vpc("10.0.0.0/16")
        platform = cloud.account(cloud.ensure_account("privlink-platform").id, REGION)
        platform.create_vpc("10.0.0.0/16")  # the server's own account may
        platform.create_vpc("10.0.0.0/16")


class TestDeletes:
    def test_a_subnet_in_use_by_a_load_balancer_stays(self, cloud: LocalCloud) -> None:
        cloud.create_account("a1", project="alpha")
        account = cloud.account("a1", REGION)
        vpc = account.create_vpc("10.0.0.0/16")
        subnet = account.create_subnet(vpc.id, "euw1-az1")
        lb = account.create_load_balancer(name="nlb", subnet_ids=[subnet.id])
        with pytest.raises(Conflict, match="load balancer nlb"):
            account.delete_subnet(subnet.id)
        with pytest.raises(Conflict, match="load balancer nlb"):
            account.delete_vpc(vpc.id)
        account.delete_load_balancer(lb.arn)
        account.delete_subnet(subnet.id)
        account.delete_vpc(vpc.id)
        assert account.describe_vpcs() == []


class TestResourceQuota:
    """Accounts, target groups, NLBs, endpoint services and endpoints: per project and kind."""

    @pytest.fixture
    def small(self, migrated: Engine) -> LocalCloud:
        return LocalCloud(make_sessionmaker(migrated), resource_quota=2)

    def test_each_kind_stops_at_the_quota_and_retries_are_free(self, small: LocalCloud) -> None:
        small.create_account("a1", project="alpha")
        small.create_account("a2", project="alpha")
        with pytest.raises(Conflict, match=r"holds 2 local-cloud accounts, its quota .* is 2"):
            small.create_account("a3", project="alpha")
        one, two = small.account("a1", REGION), small.account("a2", REGION)
        one.create_target_group(name="t1", port=80, client_token="tok-1")
        two.create_target_group(name="t2", port=80)
        again = one.create_target_group(name="t1", port=80, client_token="tok-1")
        assert again.name == "t1"  # the same create retried: not a new one
        with pytest.raises(Conflict, match="target groups, its quota"):
            one.create_target_group(name="t3", port=80)
        small.create_account("b1", project="beta")
        small.account("b1", REGION).create_target_group(name="t1", port=80)
        one.delete_target_group(again.arn)
        one.create_target_group(name="t3", port=80)  # freed

    def test_the_operators_accounts_have_no_quota(self, small: LocalCloud) -> None:
        for name in ("o1", "o2", "o3"):
            small.create_account(name)
        ops = small.account("o1", REGION)
        for number in range(3):
            ops.create_target_group(name=f"t{number}", port=80)

    def test_targets_per_group_and_security_groups_per_vpc(
        self, cloud: LocalCloud, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from privlink.cloud import contract as c
        from privlink.domain import cloud as rules

        monkeypatch.setattr(rules, "MAX_TARGETS", 2)
        monkeypatch.setattr(rules, "MAX_SECURITY_GROUPS", 1)
        cloud.create_account("a1", project="alpha")
        account = cloud.account("a1", REGION)
        vpc = account.create_vpc("10.0.0.0/16")
        base = network.vpc_range(vpc.net_index).rsplit(".", 2)[0]
        arn = account.create_target_group(name="web", port=80).arn
        account.register_targets(arn, [c.Target(f"{base}.0.1", 80), c.Target(f"{base}.0.2", 80)])
        with pytest.raises(Conflict, match="at most 2 targets"):
            account.register_targets(arn, [c.Target(f"{base}.0.3", 80)])
        account.create_security_group(vpc.id, "one")
        with pytest.raises(Conflict, match="security groups"):
            account.create_security_group(vpc.id, "two")

"""The local cloud's control side keeps AWS's rules."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from privlink.cloud.contract import Target
from privlink.cloud.local.control import LocalAccount, LocalCloud
from privlink.domain.cloud import HealthCheck
from privlink.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from privlink.store.db import make_sessionmaker

REGION = "eu-west-1"


@dataclass
class World:
    cloud: LocalCloud
    provider: LocalAccount
    customer: LocalAccount
    service_id: str
    service_name: str
    customer_vpc: str
    customer_subnets: list[str]


@pytest.fixture
def world(migrated: Engine) -> Iterator[World]:
    """A provider with an NLB in two AZs behind an endpoint service, and a customer VPC."""
    cloud = LocalCloud(make_sessionmaker(migrated))
    cloud.create_account("provider")
    cloud.create_account("customer")
    provider = cloud.account("provider", REGION)
    customer = cloud.account("customer", REGION)
    vpc = provider.create_vpc("10.0.0.0/16")
    subnets = [provider.create_subnet(vpc.id, az).id for az in ("euw1-az1", "euw1-az2")]
    tg = provider.create_target_group(
        name="tg", port=9000, health_check=HealthCheck(interval=1, timeout=0.5)
    )
    provider.register_targets(tg.arn, [Target("127.0.0.1", 9000)])
    lb = provider.create_load_balancer(name="nlb", subnet_ids=subnets)
    provider.create_listener(load_balancer_arn=lb.arn, port=9000, target_group_arn=tg.arn)
    svc = provider.create_endpoint_service(load_balancer_arns=[lb.arn])
    cvpc = customer.create_vpc("10.1.0.0/16")
    csubs = [customer.create_subnet(cvpc.id, az).id for az in ("euw1-az1", "euw1-az3")]
    return World(cloud, provider, customer, svc.id, svc.name, cvpc.id, csubs)


class TestEndpointServices:
    def test_name_and_azs(self, world: World) -> None:
        svc = world.provider.describe_endpoint_service(world.service_id)
        assert svc.name == f"com.privlink.vpce.eu-west-1.{svc.id}"
        assert svc.az_ids == ("euw1-az1", "euw1-az2")
        assert svc.state == "Available"

    def test_client_token_returns_the_same_service(self, world: World) -> None:
        lb_arn = world.provider.describe_load_balancers()[0].arn
        first = world.provider.create_endpoint_service(
            load_balancer_arns=[lb_arn], client_token="tok-1"
        )
        again = world.provider.create_endpoint_service(
            load_balancer_arns=[lb_arn], client_token="tok-1"
        )
        assert first.id == again.id
        assert len(world.provider.describe_endpoint_services()) == 2

    def test_permissions_add_and_remove(self, world: World) -> None:
        arn = f"arn:aws:iam::{world.customer.account_id}:root"
        world.provider.modify_endpoint_service_permissions(world.service_id, add=[arn, arn])
        assert world.provider.describe_endpoint_service(world.service_id).principals == (arn,)
        world.provider.modify_endpoint_service_permissions(world.service_id, remove=[arn])
        assert world.provider.describe_endpoint_service(world.service_id).principals == ()
        with pytest.raises(InvalidInput, match="Invalid principal"):
            world.provider.modify_endpoint_service_permissions(
                world.service_id, add=["arn:aws:iam::123:root"]
            )


class TestEndpoints:
    def _allow(self, world: World) -> None:
        world.provider.modify_endpoint_service_permissions(
            world.service_id, add=[f"arn:aws:iam::{world.customer.account_id}:root"]
        )

    def test_refused_when_principal_not_allowed(self, world: World) -> None:
        with pytest.raises(Forbidden, match="is not allowed on endpoint service"):
            world.customer.create_endpoint(
                vpc_id=world.customer_vpc,
                service_name=world.service_name,
                subnet_ids=world.customer_subnets,
            )

    def test_refused_when_no_az_matches(self, world: World) -> None:
        self._allow(world)
        with pytest.raises(InvalidInput, match="euw1-az1, euw1-az2"):
            world.customer.create_endpoint(
                vpc_id=world.customer_vpc,
                service_name=world.service_name,
                subnet_ids=world.customer_subnets[1:],
            )

    def test_unknown_service(self, world: World) -> None:
        with pytest.raises(NotFound):
            world.customer.create_endpoint(
                vpc_id=world.customer_vpc,
                service_name="com.privlink.vpce.eu-west-1.vpce-svc-00000000000000000",
                subnet_ids=world.customer_subnets,
            )

    def test_lifecycle_accept_and_addresses(self, world: World) -> None:
        """Only subnets in the service's AZs get an address; accept moves it on."""
        self._allow(world)
        ep = world.customer.create_endpoint(
            vpc_id=world.customer_vpc,
            service_name=world.service_name,
            subnet_ids=world.customer_subnets,
            client_token="c1",
        )
        assert ep.state == "pendingAcceptance"
        assert [a.az_id for a in ep.addresses] == ["euw1-az1"]
        assert ep.addresses[0].address.startswith("127.")
        same = world.customer.create_endpoint(
            vpc_id=world.customer_vpc,
            service_name=world.service_name,
            subnet_ids=world.customer_subnets,
            client_token="c1",
        )
        assert same.id == ep.id
        world.provider.accept_endpoint_connections(world.service_id, [ep.id])
        assert world.customer.describe_endpoint(ep.id).state == "pending"
        world.cloud.mark_provisioned(world.cloud.pending_endpoints())
        assert world.customer.describe_endpoint(ep.id).state == "available"
        with pytest.raises(Conflict, match="must be pendingAcceptance"):
            world.provider.accept_endpoint_connections(world.service_id, [ep.id])

    def test_service_with_live_connection_cannot_be_deleted(self, world: World) -> None:
        self._allow(world)
        ep = world.customer.create_endpoint(
            vpc_id=world.customer_vpc,
            service_name=world.service_name,
            subnet_ids=world.customer_subnets,
        )
        with pytest.raises(Conflict, match="pendingAcceptance"):
            world.provider.delete_endpoint_service(world.service_id)
        world.provider.reject_endpoint_connections(world.service_id, [ep.id])
        assert world.customer.describe_endpoint(ep.id).reason == "rejected by the service owner"
        world.provider.delete_endpoint_service(world.service_id)
        lb_arn = world.provider.describe_load_balancers()[0].arn
        world.provider.delete_load_balancer(lb_arn)

    def test_load_balancer_in_use_cannot_be_deleted(self, world: World) -> None:
        lb_arn = world.provider.describe_load_balancers()[0].arn
        with pytest.raises(Conflict, match="delete the endpoint service first"):
            world.provider.delete_load_balancer(lb_arn)

    def test_other_accounts_resources_are_invisible(self, world: World) -> None:
        with pytest.raises(NotFound):
            world.customer.describe_endpoint_service(world.service_id)


class TestTargets:
    def test_target_health_unused_without_listener(self, world: World) -> None:
        tg = world.provider.create_target_group(name="spare", port=80)
        world.provider.register_targets(tg.arn, [Target("127.0.0.1", 80)])
        assert [h.state for h in world.provider.describe_target_health(tg.arn)] == ["unused"]

    def test_deregistered_target_drains(self, world: World) -> None:
        tg = world.provider.describe_target_groups()[0]
        world.provider.deregister_targets(tg.arn, [Target("127.0.0.1", 9000)])
        assert [h.state for h in world.provider.describe_target_health(tg.arn)] == ["draining"]

    def test_group_in_use_cannot_be_deleted(self, world: World) -> None:
        tg = world.provider.describe_target_groups()[0]
        with pytest.raises(Conflict, match="delete the listener first"):
            world.provider.delete_target_group(tg.arn)

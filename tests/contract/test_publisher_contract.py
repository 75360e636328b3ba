"""One publishing contract, every driver that publishes a service whole: the local cloud
(its Azure region, through `Piecewise`) and Azure through its SDK, whose HTTP is answered
by a hand-written Resource Manager (`azure_arm`) in ARM's documented shapes.

Each case states what a consumer sees: who may connect, what is accepted, which ports
listen, that a repeated publish changes nothing and an unpublish leaves nothing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.pipeline.transport import RequestsTransport
from google.auth.credentials import AnonymousCredentials

from privlink.cloud import contract as c
from privlink.cloud.azure import AzurePublisher
from privlink.cloud.gcp import GooglePublisher
from privlink.cloud.local import dialects
from privlink.cloud.local.control import LocalCloud
from privlink.cloud.local.platform import LocalPlatform
from privlink.domain.cloud import GOOGLE_REGIONS, REGIONS, HealthCheck
from privlink.domain.dns import Record
from privlink.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable
from privlink.store import migrate
from privlink.store.db import make_engine, make_sessionmaker
from tests.contract.azure_arm import Arm, session
from tests.contract.gce_api import Gce, serve

REGION = "westeurope"
GOOGLE = "europe-west1"
OTHER = "99999999-8888-7777-6666-555555555555"


@dataclass
class Side:
    name: str
    publisher: c.Publisher
    network: str
    consumer: str  # a subscription the tests let connect
    other: str  # one they do not, at first
    connect: Callable[[c.Published, str], str]  # (service, subscription) -> endpoint ID
    counts: Callable[[], tuple[int, int]]  # load balancers, services
    listening: Callable[[str], set[int]]  # key -> frontend ports
    arm: Arm | None = None
    restricts: bool = True  # Azure: only listed subscriptions may connect; Google: anyone
    name_pattern: str = r"[a-z0-9-]+\.[0-9a-f-]{36}\.westeurope\.azure\.privatelinkservice"


class Credential:
    """A token credential for the SDK's pipeline (the fake Resource Manager takes any)."""

    def get_token(self, *_scopes: str, **_kw: Any) -> AccessToken:
        return AccessToken("token", int(time.time()) + 3600)

    def get_token_info(self, *_scopes: str, options: Any = None) -> AccessTokenInfo:
        return AccessTokenInfo("token", int(time.time()) + 3600)


def azure_publisher(arm: Arm) -> AzurePublisher:
    transport = RequestsTransport(session=session(arm), session_owner=False)
    return AzurePublisher(
        subscription_id=arm.subscription,
        resource_group="platform",
        location=REGION,
        credential=Credential(),
        transport=transport,
        polling_interval=0,
        retry_backoff_factor=0,
    )


def _local(tmp_path: Path, region: str = REGION) -> Iterator[Side]:
    """The local cloud's Azure (or Google) region, through `Piecewise`."""
    engine = make_engine(f"sqlite:///{tmp_path / 'cloud.db'}")
    migrate.upgrade(engine)
    cloud = LocalCloud(make_sessionmaker(engine))
    platform = LocalPlatform(cloud)
    publisher = platform.publisher(region)
    assert publisher is not None
    zones = REGIONS[region]
    network = platform.project_network(region, "net", "10.0.0.0/24", zones)
    google = region in GOOGLE_REGIONS
    identity = dialects.gcp_project if google else dialects.subscription_id
    # Two customers: a local account is also an Azure subscription and a Google project.
    accounts = {
        identity(made.id): made.id
        for made in (cloud.create_account("customer"), cloud.create_account("other"))
    }
    consumer, other = list(accounts)

    def connect(service: c.Published, who: str) -> str:
        acct = cloud.account(accounts[who], region)
        vpc = acct.create_vpc("10.9.0.0/16")
        subnet = acct.create_subnet(vpc.id, zones[0])
        return acct.create_endpoint(
            vpc_id=vpc.id, service_name=service.name, subnet_ids=[subnet.id]
        ).id

    driver = platform.driver(region)

    def counts() -> tuple[int, int]:
        return len(driver.describe_load_balancers()), len(driver.describe_endpoint_services())

    def listening(key: str) -> set[int]:
        lbs = driver.find_by_tags("load-balancer", {"privlink:privatelink": key})
        return {li.port for lb in lbs for li in driver.describe_listeners(lb)}

    side = Side("local", publisher, network, consumer, other, connect, counts, listening)
    if google:
        side.restricts = False
        side.name_pattern = r"projects/.+/regions/europe-west1/serviceAttachments/vpce-svc-.+"
    yield side
    engine.dispose()


def _azure() -> Side:
    arm = Arm()
    network = arm.virtual_network("platform", "privlink-net")
    publisher = azure_publisher(arm)

    def connect(service: c.Published, subscription: str) -> str:
        try:
            return arm.private_endpoint(service.resource_id, subscription)
        except PermissionError as error:
            raise Forbidden(str(error)) from None

    def counts() -> tuple[int, int]:
        return len(arm.of_kind("loadBalancers")), len(arm.of_kind("privateLinkServices"))

    def listening(key: str) -> set[int]:
        lb = next(r for r in arm.of_kind("loadBalancers") if r["name"] == f"privlink-{key}")
        return {r["properties"]["frontendPort"] for r in lb["properties"]["loadBalancingRules"]}

    consumer = "6f1c2a3e-6d2b-4f0e-9a51-5d1f0c9b7e21"
    return Side("azure", publisher, network, consumer, OTHER, connect, counts, listening, arm)


def _google() -> Iterator[Side]:
    with serve(Gce()) as gce:
        network = gce.network("privlink-vpc-1", GOOGLE, "privlink-psc-nat")
        gce.instance(f"{GOOGLE}-b", "node-0", "127.0.0.1")
        publisher = google_publisher(gce)

        def connect(service: c.Published, project: str) -> str:
            return gce.endpoint(service.name, project)

        def counts() -> tuple[int, int]:
            return len(gce.of_kind("forwardingRules")), len(gce.of_kind("serviceAttachments"))

        def listening(key: str) -> set[int]:
            (neg,) = [n for n in gce.of_kind("networkEndpointGroups") if n["name"].endswith(key)]
            return {e["clientDestinationPort"] for e in neg.get("endpoints", [])}

        yield Side(
            "google", publisher, network, "customer-one", "customer-two", connect, counts,
            listening, restricts=False,
            name_pattern=r"projects/platform-project/regions/europe-west1/serviceAttachments/privlink-.+",
        )  # fmt: skip


def google_publisher(gce: Gce) -> GooglePublisher:
    return GooglePublisher(
        project=gce.project,
        region=GOOGLE,
        nat_subnetwork="privlink-psc-nat",
        credentials=AnonymousCredentials(),
        api_endpoint=gce.url,
        dns_endpoint=gce.url,
        retry_initial=0.01,
    )


@pytest.fixture(params=["local-azure", "azure", "local-google", "google"])
def side(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Side]:
    if request.param == "local-azure":
        yield from _local(tmp_path)
    elif request.param == "local-google":
        yield from _local(tmp_path, GOOGLE)
    elif request.param == "azure":
        yield _azure()
    else:
        yield from _google()


def spec(side: Side, key: str = "pl-1", *, open_ports: tuple[int, ...] = (10000,),
         consumers: tuple[str, ...] | None = None) -> c.PublishSpec:  # fmt: skip
    units = (
        c.PublishedUnit("kafka", 10000, (c.Target("127.0.0.1", 9092),), 10000 in open_ports),
        c.PublishedUnit("kafka-0", 10001, (c.Target("127.0.0.1", 9092),), 10001 in open_ports),
    )
    return c.PublishSpec(
        key=key,
        network=side.network,
        units=units,
        consumers=consumers
        if consumers is not None
        else ((side.consumer,) if side.restricts else ()),
        health_check=HealthCheck(interval=5, timeout=2, healthy_threshold=2, unhealthy_threshold=2),
        tags={"privlink:privatelink": key, "privlink:project": "alpha"},
    )


class TestPublish:
    def test_published_once_for_its_consumers(self, side: Side) -> None:
        first = side.publisher.publish(spec(side))
        assert re.fullmatch(side.name_pattern, first.name), first.name
        again = side.publisher.publish(spec(side))
        assert (again.id, again.name, again.resource_id) == (
            first.id,
            first.name,
            first.resource_id,
        )
        assert side.counts() == (1, 1)
        assert side.listening("pl-1") == {10000}  # only the open unit listens

    def test_who_may_connect_and_that_each_waits(self, side: Side) -> None:
        """Azure: only subscriptions the service is visible to may make an endpoint.
        Google: any project may. Either way it waits for the owner's approval."""
        published = side.publisher.publish(spec(side))
        if side.restricts:
            with pytest.raises(Forbidden):
                side.connect(published, side.other)
            assert side.publisher.describe_endpoint_connections(published.id) == []
            side.publisher.publish(spec(side, consumers=(side.consumer, side.other)))
        side.connect(published, side.other)
        (waiting,) = side.publisher.describe_endpoint_connections(published.id)
        assert waiting.state == "pendingAcceptance"
        assert waiting.owner == side.other
        assert waiting.resource_id

    def test_connections_accepted_and_rejected(self, side: Side) -> None:
        both = (side.consumer, side.other) if side.restricts else ()
        published = side.publisher.publish(spec(side, consumers=both))
        one = side.connect(published, side.consumer)
        two = side.connect(published, side.other)  # Google accepts by project
        side.publisher.accept_endpoint_connections(published.id, [one])
        side.publisher.reject_endpoint_connections(published.id, [two])
        states = {e.id: e.state for e in side.publisher.describe_endpoint_connections(published.id)}
        assert states[two] == "rejected"
        assert states[one] in ("pending", "available")  # provisioning, then carrying bytes

    def test_ports_follow_the_open_units(self, side: Side) -> None:
        side.publisher.publish(spec(side, open_ports=(10000, 10001)))
        assert side.listening("pl-1") == {10000, 10001}
        side.publisher.publish(spec(side, open_ports=(10001,)))
        assert side.listening("pl-1") == {10001}
        assert side.counts() == (1, 1)

    def test_unpublish_leaves_nothing_and_may_be_repeated(self, side: Side) -> None:
        published = side.publisher.publish(spec(side))
        side.connect(published, side.consumer)
        side.publisher.publish(spec(side, key="pl-2"))
        side.publisher.unpublish("pl-1")
        side.publisher.unpublish("pl-1")
        assert side.counts() == (1, 1)  # pl-2's
        again = side.publisher.publish(spec(side))
        assert side.counts() == (2, 2)
        assert again.name


class TestDns:
    ZONE = "pl.example.com"

    def test_records_upserted_listed_replaced_deleted(self, side: Side) -> None:
        zone = side.publisher.dns_zone(self.ZONE)
        assert side.publisher.dns_zone(self.ZONE) == zone
        a = Record("plc1.svc.alpha.pl.example.com", "A", ("10.0.0.5",), 60)
        b = Record("kafka-0.plc1.svc.alpha.pl.example.com", "A", ("10.0.0.5",), 60)
        elsewhere = Record("plc2.other.alpha.pl.example.com", "A", ("10.0.0.6",), 60)
        side.publisher.change_dns_records(zone, upsert=[a, b, elsewhere])
        under = "svc.alpha.pl.example.com"
        assert side.publisher.dns_records(zone, under) == sorted([a, b])
        moved = Record(a.name, "A", ("10.0.0.7",), 60)
        side.publisher.change_dns_records(zone, upsert=[moved], delete=[b])
        assert side.publisher.dns_records(zone, under) == [moved]
        side.publisher.change_dns_records(zone, delete=[b])  # gone already: done
        outside = Record("x.example.org", "A", ("10.0.0.8",), 60)
        with pytest.raises(InvalidInput):
            side.publisher.change_dns_records(zone, upsert=[moved], delete=[outside])
        assert side.publisher.dns_records(zone, under) == [moved]


# -- Azure's HTTP: long-running operations, throttling, errors, a step killed midway -------
class TestAzureHttp:
    def test_long_running_operations_are_polled_to_their_end(self) -> None:
        side = _azure()
        assert side.arm is not None
        side.publisher.publish(spec(side))
        polled = [r for r in side.arm.requests if r.startswith("GET /operations/")]
        assert len(polled) >= 3  # the load balancer's, the service's, the health's
        writes = list(side.arm.writes())
        side.publisher.publish(spec(side))
        assert [w for w in side.arm.writes()[len(writes) :] if w.startswith("PUT")] == []

    def test_throttling_is_ridden_through(self) -> None:
        side = _azure()
        assert side.arm is not None
        side.arm.fail(429, "TooManyRequests", match="PUT", times=3)
        published = side.publisher.publish(spec(side))
        assert published.name
        assert side.counts() == (1, 1)

    def test_a_permanent_error_is_reported_and_the_next_pass_finishes(self) -> None:
        side = _azure()
        assert side.arm is not None
        side.arm.fail(400, "InvalidResourceReference", match="privateLinkServices")
        with pytest.raises(InvalidInput, match="InvalidResourceReference"):
            side.publisher.publish(spec(side))
        assert side.counts() == (1, 0)  # the load balancer was made: like a crash between
        side.publisher.publish(spec(side))
        assert side.counts() == (1, 1)

    def test_errors_map_to_what_a_step_does_next(self) -> None:
        side = _azure()
        assert side.arm is not None
        side.arm.fail(403, "AuthorizationFailed", match="loadBalancers")
        with pytest.raises(Forbidden, match="AuthorizationFailed"):
            side.publisher.publish(spec(side))
        side.arm.fail(409, "AnotherOperationInProgress", match="loadBalancers")
        with pytest.raises(Conflict, match="AnotherOperationInProgress") as caught:
            side.publisher.publish(spec(side))
        assert caught.value.temporary  # retried after a backoff, not failed
        side.arm.fail(503, "ServerBusy", match="loadBalancers", times=20)
        with pytest.raises(Unavailable):
            side.publisher.publish(spec(side))
        with pytest.raises(NotFound):
            side.publisher.describe_endpoint_connections("privlink-missing")


def test_project_vnets_are_made_once_and_deleted() -> None:
    """Azure's project networks: a VNet over the project VPC's CIDR whose subnet lets a
    Private Link Service take NAT addresses; made once, deleted."""
    from privlink.cloud.azure import AzureCloud

    arm = Arm()
    transport = RequestsTransport(session=session(arm), session_owner=False)
    cloud = AzureCloud(
        subscription_id=arm.subscription,
        resource_group="platform",
        credential=Credential(),
        transport=transport,
        polling_interval=0,
    )
    vnet = cloud.project_network(REGION, "vpc-1", "10.20.0.0/24")
    assert cloud.project_network(REGION, "vpc-1", "10.20.0.0/24") == vnet
    (made,) = arm.of_kind("virtualNetworks")
    assert made["properties"]["addressSpace"]["addressPrefixes"] == ["10.20.0.0/24"]
    (subnet,) = made["properties"]["subnets"]
    assert subnet["properties"]["privateLinkServiceNetworkPolicies"] == "Disabled"
    published = cloud.publisher(REGION).publish(
        c.PublishSpec(
            key="pl-1",
            network=vnet,
            units=(c.PublishedUnit("pg", 10000, (c.Target("10.20.0.5", 5432),), True),),
            consumers=(OTHER,),
            health_check=HealthCheck(),
            tags={},
        )
    )
    assert published.name.endswith(".westeurope.azure.privatelinkservice")
    cloud.publisher(REGION).unpublish("pl-1")
    cloud.delete_project_network(REGION, "vpc-1")
    cloud.delete_project_network(REGION, "vpc-1")
    assert arm.of_kind("virtualNetworks") == []


def test_clouds_route_by_region_and_name_the_missing_setting(tmp_path: Path) -> None:
    from privlink.cloud.azure import AzureCloud
    from privlink.cloud.clouds import Clouds

    engine = make_engine(f"sqlite:///{tmp_path / 'cloud.db'}")
    migrate.upgrade(engine)
    aws = LocalPlatform(LocalCloud(make_sessionmaker(engine)))
    arm = Arm()
    transport = RequestsTransport(session=session(arm), session_owner=False)

    def azure() -> AzureCloud:
        return AzureCloud(
            subscription_id=arm.subscription,
            resource_group="platform",
            credential=Credential(),
            transport=transport,
            polling_interval=0,
        )

    clouds = Clouds(aws, {"azure": azure})
    assert clouds.publisher("eu-west-1") is None  # AWS: resource by resource
    assert isinstance(clouds.publisher(REGION), AzurePublisher)
    assert clouds.project_network(REGION, "v", "10.1.0.0/24", ()).endswith("/privlink-vpc-v")
    with pytest.raises(InvalidInput, match="PRIVLINK_GCP_PROJECT"):
        clouds.publisher("europe-west1")
    with pytest.raises(InvalidInput, match="publishes services whole"):
        clouds.driver(REGION)
    engine.dispose()

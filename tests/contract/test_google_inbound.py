"""Google Cloud through its SDK against the hand-written Compute and Cloud DNS API
(`gce_api`, real HTTP on loopback): operations waited on, throttling ridden through,
errors mapped, a pass cut short finished by the next; and an inbound PrivateLink
reconciled from create to delete."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.auth.credentials import AnonymousCredentials
from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud import contract as c
from privlink.cloud.gcp import GoogleCloud
from privlink.domain.cloud import HealthCheck
from privlink.domain.errors import Conflict, Forbidden, InvalidInput
from privlink.reconcile import privatelinks as reconciler
from privlink.services import privatelinks, registry, tenancy
from privlink.store.tables import Privatelink, Project, ProjectVpc
from tests.contract.gce_api import Gce, serve
from tests.contract.test_publisher_contract import GOOGLE, google_publisher

CONFIG = reconciler.Config(
    health_check=HealthCheck(interval=5, timeout=5), resync=3600, health_poll=None
)
ZONE = "pl.privlink.internal"


@pytest.fixture
def gce() -> Iterator[Gce]:
    with serve(Gce()) as api:
        api.network("privlink-vpc-1", GOOGLE, "privlink-psc-nat")
        api.instance(f"{GOOGLE}-b", "pg-0", "10.20.0.5")
        yield api


def _spec(key: str = "pl-1") -> c.PublishSpec:
    return c.PublishSpec(
        key=key,
        network="privlink-vpc-1",
        units=(c.PublishedUnit("pg", 10000, (c.Target("10.20.0.5", 5432),), True),),
        consumers=(),
        health_check=HealthCheck(),
        tags={},
    )


class TestHttp:
    def test_operations_are_waited_on_and_an_idle_pass_writes_nothing(self, gce: Gce) -> None:
        publisher = google_publisher(gce)
        published = publisher.publish(_spec())
        assert published.healthy == {"pg": True}  # its node is a VM of the project
        waits = [r for r in gce.requests if r.endswith("/wait")]
        assert len(waits) == 5  # NEG, its endpoint, backend service, rule, attachment
        (neg,) = gce.of_kind("networkEndpointGroups")
        assert neg["networkEndpointType"] == "GCE_VM_IP_PORTMAP"
        (mapped,) = neg["endpoints"]
        assert (mapped["port"], mapped["clientDestinationPort"]) == (5432, 10000)
        assert mapped["instance"].endswith("/zones/europe-west1-b/instances/pg-0")
        (attachment,) = gce.of_kind("serviceAttachments")
        assert attachment["connectionPreference"] == "ACCEPT_MANUAL"
        assert attachment["natSubnets"][0].endswith("/subnetworks/privlink-psc-nat")
        gce.requests.clear()
        publisher.publish(_spec())
        assert gce.writes() == []

    def test_throttling_is_ridden_through(self, gce: Gce) -> None:
        gce.fail(429, "rateLimitExceeded", match="POST", times=3)
        assert google_publisher(gce).publish(_spec()).name.endswith("/privlink-pl-1")
        assert len(gce.of_kind("serviceAttachments")) == 1

    def test_an_operation_ending_in_error_is_finished_by_the_next_pass(self, gce: Gce) -> None:
        publisher = google_publisher(gce)
        gce.fail_operation("INVALID_USAGE", match="serviceAttachments")
        with pytest.raises(InvalidInput, match="INVALID_USAGE"):
            publisher.publish(_spec())
        # The emulated attachment was taken before its operation failed: like a step
        # killed after the call. The next pass finds everything and makes nothing twice.
        publisher.publish(_spec())
        assert [len(gce.of_kind(k)) for k in ("networkEndpointGroups", "backendServices",
                "forwardingRules", "serviceAttachments")] == [1, 1, 1, 1]  # fmt: skip

    def test_errors_map_to_what_a_step_does_next(self, gce: Gce) -> None:
        publisher = google_publisher(gce)
        gce.fail(403, "forbidden", match="networkEndpointGroups")
        with pytest.raises(Forbidden):
            publisher.publish(_spec())
        gce.fail(409, "resourceNotReady", match="POST")
        with pytest.raises(Conflict) as caught:
            publisher.publish(_spec())
        assert caught.value.temporary

    def test_project_networks_with_their_nat_subnetwork(self, gce: Gce) -> None:
        cloud = GoogleCloud(
            project=gce.project,
            nat_subnetwork="psc-nat",
            credentials=AnonymousCredentials(),
            api_endpoint=gce.url,
            dns_endpoint=gce.url,
            retry_initial=0.01,
        )
        name = cloud.project_network(GOOGLE, "vpc-9", "10.30.0.0/24")
        assert cloud.project_network(GOOGLE, "vpc-9", "10.30.0.0/24") == name
        subnets = {s["name"]: s for s in gce.of_kind("subnetworks")}
        assert subnets[name]["ipCidrRange"] == "10.30.0.0/24"
        assert subnets["psc-nat"]["purpose"] == "PRIVATE_SERVICE_CONNECT"
        cloud.delete_project_network(GOOGLE, "vpc-9")
        assert name not in {n["name"] for n in gce.of_kind("networks")}


def _privatelink(sessions: sessionmaker[Session]) -> str:
    with sessions() as s, s.begin():
        project = tenancy.create_project(s, name="alpha")
        tenancy.set_privatelink(s, name="alpha", enabled=True)
        vpc = ProjectVpc(
            id="vpc-1",
            project_id=project.id,
            cloud_name=f"google-{GOOGLE}",
            network_cidr="10.20.0.0/24",
            state="ACTIVE",
            cloud_vpc_id="privlink-vpc-1",
        )
        s.add(vpc)
        service = registry.register_service(
            s,
            project=project,
            name="pg-1",
            service_type="pg",
            cloud_name=f"google-{GOOGLE}",
            plan="business-4",
            components={"pg": ["10.20.0.5:5432"]},
        )
        service.user_config = {"privatelink_access": {"pg": True}}
        service.project_vpc_id = vpc.id
        return privatelinks.create(
            s,
            project=project,
            service_name="pg-1",
            principals=None,
            pool=range(10000, 11000),
            actor="test",
            provider="google",
        ).id


def _states(sessions: sessionmaker[Session], pl_id: str) -> tuple[str | None, list[str]]:
    with sessions() as s:
        pl = s.get(Privatelink, pl_id)
        if pl is None:
            return None, []
        return pl.state, [conn.state for conn in pl.connections]


def test_a_google_privatelink_from_create_to_delete(
    gce: Gce, sessions: sessionmaker[Session]
) -> None:
    publisher = google_publisher(gce)
    pl_id = _privatelink(sessions)

    def run() -> None:
        reconciler.run(sessions, lambda _region: publisher, pl_id, CONFIG)

    run()
    assert _states(sessions, pl_id) == ("active", [])
    with sessions() as s:
        pl = s.get(Privatelink, pl_id)
        assert pl is not None
        attachment = str(pl.aws_service_name)
    assert (
        attachment == f"projects/{gce.project}/regions/{GOOGLE}/serviceAttachments/privlink-{pl_id}"
    )

    psc = gce.endpoint(attachment, "customer-one")
    run()
    assert _states(sessions, pl_id) == ("active", ["pending-user-approval"])
    with sessions() as s, s.begin():
        pl = s.get(Privatelink, pl_id)
        assert pl is not None
        (conn,) = pl.connections
        assert conn.psc_connection_id == psc
        plc = conn.id
        privatelinks.approve(s, pl, plc, user_ip="10.60.0.7", actor="test")
    run()
    (made,) = gce.of_kind("serviceAttachments")
    assert [a["projectIdOrNum"] for a in made["consumerAcceptLists"]] == ["customer-one"]
    assert _states(sessions, pl_id) == ("active", ["active"])
    name = f"{plc}.pg-1.alpha.{ZONE}"
    records = publisher.dns_records(publisher.dns_zone(ZONE), name)
    assert [(r.name, r.values) for r in records] == [(name, ("10.60.0.7",))]

    gce.requests.clear()
    run()
    assert gce.writes() == []

    with sessions() as s, s.begin():
        project = s.query(Project).one()
        privatelinks.delete(
            s, project=project, service_name="pg-1", actor="test", provider="google"
        )
    run()
    assert _states(sessions, pl_id) == (None, [])
    assert gce.of_kind("serviceAttachments") == []
    assert gce.of_kind("networkEndpointGroups") == []
    assert publisher.dns_records(publisher.dns_zone(ZONE), f"pg-1.alpha.{ZONE}") == []

"""An inbound Azure Private Link reconciled against Azure's SDK (its HTTP answered by the
hand-written Resource Manager): published, a customer's private endpoint found, approved,
given its address, named in Azure DNS, looked at again with no write, torn down."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud import contract as c
from privlink.domain.cloud import HealthCheck
from privlink.reconcile import privatelinks as reconciler
from privlink.services import privatelinks, registry, tenancy
from privlink.store.tables import Privatelink, Project, ProjectVpc
from tests.contract.azure_arm import Arm
from tests.contract.test_publisher_contract import azure_publisher

CONFIG = reconciler.Config(
    health_check=HealthCheck(interval=5, timeout=5), resync=3600, health_poll=None
)
SUBSCRIPTION = "6f1c2a3e-6d2b-4f0e-9a51-5d1f0c9b7e21"
ZONE = "pl.privlink.internal"


def _privatelink(sessions: sessionmaker[Session], network: str) -> str:
    """pg-1 in azure-westeurope, in an ACTIVE project VPC on `network`, and its PrivateLink."""
    with sessions() as s, s.begin():
        project = tenancy.create_project(s, name="alpha")
        tenancy.set_privatelink(s, name="alpha", enabled=True)
        vpc = ProjectVpc(
            id="vpc-1",
            project_id=project.id,
            cloud_name="azure-westeurope",
            network_cidr="10.20.0.0/24",
            state="ACTIVE",
            cloud_vpc_id=network,
        )
        s.add(vpc)
        service = registry.register_service(
            s,
            project=project,
            name="pg-1",
            service_type="pg",
            cloud_name="azure-westeurope",
            plan="business-4",
            components={"pg": ["10.20.0.5:5432", "10.20.0.6:5432"]},
        )
        service.user_config = {"privatelink_access": {"pg": True}}
        service.project_vpc_id = vpc.id
        pl = privatelinks.create(
            s,
            project=project,
            service_name="pg-1",
            principals=[SUBSCRIPTION],
            pool=range(10000, 11000),
            actor="test",
            provider="azure",
        )
        return pl.id


def _pl(sessions: sessionmaker[Session], pl_id: str) -> Privatelink | None:
    with sessions() as s:
        pl = s.get(Privatelink, pl_id)
        if pl is not None:
            _ = [conn.state for conn in pl.connections]  # loaded before the session ends
            s.expunge_all()
        return pl


def test_an_azure_privatelink_from_create_to_delete(sessions: sessionmaker[Session]) -> None:
    arm = Arm()
    network = arm.virtual_network("platform", "privlink-net")
    publisher = azure_publisher(arm)
    pl_id = _privatelink(sessions, network)

    def run() -> None:
        reconciler.run(sessions, lambda _region: publisher, pl_id, CONFIG)

    run()
    pl = _pl(sessions, pl_id)
    assert pl is not None
    assert pl.state == "active"
    assert pl.aws_service_name is not None
    assert pl.aws_service_name.endswith(".westeurope.azure.privatelinkservice")
    assert pl.resource_id.endswith(f"/privateLinkServices/privlink-{pl_id}")
    (lb,) = arm.of_kind("loadBalancers")
    (rule,) = lb["properties"]["loadBalancingRules"]  # pg's access is on
    assert rule["properties"]["backendPort"] == 5432
    (pool,) = lb["properties"]["backendAddressPools"]
    addresses = pool["properties"]["loadBalancerBackendAddresses"]
    assert [a["properties"]["ipAddress"] for a in addresses] == ["10.20.0.5", "10.20.0.6"]

    # The customer's private endpoint waits for the customer's approval.
    connection = arm.private_endpoint(pl.resource_id, SUBSCRIPTION)
    run()
    pl = _pl(sessions, pl_id)
    assert pl is not None
    (conn,) = pl.connections
    assert conn.state == "pending-user-approval"
    assert conn.resource_id.startswith(f"/subscriptions/{SUBSCRIPTION}/")
    with sessions() as s, s.begin():
        found = s.get(Privatelink, pl_id)
        assert found is not None
        privatelinks.approve(s, found, conn.id, user_ip=None, actor="test")
    run()
    (pls,) = arm.of_kind("privateLinkServices")
    (asked,) = pls["properties"]["privateEndpointConnections"]
    assert asked["name"] == connection
    assert asked["properties"]["privateLinkServiceConnectionState"]["status"] == "Approved"
    pl = _pl(sessions, pl_id)
    assert pl is not None
    assert pl.connections[0].state == "connected"  # no address reported yet: no name

    with sessions() as s, s.begin():
        found = s.get(Privatelink, pl_id)
        assert found is not None
        privatelinks.set_user_ip(s, found, conn.id, user_ip="10.50.0.4", actor="test")
    run()
    pl = _pl(sessions, pl_id)
    assert pl is not None
    assert pl.connections[0].state == "active"
    name = f"{conn.id}.pg-1.alpha.{ZONE}"
    records = publisher.dns_records(publisher.dns_zone(ZONE), name)
    assert [(r.name, r.type, r.values) for r in records] == [(name, "A", ("10.50.0.4",))]

    # Looked at again with nothing changed: reads only.
    arm.requests.clear()
    run()
    assert [w for w in arm.writes() if not w.endswith("/health")] == []

    with sessions() as s, s.begin():
        project = s.query(Project).one()
        privatelinks.delete(s, project=project, service_name="pg-1", actor="test", provider="azure")
    run()
    assert _pl(sessions, pl_id) is None
    assert arm.of_kind("loadBalancers") == []
    assert arm.of_kind("privateLinkServices") == []
    assert publisher.dns_records(publisher.dns_zone(ZONE), f"pg-1.alpha.{ZONE}") == []
    assert isinstance(publisher, c.Publisher)

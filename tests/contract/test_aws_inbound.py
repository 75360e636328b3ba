"""An inbound PrivateLink on AWS (moto): built, looked at again at idle, swept, torn
down, with every API call counted on the driver's clients.

moto lacks the endpoint-connection API (describe, accept, reject): `Customers` answers it
through botocore hooks, in AWS's documented shapes, from the endpoints it holds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud.aws import AwsPlatform
from privlink.domain.cloud import HealthCheck
from privlink.reconcile import privatelinks as reconciler
from privlink.reconcile import queue, sweep
from privlink.reconcile import vpcs as vpc_reconciler
from privlink.reconcile.runner import Runner
from privlink.services import privatelinks, registry, tenancy, vpcs
from privlink.store.tables import Privatelink, Project
from privlink.testing import LoopThread
from tests.contract.conftest import REGION

CONFIG = reconciler.Config(
    health_check=HealthCheck(interval=5, timeout=5), resync=3600, health_poll=None
)
PRINCIPAL = "arn:aws:iam::210987654321:root"


class Customers:
    """Customer endpoints of the platform's endpoint services, as AWS's connection API
    shows and moves them."""

    def __init__(self, ec2: Any) -> None:
        self.endpoints: dict[str, dict[str, Any]] = {}
        # A before-call hook sees the serialized request: keep the call's own parameters.
        ec2.meta.events.register("before-parameter-build.ec2", self._keep_params)
        for name, answer in (
            ("DescribeVpcEndpointConnections", self._describe),
            ("AcceptVpcEndpointConnections", self._accept),
            ("RejectVpcEndpointConnections", self._reject),
        ):
            ec2.meta.events.register(f"before-call.ec2.{name}", answer)

    def ask(self, endpoint_id: str, service_id: str, owner: str) -> None:
        self.endpoints[endpoint_id] = {
            "VpcEndpointId": endpoint_id,
            "ServiceId": service_id,
            "VpcEndpointOwner": owner,
            "VpcEndpointState": "pendingAcceptance",
            "DnsEntries": [
                {
                    "DnsName": f"{endpoint_id}-1a2b3c4d.{service_id}.eu-west-1.vpce.amazonaws.com",
                    "HostedZoneId": "Z38GZ743OKFT7T",
                }
            ],
        }

    @staticmethod
    def _keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["api_params"] = params

    def _describe(self, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        params = context["api_params"]
        wanted = {v for f in params.get("Filters", []) for v in f["Values"]}
        listed = [e for e in self.endpoints.values() if not wanted or e["ServiceId"] in wanted]
        return AWSResponse("", 200, {}, None), {"VpcEndpointConnections": listed}

    def _move(self, context: dict[str, Any], state: str) -> tuple[AWSResponse, dict[str, Any]]:
        for endpoint_id in context["api_params"]["VpcEndpointIds"]:
            self.endpoints[endpoint_id]["VpcEndpointState"] = state
        return AWSResponse("", 200, {}, None), {"Unsuccessful": []}

    def _accept(self, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return self._move(context, "available")

    def _reject(self, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return self._move(context, "rejected")


def new_privatelink(sessions: sessionmaker[Session], aws: AwsPlatform) -> str:
    """A PostgreSQL service with two nodes in an ACTIVE project VPC, and its PrivateLink."""
    with sessions() as s, s.begin():
        project = tenancy.create_project(s, name="alpha")
        tenancy.set_privatelink(s, name="alpha", enabled=True)
        vpc = vpcs.create_vpc(
            s, project=project, cloud_name=f"aws-{REGION}", network_cidr="10.20.0.0/24"
        )
        service = registry.register_service(
            s,
            project=project,
            name="pg-1",
            service_type="pg",
            cloud_name=f"aws-{REGION}",
            plan="business-4",
            components={"pg": ["10.20.0.5:5432", "10.20.0.6:5432"]},
        )
        vpcs.place_service(s, service=service, project_vpc_id=vpc.id)
        project_id, vpc_id = project.id, vpc.id
    vpc_reconciler.step(sessions, aws, vpc_id)
    with sessions() as s, s.begin():
        project = s.get(Project, project_id)
        assert project is not None
        pl = privatelinks.create(
            s,
            project=project,
            service_name="pg-1",
            principals=[PRINCIPAL],
            pool=range(10000, 11000),
            actor="test",
        )
        return pl.id


def connections(sessions: sessionmaker[Session], pl_id: str) -> dict[str, str]:
    with sessions() as s:
        pl = s.get(Privatelink, pl_id)
        assert pl is not None
        return {conn.vpc_endpoint_id: conn.state for conn in pl.connections}


def state(sessions: sessionmaker[Session], pl_id: str) -> str | None:
    with sessions() as s:
        pl = s.get(Privatelink, pl_id)
        return None if pl is None else pl.state


def test_an_inbound_privatelink_idles_on_a_few_reads_is_swept_and_leaves_nothing(
    aws: AwsPlatform, sessions: sessionmaker[Session]
) -> None:
    driver = aws.driver(REGION)
    customers = Customers(driver.ec2)
    pl_id = new_privatelink(sessions, aws)
    reconciler.run(sessions, aws.driver, pl_id, CONFIG)
    assert state(sessions, pl_id) == "active"

    calls: list[str] = []
    for client in (driver.ec2, driver.elbv2, driver.tagging):
        # Before the parameters are built: every call, the hook-answered one too.
        client.meta.events.register(
            "before-parameter-build", lambda model, **_: calls.append(model.name)
        )
    reconciler.run(sessions, aws.driver, pl_id, CONFIG)  # a resync: nothing has changed
    assert state(sessions, pl_id) == "active"
    assert [c for c in calls if not c.startswith(("Describe", "Get"))] == []  # no change
    # Whatever the number of PrivateLinks in the region: no call lists them all.
    assert sorted(calls) == [
        "DescribeListeners",
        "DescribeTargetHealth",
        "DescribeVpcEndpointConnections",
        "DescribeVpcEndpointServiceConfigurations",  # found by tags
        "DescribeVpcEndpointServiceConfigurations",  # read
        "DescribeVpcEndpointServicePermissions",
        "GetResources",  # the target groups
        "GetResources",  # the load balancer
    ]

    # A customer's endpoint asks to connect: the region's sweep (one listing for every
    # PrivateLink) wakes this one, whose step accepts it.
    with sessions() as s:
        pl = s.get(Privatelink, pl_id)
        assert pl is not None
        assert pl.aws_service_id is not None
        service_id = pl.aws_service_id
    customers.ask("vpce-0123456789abcdef0", service_id, "210987654321")
    customers.ask("vpce-0123456789abcdef1", "vpce-svc-0000000000000000f", "210987654321")
    calls.clear()
    assert sweep.sweep(sessions, aws.driver) == 1
    assert calls == ["DescribeVpcEndpointConnections"]
    reconciler.run(sessions, aws.driver, pl_id, CONFIG)
    assert customers.endpoints["vpce-0123456789abcdef0"]["VpcEndpointState"] == "available"
    assert customers.endpoints["vpce-0123456789abcdef1"]["VpcEndpointState"] == "pendingAcceptance"
    assert connections(sessions, pl_id) == {"vpce-0123456789abcdef0": "active"}
    # Its name is a CNAME to the endpoint's own (AWS shows the owner no addresses).
    zone = aws.driver(REGION).dns_zone(CONFIG.dns_zone)
    records = aws.driver(REGION).dns_records(zone, f"{CONFIG.dns_zone}")
    assert [(r.type, r.values) for r in records] == [
        ("CNAME", (f"vpce-0123456789abcdef0-1a2b3c4d.{service_id}.eu-west-1.vpce.amazonaws.com",))
    ]
    assert records[0].name.endswith(".pg-1.alpha." + CONFIG.dns_zone)
    assert sweep.sweep(sessions, aws.driver) == 0  # as recorded: nothing to wake
    del customers.endpoints["vpce-0123456789abcdef0"]  # the customer deleted it
    assert sweep.sweep(sessions, aws.driver) == 1
    reconciler.run(sessions, aws.driver, pl_id, CONFIG)
    assert connections(sessions, pl_id) == {}
    assert aws.driver(REGION).dns_records(zone, CONFIG.dns_zone) == []

    with sessions() as s, s.begin():
        project = s.scalars(select(Project).where(Project.name == "alpha")).one()
        privatelinks.delete(s, project=project, service_name="pg-1", actor="test")
    reconciler.run(sessions, aws.driver, pl_id, CONFIG)
    assert state(sessions, pl_id) is None
    assert driver.elbv2.describe_target_groups()["TargetGroups"] == []
    assert driver.elbv2.describe_load_balancers()["LoadBalancers"] == []
    services = driver.ec2.describe_vpc_endpoint_service_configurations()
    assert services["ServiceConfigurations"] == []


def test_a_wake_while_a_step_runs_gets_a_step_of_its_own(
    aws: AwsPlatform, sessions: sessionmaker[Session]
) -> None:
    """A change seen while a step runs (e.g. target health, after the step read it) must
    not be lost when the step finishes: the PrivateLink is due again."""
    pl_id = new_privatelink(sessions, aws)
    woken = []

    def step() -> None:
        with sessions() as s, s.begin():
            woken.append(privatelinks.wake_ids(s, [pl_id]))

    queue.run(sessions, Privatelink, pl_id, step, lambda *_: None, resync=3600, backoff=1)
    assert woken == [1]
    with sessions() as s:
        pl = s.get(Privatelink, pl_id)
        assert pl is not None
        assert pl.next_attempt_at is not None
    assert queue.due(sessions, Privatelink) == [pl_id]


async def until(condition: Callable[[], object]) -> None:
    """Wait (at most 30 s) for `condition`, while the runner works on the same loop."""
    for _ in range(600):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in 30 s")


def test_the_runner_sweeps_and_accepts_a_new_endpoint_by_itself(
    aws: AwsPlatform, sessions: sessionmaker[Session]
) -> None:
    """No refresh asked for and no resync due for an hour: the runner's sweep notices
    the customer's endpoint and the woken step accepts it."""
    customers = Customers(aws.driver(REGION).ec2)
    pl_id = new_privatelink(sessions, aws)

    async def scenario() -> dict[str, str]:
        runner = Runner(sessions, aws, resync_interval=3600, config=CONFIG, sweep_interval=0.1)
        runner.start()
        try:
            await until(lambda: state(sessions, pl_id) == "active")
            with sessions() as s:
                pl = s.get(Privatelink, pl_id)
                assert pl is not None
                assert pl.aws_service_id is not None
                customers.ask("vpce-0123456789abcdef0", pl.aws_service_id, "210987654321")
            await until(lambda: connections(sessions, pl_id))
            return connections(sessions, pl_id)
        finally:
            await runner.stop()

    loop = LoopThread()  # a loop of its own: the test's thread may have one running
    try:
        assert loop.run(scenario(), timeout=90) == {"vpce-0123456789abcdef0": "active"}
    finally:
        loop.close()


def test_a_crash_between_publishing_a_name_and_recording_it_leaks_no_record(
    aws: AwsPlatform, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies after Route 53 took a connection's name and before the connection
    was written down; the customer deletes the endpoint meanwhile. The next pass still
    finds the name (the wish was recorded first) and removes it."""
    pl_id = new_privatelink(sessions, aws)
    customers = Customers(aws.driver(REGION).ec2)
    reconciler.run(sessions, aws.driver, pl_id, CONFIG)  # active, no endpoint yet
    with sessions() as s:
        pl = s.get(Privatelink, pl_id)
        assert pl is not None
        service_id = pl.aws_service_id
    assert service_id is not None
    customers.ask("vpce-0123456789abcdef0", service_id, "210987654321")
    real = reconciler._record

    def crash(*args: Any, **kwargs: Any) -> bool:
        if args[4] is not None:  # the write of the connections: the process dies first
            raise SystemExit("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(reconciler, "_record", crash)
    with pytest.raises(SystemExit):
        reconciler.step(sessions, aws.driver, pl_id, CONFIG)
    monkeypatch.setattr(reconciler, "_record", real)
    zone = aws.driver(REGION).dns_zone(CONFIG.dns_zone)
    published = aws.driver(REGION).dns_records(zone, CONFIG.dns_zone)
    assert [r.type for r in published] == ["CNAME"]  # in Route 53, not in the database
    assert connections(sessions, pl_id) == {}

    del customers.endpoints["vpce-0123456789abcdef0"]
    reconciler.run(sessions, aws.driver, pl_id, CONFIG)
    assert aws.driver(REGION).dns_records(zone, CONFIG.dns_zone) == []
    assert state(sessions, pl_id) == "active"

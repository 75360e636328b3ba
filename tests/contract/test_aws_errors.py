"""The AWS driver's errors: temporary ones retried, permanent ones kept with AWS's message.

Errors are injected with botocore's Stubber. Stubbed calls skip botocore's own
retries, so a Throttling here reaches the reconciler, which must retry the step.
"""

from __future__ import annotations

import pytest
from botocore.stub import Stubber
from sqlalchemy.orm import Session, sessionmaker

from privlink.cloud.aws import AwsAccount, AwsPlatform
from privlink.domain import naming
from privlink.domain.cloud import HealthCheck
from privlink.domain.errors import Conflict, InvalidInput, NotFound, PrivlinkError, Unavailable
from privlink.reconcile import outbound as reconciler
from privlink.services import outbound, registry, tenancy
from privlink.store.tables import OutboundLink
from tests.contract.conftest import AZS, REGION


def stubbed(driver: AwsAccount) -> Stubber:
    stubber = Stubber(driver.ec2)
    stubber.activate()
    return stubber


@pytest.mark.parametrize(
    ("code", "status", "raised", "temporary"),
    [
        ("Throttling", 400, Unavailable, True),
        ("RequestLimitExceeded", 400, Unavailable, True),
        ("InternalError", 500, Unavailable, True),
        ("ServiceUnavailable", 503, Unavailable, True),
        ("InvalidParameterValue", 400, InvalidInput, False),
        ("InvalidPrincipal", 400, InvalidInput, False),
        ("InvalidVpcEndpointServiceId.NotFound", 400, NotFound, False),
        ("ResourceInUse", 400, Conflict, False),
        ("IncorrectState", 400, Conflict, True),
        ("DependencyViolation", 400, Conflict, True),
        ("OperationInProgress", 400, Conflict, True),
    ],
)
def test_errors_map_to_temporary_or_permanent_with_the_aws_message(
    aws: AwsPlatform, code: str, status: int, raised: type[PrivlinkError], temporary: bool
) -> None:
    driver = aws.driver(REGION)
    stubber = stubbed(driver)
    stubber.add_client_error(
        "modify_vpc_endpoint_service_permissions",
        service_error_code=code,
        service_message=f"the words of AWS about {code}",
        http_status_code=status,
    )
    with pytest.raises(raised) as error:
        driver.modify_endpoint_service_permissions("vpce-svc-0123456789abcdef0", add=["*"])
    assert f"{code}: the words of AWS about {code}" in str(error.value)
    assert error.value.temporary is temporary


def test_an_unknown_service_name_is_none_not_an_error(aws: AwsPlatform) -> None:
    driver = aws.driver(REGION)
    stubber = stubbed(driver)
    stubber.add_client_error("describe_vpc_endpoint_services", "InvalidServiceName", "nope")
    assert driver.find_endpoint_service(f"com.amazonaws.vpce.{REGION}.vpce-svc-1") is None


# -- a link on AWS (moto) converging through a throttled step ----------------------
def customer_service(aws: AwsPlatform) -> str:
    """An endpoint service in every AZ ID (moto has one account: the customer is us)."""
    driver = aws.driver(REGION)
    vpc = aws.project_network(REGION, "customer", "10.8.0.0/24", AZS)
    subnets = [s.id for s in driver.vpc_subnets(vpc)]
    tg = driver.create_target_group(
        name="app",
        port=8883,
        health_check=HealthCheck(interval=5, timeout=5),
        proxy_protocol_v2=False,
        tags={},
        client_token="app",
        vpc_id=vpc,
    )
    lb = driver.create_load_balancer(name="app", subnet_ids=subnets, tags={}, client_token="app")
    driver.create_listener(load_balancer_arn=lb.arn, port=8883, target_group_arn=tg.arn)
    service = driver.create_endpoint_service(
        load_balancer_arns=[lb.arn], acceptance_required=True, tags={}, client_token="app"
    )
    return service.name


def new_link(sessions: sessionmaker[Session], aws: AwsPlatform, name: str, service: str) -> str:
    with sessions() as s, s.begin():
        project = tenancy.create_project(s, name=name)
        tenancy.set_privatelink(s, name=name, enabled=True)
        registry.register_service(
            s,
            project=project,
            name="mqtt-1",
            service_type="mqtt",
            cloud_name=f"aws-{REGION}",
            plan="dedicated-4",
            components={"mqtt": ["10.1.0.5:1883"]},
        )
        link = outbound.create(
            s,
            project=project,
            service_name="mqtt-1",
            endpoint_service_name=service,
            platform=aws,
            limit=10,
            actor="test",
        )
        return link.id


def link(sessions: sessionmaker[Session], link_id: str) -> tuple[str, str]:
    with sessions() as s:
        row = s.get(OutboundLink, link_id)
        assert row is not None
        return row.state, row.reason


def test_throttling_is_retried_and_the_link_converges(
    aws: AwsPlatform, sessions: sessionmaker[Session]
) -> None:
    link_id = new_link(sessions, aws, "alpha", customer_service(aws))
    stubber = stubbed(aws.driver(REGION))
    stubber.add_client_error("describe_vpc_endpoints", "Throttling", "Rate exceeded", 400)
    reconciler.run(sessions, aws, link_id, reconciler.Config(backoff=0.01))
    stubber.deactivate()
    state, reason = link(sessions, link_id)
    assert state == "creating"
    assert reason == "retrying after: AWS describe_vpc_endpoints: Throttling: Rate exceeded"
    reconciler.run(sessions, aws, link_id, reconciler.Config(backoff=0.01))
    # moto makes endpoints available at once (no acceptance step).
    assert link(sessions, link_id) == ("running", "")
    assert (
        len(
            aws.driver(REGION).find_by_tags(
                "endpoint", naming.finder_tags(naming.Kind.outbound, link_id)
            )
        )
        == 1
    )


def test_a_permanent_error_fails_the_link_with_the_aws_message(
    aws: AwsPlatform, sessions: sessionmaker[Session]
) -> None:
    name = customer_service(aws)
    link_id = new_link(sessions, aws, "alpha", name)
    driver = aws.driver(REGION)
    vpc = aws.deployment_network(REGION, "alpha/mqtt-1", AZS)  # made: its calls are known
    vpcs = driver.ec2.describe_vpcs(VpcIds=[vpc])
    subnets = driver.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])
    services = driver.ec2.describe_vpc_endpoint_services(ServiceNames=[name])
    stubber = stubbed(driver)
    stubber.add_response("describe_vpc_endpoints", {"VpcEndpoints": []})
    stubber.add_response("describe_vpcs", {"Vpcs": vpcs["Vpcs"]})
    stubber.add_response("describe_subnets", {"Subnets": subnets["Subnets"]})
    stubber.add_response(
        "describe_vpc_endpoint_services", {"ServiceDetails": services["ServiceDetails"]}
    )
    stubber.add_response("describe_subnets", {"Subnets": subnets["Subnets"]})
    stubber.add_client_error(
        "create_vpc_endpoint",
        "InvalidParameter",
        "The VPC endpoint service does not support the availability zone of the subnet",
    )
    reconciler.run(sessions, aws, link_id, reconciler.Config())
    stubber.assert_no_pending_responses()
    state, reason = link(sessions, link_id)
    assert state == "failed"
    assert reason == (
        "AWS create_vpc_endpoint: InvalidParameter: The VPC endpoint service does not "
        "support the availability zone of the subnet"
    )


def test_proxy_protocol_v2_and_health_check_reach_aws(aws: AwsPlatform) -> None:
    driver = aws.driver(REGION)
    vpc = aws.project_network(REGION, "pp", "10.9.0.0/24", AZS)
    tg = driver.create_target_group(
        name="pp",
        port=5432,
        health_check=HealthCheck(interval=5, timeout=5, healthy_threshold=2, port=8081),
        proxy_protocol_v2=True,
        tags={"privlink:object": "privatelink/x"},
        client_token="pp",
        vpc_id=vpc,
    )
    assert tg.proxy_protocol_v2
    attributes = driver.elbv2.describe_target_group_attributes(TargetGroupArn=tg.arn)
    values = {a["Key"]: a["Value"] for a in attributes["Attributes"]}
    assert values["proxy_protocol_v2.enabled"] == "true"
    (seen,) = driver.elbv2.describe_target_groups(TargetGroupArns=[tg.arn])["TargetGroups"]
    assert (seen["Protocol"], seen["TargetType"], seen["VpcId"]) == ("TCP", "ip", vpc)
    assert (seen["HealthCheckPort"], seen["HealthCheckIntervalSeconds"]) == ("8081", 5)
    assert seen["HealthCheckTimeoutSeconds"] == 4  # below the interval, as AWS requires
    assert seen["HealthyThresholdCount"] == 2


def test_describes_follow_every_page(aws: AwsPlatform) -> None:
    driver = aws.driver(REGION)
    stubber = stubbed(driver)
    service = "vpce-svc-0123456789abcdef0"
    filters = [{"Name": "service-id", "Values": [service]}]

    def page(endpoint: str) -> dict[str, object]:
        return {
            "ServiceId": service,
            "VpcEndpointId": endpoint,
            "VpcEndpointOwner": "210987654321",
            "VpcEndpointState": "available",
        }

    stubber.add_response(
        "describe_vpc_endpoint_connections",
        {"VpcEndpointConnections": [page("vpce-0000000000000000a")], "NextToken": "more"},
        {"Filters": filters},
    )
    stubber.add_response(
        "describe_vpc_endpoint_connections",
        {"VpcEndpointConnections": [page("vpce-0000000000000000b")]},
        {"Filters": filters, "NextToken": "more"},
    )
    seen = driver.describe_endpoint_connections(service)
    assert [e.id for e in seen] == ["vpce-0000000000000000a", "vpce-0000000000000000b"]
    assert {e.owner for e in seen} == {"210987654321"}
    stubber.assert_no_pending_responses()


# -- the cloud API budget -----------------------------------------------------------------
def test_the_token_bucket_spaces_calls_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """`burst` calls at once, then one every 1/rate seconds."""
    from privlink.cloud import aws as driver_module

    now = [0.0]
    slept: list[float] = []
    monkeypatch.setattr(
        driver_module.time, "sleep", lambda s: (slept.append(s), now.__setitem__(0, now[0] + s))
    )
    bucket = driver_module.TokenBucket(rate=5, burst=2, clock=lambda: now[0])
    for _ in range(4):
        bucket.take()
    assert slept == pytest.approx([0.2, 0.2])
    now[0] += 10  # idle: the bucket refills, up to its burst
    bucket.take()
    bucket.take()
    assert len(slept) == 2


def test_an_idle_step_costs_a_few_reads_and_no_change(
    aws: AwsPlatform, sessions: sessionmaker[Session]
) -> None:
    """Counted on the clients: a running link looked at again with nothing changed reads a
    handful of times and changes nothing. Per hour, at the default 300 s interval (each
    object every 150-300 s), that is about 16 x this per object."""
    link_id = new_link(sessions, aws, "alpha", customer_service(aws))
    config = reconciler.Config(backoff=0.01)
    for _ in range(10):  # moto accepts at once: creating, then running
        if link(sessions, link_id)[0] == "running":
            break
        reconciler.run(sessions, aws, link_id, config)
    driver = aws.driver(REGION)
    calls: list[str] = []
    for client in (driver.ec2, driver.elbv2):
        client.meta.events.register("before-call", lambda model, **_: calls.append(model.name))
    reconciler.run(sessions, aws, link_id, config)
    assert link(sessions, link_id)[0] == "running"
    reads = [c for c in calls if c.startswith("Describe")]
    assert reads == calls  # no change at idle
    # DescribeVpcEndpoints (x2), DescribeNetworkInterfaces, DescribeVpcEndpointServices
    assert 1 <= len(reads) <= 4, calls

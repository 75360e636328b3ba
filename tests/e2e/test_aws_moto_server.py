"""Black box: `privlink serve` with PRIVLINK_CLOUD=aws against a moto_server on loopback.

An inbound PrivateLink goes `active` (an NLB, target groups, listeners and an endpoint
service exist in "AWS"), then is deleted, leaving none of them behind.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from typer.testing import CliRunner

from privlink.commands.root import app
from tests.e2e.server import Server
from tests.support import free_port, wait_for

runner = CliRunner()
REGION = "eu-west-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture
def moto_url() -> Iterator[str]:
    port = free_port()
    moto = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/moto-api/", timeout=1).status_code < 500
        except httpx.TransportError:
            return False

    try:
        wait_for(up, timeout=90)
        yield url
    finally:
        moto.terminate()
        moto.wait(10)


def cli(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_inbound_privatelink_on_aws_goes_active_and_leaves_nothing(
    tmp_path: Path, moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws_env = {**CREDENTIALS, "AWS_ENDPOINT_URL": moto_url, "AWS_DEFAULT_REGION": REGION}
    server = Server(
        tmp_path / "state", PRIVLINK_CLOUD="aws", PRIVLINK_RESYNC_INTERVAL="2", **aws_env
    ).start()
    monkeypatch.setenv("PRIVLINK_DATA_DIR", str(server.data_dir))
    cli("admin", "project", "create", "shop")
    cli("admin", "project", "update", "shop", "--enable-privatelink")
    cli(
        "admin", "service", "register", "kafka-1", "--project", "shop", "--type", "kafka",
        "--cloud", "aws-eu-west-1", "--plan", "business-4",
        "--node", "kafka=10.0.0.11:9092", "--node", "kafka=10.0.0.12:9092",
    )  # fmt: skip
    session = boto3.Session(region_name=REGION, **{k.lower(): v for k, v in CREDENTIALS.items()})
    elbv2 = session.client("elbv2", endpoint_url=moto_url)
    ec2 = session.client("ec2", endpoint_url=moto_url)
    headers = {"Authorization": f"aivenv1 {server.token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as api:
        vpc = api.post(
            "/v1/project/shop/vpcs",
            json={"cloud_name": "aws-eu-west-1", "network_cidr": "10.0.0.0/24"},
        ).json()["project_vpc_id"]
        wait_for(lambda: api.get(f"/v1/project/shop/vpcs/{vpc}").json()["state"] == "ACTIVE")
        cloud_vpc = ec2.describe_vpcs(
            Filters=[{"Name": "tag:privlink:project-vpc", "Values": [vpc]}]
        )
        assert len(cloud_vpc["Vpcs"]) == 1
        api.put(
            "/v1/project/shop/service/kafka-1",
            json={"project_vpc_id": vpc, "user_config": {"privatelink_access": {"kafka": True}}},
        ).raise_for_status()
        base = "/v1/project/shop/service/kafka-1/privatelink/aws"
        principal = "arn:aws:iam::210987654321:root"
        created = api.post(base, json={"principals": [principal]}).json()
        assert created["state"] == "creating"
        wait_for(lambda: api.get(base).json()["state"] == "active", timeout=120)
        pl = api.get(base).json()
        assert pl["aws_service_id"].startswith("vpce-svc-")
        assert pl["aws_service_name"].startswith("com.amazonaws.vpce.eu-west-1.")

        lbs = elbv2.describe_load_balancers()["LoadBalancers"]
        assert [lb["Scheme"] for lb in lbs] == ["internal"]
        groups = elbv2.describe_target_groups()["TargetGroups"]
        assert len(groups) == 3  # bootstrap + one per broker
        listeners = elbv2.describe_listeners(LoadBalancerArn=lbs[0]["LoadBalancerArn"])
        assert len(listeners["Listeners"]) == 3
        services = ec2.describe_vpc_endpoint_service_configurations()["ServiceConfigurations"]
        assert [s["ServiceId"] for s in services] == [pl["aws_service_id"]]
        allowed = ec2.describe_vpc_endpoint_service_permissions(ServiceId=pl["aws_service_id"])
        assert [p["Principal"] for p in allowed["AllowedPrincipals"]] == [principal]
        tags = {t["Key"]: t["Value"] for t in services[0].get("Tags", [])}
        assert tags["privlink:project"] == "shop"

        api.delete(base).raise_for_status()
        wait_for(lambda: api.get(base).status_code == 404, timeout=120)
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert elbv2.describe_target_groups()["TargetGroups"] == []
    left = ec2.describe_vpc_endpoint_service_configurations()["ServiceConfigurations"]
    assert [s for s in left if s.get("ServiceState") not in ("Deleted", "Deleting")] == []
    server.stop()

"""Every refusal of the inbound API: a 4xx whose message says what to do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from privlink.cloud.local.control import LocalCloud
from privlink.domain.cloud import HealthCheck
from privlink.reconcile import privatelinks as reconciler
from privlink.services import tenancy
from privlink.store.tables import ProjectVpc, Service
from tests.support import running_app

ARN = "arn:aws:iam::123456789012:root"
BASE = "/v1/project/alpha/service/{name}/privatelink/aws"


class Desk:
    """The API without a reconciler: objects stay where the requests put them."""

    def __init__(self, client: TestClient, token: str, admin: str, engine: Any) -> None:
        self.client, self.token, self.admin = client, token, admin
        self.sessions = client.app.state.privlink.sessions  # type: ignore[attr-defined]

    def request(self, method: str, path: str, **kw: Any) -> Any:
        return self.client.request(
            method, path, headers={"Authorization": f"aivenv1 {self.token}"}, **kw
        )

    def refused(self, status: int, method: str, path: str, **kw: Any) -> str:
        response = self.request(method, path, **kw)
        assert response.status_code == status, response.text
        body = response.json()
        assert body["errors"][0]["status"] == status
        message: str = body["message"]
        return message

    def service(
        self,
        name: str,
        kind: str = "kafka",
        plan: str = "business-4",
        in_vpc: bool = True,
        cloud: str = "aws-eu-west-1",
    ) -> str:
        component = {"kafka": "kafka", "cassandra": "cassandra", "pg": "pg"}[kind]
        response = self.client.post(
            "/v1/project/alpha/service",
            json={
                "service_name": name,
                "service_type": kind,
                "cloud_name": cloud,
                "plan": plan,
                "components": {component: ["127.0.0.1:9092"]},
            },
            headers={"Authorization": f"aivenv1 {self.admin}"},
        )
        assert response.status_code == 201, response.text
        if in_vpc:
            with self.sessions() as s, s.begin():
                service = s.query(Service).filter_by(name=name).one()
                vpc = ProjectVpc(
                    id=f"vpc-{name}",
                    project_id=service.project_id,
                    cloud_name=cloud,
                    network_cidr="10.0.0.0/24",
                    state="ACTIVE",
                )
                s.add(vpc)
                s.flush()
                service.project_vpc_id = vpc.id
        provider = cloud.split("-", 1)[0]
        return BASE.format(name=name).replace("/aws", f"/{provider}")


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    with running_app(tmp_path, run_dataplane=False) as app:
        yield Desk(app.client, app.token, app.admin, app.engine)


class TestPrincipals:
    @pytest.mark.parametrize(
        "principal",
        [
            "arn:aws:iam::12345:root",
            "arn:aws:sts::123456789012:assumed-role/x/y",
            "arn:aws:iam::123456789012:user/path/name",
            "not-an-arn",
        ],
    )
    def test_malformed_arn(self, desk: Desk, principal: str) -> None:
        path = desk.service("kafka-1")
        message = desk.refused(400, "POST", path, json={"principals": [principal]})
        assert "arn:aws:iam::" in message

    def test_seventeen_principals(self, desk: Desk) -> None:
        path = desk.service("kafka-1")
        many = [f"arn:aws:iam::{100000000000 + i}:root" for i in range(17)]
        message = desk.refused(400, "POST", path, json={"principals": many})
        assert "at most 16" in message

    @pytest.mark.parametrize("body", [{"principals": None}, {"principals": []}, {}])
    def test_no_principals(self, desk: Desk, body: dict[str, Any]) -> None:
        path = desk.service("kafka-1")
        assert "at least one principal" in desk.refused(400, "POST", path, json=body)


class TestGating:
    def test_cassandra(self, desk: Desk) -> None:
        path = desk.service("cass-1", kind="cassandra")
        message = desk.refused(400, "POST", path, json={"principals": [ARN]})
        assert "not supported for cassandra" in message

    def test_outside_a_project_vpc(self, desk: Desk) -> None:
        path = desk.service("kafka-1", in_vpc=False)
        message = desk.refused(400, "POST", path, json={"principals": [ARN]})
        assert "avn vpc create" in message
        assert "--project-vpc-id" in message

    def test_project_without_the_feature(self, desk: Desk) -> None:
        path = desk.service("kafka-1")
        with desk.sessions() as s, s.begin():
            tenancy.set_privatelink(s, name="alpha", enabled=False)
        message = desk.refused(400, "POST", path, json={"principals": [ARN]})
        assert "--enable-privatelink" in message

    def test_plan_without_it(self, desk: Desk) -> None:
        path = desk.service("kafka-1", plan="startup-2")
        message = desk.refused(400, "POST", path, json={"principals": [ARN]})
        assert "upgrade" in message

    def test_unknown_component_in_access(self, desk: Desk) -> None:
        desk.service("kafka-1")
        message = desk.refused(
            400,
            "PUT",
            "/v1/project/alpha/service/kafka-1",
            json={"user_config": {"privatelink_access": {"kafka_streams": True}}},
        )
        assert "kafka, kafka_connect, kafka_rest, schema_registry" in message


class TestLifecycleRefusals:
    def test_second_create(self, desk: Desk) -> None:
        path = desk.service("kafka-1")
        assert desk.request("POST", path, json={"principals": [ARN]}).status_code == 200
        message = desk.refused(409, "POST", path, json={"principals": [ARN]})
        assert "already has" in message
        assert "update" in message

    def test_update_or_delete_while_deleting(self, desk: Desk) -> None:
        path = desk.service("kafka-1")
        desk.request("POST", path, json={"principals": [ARN]})
        assert desk.request("DELETE", path).json()["state"] == "deleting"
        assert "being deleted" in desk.refused(409, "PUT", path, json={"principals": [ARN]})
        assert "being deleted" in desk.refused(409, "DELETE", path)
        assert "being deleted" in desk.refused(409, "POST", path + "/refresh")
        # Nothing was lost: the object still waits for its deletion.
        assert desk.request("GET", path).json()["principals"] == [ARN]

    def test_moving_the_service_out_of_its_vpc(self, desk: Desk) -> None:
        path = desk.service("kafka-1")
        desk.request("POST", path, json={"principals": [ARN]})
        message = desk.refused(
            409, "PUT", "/v1/project/alpha/service/kafka-1", json={"project_vpc_id": None}
        )
        assert "privatelink aws delete kafka-1" in message

    def test_missing_privatelink(self, desk: Desk) -> None:
        path = desk.service("kafka-1")
        for method in ("GET", "DELETE"):
            assert "privatelink aws create" in desk.refused(404, method, path)

    def test_unknown_connection(self, desk: Desk) -> None:
        path = desk.service("kafka-1")
        desk.request("POST", path, json={"principals": [ARN]})
        message = desk.refused(404, "GET", path + "/connections/plc0123456789a")
        assert "connection list" in message
        assert "plc + 11 hex" in desk.refused(400, "GET", path + "/connections/plc-nope")

    def test_port_pool_exhausted(self, desk: Desk, tmp_path: Path) -> None:
        desk.client.app.state.privlink.settings.kafka_port_pool = "10000-10000"  # type: ignore[attr-defined]
        path = desk.service("kafka-1")
        message = desk.refused(409, "POST", path, json={"principals": [ARN]})
        assert "PRIVLINK_KAFKA_PORT_POOL" in message


class TestFailed:
    def test_a_permanent_cloud_refusal_fails_the_object_and_an_update_retries(
        self, desk: Desk
    ) -> None:
        path = desk.service("kafka-1")
        desk.request("POST", path, json={"principals": [ARN]})
        pl_id = desk.request("GET", path + "/status").json()["privatelink"]["id"]
        # The project VPC row was made by hand: give it a platform network to build in.
        cloud = LocalCloud(desk.sessions)
        cloud.ensure_account("privlink-platform")
        platform = cloud.account("privlink-platform", "eu-west-1")
        network = platform.create_vpc("10.0.0.0/16")
        platform.create_subnet(network.id, "euw1-az1")
        with desk.sessions() as s, s.begin():
            s.get(ProjectVpc, "vpc-kafka-1").cloud_vpc_id = network.id  # type: ignore[union-attr]
        # Someone took the name the reconciler needs for its first target group.
        platform.create_target_group(name=f"pl-{pl_id[:8]}-10000", port=1)
        config = reconciler.Config(health_check=HealthCheck())

        reconciler.run(desk.sessions, lambda region: platform, pl_id, config)
        failed = desk.request("GET", path + "/status").json()["privatelink"]
        assert failed["state"] == "failed"
        assert "already exists" in failed["reason"]
        assert desk.request("GET", path).json()["state"] == "failed"

        platform.delete_target_group(platform.describe_target_groups()[0].arn)
        retried = desk.request("PUT", path, json={"principals": [ARN]})
        assert retried.json()["state"] == "creating"
        reconciler.run(desk.sessions, lambda region: platform, pl_id, config)
        assert desk.request("GET", path).json()["state"] == "active"
        events = desk.request("GET", "/v1/project/alpha/events").json()["events"]
        states = [e["state"] for e in events if e["kind"] == "privatelink"]
        assert states == ["creating", "failed", "creating", "active"]


class TestAzureAndGoogleRefusals:
    """Bad input to Azure and Google PrivateLinks changes nothing and says what is wanted."""

    SUBSCRIPTION = "7551cbbb-5863-5385-896e-7b6df2a92c1c"

    def _waiting(self, desk: Desk, path: str, plc: str) -> None:
        """A connection the reconciler would have found, waiting for approval."""
        from privlink.store.tables import Privatelink, PrivatelinkConnection

        with desk.sessions() as s, s.begin():
            pl = s.query(Privatelink).one()
            pl.connections.append(
                PrivatelinkConnection(
                    id=plc, vpc_endpoint_id="vpce-0", owner="x", state="pending-user-approval"
                )
            )

    def test_azure(self, desk: Desk) -> None:
        path = desk.service("az-1", cloud="azure-westeurope")
        for body, text in [
            ({"user_subscription_ids": ["nope"]}, "Invalid Azure subscription ID"),
            ({"user_subscription_ids": ["1234"]}, "Invalid Azure subscription ID"),
            (
                {
                    "user_subscription_ids": [
                        f"{i:08d}-0000-0000-0000-000000000000" for i in range(17)
                    ]
                },
                "at most 16",
            ),
            ({"user_subscription_ids": []}, "at least one"),
            ({}, "user_subscription_ids"),
        ]:
            assert text in desk.refused(400, "POST", path, json=body)
        desk.refused(404, "GET", path)
        body = {"user_subscription_ids": [self.SUBSCRIPTION]}
        assert desk.request("POST", path, json=body).status_code == 200
        assert "already has an Azure Private Link" in desk.refused(409, "POST", path, json=body)
        plc = "plc0123456789a"
        self._waiting(desk, path, plc)
        desk.refused(404, "POST", f"{path}/connections/plc00000000000/approve")
        desk.refused(400, "POST", f"{path}/connections/nope/approve")
        ip = {"user_ip_address": "10.0.0.4"}
        assert "approve it first" in desk.refused(409, "PUT", f"{path}/connections/{plc}", json=ip)
        bad = {"user_ip_address": "10.0.0.256"}
        assert "Invalid IP" in desk.refused(400, "PUT", f"{path}/connections/{plc}", json=bad)
        listed = desk.request("GET", f"{path}/connections").json()["connections"]
        assert listed == [
            {
                "privatelink_connection_id": plc,
                "private_endpoint_id": "",
                "state": "pending-user-approval",
                "user_ip_address": None,
            }
        ]
        assert desk.request("DELETE", path).json()["state"] == "deleting"
        for method, suffix, payload in [
            ("PUT", "", body),
            ("DELETE", "", None),
            ("POST", "/refresh", None),
            ("POST", f"/connections/{plc}/approve", None),
            ("PUT", f"/connections/{plc}", ip),
        ]:
            assert "being deleted" in desk.refused(409, method, path + suffix, json=payload)

    def test_google(self, desk: Desk) -> None:
        path = desk.service("gc-1", cloud="google-europe-west1")
        assert "Unknown field" in desk.refused(400, "POST", path, json={"principals": [ARN]})
        assert desk.request("POST", path, json={}).status_code == 200
        assert "already has a Google" in desk.refused(409, "POST", path, json={})
        plc = "plc0123456789a"
        self._waiting(desk, path, plc)
        approve = f"{path}/connections/{plc}/approve"
        for value, text in [("300.0.0.1", "Invalid IP"), ("", "Invalid IP")]:
            message = desk.refused(400, "POST", approve, json={"user_ip_address": value})
            assert text in message
        assert "user_ip_address" in desk.refused(400, "POST", approve, json={})
        (conn,) = desk.request("GET", f"{path}/connections").json()["connections"]
        assert conn["state"] == "pending-user-approval"
        assert conn["user_ip_address"] is None
        ok = desk.request("POST", approve, json={"user_ip_address": "10.0.0.4"})
        assert ok.json()["state"] == "user-approved"
        assert desk.request("DELETE", path).json()["state"] == "deleting"
        for method, suffix in [("DELETE", ""), ("POST", "/refresh"), ("POST", "/connections/x")]:
            response = desk.request(method, path + suffix, json={"user_ip_address": "10.0.0.4"})
            assert response.status_code in (404, 405, 409), response.text
        message = desk.refused(409, "POST", approve, json={"user_ip_address": "10.0.0.5"})
        assert "being deleted" in message

    def test_the_cloud_decides_the_flow(self, desk: Desk) -> None:
        path = desk.service("az-2", cloud="azure-westeurope")
        aws = path.replace("/azure", "/aws")
        message = desk.refused(400, "POST", aws, json={"principals": [ARN]})
        assert "runs in azure-westeurope" in message
        assert "privatelink azure create" in message
        desk.refused(400, "POST", path.replace("/azure", "/google"), json={})
        desk.refused(404, "GET", aws)

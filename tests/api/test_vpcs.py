"""Project VPCs reach ACTIVE through the reconciler, hold services, and go away."""

from __future__ import annotations

from typing import Any

from tests.api.test_auth import assert_error_shape
from tests.api.test_services import KAFKA, register
from tests.conftest import Api
from tests.support import wait_for


def vpc_state(api: Api, vpc_id: str) -> str:
    response = api.client.get(f"/v1/project/alpha/vpcs/{vpc_id}", headers=api.auth(api.alpha))
    if response.status_code == 404:
        return "GONE"
    state: str = response.json()["state"]
    return state


def create_vpc(api: Api, cloud: str = "aws-eu-west-1", status: int = 201) -> dict[str, Any]:
    response = api.client.post(
        "/v1/project/alpha/vpcs",
        json={"cloud_name": cloud, "network_cidr": "10.1.0.0/24", "peering_connections": []},
        headers=api.auth(api.alpha),
    )
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


class TestProjectVpcs:
    def test_lifecycle_with_a_service(self, api: Api) -> None:
        """APPROVED -> ACTIVE; a service moves in; delete refused until it moves out."""
        vpc = create_vpc(api)
        assert vpc["state"] == "APPROVED"
        wait_for(lambda: vpc_state(api, vpc["project_vpc_id"]) == "ACTIVE")
        cloud = api.client.app.state.privlink.cloud  # type: ignore[attr-defined]
        platform = cloud.account("privlink-platform", "eu-west-1")
        networks = [
            v
            for v in platform.describe_vpcs()
            if v.tags.get("privlink:project-vpc") == vpc["project_vpc_id"]
        ]
        assert len(networks) == 1
        assert {s.az_id for s, _ in platform.describe_subnets(networks[0].id)} == {
            "euw1-az1",
            "euw1-az2",
            "euw1-az3",
        }

        register(api, KAFKA)
        moved = api.client.put(
            "/v1/project/alpha/service/kafka-1",
            json={"project_vpc_id": vpc["project_vpc_id"]},
            headers=api.auth(api.alpha),
        )
        assert moved.json()["service"]["project_vpc_id"] == vpc["project_vpc_id"]
        refused = api.client.delete(
            f"/v1/project/alpha/vpcs/{vpc['project_vpc_id']}", headers=api.auth(api.alpha)
        )
        assert "still holds service(s) kafka-1" in assert_error_shape(refused.json(), 409)
        api.client.put(
            "/v1/project/alpha/service/kafka-1",
            json={"project_vpc_id": None},
            headers=api.auth(api.alpha),
        )
        deleting = api.client.delete(
            f"/v1/project/alpha/vpcs/{vpc['project_vpc_id']}", headers=api.auth(api.alpha)
        )
        assert deleting.json()["state"] == "DELETING"
        wait_for(lambda: vpc_state(api, vpc["project_vpc_id"]) == "GONE")
        assert not [
            v
            for v in platform.describe_vpcs()
            if v.tags.get("privlink:project-vpc") == vpc["project_vpc_id"]
        ]

    def test_one_vpc_per_cloud_and_valid_input(self, api: Api) -> None:
        create_vpc(api)
        assert "one VPC per cloud" in create_vpc(api, status=409)["message"]
        assert "a cloud privlink knows" in create_vpc(api, cloud="gcp-x", status=400)["message"]
        bad = api.client.post(
            "/v1/project/alpha/vpcs",
            json={"cloud_name": "aws-eu-west-1", "network_cidr": "8.8.8.0/24"},
            headers=api.auth(api.alpha),
        )
        assert "private IPv4 network" in bad.json()["message"]

    def test_service_must_match_the_vpc_cloud(self, api: Api) -> None:
        vpc = create_vpc(api, cloud="aws-us-east-1")
        register(api, KAFKA)
        response = api.client.put(
            "/v1/project/alpha/service/kafka-1",
            json={"project_vpc_id": vpc["project_vpc_id"]},
            headers=api.auth(api.alpha),
        )
        assert "runs in aws-eu-west-1" in assert_error_shape(response.json(), 400)

    def test_other_projects_vpcs_are_invisible(self, api: Api) -> None:
        vpc = create_vpc(api)
        response = api.client.get(
            f"/v1/project/beta/vpcs/{vpc['project_vpc_id']}", headers=api.auth(api.beta)
        )
        assert response.status_code == 404


class TestAvailability:
    def test_empty_until_the_operator_enables_it(self, api: Api) -> None:
        path = "/v1/project/alpha/privatelink-availability"
        assert api.client.get(path, headers=api.auth(api.alpha)).json() == {
            "privatelink_availability": []
        }
        state = api.client.app.state.privlink  # type: ignore[attr-defined]
        from privlink.services import tenancy

        with state.sessions() as session, session.begin():
            tenancy.set_privatelink(session, name="alpha", enabled=True)
        clouds = api.client.get(path, headers=api.auth(api.alpha)).json()
        offered = clouds["privatelink_availability"]
        for cloud in ("aws-eu-west-1", "azure-westeurope", "google-europe-west1"):
            assert {"cloud_name": cloud, "price_usd": "0.00"} in offered

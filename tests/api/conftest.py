"""API test fixtures: the local cloud's customer API as account `acme` of project alpha."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api


class CloudApi:
    def __init__(self, api: Api) -> None:
        self.api = api

    def call(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        response = self.api.client.request(
            method, f"/v1/cloud{path}", json=body, headers=self.api.auth(self.api.alpha)
        )
        assert response.status_code == status, response.text
        return response.json()


@pytest.fixture
def cloud(api: Api) -> CloudApi:
    return CloudApi(api)


@pytest.fixture
def provider(cloud: CloudApi) -> dict[str, Any]:
    """acme with a VPC in two AZs, a target group, an NLB, a listener and a service."""
    cloud.call("POST", "/accounts", {"name": "acme"}, 201)
    vpc = cloud.call("POST", "/acme/eu-west-1/vpcs", {}, 201)["id"]
    subnets = [
        cloud.call("POST", "/acme/eu-west-1/subnets", {"vpc_id": vpc, "az_id": az}, 201)["id"]
        for az in ("euw1-az1", "euw1-az2")
    ]
    cloud.call("POST", "/acme/eu-west-1/target-groups", {"name": "web", "port": 80}, 201)
    cloud.call(
        "POST", "/acme/eu-west-1/load-balancers", {"name": "nlb", "subnet_ids": subnets}, 201
    )
    cloud.call(
        "POST",
        "/acme/eu-west-1/load-balancers/nlb/listeners",
        {"port": 80, "target_group": "web"},
        201,
    )
    service = cloud.call(
        "POST", "/acme/eu-west-1/endpoint-services", {"load_balancers": ["nlb"]}, 201
    )
    return {"vpc": vpc, "subnets": subnets, "service": service}

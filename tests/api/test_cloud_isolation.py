"""Tenants in the local cloud (issue 15, finding 1): a project token acts only on its
project's accounts; the platform's account and other tenants' answer as if missing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import CloudApi
from tests.conftest import Api
from tests.support import wait_for

REGION = "eu-west-1"


def call(api: Api, token: str, method: str, path: str, body: Any = None) -> Any:
    return api.client.request(method, f"/v1/cloud{path}", json=body, headers=api.auth(token))


@pytest.fixture
def platform_made(api: Api) -> None:
    """A project VPC of alpha, so the server has made its own platform account."""
    headers = api.auth(api.alpha)
    body = {"cloud_name": "aws-eu-west-1", "network_cidr": "10.3.0.0/24"}
    vpc = api.client.post("/v1/project/alpha/vpcs", json=body, headers=headers).json()
    url = f"/v1/project/alpha/vpcs/{vpc['project_vpc_id']}"
    wait_for(lambda: api.client.get(url, headers=headers).json()["state"] == "ACTIVE")


class TestAccounts:
    def test_each_tenant_lists_only_its_own(
        self, api: Api, cloud: CloudApi, provider: dict[str, Any], platform_made: None
    ) -> None:
        assert call(api, api.beta, "POST", "/accounts", {"name": "globex"}).status_code == 201
        mine = call(api, api.beta, "GET", "/accounts").json()["accounts"]
        assert [a["name"] for a in mine] == ["globex"]
        theirs = call(api, api.alpha, "GET", "/accounts").json()["accounts"]
        assert [a["name"] for a in theirs] == ["acme"]
        every = call(api, api.admin, "GET", "/accounts").json()["accounts"]
        assert {"acme", "globex", "privlink-platform"} <= {a["name"] for a in every}

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("GET", "/acme/eu-west-1/vpcs", None),
            ("GET", "/acme/eu-west-1/endpoint-services", None),
            ("GET", "/acme/eu-west-1/target-groups/web/health", None),
            ("POST", "/acme/eu-west-1/vpcs", {}),
            ("POST", "/acme/eu-west-1/endpoint-services/vpce-svc-0/permissions", {"add": ["*"]}),
            ("GET", "/privlink-platform/eu-west-1/vpcs", None),
            ("GET", "/privlink-platform/eu-west-1/endpoints", None),
        ],
    )
    def test_another_tenants_account_answers_404_and_is_unchanged(
        self,
        api: Api,
        cloud: CloudApi,
        provider: dict[str, Any],
        platform_made: None,
        method: str,
        path: str,
        body: Any,
    ) -> None:
        before = call(api, api.admin, "GET", "/acme/eu-west-1/vpcs").json()
        answer = call(api, api.beta, method, path, body)
        assert answer.status_code == 404
        assert answer.json()["message"].startswith("No local-cloud account")  # as if missing
        assert call(api, api.admin, "GET", "/acme/eu-west-1/vpcs").json() == before

    def test_an_endpoint_in_another_tenants_account_is_refused(
        self, api: Api, cloud: CloudApi, provider: dict[str, Any], platform_made: None
    ) -> None:
        """Neither in a customer's account nor as the platform (its deployment roles)."""
        (service,) = cloud.call("GET", "/acme/eu-west-1/endpoint-services")["endpoint_services"]
        body = {"vpc_id": "vpc-x", "service_name": service["name"], "subnet_ids": ["s"]}
        for account in ("acme", "privlink-platform"):
            answer = call(api, api.beta, "POST", f"/{account}/eu-west-1/endpoints", body)
            assert answer.status_code == 404
        assert (
            cloud.call("GET", f"/acme/eu-west-1/endpoint-services/{service['id']}/connections")[
                "connections"
            ]
            == []
        )

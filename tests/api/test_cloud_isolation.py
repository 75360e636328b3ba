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


class TestNames:
    def test_account_names_are_per_project_and_tell_nothing(
        self, api: Api, cloud: CloudApi, provider: dict[str, Any]
    ) -> None:
        """beta may call its account acme too (a 409 would tell that alpha has one)."""
        made = call(api, api.beta, "POST", "/accounts", {"name": "acme"})
        assert made.status_code == 201
        again = call(api, api.beta, "POST", "/accounts", {"name": "acme"})
        assert again.status_code == 409
        assert again.json()["message"] == "You already have an account named 'acme'"
        assert call(api, api.beta, "GET", "/acme/eu-west-1/vpcs").json() == {"vpcs": []}
        assert len(cloud.call("GET", "/acme/eu-west-1/vpcs")["vpcs"]) == 1
        both = call(api, api.admin, "GET", "/acme/eu-west-1/vpcs")
        assert both.status_code == 409
        assert "use its 12-digit account ID" in both.json()["message"]
        by_id = call(api, api.admin, "GET", f"/{made.json()['account_id']}/eu-west-1/vpcs")
        assert by_id.json() == {"vpcs": []}

    def test_a_tenant_cannot_take_the_platform_accounts_name(self, api: Api) -> None:
        """An account a tenant names privlink-platform stays the tenant's; the server makes
        its own and puts project VPCs there."""
        squat = call(api, api.beta, "POST", "/accounts", {"name": "privlink-platform"})
        assert squat.status_code == 201
        headers = api.auth(api.alpha)
        body = {"cloud_name": "aws-eu-west-1", "network_cidr": "10.3.0.0/24"}
        vpc = api.client.post("/v1/project/alpha/vpcs", json=body, headers=headers).json()
        url = f"/v1/project/alpha/vpcs/{vpc['project_vpc_id']}"
        wait_for(lambda: api.client.get(url, headers=headers).json()["state"] == "ACTIVE")
        squatted = call(api, api.beta, "GET", "/privlink-platform/eu-west-1/vpcs").json()
        assert squatted == {"vpcs": []}
        accounts = call(api, api.admin, "GET", "/accounts").json()["accounts"]
        platform = [a for a in accounts if a["name"] == "privlink-platform"]
        assert len(platform) == 2
        own = [a for a in platform if a["account_id"] != squat.json()["account_id"]]
        vpcs = call(api, api.admin, "GET", f"/{own[0]['account_id']}/eu-west-1/vpcs").json()
        assert len(vpcs["vpcs"]) == 1


class TestTargets:
    def test_a_tenants_targets_must_be_in_its_vpcs(
        self, api: Api, cloud: CloudApi, provider: dict[str, Any]
    ) -> None:
        """Not the host's own ports (health checks would scan them), not other addresses."""
        (vpc,) = cloud.call("GET", "/acme/eu-west-1/vpcs")["vpcs"]
        inside = vpc["private_range"].rsplit(".", 2)[0] + ".0.10"
        path = "/acme/eu-west-1/target-groups/web/targets"
        for host in ("127.0.0.1", "10.0.0.1", "localhost", "127.250.0.1"):
            refused = call(api, api.alpha, "POST", path, {"targets": [{"host": host, "port": 22}]})
            assert refused.status_code == 400, host
            assert (
                f"accepted: an IPv4 address in {vpc['private_range']}" in refused.json()["message"]
            )
        ok = call(api, api.alpha, "POST", path, {"targets": [{"host": inside, "port": 80}]})
        assert ok.status_code == 200
        health = cloud.call("GET", "/acme/eu-west-1/target-groups/web/health")["targets"]
        assert [t["host"] for t in health] == [inside]

    def test_the_operator_may_allow_more_and_targets_its_own_accounts_anywhere(
        self, migrated: Any
    ) -> None:
        from privlink.cloud import contract as c
        from privlink.cloud.local.control import LocalCloud
        from privlink.store.db import make_sessionmaker

        cloud = LocalCloud(make_sessionmaker(migrated), target_addresses=["127.0.0.1/32"])
        cloud.create_account("shop", project="alpha")
        cloud.create_account("ops")
        groups = {}
        for name in ("shop", "ops"):
            account = cloud.account(name, "eu-west-1")
            groups[name] = account.create_target_group(name="web", port=80).arn
            account.register_targets(groups[name], [c.Target("127.0.0.1", 80)])
        ops = cloud.account("ops", "eu-west-1")
        ops.register_targets(groups["ops"], [c.Target("10.1.2.3", 80)])
        targets = {t.target.host for t in ops.describe_target_health(groups["ops"])}
        assert targets == {"127.0.0.1", "10.1.2.3"}

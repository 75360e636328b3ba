"""Bad input found by probing the API as a tenant: each answers 4xx with a message and
changes nothing (issue 15, findings 5-7)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine

from privlink.cloud.local.control import LocalCloud
from privlink.domain import validation
from privlink.domain.errors import Conflict, InvalidInput
from privlink.store.cloud_tables import LcTargetGroup
from privlink.store.db import make_sessionmaker
from tests.api.conftest import CloudApi
from tests.conftest import Api

# Full-width digits: `\\d` without re.ASCII took them for an account ID.
FULL_WIDTH = "arn:aws:iam::" + "".join(chr(0xFF10 + int(d)) for d in "123456789012") + ":root"


class TestClientTokens:
    @pytest.mark.parametrize(
        ("path", "body"),
        [
            ("/target-groups", {"name": "web2", "port": 80}),
            ("/load-balancers", {"name": "nlb2", "subnet_ids": ["subnet-1"]}),
            ("/endpoint-services", {"load_balancers": ["nlb"]}),
        ],
    )
    def test_an_empty_client_token_is_refused(
        self, cloud: CloudApi, provider: dict[str, Any], path: str, body: dict[str, Any]
    ) -> None:
        for _ in range(2):  # the second one used to be a 500 (unique token "")
            refused = cloud.call(
                "POST", f"/acme/eu-west-1{path}", {**body, "client_token": ""}, 400
            )
            assert "client_token" in refused["message"]

    def test_a_create_racing_another_is_a_temporary_conflict(self, migrated: Engine) -> None:
        """Two calls making one resource: the loser gets a Conflict it may retry, not a 500."""
        local = LocalCloud(make_sessionmaker(migrated))
        local.create_account("acme")
        account = local.account("acme", "eu-west-1")
        arn = account.create_target_group(name="web", port=80).arn
        with pytest.raises(Conflict) as raised, account._tx() as s:  # as the race's loser
            s.add(
                LcTargetGroup(
                    arn=arn, name="web", account_id=account.account_id, region="eu-west-1", port=80
                )
            )
        assert raised.value.temporary
        assert [tg.arn for tg in account.describe_target_groups()] == [arn]


class TestNamesAndHosts:
    @pytest.mark.parametrize("name", ["../x", "a\x00b", "-web", "web-", "a" * 33, "wéb"])
    def test_bad_target_group_names(
        self, cloud: CloudApi, provider: dict[str, Any], name: str
    ) -> None:
        refused = cloud.call(
            "POST", "/acme/eu-west-1/target-groups", {"name": name, "port": 80}, 400
        )
        assert "name" in refused["message"]

    @pytest.mark.parametrize("host", ["../etc", "a b", "x\x07", "/tmp/sock"])
    def test_bad_target_hosts(self, cloud: CloudApi, provider: dict[str, Any], host: str) -> None:
        body = {"targets": [{"host": host, "port": 80}]}
        cloud.call("POST", "/acme/eu-west-1/target-groups/web/targets", body, 400)
        health = cloud.call("GET", "/acme/eu-west-1/target-groups/web/health")
        assert all(t["host"] != host for t in health["targets"])

    def test_non_ascii_digits_are_not_digits(
        self, cloud: CloudApi, provider: dict[str, Any]
    ) -> None:
        with pytest.raises(InvalidInput):
            validation.principal(FULL_WIDTH)
        (service,) = cloud.call("GET", "/acme/eu-west-1/endpoint-services")["endpoint_services"]
        path = f"/acme/eu-west-1/endpoint-services/{service['id']}/permissions"
        cloud.call("POST", path, {"add": [FULL_WIDTH]}, 400)
        assert (
            FULL_WIDTH
            not in cloud.call("GET", f"/acme/eu-west-1/endpoint-services/{service['id']}")[
                "principals"
            ]
        )


class TestProjectVpcClouds:
    @pytest.mark.parametrize(
        "cloud_name", ["aws-zz-nowhere-1", "aws-eu-west-\u0661", "aws-eu-west-9"]
    )
    def test_unknown_clouds_are_refused(self, api: Api, cloud_name: str) -> None:
        headers = api.auth(api.alpha)
        body = {"cloud_name": cloud_name, "network_cidr": "10.2.0.0/24"}
        refused = api.client.post("/v1/project/alpha/vpcs", json=body, headers=headers)
        assert refused.status_code == 400
        assert "aws-eu-west-1" in refused.json()["message"]  # says which clouds there are
        assert api.client.get("/v1/project/alpha/vpcs", headers=headers).json()["vpcs"] == []


class TestPorts:
    @pytest.mark.parametrize("port", ["18446744073709551616", "0", "-1", "70000"])
    def test_validate_ports_outside_1_65535(self, api: Api, port: str) -> None:
        url = "/v1/project/alpha/service/x/privatelink/aws/outbound/plo0123456789a/validate"
        answer = api.client.get(url, params={"port": port}, headers=api.auth(api.alpha))
        assert answer.status_code == 400
        assert "port" in answer.json()["message"]

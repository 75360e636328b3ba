"""The local cloud's refusals through the HTTP API: status and a message that says what to do."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import CloudApi
from tests.api.test_auth import assert_error_shape


class TestRefusals:
    def test_in_use_resources_cannot_be_deleted(
        self, cloud: CloudApi, provider: dict[str, Any]
    ) -> None:
        tg = cloud.call("DELETE", "/acme/eu-west-1/target-groups/web", status=409)
        assert "delete the listener first" in assert_error_shape(tg, 409)
        lb = cloud.call("DELETE", "/acme/eu-west-1/load-balancers/nlb", status=409)
        assert "delete the endpoint service first" in assert_error_shape(lb, 409)

    def test_duplicates_are_conflicts(self, cloud: CloudApi, provider: dict[str, Any]) -> None:
        again = cloud.call(
            "POST",
            "/acme/eu-west-1/load-balancers/nlb/listeners",
            {"port": 80, "target_group": "web"},
            201,
        )
        assert again["port"] == 80  # the same listener again is idempotent
        cloud.call("POST", "/acme/eu-west-1/target-groups", {"name": "other", "port": 81}, 201)
        clash = cloud.call(
            "POST",
            "/acme/eu-west-1/load-balancers/nlb/listeners",
            {"port": 80, "target_group": "other"},
            409,
        )
        assert "already has a listener on port 80" in clash["message"]
        name = cloud.call("POST", "/acme/eu-west-1/target-groups", {"name": "web", "port": 80}, 409)
        assert "already exists" in name["message"]

    def test_one_subnet_per_az(self, cloud: CloudApi, provider: dict[str, Any]) -> None:
        extra = cloud.call(
            "POST", "/acme/eu-west-1/subnets", {"vpc_id": provider["vpc"], "az_id": "euw1-az1"}, 201
        )["id"]
        body = {"name": "nlb2", "subnet_ids": [provider["subnets"][0], extra]}
        error = cloud.call("POST", "/acme/eu-west-1/load-balancers", body, 400)
        assert "at most one subnet per AZ" in error["message"]

    def test_unknown_ids_are_404(self, cloud: CloudApi, provider: dict[str, Any]) -> None:
        assert (
            "does not exist"
            in cloud.call(
                "GET", "/acme/eu-west-1/endpoint-services/vpce-svc-00000000000000000", status=404
            )["message"]
        )
        assert (
            "does not exist"
            in cloud.call("GET", "/acme/eu-west-1/endpoints/vpce-00000000000000000", status=404)[
                "message"
            ]
        )
        body = {
            "vpc_id": provider["vpc"],
            "subnet_ids": provider["subnets"],
            "service_name": "com.privlink.vpce.eu-west-1.vpce-svc-00000000000000000",
        }
        assert (
            "does not exist in eu-west-1"
            in cloud.call("POST", "/acme/eu-west-1/endpoints", body, 404)["message"]
        )

    def test_bad_bodies(self, cloud: CloudApi, provider: dict[str, Any]) -> None:
        hc = {"name": "x", "port": 80, "health_check": {"interval": 0.5}}
        assert "interval" in cloud.call("POST", "/acme/eu-west-1/target-groups", hc, 400)["message"]
        bad_name = {
            "vpc_id": provider["vpc"],
            "subnet_ids": provider["subnets"],
            "service_name": "my-service",
        }
        assert (
            "Invalid endpoint service name"
            in cloud.call("POST", "/acme/eu-west-1/endpoints", bad_name, 400)["message"]
        )
        assert (
            "Invalid principal"
            in cloud.call(
                "POST",
                f"/acme/eu-west-1/endpoint-services/{provider['service']['id']}/permissions",
                {"add": ["arn:aws:iam::123456789012:role/path/name"]},
                400,
            )["message"]
        )

    def test_ip_address_type_is_shown(self, cloud: CloudApi, provider: dict[str, Any]) -> None:
        assert provider["service"]["supported_ip_address_types"] == ["ipv4"]

    def test_client_token_returns_the_same_endpoint(
        self, cloud: CloudApi, provider: dict[str, Any]
    ) -> None:
        service = provider["service"]
        acme_id = cloud.call("GET", "/accounts")["accounts"][0]["account_id"]
        cloud.call(
            "POST",
            f"/acme/eu-west-1/endpoint-services/{service['id']}/permissions",
            {"add": [f"arn:aws:iam::{acme_id}:root"]},
        )
        body = {
            "vpc_id": provider["vpc"],
            "subnet_ids": provider["subnets"],
            "service_name": service["name"],
            "client_token": "retry-1",
        }
        first = cloud.call("POST", "/acme/eu-west-1/endpoints", body, 201)
        second = cloud.call("POST", "/acme/eu-west-1/endpoints", body, 201)
        assert first["id"] == second["id"]
        assert first["ip_address_type"] == "ipv4"
        assert len(cloud.call("GET", "/acme/eu-west-1/endpoints")["endpoints"]) == 1

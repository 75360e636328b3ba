"""The service registry over HTTP: Aiven's shape for reading, admin-only registration."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_auth import assert_error_shape
from tests.conftest import Api

KAFKA = {
    "service_name": "kafka-1",
    "service_type": "kafka",
    "cloud_name": "aws-eu-west-1",
    "plan": "business-4",
    "components": {
        "kafka": ["127.0.0.1:9092", "127.0.0.1:9093", "127.0.0.1:9094"],
        "schema_registry": ["127.0.0.1:8081"],
    },
}


def register(
    api: Api, body: dict[str, Any], status: int = 201, project: str = "alpha"
) -> dict[str, Any]:
    response = api.client.post(
        f"/v1/project/{project}/service", json=body, headers=api.auth(api.admin)
    )
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result


class TestRegistry:
    def test_register_list_and_get(self, api: Api) -> None:
        register(api, KAFKA)
        listed = api.client.get("/v1/project/alpha/service", headers=api.auth(api.alpha)).json()
        assert [s["service_name"] for s in listed["services"]] == ["kafka-1"]
        service = api.client.get(
            "/v1/project/alpha/service/kafka-1", headers=api.auth(api.alpha)
        ).json()["service"]
        assert service["service_type"] == "kafka"
        assert service["plan"] == "business-4"
        assert service["node_count"] == 3
        assert {c["component"] for c in service["components"]} == {"kafka", "schema_registry"}

    def test_other_projects_cannot_see_it(self, api: Api) -> None:
        register(api, KAFKA)
        foreign = api.client.get("/v1/project/alpha/service/kafka-1", headers=api.auth(api.beta))
        assert foreign.status_code == 404
        missing = api.client.get("/v1/project/alpha/service/nope", headers=api.auth(api.alpha))
        assert "does not exist" in assert_error_shape(missing.json(), 404)

    def test_only_admins_register(self, api: Api) -> None:
        response = api.client.post(
            "/v1/project/alpha/service", json=KAFKA, headers=api.auth(api.alpha)
        )
        assert response.status_code == 403

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"service_type": "redis"}, "Unknown service type 'redis'"),
            ({"components": {"kafka_streams": ["h:1"]}}, "its components are kafka, kafka_connect"),
            ({"components": {"kafka": ["no-port"]}}, "HOST:PORT"),
            ({"components": {"kafka": ["h:70000"]}}, "HOST:PORT"),
            ({"components": {}}, "needs at least one component"),
            ({"cloud_name": "eu-west-1"}, "a cloud privlink knows"),
            ({"service_name": "Kafka_1"}, "Invalid service name"),
            ({"plan": "Business 4"}, "Invalid plan"),
        ],
    )
    def test_bad_registrations(self, api: Api, change: dict[str, Any], message: str) -> None:
        error = register(api, {**KAFKA, **change}, status=400)
        assert message in assert_error_shape(error, 400)

    def test_second_registration_conflicts(self, api: Api) -> None:
        register(api, KAFKA)
        assert "already exists" in register(api, KAFKA, status=409)["message"]

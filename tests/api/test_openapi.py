"""The OpenAPI document describes every answer: typed bodies, the error shape, the real
statuses (400 for validation, never the framework's 422), UTC offsets on timestamps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.conftest import Api

ERROR_REF = "#/components/schemas/ErrorBody"
METHODS = ("get", "post", "put", "delete")


def _operations(api: Api) -> list[tuple[str, str, dict[str, Any]]]:
    paths = api.client.get("/openapi.json").json()["paths"]
    return [(path, m, op) for path, ops in paths.items() for m, op in ops.items() if m in METHODS]


def _json_schema(response: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = response.get("content", {}).get("application/json", {})
    return schema.get("schema", {})


class TestDocument:
    def test_no_route_answers_422(self, api: Api) -> None:
        """Validation errors are documented (and answered) as 400 with the error body."""
        for path, method, op in _operations(api):
            assert "422" not in op["responses"], (method, path)

    def test_every_success_has_a_named_model(self, api: Api) -> None:
        """No route answers a free-form object: each success names its schema."""
        for path, method, op in _operations(api):
            if path == "/metrics":
                continue
            (ok,) = [r for code, r in op["responses"].items() if code.startswith("2")]
            assert "$ref" in _json_schema(ok), (method, path, ok)

    def test_every_api_route_documents_its_errors(self, api: Api) -> None:
        """Every /v1 route says 401 (no token) and, where it takes input, 400 — as ErrorBody."""
        for path, method, op in _operations(api):
            if not path.startswith("/v1/"):
                continue
            responses = op["responses"]
            assert _json_schema(responses["401"])["$ref"] == ERROR_REF, (method, path)
            if "{" in path or method in ("post", "put"):
                assert _json_schema(responses["400"])["$ref"] == ERROR_REF, (method, path)

    def test_documented_statuses_are_the_ones_answered(self, api: Api) -> None:
        """A sample of real refusals: each status is among those the route documents."""
        auth = {"Authorization": f"aivenv1 {api.alpha}"}
        doc = {(p, m): set(op["responses"]) for p, m, op in _operations(api)}
        service = "/v1/project/{project}/service/{service}"
        cases = [
            ("post", "/v1/project/{project}/vpcs", "/v1/project/alpha/vpcs", {"cloud_name": 1}),
            ("get", "/v1/project/{project}/vpcs", "/v1/project/beta/vpcs", None),
            ("post", "/v1/project", "/v1/project", {"project": "x"}),
            (
                "get",
                service,
                "/v1/project/alpha/service/no",
                None,
            ),
        ]
        for method, template, url, body in cases:
            answer = api.client.request(method.upper(), url, json=body, headers=auth)
            assert answer.status_code >= 400
            assert str(answer.status_code) in doc[(template, method)], (url, answer.status_code)
        unauthenticated = api.client.get("/v1/project/alpha/vpcs")
        assert unauthenticated.status_code == 401


class TestTimestamps:
    def test_get_and_post_both_carry_the_utc_offset(self, api: Api) -> None:
        """SQLite returns naive times; the API still says they are UTC, on GET as on POST."""
        auth = {"Authorization": f"aivenv1 {api.alpha}"}
        created = api.client.post(
            "/v1/project/alpha/vpcs",
            json={"cloud_name": "aws-eu-west-1", "network_cidr": "10.1.0.0/24"},
            headers=auth,
        ).json()
        listed = api.client.get("/v1/project/alpha/vpcs", headers=auth).json()["vpcs"]
        for text in (created["create_time"], listed[0]["create_time"], listed[0]["update_time"]):
            assert datetime.fromisoformat(text).utcoffset() is not None, text

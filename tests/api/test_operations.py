"""Operational endpoints: health, readiness, metrics, OpenAPI and request IDs."""

from __future__ import annotations

from fastapi.testclient import TestClient

from privlink.app import create_app
from privlink.settings import Settings
from privlink.store.db import make_engine
from tests.conftest import Api


class TestOperations:
    def test_healthz(self, api: Api) -> None:
        assert api.client.get("/healthz").json() == {"status": "ok"}

    def test_readyz_when_migrated(self, api: Api) -> None:
        assert api.client.get("/readyz").status_code == 200

    def test_readyz_unready_before_migrations(self, settings: Settings) -> None:
        """An empty database is reachable but not at head: 503 with what to run."""
        engine = make_engine(settings.database_url)
        with TestClient(create_app(settings, engine=engine, run_dataplane=False)) as client:
            response = client.get("/readyz")
        engine.dispose()
        assert response.status_code == 503
        assert "privlink db upgrade" in response.json()["message"]

    def test_metrics_count_requests(self, api: Api) -> None:
        api.client.get("/healthz")
        text = api.client.get("/metrics").text
        assert 'privlink_http_requests_total{method="GET",route="/healthz",status="200"}' in text

    def test_openapi_lists_paths(self, api: Api) -> None:
        paths = api.client.get("/openapi.json").json()["paths"]
        assert "/v1/project/{project}" in paths

    def test_request_id_echoed_or_generated(self, api: Api) -> None:
        given = api.client.get("/healthz", headers={"X-Request-ID": "abc-123"})
        assert given.headers["x-request-id"] == "abc-123"
        made = api.client.get("/healthz", headers={"X-Request-ID": 'bad id;"<x>'})
        assert len(made.headers["x-request-id"]) == 32


class TestSecurityHeaders:
    def test_pages_and_answers_carry_them(self, api: Api) -> None:
        """Console pages and API answers: no framing, no sniffing, no referrer, a CSP."""
        for path in ("/login", "/healthz", "/v1/project"):
            headers = api.client.get(path).headers
            assert headers["x-frame-options"] == "DENY", path
            assert headers["x-content-type-options"] == "nosniff", path
            assert headers["referrer-policy"] == "no-referrer", path
            assert "frame-ancestors 'none'" in headers["content-security-policy"], path
            assert "script-src 'self'" in headers["content-security-policy"], path

    def test_the_api_docs_keep_their_viewer(self, api: Api) -> None:
        headers = api.client.get("/docs").headers
        assert headers["x-frame-options"] == "DENY"
        assert "content-security-policy" not in headers

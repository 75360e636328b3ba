"""Operational endpoints: health, readiness, metrics, OpenAPI and request IDs."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from privlink.app import create_app
from privlink.services import tenancy
from privlink.settings import Settings
from privlink.store import migrate
from privlink.store.db import make_engine, make_sessionmaker
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
        text = api.client.get("/metrics", headers={"Authorization": f"Bearer {api.admin}"}).text
        assert 'privlink_http_requests_total{method="GET",route="/healthz",status="200"}' in text

    def test_metrics_need_an_operator_token(self, api: Api) -> None:
        assert api.client.get("/metrics").status_code == 401
        project = api.client.get("/metrics", headers={"Authorization": f"Bearer {api.alpha}"})
        assert project.status_code == 403

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


@pytest.mark.postgres
def test_an_exhausted_pool_answers_503_not_500(postgres_server: str, tmp_path: Path) -> None:
    """Every API connection busy: requests wait briefly, then 503 with Retry-After; the
    reconciler's own pool is untouched, and the API answers again once one is free."""
    from tests.conftest import _fresh_postgres_database

    url = _fresh_postgres_database(postgres_server)
    settings = Settings(data_dir=tmp_path / "state", database_url=url, demo=False)
    setup = make_engine(url)
    migrate.upgrade(setup)  # takes two connections (the lock's and the migration's)
    setup.dispose()
    engine = make_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.5)
    with make_sessionmaker(engine)() as session, session.begin():
        tenancy.create_project(session, name="alpha")
        token = tenancy.create_token(session, project="alpha").secret
    headers = {"Authorization": f"aivenv1 {token}"}
    app = create_app(settings, engine=engine, run_dataplane=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        held = engine.connect()  # the API's only connection, taken
        busy = client.get("/v1/project/alpha/vpcs", headers=headers)
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "1"
        assert "retry shortly" in busy.json()["message"]
        held.close()
        assert client.get("/v1/project/alpha/vpcs", headers=headers).status_code == 200
    engine.dispose()

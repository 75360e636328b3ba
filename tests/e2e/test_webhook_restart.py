"""Webhook deliveries outlive `privlink serve`: a receiver failing while the server stops
and starts again still gets every event, in order, once it answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from privlink.commands.root import app
from tests.e2e.server import Server
from tests.inbound.test_webhooks import Receiver
from tests.support import wait_for

runner = CliRunner()


def test_deliveries_survive_a_restart_mid_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"PRIVLINK_WEBHOOK_RETRY_BASE": "0.3", "PRIVLINK_WEBHOOK_ALLOW_PRIVATE": "1"}
    server = Server(tmp_path / "state", **env).start()
    monkeypatch.setenv("PRIVLINK_DATA_DIR", str(server.data_dir))
    monkeypatch.delenv("PRIVLINK_DATABASE_URL", raising=False)
    receiver = Receiver(fail_first=10**6)  # down until told otherwise
    try:
        api = httpx.Client(
            base_url=server.url, headers={"Authorization": f"aivenv1 {server.token}"}, timeout=30
        )

        def call(method: str, path: str, **kw: Any) -> Any:
            response = api.request(method, path, **kw)
            assert response.status_code < 300, response.text
            return response.json()

        call("POST", "/v1/project", json={"project": "shop"})
        assert (
            runner.invoke(
                app, ["admin", "project", "update", "shop", "--enable-privatelink"]
            ).exit_code
            == 0
        )
        call(
            "POST",
            "/v1/project/shop/service",
            json={
                "service_name": "pg-1",
                "service_type": "pg",
                "cloud_name": "aws-eu-west-1",
                "plan": "business-4",
                "components": {"pg": ["127.0.0.1:5432"]},
            },
        )
        vpc = call(
            "POST",
            "/v1/project/shop/vpcs",
            json={"cloud_name": "aws-eu-west-1", "network_cidr": "10.4.0.0/24"},
        )["project_vpc_id"]
        wait_for(lambda: call("GET", f"/v1/project/shop/vpcs/{vpc}")["state"] == "ACTIVE")
        call("PUT", "/v1/project/shop/service/pg-1", json={"project_vpc_id": vpc})
        # Every project's events, subscribed with the CLI (an operator token, no --project).
        monkeypatch.setenv("PRIVLINK_URL", server.url)
        monkeypatch.setenv("PRIVLINK_TOKEN", server.token)
        created = runner.invoke(app, ["webhook", "create", receiver.url, "--json"])
        assert created.exit_code == 0, created.output
        hook = json.loads(created.stdout)
        deliveries = f"/v1/admin/webhooks/{hook['id']}/deliveries"
        base = "/v1/project/shop/service/pg-1/privatelink/aws"
        call("POST", base, json={"principals": ["arn:aws:iam::123456789012:root"]})
        wait_for(lambda: call("GET", base)["state"] == "active")
        wait_for(lambda: call("GET", deliveries)["deliveries"][0]["attempts"] >= 2)

        server.stop()
        tried = len(receiver.received)
        receiver.fail_first = tried  # it answers from now on
        server.start()
        rows = wait_for(
            lambda: (
                (found := call("GET", deliveries)["deliveries"])
                and all(d["status"] == "delivered" for d in found)
                and found
            ),
            timeout=60,
        )
        assert [r["type"] for r in receiver.accepted()] == [
            "privatelink.creating",
            "certificate.issued",  # the service's server certificate, by the project CA
            "privatelink.active",
        ]
        assert rows[0]["attempts"] >= 3  # failed before the restart, delivered after it
        assert rows[0]["last_error"] == ""
        listed = runner.invoke(app, ["webhook", "deliveries", hook["id"], "--json"])
        assert [d["status"] for d in json.loads(listed.stdout)] == ["delivered"] * 3
    finally:
        receiver.shutdown()
        if server.process is not None:
            server.stop()

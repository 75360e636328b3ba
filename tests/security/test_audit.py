"""The audit log (issue 15): every change, by whom, from where, with its outcome — through
the API, the console, the server CLI and the reconciler — and never a secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from privlink.commands.common import Runtime
from privlink.commands.root import app as cli_app
from privlink.console import session as console_session
from privlink.services import tenancy
from privlink.store.db import make_sessionmaker
from privlink.store.tables import AuditRecord
from tests.support import running_app, wait_for

PASSWORD = "pw-never-in-the-log-5141"
KAFKA = {
    "service_name": "kafka-1",
    "service_type": "kafka",
    "cloud_name": "aws-eu-west-1",
    "plan": "business-4",
    "components": {"kafka": ["127.0.0.1:9"]},
    "users": {"avnadmin": PASSWORD},
}
VPC = {"cloud_name": "aws-eu-west-1", "network_cidr": "10.5.0.0/24"}


@dataclass
class Setup:
    client: Any
    engine: Any
    admin: str
    alpha: str
    alpha_id: str
    reader: str
    beta: str
    beta_id: str

    def as_(self, token: str) -> dict[str, str]:
        return {"Authorization": f"aivenv1 {token}"}

    def log(self, token: str, path: str = "/v1/project/alpha/audit", **query: Any) -> Any:
        answer = self.client.get(path, params=query, headers=self.as_(token))
        assert answer.status_code == 200, answer.text
        return answer.json()["records"]


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    with running_app(tmp_path, resync_interval=2) as app:
        with make_sessionmaker(app.engine)() as session, session.begin():
            tenancy.create_project(session, name="beta")
            reader = tenancy.create_token(session, project="alpha", role="read-only")
            beta = tenancy.create_token(session, project="beta", description="beta's CI")
            alpha_id = tenancy.authenticate(session, secret=app.token).token_id
        yield Setup(
            app.client,
            app.engine,
            app.admin,
            app.token,
            alpha_id,
            reader.secret,
            beta.secret,
            beta.token.token_id,
        )


def test_api_changes_are_recorded_with_who_what_where_and_outcome(setup: Setup) -> None:
    created = setup.client.post("/v1/project/alpha/vpcs", json=VPC, headers=setup.as_(setup.alpha))
    assert created.status_code == 201
    refused = setup.client.delete(
        f"/v1/project/alpha/vpcs/{created.json()['project_vpc_id']}",
        headers=setup.as_(setup.reader),
    )
    assert refused.status_code == 403
    setup.client.get("/v1/project/alpha/vpcs", headers=setup.as_(setup.alpha))  # a read

    denied, made = [r for r in setup.log(setup.reader) if r["actor"] != "reconciler"][:2]
    assert made == made | {
        "actor": setup.alpha_id,
        "role": "admin",
        "project": "alpha",
        "action": "POST /v1/project/{project}/vpcs",
        "target": "/v1/project/alpha/vpcs",
        "address": "testclient",
        "outcome": "ok",
        "status": 201,
    }
    assert denied["action"] == "DELETE /v1/project/{project}/vpcs/{vpc_id}"
    assert (denied["role"], denied["outcome"], denied["status"]) == ("read-only", "refused", 403)
    assert "read-only" in denied["detail"]
    assert not [r for r in setup.log(setup.admin) if r["action"].startswith("GET ")]


def test_a_tenants_attempt_on_another_project_is_in_its_own_log(setup: Setup) -> None:
    answer = setup.client.post("/v1/project/alpha/vpcs", json=VPC, headers=setup.as_(setup.beta))
    assert answer.status_code == 404
    (attempt,) = setup.log(setup.beta, "/v1/project/beta/audit")
    assert (attempt["actor"], attempt["actor_description"]) == (setup.beta_id, "beta's CI")
    assert (attempt["target"], attempt["outcome"]) == ("/v1/project/alpha/vpcs", "refused")
    assert setup.beta_id not in json.dumps(setup.log(setup.alpha))


def test_who_reads_which_log(setup: Setup) -> None:
    setup.client.post("/v1/project/beta/vpcs", json=VPC, headers=setup.as_(setup.beta))
    assert (
        setup.client.get("/v1/project/alpha/audit", headers=setup.as_(setup.beta)).status_code
        == 404
    )
    assert setup.client.get("/v1/admin/audit", headers=setup.as_(setup.alpha)).status_code == 403
    assert setup.client.get("/v1/admin/audit").status_code == 401
    every = setup.log(setup.admin, "/v1/admin/audit")
    assert {"beta"} <= {r["project"] for r in every}
    paged = setup.log(setup.admin, "/v1/admin/audit", limit=1, before=every[0]["id"])
    assert [r["id"] for r in paged] == [r["id"] for r in every[1:2]]


def test_the_reconcilers_cloud_changes_are_recorded(setup: Setup) -> None:
    """Making the project VPC's network and the PrivateLink's load balancer and endpoint
    service are the reconciler's changes, in alpha's log."""
    registered = setup.client.post(
        "/v1/project/alpha/service", json=KAFKA, headers=setup.as_(setup.admin)
    )
    assert registered.status_code == 201
    vpc = setup.client.post("/v1/project/alpha/vpcs", json=VPC, headers=setup.as_(setup.alpha))
    url = f"/v1/project/alpha/vpcs/{vpc.json()['project_vpc_id']}"
    wait_for(
        lambda: setup.client.get(url, headers=setup.as_(setup.alpha)).json()["state"] == "ACTIVE"
    )
    body = {"project_vpc_id": vpc.json()["project_vpc_id"]}
    setup.client.put("/v1/project/alpha/service/kafka-1", json=body, headers=setup.as_(setup.alpha))
    pl = "/v1/project/alpha/service/kafka-1/privatelink/aws"
    setup.client.post(
        pl, json={"principals": ["arn:aws:iam::123456789012:root"]}, headers=setup.as_(setup.alpha)
    )
    wait_for(
        lambda: setup.client.get(pl, headers=setup.as_(setup.alpha)).json()["state"] == "active"
    )

    ours = [r for r in setup.log(setup.alpha, limit=1000) if r["actor"] == "reconciler"]
    actions = {r["action"] for r in ours}
    assert {"cloud project_network", "cloud create_load_balancer"} <= actions
    assert "cloud create_endpoint_service" in actions
    service = next(r for r in ours if r["action"] == "cloud create_endpoint_service")
    assert service["outcome"] == "ok"
    assert service["target"].startswith("eu-west-1 ")
    assert service["detail"].startswith("for privatelink ")


def test_console_and_server_cli_changes_are_recorded(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    setup.client.post("/v1/project/alpha/service", json=KAFKA, headers=setup.as_(setup.admin))
    with make_sessionmaker(setup.engine)() as session, session.begin():
        cookie = tenancy.open_session(session, secret=setup.alpha)
    setup.client.cookies.set(console_session.COOKIE, cookie)
    form = {"csrf": console_session.csrf_token(cookie), "access.kafka": "on"}
    saved = setup.client.post(
        "/console/projects/alpha/services/kafka-1/config", data=form, follow_redirects=False
    )
    assert saved.status_code == 303
    setup.client.cookies.clear()
    (change,) = [r for r in setup.log(setup.alpha) if r["action"].startswith("POST /console")]
    assert change["actor"] == setup.alpha_id
    assert change["target"] == "/console/projects/alpha/services/kafka-1/config"

    monkeypatch.setenv("PRIVLINK_DATA_DIR", str(tmp_path / "state"))
    result = CliRunner().invoke(
        cli_app, ["admin", "project", "update", "beta", "--enable-privatelink"]
    )
    assert result.exit_code == 0, result.output
    (update,) = setup.log(setup.admin, "/v1/admin/audit", actor="cli")
    assert (update["action"], update["project"]) == ("admin project update privatelink=on", "beta")


def test_privlink_audit_reads_it(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    setup.client.post("/v1/project/alpha/vpcs", json=VPC, headers=setup.as_(setup.alpha))
    monkeypatch.setenv("PRIVLINK_TOKEN", setup.reader)
    runtime = Runtime(transport=setup.client._transport)
    result = CliRunner().invoke(
        cli_app,
        ["audit", "--project", "alpha", "--json", "--url", "http://testserver"],
        obj=runtime,
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout[result.stdout.index("[\n") :])  # after the app's log lines
    mine = [(r["action"], r["outcome"]) for r in shown if r["actor"] != "reconciler"]
    assert mine == [("POST /v1/project/{project}/vpcs", "ok")]


def test_no_secret_is_ever_recorded(setup: Setup) -> None:
    """Passwords in a registration and tokens in headers never reach the log."""
    for token in (setup.admin, setup.alpha):
        setup.client.post("/v1/project/alpha/service", json=KAFKA, headers=setup.as_(token))
    created = setup.client.post(
        "/v1/admin/tokens", json={"project": "alpha"}, headers=setup.as_(setup.admin)
    )
    full_token = created.json()["full_token"]
    with make_sessionmaker(setup.engine)() as session:
        rows = session.scalars(select(AuditRecord)).all()
        columns = [column.name for column in AuditRecord.__table__.c]
        dump = json.dumps([{c: str(getattr(r, c)) for c in columns} for r in rows])
    assert len(rows) >= 3
    for secret in (PASSWORD, full_token, setup.admin, setup.alpha):
        assert secret not in dump

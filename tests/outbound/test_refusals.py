"""Every refusal of the outbound API: a 4xx whose message says what to fix, nothing recorded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from privlink.cloud.local.control import LocalCloud
from privlink.cloud.local.platform import LocalPlatform
from privlink.reconcile import outbound as reconciler
from privlink.services import tenancy
from privlink.store.db import make_sessionmaker
from tests.outbound.conftest import LINKS, SERVICE, Platform, customer_service, register
from tests.support import running_app

OTHER_REGION = "com.privlink.vpce.us-east-1.vpce-svc-0123456789abcdef0"
MISSING = "com.privlink.vpce.eu-west-1.vpce-svc-0123456789abcdef0"


class Desk(Platform):
    """The API without a reconciler: links stay where the requests put them."""

    engine: object

    def step(self, link_id: str) -> None:
        sessions = make_sessionmaker(self.engine)  # type: ignore[arg-type]
        reconciler.run(sessions, LocalPlatform(LocalCloud(sessions)), link_id, reconciler.Config())


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    with running_app(
        tmp_path, run_dataplane=False, outbound_link_limit=2, cloud_target_addresses="127.0.0.1/32"
    ) as app:
        desk = Desk(client=app.client, token=app.token, admin=app.admin, nodes={})
        desk.engine = app.engine
        register(desk)
        yield desk


def links(desk: Desk) -> list[str]:
    return [link["link_id"] for link in desk.call("GET", LINKS)["links"]]


def ready_service(desk: Desk, **kw: object) -> str:
    info = desk.info()
    target = "127.0.0.1:9"  # health is not needed to link
    svc = customer_service(
        desk, target, info["az_ids"], allow=info["principal"], wait_healthy=False, **kw
    )  # type: ignore[arg-type]
    return svc.service_name


class TestCreateRefusals:
    @pytest.mark.parametrize(
        "name",
        [
            "vpce-svc-0123456789abcdef0",
            "com.privlink.vpce.eu-west-1.vpce-svc-123",
            "com.privlink.vpce.eu-west-1.vpce-svc-0123456789abcdefg",
            "",
            "com.privlink.vpce..vpce-svc-0123456789abcdef0",
        ],
    )
    def test_malformed_service_name(self, desk: Desk, name: str) -> None:
        message = desk.refused(400, "POST", LINKS, json={"service_name": name})
        assert "accepted: com.<provider>.vpce.<region>.vpce-svc-<17 hex digits>" in message
        assert links(desk) == []

    def test_service_of_another_region(self, desk: Desk) -> None:
        message = desk.refused(400, "POST", LINKS, json={"service_name": OTHER_REGION})
        assert "is in us-east-1; the deployment is in eu-west-1" in message

    def test_no_such_service(self, desk: Desk) -> None:
        message = desk.refused(404, "POST", LINKS, json={"service_name": MISSING})
        assert f"No endpoint service {MISSING} in eu-west-1" in message
        assert links(desk) == []

    def test_principal_not_allowed_names_the_arn(self, desk: Desk) -> None:
        info = desk.info()
        svc = customer_service(desk, "127.0.0.1:9", info["az_ids"], wait_healthy=False)
        message = desk.refused(403, "POST", LINKS, json={"service_name": svc.service_name})
        assert f"Principal {info['principal']} is not allowed" in message
        assert f"--principal {info['principal']}" in message
        assert links(desk) == []

    def test_no_shared_az_names_both_sets(self, desk: Desk) -> None:
        info = desk.info()
        (other,) = {"euw1-az1", "euw1-az2", "euw1-az3"} - set(info["az_ids"])
        svc = customer_service(
            desk, "127.0.0.1:9", [other], wait_healthy=False, allow=info["principal"]
        )
        message = desk.refused(400, "POST", LINKS, json={"service_name": svc.service_name})
        assert f"load balancer in AZ IDs {other}" in message
        assert f"the deployment is in {', '.join(sorted(info['az_ids']))}" in message
        assert links(desk) == []

    def test_same_service_twice(self, desk: Desk) -> None:
        name = ready_service(desk)
        desk.create(name)
        message = desk.refused(409, "POST", LINKS, json={"service_name": name})
        assert f"already has a link to {name}" in message
        assert len(links(desk)) == 1

    def test_limit_per_service(self, desk: Desk) -> None:
        for n in range(2):
            desk.create(ready_service(desk, account=f"acme{n}"))
        third = ready_service(desk, account="acme2")
        message = desk.refused(409, "POST", LINKS, json={"service_name": third})
        assert "the most allowed per service is 2; delete one first" in message
        assert len(links(desk)) == 2

    def test_plan_without_outbound(self, desk: Desk) -> None:
        register(desk, "mqtt-small", plan="business-4")
        path = LINKS.replace(SERVICE, "mqtt-small")
        message = desk.refused(403, "POST", path, json={"service_name": ready_service(desk)})
        assert "does not include outbound PrivateLink" in message
        assert "dedicated and premium" in message

    def test_project_without_the_feature(self, desk: Desk) -> None:
        with make_sessionmaker(desk.engine)() as session, session.begin():  # type: ignore[arg-type]
            tenancy.set_privatelink(session, name="alpha", enabled=False)
        message = desk.refused(403, "POST", LINKS, json={"service_name": MISSING})
        assert "--enable-privatelink" in message

    def test_unknown_field_and_unknown_service(self, desk: Desk) -> None:
        desk.refused(400, "POST", LINKS, json={"service_name": MISSING, "extra": 1})
        message = desk.refused(
            404, "POST", LINKS.replace(SERVICE, "nope"), json={"service_name": MISSING}
        )
        assert "nope" in message


class TestCloudRefusalFails:
    def test_principal_revoked_before_the_endpoint_is_made(self, desk: Desk) -> None:
        info = desk.info()
        svc = customer_service(
            desk, "127.0.0.1:9", info["az_ids"], wait_healthy=False, allow=info["principal"]
        )
        link_id = desk.create(svc.service_name)["link_id"]
        desk.cloud(
            "POST",
            f"/acme/eu-west-1/endpoint-services/{svc.service_id}/permissions",
            json={"remove": [info["principal"]]},
        )
        desk.step(link_id)
        link = desk.link(link_id)
        assert link["state"] == "failed"
        assert f"Principal {info['principal']} is not allowed" in link["reason"]
        assert link["vpc_endpoint_id"] is None


class TestDeleteRefusals:
    def test_only_running_or_failed(self, desk: Desk) -> None:
        link_id = desk.create(ready_service(desk))["link_id"]
        message = desk.refused(409, "DELETE", f"{LINKS}/{link_id}")
        assert "is creating; it can be deleted only while running or failed" in message
        desk.step(link_id)
        assert desk.state(link_id) == "pending-acceptance"
        message = desk.refused(409, "DELETE", f"{LINKS}/{link_id}")
        assert "ask them to accept or reject it" in message
        assert desk.state(link_id) == "pending-acceptance"

    def test_attachments_block_delete_and_are_listed(self, desk: Desk) -> None:
        info = desk.info()
        svc = customer_service(
            desk, "127.0.0.1:9", info["az_ids"], wait_healthy=False, allow=info["principal"]
        )
        link_id = desk.create(svc.service_name)["link_id"]
        desk.step(link_id)
        endpoint = desk.link(link_id)["vpc_endpoint_id"]
        desk.cloud(
            "POST",
            f"/acme/eu-west-1/endpoint-services/{svc.service_id}/connections/reject",
            json={"endpoint_ids": [endpoint]},
        )
        desk.step(link_id)
        assert desk.state(link_id) == "failed"
        path = f"{LINKS}/{link_id}/attachments"
        first = desk.call("POST", path, 201, json={"kind": "data-integration", "name": "to-kafka"})
        desk.call("POST", path, 201, json={"kind": "rule-action", "name": "forward temps"})
        assert [a["name"] for a in desk.call("GET", path)["attachments"]] == [
            "to-kafka",
            "forward temps",
        ]
        message = desk.refused(409, "DELETE", f"{LINKS}/{link_id}")
        assert "data-integration 'to-kafka'" in message
        assert "rule-action 'forward temps'" in message
        assert desk.state(link_id) == "failed"
        desk.refused(409, "POST", path, json={"kind": "data-integration", "name": "to-kafka"})
        desk.refused(400, "POST", path, json={"kind": "cron", "name": "x"})
        desk.refused(400, "POST", path, json={"kind": "other", "name": " padded "})
        desk.refused(400, "DELETE", f"{path}/nope")
        desk.refused(404, "DELETE", f"{path}/pla0123456789a")
        desk.call("DELETE", f"{path}/{first['attachment_id']}")
        message = desk.refused(409, "DELETE", f"{LINKS}/{link_id}")
        assert "to-kafka" not in message
        remaining = desk.call("GET", path)["attachments"][0]["attachment_id"]
        desk.call("DELETE", f"{path}/{remaining}")
        assert desk.call("DELETE", f"{LINKS}/{link_id}")["state"] == "deleting"
        message = desk.refused(409, "DELETE", f"{LINKS}/{link_id}")
        assert "already being deleted" in message
        desk.refused(409, "POST", path, json={"kind": "other", "name": "late"})
        desk.step(link_id)
        assert desk.state(link_id) == "GONE"
        # The history stays readable after the link is gone.
        events = desk.call("GET", "/v1/project/alpha/events", params={"object_id": link_id})
        assert events["events"][-1]["state"] == "deleted"

    def test_unknown_and_malformed_link_ids(self, desk: Desk) -> None:
        message = desk.refused(404, "GET", f"{LINKS}/plo0123456789a")
        assert "has no outbound link plo0123456789a" in message
        message = desk.refused(400, "GET", f"{LINKS}/garbage")
        assert "accepted: plo followed by 11 hex digits" in message
        desk.refused(404, "DELETE", f"{LINKS}/plo0123456789a")

"""Webhooks to a real HTTP receiver: a full inbound flow's events in order, every signature
verified, retries after failures, deliveries recorded and redelivered."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from privlink.domain import webhooks as rules
from tests.inbound.conftest import (
    Inbound,
    connect_endpoint,
    greeting_nodes,  # noqa: F401  (fixture)
    make_customer,
    register_in_vpc,
)
from tests.support import running_app, wait_for

BASE = "/v1/project/alpha/service/kafka-1/privatelink/aws"


class Receiver(ThreadingHTTPServer):
    """Records every POST; answers 500 to the first `fail_first` of them."""

    daemon_threads = True

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.received.append((dict(self.headers), body))
                    failing = len(receiver.received) <= receiver.fail_first
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"

    def accepted(self) -> list[dict[str, Any]]:
        """The bodies answered 2xx, in the order they came, each signature checked."""
        with self.lock:
            got = list(self.received)
        return [json.loads(body) for _h, body in got[self.fail_first :]]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(fail_first=2)
    yield server
    server.shutdown()


@pytest.fixture
def inbound(tmp_path: Path, greeting_nodes: dict[str, str]) -> Iterator[Inbound]:  # noqa: F811
    with running_app(
        tmp_path,
        health_check_interval=1,
        resync_interval=2,
        webhook_retry_base=0.2,
        webhook_allow_private=True,  # the receiver is on loopback
    ) as app:
        nodes = {
            "kafka": [greeting_nodes[f"broker-{i}"] for i in range(3)],
            "schema_registry": [greeting_nodes["registry"]],
        }
        yield Inbound(client=app.client, token=app.token, admin=app.admin, nodes=nodes)


def test_a_full_inbound_flow_reaches_the_receiver_in_order_signed(
    inbound: Inbound, receiver: Receiver
) -> None:
    hook = inbound.call(
        "POST",
        "/v1/project/alpha/webhooks",
        201,
        json={"url": receiver.url, "events": ["privatelink", "connection"]},
    )
    assert len(hook["secret"]) >= 16
    register_in_vpc(inbound)
    customer = make_customer(inbound)
    inbound.call("POST", BASE, json={"principals": [customer.principal]})
    wait_for(lambda: inbound.pl_state() == "active")
    connect_endpoint(inbound, customer, inbound.pl()["aws_service_name"])
    wait_for(
        lambda: (
            [c["state"] for c in inbound.call("GET", BASE + "/connections")["connections"]]
            == ["active"]
        )
    )
    inbound.call("DELETE", BASE)
    wait_for(lambda: inbound.pl_state() == "GONE")

    history = inbound.call("GET", "/v1/project/alpha/events", params={"service": "kafka-1"})
    wanted = [
        f"{e['kind']}.{e['state']}"
        for e in history["events"]
        if e["kind"] in ("privatelink", "connection")
    ]
    assert wanted[0] == "privatelink.creating"
    assert "connection.active" in wanted
    assert wanted[-1] == "privatelink.deleted"
    got = wait_for(lambda: (a := receiver.accepted()) and len(a) == len(wanted) and a, timeout=60)
    assert [g["type"] for g in got] == wanted  # every one, in order, none twice
    assert {g["project"] for g in got} == {"alpha"}

    now = int(time.time())
    for headers, body in receiver.received:
        assert rules.verify(hook["secret"], headers[rules.SIGNATURE_HEADER], body, now)
        assert not rules.verify("another-secret-of-16", headers[rules.SIGNATURE_HEADER], body, now)
    # The first event failed twice (500), then went through: three tries, in the record.
    first = receiver.received[0][0]["Privlink-Event-Id"]
    assert [h["Privlink-Event-Id"] for h, _ in receiver.received[:3]] == [first] * 3
    deliveries = inbound.call("GET", f"/v1/project/alpha/webhooks/{hook['id']}/deliveries")
    rows = deliveries["deliveries"]
    assert [d["status"] for d in rows] == ["delivered"] * len(wanted)
    assert rows[0]["attempts"] == 3
    assert all(d["attempts"] == 1 for d in rows[1:])

    # Redelivered on request: the same event once more, at the end.
    again = inbound.call(
        "POST", f"/v1/project/alpha/webhooks/{hook['id']}/deliveries/{rows[0]['id']}/redeliver"
    )
    assert again["event_id"] == rows[0]["event_id"]
    wait_for(lambda: len(receiver.accepted()) == len(wanted) + 1)
    assert receiver.accepted()[-1]["id"] == got[0]["id"]


def test_webhooks_refuse_bad_input_and_stay_in_their_project(inbound: Inbound) -> None:
    base = "/v1/project/alpha/webhooks"
    for body, message in (
        ({"url": "ftp://x.example/"}, "http:// or https://"),
        ({"url": "https://u:p@x.example/"}, "no user:password@"),
        ({"url": "https://x.example/", "secret": "short"}, "16-256 printable"),
        ({"url": "https://x.example/", "events": ["nope"]}, "Unknown event"),
    ):
        refused = inbound.client.post(base, json=body, headers=inbound.headers())
        assert refused.status_code == 400, refused.text
        assert message in refused.json()["message"]
    hook = inbound.call("POST", base, 201, json={"url": "https://x.example/"})
    assert "secret" not in inbound.call("GET", base)["webhooks"][0]  # shown once only
    # The operator's install-wide list is apart (it reaches any one by ID); a project
    # token may not use it.
    assert inbound.call("GET", "/v1/admin/webhooks", token=inbound.admin)["webhooks"] == []
    inbound.call("GET", "/v1/admin/webhooks", 403)
    seen = inbound.call("GET", f"/v1/admin/webhooks/{hook['id']}/deliveries", token=inbound.admin)
    assert seen == {"deliveries": []}
    inbound.call("DELETE", f"{base}/{hook['id']}")
    assert inbound.call("GET", base)["webhooks"] == []

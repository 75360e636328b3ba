"""The outbound flow in-process: link, acceptance, running with bytes, failure detection."""

from __future__ import annotations

from tests.outbound.conftest import (
    LINKS,
    Platform,
    accept,
    customer_service,
)
from tests.support import greet_and_echo, metric, scrape, wait_for


def through(address: str, port: int, payload: bytes = b"ping\n") -> tuple[str, bytes]:
    """From the deployment's network (its subnet's .254): the greeting, then an echo."""
    return greet_and_echo(address, port, payload, source=address.rsplit(".", 1)[0] + ".254")


def platform_endpoints(platform: Platform) -> list[dict[str, object]]:
    info = platform.info()
    account = info["principal"].split(":")[4]
    rows = platform.operator_cloud("GET", f"/{account}/eu-west-1/endpoints")["endpoints"]
    return [r for r in rows if r["state"] != "deleted"]


class TestReferenceFlow:
    def test_info_link_accept_running_bytes_delete(
        self, platform: Platform, greeting_nodes: dict[str, str]
    ) -> None:
        info = platform.info()
        assert info["region"] == "eu-west-1"
        assert len(info["az_ids"]) == 2
        assert set(info["az_ids"]) <= {"euw1-az1", "euw1-az2", "euw1-az3"}
        assert info["principal"].endswith(":role/privlink-alpha-mqtt-1")
        assert info == platform.info()  # stable: the customer builds against it

        svc = customer_service(
            platform, greeting_nodes["broker-0"], info["az_ids"], allow=info["principal"]
        )
        link = platform.create(svc.service_name)
        assert link["state"] == "creating"
        assert link["link_id"].startswith("plo")
        assert link["endpoint_service_id"] == svc.service_id
        assert sorted(link["az_ids"]) == sorted(info["az_ids"])
        link_id = link["link_id"]

        wait_for(lambda: platform.state(link_id) == "pending-acceptance")
        link = platform.link(link_id)
        assert link["vpc_endpoint_id"].startswith("vpce-")
        connections = platform.cloud(
            "GET", f"/acme/eu-west-1/endpoint-services/{svc.service_id}/connections"
        )["connections"]
        assert [(c["id"], c["state"], c["owner"]) for c in connections] == [
            (link["vpc_endpoint_id"], "pendingAcceptance", info["principal"])
        ]
        # One address per shared AZ, in the deployment's network.
        assert sorted(a["az_id"] for a in connections[0]["addresses"]) == sorted(info["az_ids"])

        accept(platform, svc, link["vpc_endpoint_id"])
        wait_for(lambda: platform.state(link_id) == "running")
        link = platform.link(link_id)
        assert link["reason"] == ""
        assert len(link["addresses"]) == 2
        assert link["dns_name"]
        endpoint = {"endpoint": link["vpc_endpoint_id"]}
        before = scrape(platform.client, platform.admin)
        assert metric(before, "privlink_objects", kind="outbound", state="running") == 1
        for address in link["addresses"]:
            assert through(address, svc.listener_port) == ("broker-0", b"ping\n")
        # /metrics: the bytes sent through the endpoint, exactly (a snapshot every 5 s).
        sent = metric(before, "privlink_endpoint_received_bytes_total", **endpoint) + 10
        wait_for(
            lambda: (
                metric(
                    scrape(platform.client, platform.admin),
                    "privlink_endpoint_received_bytes_total",
                    **endpoint,
                )
                == sent
            ),
            timeout=30,
        )
        after = scrape(platform.client, platform.admin)
        connections = metric(after, "privlink_endpoint_connections_total", **endpoint)
        assert connections == metric(before, "privlink_endpoint_connections_total", **endpoint) + 2
        greeted = len(b"broker-0\n") + len(b"ping\n")  # to the client, per connection
        assert metric(after, "privlink_endpoint_sent_bytes_total", **endpoint) >= 2 * greeted

        report = platform.call("GET", f"{LINKS}/{link_id}/validate")
        assert report["ok"], report
        hops = [h["hop"] for h in report["hops"]]
        assert hops[:5] == ["link", "endpoint service", "principal", "AZ overlap", "acceptance"]
        assert f"targets {svc.listener_port}" in hops
        assert f"connect {svc.listener_port}" in hops

        assert [row["link_id"] for row in platform.call("GET", LINKS)["links"]] == [link_id]
        platform.call("DELETE", f"{LINKS}/{link_id}")
        wait_for(lambda: platform.state(link_id) == "GONE")
        assert platform_endpoints(platform) == []
        history = platform.call("GET", "/v1/project/alpha/events", params={"object_id": link_id})
        states = list(dict.fromkeys(e["state"] for e in history["events"]))
        assert states == ["creating", "pending-acceptance", "running", "deleting", "deleted"]
        messages = [e["message"] for e in history["events"]]
        assert any("accept" in m for m in messages)


class TestFailures:
    def test_rejected_by_the_owner_fails(
        self, platform: Platform, greeting_nodes: dict[str, str]
    ) -> None:
        info = platform.info()
        svc = customer_service(
            platform, greeting_nodes["broker-1"], info["az_ids"], allow=info["principal"]
        )
        link_id = platform.create(svc.service_name)["link_id"]
        wait_for(lambda: platform.state(link_id) == "pending-acceptance")
        endpoint = platform.link(link_id)["vpc_endpoint_id"]
        platform.cloud(
            "POST",
            f"/acme/eu-west-1/endpoint-services/{svc.service_id}/connections/reject",
            json={"endpoint_ids": [endpoint]},
        )
        wait_for(lambda: platform.state(link_id) == "failed")
        assert "rejected by the endpoint service's owner" in platform.link(link_id)["reason"]
        # failed may be deleted: the rejected endpoint goes with it.
        platform.call("DELETE", f"{LINKS}/{link_id}")
        wait_for(lambda: platform.state(link_id) == "GONE")
        assert platform_endpoints(platform) == []

    def test_owner_deleting_the_service_fails_the_link_within_a_resync(
        self, platform: Platform, greeting_nodes: dict[str, str]
    ) -> None:
        info = platform.info()
        svc = customer_service(
            platform, greeting_nodes["broker-2"], info["az_ids"], allow=info["principal"]
        )
        link_id = platform.create(svc.service_name)["link_id"]
        wait_for(lambda: platform.state(link_id) == "pending-acceptance")
        endpoint = platform.link(link_id)["vpc_endpoint_id"]
        accept(platform, svc, endpoint)
        wait_for(lambda: platform.state(link_id) == "running")
        # The owner takes the service away (AWS makes them reject live connections first).
        base = f"/acme/eu-west-1/endpoint-services/{svc.service_id}"
        platform.cloud("POST", f"{base}/connections/reject", json={"endpoint_ids": [endpoint]})
        platform.cloud("DELETE", base)
        wait_for(
            lambda: "no longer exists" in platform.link(link_id)["reason"],
            timeout=60,  # resync is 2 s in these tests; generous for a busy machine
        )
        link = platform.link(link_id)
        assert link["state"] == "failed"
        report = platform.call("GET", f"{LINKS}/{link_id}/validate")
        assert report["broken"] == "link"
        assert next(h for h in report["hops"] if h["hop"] == "endpoint service")["ok"] is False

    def test_platform_endpoint_deleted_out_of_band_is_recreated(
        self, platform: Platform, greeting_nodes: dict[str, str]
    ) -> None:
        info = platform.info()
        svc = customer_service(
            platform, greeting_nodes["broker-0"], info["az_ids"], allow=info["principal"]
        )
        link_id = platform.create(svc.service_name)["link_id"]
        wait_for(lambda: platform.state(link_id) == "pending-acceptance")
        first = platform.link(link_id)["vpc_endpoint_id"]
        account = info["principal"].split(":")[4]
        platform.operator_cloud("DELETE", f"/{account}/eu-west-1/endpoints/{first}")
        wait_for(lambda: platform.link(link_id)["vpc_endpoint_id"] not in (first, None))
        assert [e["id"] for e in platform_endpoints(platform)] == [
            platform.link(link_id)["vpc_endpoint_id"]
        ]
        messages = [
            e["message"]
            for e in platform.call(
                "GET", "/v1/project/alpha/events", params={"object_id": link_id}
            )["events"]
        ]
        assert any("deleted out of band; re-created" in m for m in messages)

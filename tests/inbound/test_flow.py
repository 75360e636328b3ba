"""The inbound flow through the API with the reconciler and a real data plane running."""

from __future__ import annotations

from typing import Any

from cryptography import x509

from tests.inbound.conftest import (
    Inbound,
    active_privatelink,
    connect_endpoint,
    greeting,
    make_customer,
    register_in_vpc,
)
from tests.support import lookup, metric, scrape, wait_for

BASE = "/v1/project/alpha/service/kafka-1/privatelink/aws"


def service(inbound: Inbound) -> Any:
    return inbound.call("GET", "/v1/project/alpha/service/kafka-1")["service"]


def platform_resources(inbound: Inbound) -> dict[str, int]:
    cloud = inbound.client.app.state.privlink.cloud  # type: ignore[attr-defined]
    platform = cloud.account("privlink-platform", "eu-west-1")
    return {
        "target_groups": len(platform.describe_target_groups()),
        "load_balancers": len(platform.describe_load_balancers()),
        "endpoint_services": len(platform.describe_endpoint_services()),
    }


class TestInboundFlow:
    def test_create_connect_route_and_delete(self, inbound: Inbound) -> None:
        register_in_vpc(inbound)
        created = inbound.call(
            "POST", BASE, json={"principals": ["arn:aws:iam::111111111111:root"]}
        )
        assert created["state"] == "creating"
        assert created["aws_service_id"] is None
        wait_for(lambda: inbound.pl_state() == "active")
        pl = inbound.pl()
        assert pl["aws_service_name"].startswith("com.privlink.vpce.eu-west-1.vpce-svc-")
        # One target group per unit: kafka (bootstrap), its 3 brokers, schema_registry.
        assert platform_resources(inbound) == {
            "target_groups": 5,
            "load_balancers": 1,
            "endpoint_services": 1,
        }

        customer = make_customer(inbound)
        inbound.call("PUT", BASE, json={"principals": [customer.principal]})
        wait_for(lambda: settled(inbound))
        endpoint = connect_endpoint(inbound, customer, pl["aws_service_name"])
        # Active with every component still off: the endpoint is up and its names are.
        connections = wait_for(
            lambda: [
                c
                for c in inbound.call("GET", BASE + "/connections")["connections"]
                if c["state"] == "active"
            ]
        )
        assert connections[0]["vpc_endpoint_id"] == endpoint["id"]
        plc = connections[0]["privatelink_connection_id"]
        assert plc.startswith("plc")
        assert len(plc) == 14
        conn_name = f"{plc}.kafka-1.alpha.pl.privlink.internal"
        addresses = sorted(a["address"] for a in endpoint["addresses"])
        assert lookup(conn_name, inbound.dns_port).values == addresses
        assert lookup(f"kafka-2.{conn_name}", inbound.dns_port).values == addresses
        for a in endpoint["addresses"]:
            zonal = f"{a['az_id']}.{conn_name}"
            assert lookup(zonal, inbound.dns_port).values == [a["address"]]
        # Access is off: no privatelink route yet.
        assert not [c for c in service(inbound)["components"] if c["route"] == "privatelink"]

        inbound.call(
            "PUT",
            "/v1/project/alpha/service/kafka-1",
            json={"user_config": {"privatelink_access": {"kafka": True}}},
        )
        routes = wait_for(
            lambda: [
                c
                for c in service(inbound)["components"]
                if c["route"] == "privatelink" and c["kafka_authentication_method"] == "sasl"
            ]
        )
        assert routes[0]["privatelink_connection_id"] == plc
        assert routes[0]["host"] == conn_name
        host, port = inbound.address(conn_name), routes[0]["port"]
        assert greeting(host, port).startswith("broker-")
        # Each broker has its own port through the same endpoint.
        status = inbound.call("GET", BASE + "/status")
        brokers = [
            p for p in status["ports"] if p["component"] == "kafka" and p["node"] is not None
        ]
        assert len(brokers) == 3
        assert all(10000 <= p["port"] <= 31000 for p in status["ports"])
        for p in brokers:
            greeted = wait_for(lambda p=p: greeting(host, p["port"]))
            assert greeted == f"broker-{p['node']}"
        # schema_registry is off: its port is not reachable through the endpoint.
        registry_port = next(
            p["port"] for p in status["ports"] if p["component"] == "schema_registry"
        )
        assert_unreachable(host, registry_port)

        checked = inbound.call("GET", BASE + "/validate", params={"connection": plc})
        assert checked["ok"], checked
        assert any(h["hop"] == f"{plc} connect {port}" and h["ok"] for h in checked["hops"])
        dns_hops = [h for h in checked["hops"] if h["hop"].startswith(f"{plc} dns ")]
        names = [conn_name] + [f"kafka-{i}.{conn_name}" for i in range(3)]
        assert [h["hop"] for h in dns_hops] == [f"{plc} dns {n}" for n in names]
        assert all(h["ok"] for h in dns_hops)
        assert dns_hops[0]["detail"] == f"{conn_name} -> {', '.join(addresses)}"
        # Greeting nodes speak no TLS: the TLS hop says so instead of failing.
        (tls_hop,) = [h for h in checked["hops"] if h["hop"].startswith(f"{plc} tls ")]
        assert tls_hop["ok"]
        assert "does not start TLS" in tls_hop["detail"]
        # Per connection: each port by the name its clients use, reachable or not.
        (conn_status,) = status["connections"]
        by_unit = {(p["component"], p["node"]): p for p in conn_status["ports"]}
        assert by_unit[("kafka", 1)]["host"] == f"kafka-1.{conn_name}"
        assert by_unit[("kafka", None)]["reachable"] is True
        assert by_unit[("schema_registry", None)]["reachable"] is False

        # /metrics follows the flow: the objects' states, the steps, the events.
        scraped = scrape(inbound.client, inbound.admin)
        assert metric(scraped, "privlink_objects", kind="privatelink", state="active") == 1
        assert metric(scraped, "privlink_objects", kind="connection", state="active") == 1
        assert metric(scraped, "privlink_events_total", kind="connection") >= 1
        steps = metric(
            scraped, "privlink_reconcile_step_seconds_count", kind="privatelink", outcome="done"
        )
        assert steps >= 1
        assert metric(scraped, "privlink_health_checks_total", outcome="pass") >= 2
        group_health = [
            v for (name, labels), v in scraped.items()
            if name == "privlink_targets" and ("state", "healthy") in labels
        ]  # fmt: skip
        assert sum(group_health) >= 5  # kafka's three nodes in the bootstrap group and more

        # The service's certificate covers the connection's names (issued by the reconciler
        # when the connection turned active), signed by the project CA.
        tls = inbound.call("GET", "/v1/project/alpha/service/kafka-1/tls", token=inbound.admin)
        assert {conn_name, f"*.{conn_name}"} <= set(tls["names"])
        cert = x509.load_pem_x509_certificate(tls["certificate"].encode())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert conn_name in sans.get_values_for_type(x509.DNSName)
        ca = inbound.call("GET", "/v1/project/alpha/kms/ca")["certificate"]
        assert cert.issuer == x509.load_pem_x509_certificate(ca.encode()).subject
        inbound.call("GET", "/v1/project/alpha/service/kafka-1/tls", 403)  # a project token

        deleted = inbound.call("DELETE", BASE)
        assert deleted["state"] == "deleting"
        wait_for(lambda: inbound.pl_state() == "GONE")
        assert lookup(conn_name, inbound.dns_port).rcode == "NXDOMAIN"
        gone = scrape(inbound.client, inbound.admin)
        assert metric(gone, "privlink_objects", kind="privatelink", state="active") == 0
        tls = inbound.call("GET", "/v1/project/alpha/service/kafka-1/tls", token=inbound.admin)
        assert conn_name not in tls["names"]  # issued again without the gone connection
        history = inbound.call("GET", "/v1/project/alpha/events", params={"service": "kafka-1"})
        issued = [e for e in history["events"] if e["kind"] == "certificate"]
        assert any(conn_name in e["message"] for e in issued)
        assert platform_resources(inbound) == {
            "target_groups": 0,
            "load_balancers": 0,
            "endpoint_services": 0,
        }
        endpoint_after = inbound.cloud("GET", f"/acme/eu-west-1/endpoints/{endpoint['id']}")
        assert endpoint_after["state"] == "rejected"
        history = inbound.call("GET", "/v1/project/alpha/events", params={"service": "kafka-1"})
        states = [e["state"] for e in history["events"] if e["kind"] == "privatelink"]
        assert states[0] == "creating"
        assert "active" in states
        assert states[-1] == "deleted"


def settled(inbound: Inbound, service: str = "kafka-1") -> bool:
    """The reconciler has applied the newest wish."""
    pl = inbound.call("GET", f"/v1/project/alpha/service/{service}/privatelink/aws/status")
    return bool(pl["privatelink"]["observed_generation"] == pl["privatelink"]["generation"])


def assert_unreachable(host: str, port: int) -> None:
    try:
        greeting(host, port, timeout=1)
    except OSError:
        return
    raise AssertionError(f"{host}:{port} answered though access is off")


class TestValidate:
    def test_names_the_broken_hop(self, inbound: Inbound) -> None:
        register_in_vpc(inbound)
        customer = make_customer(inbound, ports=(80, 80))  # the pool's ports are not allowed
        inbound.call("POST", BASE, json={"principals": [customer.principal]})
        wait_for(lambda: inbound.pl_state() == "active")
        connect_endpoint(inbound, customer, inbound.pl()["aws_service_name"])
        wait_for(lambda: inbound.call("GET", BASE + "/connections")["connections"])

        first = inbound.call("GET", BASE + "/validate")
        assert first["broken"] == "access"
        assert "privatelink_access.COMPONENT=true" in first["hops"][2]["fix"]

        inbound.call(
            "PUT",
            "/v1/project/alpha/service/kafka-1",
            json={"user_config": {"privatelink_access": {"schema_registry": True}}},
        )
        wait_for(lambda: settled(inbound))
        report = wait_for(
            lambda: (
                (r := inbound.call("GET", BASE + "/validate"))["broken"].endswith("security group")
                and r
            )
        )
        hop = next(h for h in report["hops"] if h["hop"] == report["broken"])
        assert "10000-31000" in hop["fix"]
        assert not next(h for h in report["hops"] if "connect" in h["hop"])["ok"]

    def test_unknown_connection_is_refused(self, inbound: Inbound) -> None:
        register_in_vpc(inbound)
        inbound.call("POST", BASE, json={"principals": ["arn:aws:iam::111111111111:root"]})
        response = inbound.client.get(
            BASE + "/validate", params={"connection": "plc00000000000"}, headers=inbound.headers()
        )
        assert response.status_code == 404
        assert "connection list" in response.json()["message"]


class TestDrift:
    def test_platform_resources_deleted_out_of_band_come_back(self, inbound: Inbound) -> None:
        register_in_vpc(inbound)
        inbound.call("POST", BASE, json={"principals": ["arn:aws:iam::111111111111:root"]})
        wait_for(lambda: inbound.pl_state() == "active")
        before = inbound.pl()["aws_service_id"]
        cloud = inbound.client.app.state.privlink.cloud  # type: ignore[attr-defined]
        platform = cloud.account("privlink-platform", "eu-west-1")
        platform.delete_endpoint_service(before)
        group = next(g for g in platform.describe_target_groups() if g.name.endswith("-10001"))
        platform.delete_target_group(group.arn)

        # The next resync (2 s here) re-creates both, and says so.
        after = wait_for(
            lambda: (got := inbound.pl()["aws_service_id"]) not in (None, before) and got
        )
        assert [s.id for s in platform.describe_endpoint_services()] == [after]
        assert len(platform.describe_target_groups()) == 5
        history = inbound.call("GET", "/v1/project/alpha/events", params={"service": "kafka-1"})
        messages = [e["message"] for e in history["events"]]
        assert "endpoint service was deleted out of band; re-created" in messages
        assert any("target group kafka-0 was deleted out of band" in m for m in messages)


def test_cloud_calls_are_counted_on_metrics(inbound: Inbound) -> None:
    """/metrics counts the reconciler's cloud calls by call: what the API budget goes to."""
    active_privatelink(inbound)

    def calls() -> dict[str, float]:
        text = inbound.client.get("/metrics", headers=inbound.headers(inbound.admin)).text
        counted: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("privlink_cloud_calls_total{"):
                labels, _, value = line.rpartition(" ")
                call = labels.split('call="')[1].split('"')[0]
                counted[call] = counted.get(call, 0.0) + float(value)  # every outcome
        return counted

    counted = calls()
    # One endpoint service and one load balancer made (and found first), whatever else
    # the steps read.
    assert counted["create_endpoint_service"] == 1
    assert counted["create_load_balancer"] == 1
    assert counted["find_by_tags"] >= 2
    before = sum(counted.values())
    inbound.call("POST", "/v1/project/alpha/service/kafka-1/privatelink/aws/refresh")
    wait_for(lambda: sum(calls().values()) > before)  # a refresh is a look: more calls

"""Azure Private Link and Google Private Service Connect on the local cloud, in process:
the customer's private endpoint is found, approved, given its address, and carries bytes."""

from __future__ import annotations

from typing import Any

from tests.inbound.conftest import Inbound, greeting, register_in_vpc
from tests.support import wait_for

AZURE = "/v1/project/alpha/service/kafka-1/privatelink/azure"
GOOGLE = "/v1/project/alpha/service/kafka-1/privatelink/google"


def _customer(inbound: Inbound, region: str) -> tuple[dict[str, Any], str, str, str]:
    """An account with a network and one subnet in `region`: (account, base, vpc, subnet)."""
    account = inbound.cloud("POST", "/accounts", 201, json={"name": "acme"})
    base = f"/acme/{region}"
    vpc = inbound.cloud("POST", f"{base}/vpcs", 201, json={"cidr": "10.9.0.0/16"})
    zone = {"westeurope": "azwe1-az1", "europe-west1": "gew1-az1"}[region]
    subnet = inbound.cloud(
        "POST", f"{base}/subnets", 201, json={"vpc_id": vpc["id"], "az_id": zone}
    )
    return account, base, vpc["id"], subnet["id"]


def _components(inbound: Inbound) -> list[dict[str, Any]]:
    service = inbound.call("GET", "/v1/project/alpha/service/kafka-1")["service"]
    return [c for c in service["components"] if c.get("route") == "privatelink"]


def test_azure_flow(inbound: Inbound) -> None:
    register_in_vpc(inbound, cloud="azure-westeurope")
    account, base, vpc, subnet = _customer(inbound, "westeurope")
    subscription = account["azure_subscription_id"]
    made = inbound.call("POST", AZURE, json={"user_subscription_ids": [subscription.upper()]})
    assert made["state"] == "creating"
    assert made["user_subscription_ids"] == [subscription]
    inbound.call("POST", AZURE, 409, json={"user_subscription_ids": [subscription]})
    wait_for(lambda: inbound.call("GET", AZURE)["state"] == "active")
    pl = inbound.call("GET", AZURE)
    assert pl["azure_service_alias"].endswith(".westeurope.azure.privatelinkservice")
    assert pl["azure_service_id"].startswith("/subscriptions/")
    assert "/privateLinkServices/" in pl["azure_service_id"]

    # Another subscription cannot see the service.
    inbound.cloud("POST", "/accounts", 201, json={"name": "other"})
    ovpc = inbound.cloud("POST", "/other/westeurope/vpcs", 201, json={"cidr": "10.8.0.0/16"})
    osub = inbound.cloud(
        "POST", "/other/westeurope/subnets", 201, json={"vpc_id": ovpc["id"], "az_id": "azwe1-az1"}
    )
    refused = inbound.cloud(
        "POST",
        "/other/westeurope/endpoints",
        403,
        json={
            "vpc_id": ovpc["id"],
            "service_name": pl["azure_service_alias"],
            "subnet_ids": [osub["id"]],
        },
    )
    assert "not visible to subscription" in refused["message"]

    endpoint = inbound.cloud(
        "POST",
        f"{base}/endpoints",
        201,
        json={"vpc_id": vpc, "service_name": pl["azure_service_alias"], "subnet_ids": [subnet]},
    )
    assert endpoint["state"] == "pendingAcceptance"
    assert endpoint["resource_id"].endswith(f"/privateEndpoints/{endpoint['id']}")
    inbound.call("POST", AZURE + "/refresh")

    def listed() -> list[dict[str, Any]]:
        return list(inbound.call("GET", AZURE + "/connections")["connections"])

    wait_for(lambda: len(listed()) == 1)
    (conn,) = listed()
    assert conn["state"] == "pending-user-approval"
    assert conn["private_endpoint_id"] == endpoint["resource_id"]
    assert conn["user_ip_address"] is None
    plc = conn["privatelink_connection_id"]

    # An address before approval is refused; approving an unknown one is 404.
    inbound.call("PUT", f"{AZURE}/connections/{plc}", 409, json={"user_ip_address": "10.0.0.4"})
    inbound.call("POST", f"{AZURE}/connections/plc0123456789a/approve", 404)
    approved = inbound.call("POST", f"{AZURE}/connections/{plc}/approve")
    assert approved["state"] == "user-approved"
    wait_for(lambda: listed()[0]["state"] == "connected")

    address = endpoint["addresses"][0]["address"]
    bad = inbound.call("PUT", f"{AZURE}/connections/{plc}", 400, json={"user_ip_address": "10.0.0"})
    assert "Invalid IP address" in bad["message"]
    outside = inbound.call(
        "PUT", f"{AZURE}/connections/{plc}", 400, json={"user_ip_address": "10.200.0.4"}
    )
    assert "outside the subnet" in outside["message"]
    assert listed()[0]["user_ip_address"] is None  # nothing changed
    inbound.call("PUT", f"{AZURE}/connections/{plc}", json={"user_ip_address": address})
    wait_for(lambda: listed()[0]["state"] == "active")
    assert listed()[0]["user_ip_address"] == address

    inbound.call(
        "PUT",
        "/v1/project/alpha/service/kafka-1",
        json={"user_config": {"privatelink_access": {"kafka": True}}},
    )
    wait_for(lambda: any(c["component"] == "kafka" for c in _components(inbound)))
    entry = next(c for c in _components(inbound) if c["component"] == "kafka")
    assert entry["privatelink_connection_id"] == plc
    assert isinstance(entry["port"], int)
    assert inbound.address(entry["host"]) == address
    assert greeting(address, entry["port"]).startswith("broker-")
    report = inbound.call("GET", AZURE + "/validate")
    assert report["ok"], report
    hops = [h["hop"] for h in report["hops"]]
    assert any("dns" in h.lower() for h in hops), hops

    # Azure's flow publishes the service whole (the local cloud plays it piece by piece).
    audit = inbound.call("GET", "/v1/admin/audit", token=inbound.admin, params={"limit": 500})
    actions = {r["action"] for r in audit["records"]}
    assert "cloud publish" in actions

    # Delete: `deleting`, changes refused meanwhile, then gone.
    assert inbound.call("DELETE", AZURE)["state"] == "deleting"
    inbound.call("PUT", AZURE, 409, json={"user_subscription_ids": [subscription]})
    wait_for(lambda: inbound.client.get(AZURE, headers=inbound.headers()).status_code == 404)


def test_google_flow(inbound: Inbound) -> None:
    register_in_vpc(inbound, cloud="google-europe-west1")
    _account, base, vpc, subnet = _customer(inbound, "europe-west1")
    assert inbound.call("POST", GOOGLE, json={})["state"] == "creating"
    inbound.call("POST", GOOGLE, 409, json={})
    wait_for(lambda: inbound.call("GET", GOOGLE)["state"] == "active")
    attachment = inbound.call("GET", GOOGLE)["google_service_attachment"]
    assert attachment.startswith("projects/")
    assert "/serviceAttachments/" in attachment

    endpoint = inbound.cloud(
        "POST",
        f"{base}/endpoints",
        201,
        json={"vpc_id": vpc, "service_name": attachment, "subnet_ids": [subnet]},
    )
    assert endpoint["psc_connection_id"].isdigit()
    refreshed = inbound.call("POST", GOOGLE + "/refresh")
    assert refreshed["google_service_attachment"] == attachment

    def listed() -> dict[str, Any]:
        return dict(inbound.call("GET", GOOGLE + "/connections"))

    wait_for(lambda: len(listed()["connections"]) == 1)
    (conn,) = listed()["connections"]
    assert conn["state"] == "pending-user-approval"
    assert conn["psc_connection_id"] == endpoint["psc_connection_id"]
    plc = conn["privatelink_connection_id"]
    address = endpoint["addresses"][0]["address"]
    for bad, message in [("300.1.1.1", "Invalid IP address"), ("10.9.9.9", "outside the subnet")]:
        error = inbound.call(
            "POST", f"{GOOGLE}/connections/{plc}/approve", 400, json={"user_ip_address": bad}
        )
        assert message in error["message"]
        assert listed()["connections"][0]["state"] == "pending-user-approval"
    approved = inbound.call(
        "POST", f"{GOOGLE}/connections/{plc}/approve", json={"user_ip_address": address}
    )
    assert approved["state"] == "user-approved"
    inbound.call("POST", GOOGLE + "/refresh")  # refresh meanwhile disturbs nothing
    wait_for(lambda: listed()["connections"][0]["state"] == "active")
    assert listed()["connections"][0]["user_ip_address"] == address

    inbound.call(
        "PUT",
        "/v1/project/alpha/service/kafka-1",
        json={"user_config": {"privatelink_access": {"schema_registry": True}}},
    )
    wait_for(lambda: any(c["component"] == "schema_registry" for c in _components(inbound)))
    entry = next(c for c in _components(inbound) if c["component"] == "schema_registry")
    assert inbound.address(entry["host"]) == address
    assert greeting(address, entry["port"]) == "registry"
    report = inbound.call("GET", GOOGLE + "/validate", params={"connection": plc})
    assert report["ok"], report
    status = inbound.call("GET", GOOGLE + "/status")
    assert status["connections"][0]["host"] == entry["host"]
    inbound.call("DELETE", GOOGLE)
    wait_for(lambda: inbound.client.get(GOOGLE, headers=inbound.headers()).status_code == 404)

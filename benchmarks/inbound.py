"""Inbound PrivateLink on the local cloud: create-to-active, connection names, first byte.

Run with `make bench-inbound`. Starts `privlink serve` (SQLite, userspace data plane,
1 s health checks, its DNS server on a loopback port) on a loopback port, registers N
services behind one greeting node, then for each, one after the other: create the
PrivateLink and time until `active`; create a customer endpoint and time until its
connection is `active`, then until the connection's name resolves at the DNS server, and
until the node's first byte arrives through the endpoint. Prints p50/p99 over N services.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import Any

import dns.message
import dns.query
import dns.rcode
import httpx
from common import free_port, greeting_node, project_vpc, register_pg, report, serve, until

N = int(os.environ.get("BENCH_SERVICES", "100"))
# Services per Azure and Google flow (each waits for an approval, as a customer gives it).
N_CLOUD = int(os.environ.get("BENCH_CLOUD_SERVICES", "25"))


def first_byte(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as sock:
            return sock.recv(5) == b"node\n"
    except OSError:
        return False


def resolves(name: str, port: int) -> bool:
    """The name has an address at the DNS server on 127.0.0.1:port."""
    answer = dns.query.udp(dns.message.make_query(name, "A"), "127.0.0.1", port=port, timeout=2)
    return answer.rcode() == dns.rcode.NOERROR and bool(answer.answer)


def main() -> None:
    node = free_port()
    greeting_node(node)
    dns_port = free_port()
    with serve(
        PRIVLINK_HEALTH_CHECK_INTERVAL="1", PRIVLINK_DNS_LISTEN=f"127.0.0.1:{dns_port}"
    ) as bench:
        api = bench.api
        vpc = project_vpc(bench)
        customer = _customer(api)
        active, connected, named, byte = [], [], [], []
        for i in range(N):
            name = f"pg-{i}"
            register_pg(api, name, node, vpc, privatelink_access={"pg": True})
            base = f"/v1/project/bench/service/{name}/privatelink/aws"
            started = time.perf_counter()
            api.post(base, json={"principals": [customer["principal"]]}).raise_for_status()
            done = until(lambda base=base: api.get(base).json()["state"] == "active")
            active.append(done - started)
            service_name = api.get(base).json()["aws_service_name"]
            endpoint = api.post(
                "/v1/cloud/acme/eu-west-1/endpoints",
                json={
                    "vpc_id": customer["vpc"],
                    "service_name": service_name,
                    "subnet_ids": customer["subnets"],
                    "security_group_ids": [customer["group"]],
                },
            ).json()
            asked = time.perf_counter()
            conn = until_connection_active(api, base)
            connected.append(conn[0] - asked)
            host = f"{conn[1]}.{name}.bench.pl.privlink.internal"
            named.append(until(lambda h=host: resolves(h, dns_port)) - conn[0])
            address = endpoint["addresses"][0]["address"]
            listen = api.get(base + "/status").json()["ports"][0]["port"]
            done = until(lambda a=address, p=listen: first_byte(a, p))
            byte.append(done - started)
            print(f"\r{i + 1}/{N}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        report(
            f"inbound PrivateLink on the local cloud, {len(active)} services, one after another",
            [
                ("create -> active", active),
                ("endpoint -> connection active", connected),
                ("connection active -> name resolvable", named),
                ("create -> first byte", byte),
            ],
            [
                "name resolvable: its A record answered by the local cloud's DNS server "
                "(published before the connection turns active, so ~ one poll)",
                "first byte includes the customer's endpoint and two 1 s health checks of the node",
                "(AWS: an NLB and endpoint service take minutes to become available)",
            ],
        )
        for provider in ("azure", "google"):
            _approval_flow(bench, provider, node)


CLOUDS = {
    "azure": ("azure-westeurope", "westeurope"),
    "google": ("google-europe-west1", "europe-west1"),
}


def _approval_flow(bench: Any, provider: str, node: int) -> None:
    """Azure and Google: create -> active, then (endpoint made, found, approved and, in
    Azure, its address given) approve -> first byte through the endpoint."""
    api = bench.api
    cloud, region = CLOUDS[provider]
    vpc = project_vpc(bench, cloud, new_project=False)
    account = api.post("/v1/cloud/accounts", json={"name": f"c-{provider}"}).json()
    base_cloud = f"/v1/cloud/c-{provider}/{region}"
    net = api.post(f"{base_cloud}/vpcs", json={"cidr": "10.9.0.0/16"}).json()["id"]
    zone = {"azure": "azwe1-az1", "google": "gew1-az1"}[provider]
    subnet = api.post(f"{base_cloud}/subnets", json={"vpc_id": net, "az_id": zone}).json()["id"]
    body = (
        {"user_subscription_ids": [account["azure_subscription_id"]]} if provider == "azure" else {}
    )
    active, approved = [], []
    for i in range(N_CLOUD):
        name = f"pg-{provider}-{i}"
        register_pg(api, name, node, vpc, cloud=cloud, privatelink_access={"pg": True})
        base = f"/v1/project/bench/service/{name}/privatelink/{provider}"
        started = time.perf_counter()
        api.post(base, json=body).raise_for_status()
        active.append(until(lambda base=base: api.get(base).json()["state"] == "active") - started)
        pl = api.get(base).json()
        target = pl.get("azure_service_alias") or pl["google_service_attachment"]
        endpoint = api.post(
            f"{base_cloud}/endpoints",
            json={"vpc_id": net, "service_name": target, "subnet_ids": [subnet]},
        ).json()
        address = endpoint["addresses"][0]["address"]
        api.post(base + "/refresh").raise_for_status()
        plc = until_listed(api, base)
        # The node healthy behind the listener first: what is timed is the approval's path.
        until(lambda base=base: api.get(base + "/status").json()["ports"][0]["healthy"])
        asked = time.perf_counter()
        if provider == "azure":
            api.post(f"{base}/connections/{plc}/approve").raise_for_status()
            until(lambda base=base: _states(api, base) == ["connected"])
            api.put(
                f"{base}/connections/{plc}", json={"user_ip_address": address}
            ).raise_for_status()
        else:
            approve = {"user_ip_address": address}
            api.post(f"{base}/connections/{plc}/approve", json=approve).raise_for_status()
        listen = api.get(base + "/status").json()["ports"][0]["port"]
        approved.append(until(lambda a=address, p=listen: first_byte(a, p)) - asked)
        print(f"\r{provider} {i + 1}/{N_CLOUD}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    report(
        f"{provider} PrivateLink on the local cloud, {N_CLOUD} services, one after another",
        [("create -> active", active), ("approve -> first byte", approved)],
        [
            "approve -> first byte: the approval (in Azure also the endpoint's address, given "
            "once the connection is `connected`) accepted in the cloud and the endpoint "
            "carrying bytes; the node was healthy before",
        ],
    )


def _states(api: httpx.Client, base: str) -> list[str]:
    return [r["state"] for r in api.get(base + "/connections").json()["connections"]]


def until_listed(api: httpx.Client, base: str) -> str:
    """The PrivateLink's (only) connection once found, waiting for approval: its ID."""
    until(lambda: _states(api, base) == ["pending-user-approval"])
    return str(api.get(base + "/connections").json()["connections"][0]["privatelink_connection_id"])


def until_connection_active(api: httpx.Client, base: str) -> tuple[float, str]:
    """When the PrivateLink's (only) connection was first seen `active`, and its ID."""
    found: list[str] = []

    def check() -> bool:
        rows = api.get(base + "/connections").json()["connections"]
        found[:] = [r["privatelink_connection_id"] for r in rows if r["state"] == "active"]
        return bool(found)

    return until(check), found[0]


def _customer(api: httpx.Client) -> dict[str, Any]:
    account = api.post("/v1/cloud/accounts", json={"name": "acme"}).json()
    base = "/v1/cloud/acme/eu-west-1"
    vpc = api.post(f"{base}/vpcs", json={"cidr": "10.9.0.0/16"}).json()["id"]
    subnets = [
        api.post(f"{base}/subnets", json={"vpc_id": vpc, "az_id": az}).json()["id"]
        for az in ("euw1-az1", "euw1-az2")
    ]
    group = api.post(f"{base}/security-groups", json={"vpc_id": vpc, "name": "db"}).json()["id"]
    api.post(
        f"{base}/security-groups/{group}/ingress",
        json={"cidr": "127.0.0.0/8", "from_port": 10000, "to_port": 31000},
    ).raise_for_status()
    return {"principal": account["principal"], "vpc": vpc, "subnets": subnets, "group": group}


if __name__ == "__main__":
    main()

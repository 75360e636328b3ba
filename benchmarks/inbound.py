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

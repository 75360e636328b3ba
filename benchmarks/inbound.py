"""Inbound PrivateLink on the local cloud: create-to-active and create-to-first-byte.

Run with `make bench-inbound`. Starts `privlink serve` (SQLite, userspace data plane,
1 s health checks) on a loopback port, registers N services behind one greeting node,
then for each, one after the other: create the PrivateLink and time until `active`;
create a customer endpoint and time until the node's first byte arrives through it.
Prints p50/p99 of both over N services.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import Any

import httpx
from common import free_port, greeting_node, project_vpc, register_pg, report, serve, until

N = int(os.environ.get("BENCH_SERVICES", "100"))


def first_byte(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as sock:
            return sock.recv(5) == b"node\n"
    except OSError:
        return False


def main() -> None:
    node = free_port()
    greeting_node(node)
    with serve(PRIVLINK_HEALTH_CHECK_INTERVAL="1") as bench:
        api = bench.api
        vpc = project_vpc(bench)
        customer = _customer(api)
        active, byte = [], []
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
            address = endpoint["addresses"][0]["address"]
            listen = api.get(base + "/status").json()["ports"][0]["port"]
            done = until(lambda a=address, p=listen: first_byte(a, p))
            byte.append(done - started)
            print(f"\r{i + 1}/{N}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        report(
            f"inbound PrivateLink on the local cloud, {len(active)} services, one after another",
            [("create -> active", active), ("create -> first byte", byte)],
            [
                "first byte includes the customer's endpoint and two 1 s health checks of the node",
                "(AWS: an NLB and endpoint service take minutes to become available)",
            ],
        )


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

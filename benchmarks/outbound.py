"""Outbound PrivateLink on the local cloud: create-to-request, accept-to-running, first byte.

Run with `make bench-outbound`. Starts `privlink serve` (SQLite, userspace data plane),
builds one customer endpoint service (a greeting backend behind an NLB in every AZ ID),
registers N dedicated deployments, and for each, one after the other: create the link
and time until the owner sees the connection request (`pending-acceptance`); accept it
and time until `running` and until the backend's first byte arrives through the
endpoint from the deployment's network. Prints p50/p99 over N deployments.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from typing import Any

import httpx
from common import free_port, greeting_node, project, report, serve, until

N = int(os.environ.get("BENCH_SERVICES", "100"))
CUSTOMER = "/v1/cloud/acme/eu-west-1"
LISTENER = 8883


def first_byte(address: str, port: int) -> bool:
    source = address.rsplit(".", 1)[0] + ".254"  # inside the deployment's network
    try:
        with socket.create_connection((address, port), timeout=1, source_address=(source, 0)) as s:
            return s.recv(5) == b"node\n"
    except OSError:
        return False


def customer_service(api: httpx.Client, node: int) -> dict[str, Any]:
    api.post("/v1/cloud/accounts", json={"name": "acme"}).raise_for_status()
    vpc = api.post(f"{CUSTOMER}/vpcs", json={"cidr": "10.9.0.0/16"}).json()["id"]
    subnets = [
        api.post(f"{CUSTOMER}/subnets", json={"vpc_id": vpc, "az_id": az}).json()["id"]
        for az in ("euw1-az1", "euw1-az2", "euw1-az3")
    ]
    check = {"interval": 1, "healthy_threshold": 2}
    api.post(
        f"{CUSTOMER}/target-groups", json={"name": "app", "port": node, "health_check": check}
    ).raise_for_status()
    api.post(
        f"{CUSTOMER}/target-groups/app/targets",
        json={"targets": [{"host": "127.0.0.1", "port": node}]},
    ).raise_for_status()
    api.post(f"{CUSTOMER}/load-balancers", json={"name": "app", "subnet_ids": subnets})
    api.post(
        f"{CUSTOMER}/load-balancers/app/listeners",
        json={"port": LISTENER, "target_group": "app"},
    ).raise_for_status()
    until(
        lambda: (
            api.get(f"{CUSTOMER}/target-groups/app/health").json()["targets"][0]["state"]
            == "healthy"
        )
    )
    return dict(api.post(f"{CUSTOMER}/endpoint-services", json={"load_balancers": ["app"]}).json())


def main() -> None:
    node = free_port()
    greeting_node(node)
    with serve() as bench:
        api = bench.api
        project(bench, "bench")
        service = customer_service(api, node)
        requested, running, byte = [], [], []
        for i in range(N):
            name = f"mqtt-{i}"
            api.post(
                "/v1/project/bench/service",
                json={
                    "service_name": name,
                    "service_type": "mqtt",
                    "cloud_name": "aws-eu-west-1",
                    "plan": "dedicated-4",
                    "components": {"mqtt": ["127.0.0.1:1883"]},
                },
            ).raise_for_status()
            base = f"/v1/project/bench/service/{name}/privatelink/aws"
            principal = api.get(f"{base}/outbound-info").json()["principal"]
            api.post(
                f"{CUSTOMER}/endpoint-services/{service['id']}/permissions",
                json={"add": [principal]},
            ).raise_for_status()
            started = time.perf_counter()
            link = api.post(f"{base}/outbound", json={"service_name": service["name"]}).json()
            path = f"{base}/outbound/{link['link_id']}"
            done = until(lambda p=path: api.get(p).json()["state"] == "pending-acceptance")
            requested.append(done - started)
            endpoint = api.get(path).json()["vpc_endpoint_id"]
            accepted = time.perf_counter()
            api.post(
                f"{CUSTOMER}/endpoint-services/{service['id']}/connections/accept",
                json={"endpoint_ids": [endpoint]},
            ).raise_for_status()
            done = until(lambda p=path: api.get(p).json()["state"] == "running")
            running.append(done - accepted)
            address = api.get(path).json()["addresses"][0]
            done = until(lambda a=address: first_byte(a, LISTENER))
            byte.append(done - accepted)
            print(f"\r{i + 1}/{N}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        report(
            f"outbound PrivateLink on the local cloud, {N} deployments, one after another",
            [
                ("create -> pending-acceptance", requested),
                ("accept -> running", running),
                ("accept -> first byte", byte),
            ],
            [
                "pending-acceptance: the endpoint exists and its owner sees the request",
                "(AWS: an interface endpoint takes minutes to become available)",
            ],
        )


if __name__ == "__main__":
    main()

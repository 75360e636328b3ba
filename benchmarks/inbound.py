"""Inbound PrivateLink on the local cloud: create-to-active and create-to-first-byte.

Run with `make bench-inbound`. Starts `privlink serve` (SQLite, userspace data plane,
1 s health checks) on a loopback port, registers N services behind one greeting node,
then for each, one after the other: create the PrivateLink and time until `active`;
create a customer endpoint and time until the node's first byte arrives through it.
Prints p50/p99 of both over N services.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

N = int(os.environ.get("BENCH_SERVICES", "100"))
PRIVLINK = str(Path(sys.executable).with_name("privlink"))
POLL = 0.005


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def greeting_node(port: int) -> None:
    async def greet(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"node\n")
        await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(greet, "127.0.0.1", port)
        await server.serve_forever()

    threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()


def until(check: Any, limit: float = 60.0) -> float:
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        if check():
            return time.perf_counter()
        time.sleep(POLL)
    raise SystemExit("bench: condition not met in time")


def first_byte(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as sock:
            return sock.recv(5) == b"node\n"
    except OSError:
        return False


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    data = Path(tempfile.mkdtemp(prefix="privlink-bench-"))
    port, node = free_port(), free_port()
    greeting_node(node)
    env = {
        **os.environ,
        "PRIVLINK_DATA_DIR": str(data),
        "PRIVLINK_PORT": str(port),
        "PRIVLINK_DEMO": "0",
        "PRIVLINK_DATAPLANE": "userspace",
        "PRIVLINK_HEALTH_CHECK_INTERVAL": "1",
        "PRIVLINK_LOG_LEVEL": "warning",
    }
    env.pop("PRIVLINK_DATABASE_URL", None)
    url = f"http://127.0.0.1:{port}"
    serve = subprocess.Popen(
        [PRIVLINK, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        until(lambda: _ready(url))
        admin = (data / "admin-token").read_text().strip()
        api = httpx.Client(base_url=url, headers={"Authorization": f"aivenv1 {admin}"}, timeout=30)
        run = {**env, "PRIVLINK_URL": url}
        api.post("/v1/project", json={"project": "bench"}).raise_for_status()
        subprocess.run(
            [PRIVLINK, "admin", "project", "update", "bench", "--enable-privatelink"],
            env=run,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        vpc = api.post(
            "/v1/project/bench/vpcs",
            json={"cloud_name": "aws-eu-west-1", "network_cidr": "10.0.0.0/24"},
        ).json()["project_vpc_id"]
        until(lambda: api.get(f"/v1/project/bench/vpcs/{vpc}").json()["state"] == "ACTIVE")
        customer = _customer(api)
        active, byte = [], []
        for i in range(N):
            name = f"pg-{i}"
            api.post(
                "/v1/project/bench/service",
                json={
                    "service_name": name,
                    "service_type": "pg",
                    "cloud_name": "aws-eu-west-1",
                    "plan": "business-4",
                    "components": {"pg": [f"127.0.0.1:{node}"]},
                },
            ).raise_for_status()
            api.put(
                f"/v1/project/bench/service/{name}",
                json={"project_vpc_id": vpc, "user_config": {"privatelink_access": {"pg": True}}},
            ).raise_for_status()
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
        _report(active, byte)
    finally:
        serve.terminate()
        serve.wait(30)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


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


def _report(active: list[float], byte: list[float]) -> None:
    print(f"inbound PrivateLink on the local cloud, {len(active)} services, one after another")
    print(f"{'':28}{'p50':>10}{'p99':>10}{'mean':>10}")
    for label, values in (("create -> active", active), ("create -> first byte", byte)):
        row = [pct(values, 0.5), pct(values, 0.99), statistics.fmean(values)]
        print(f"{label:28}" + "".join(f"{v * 1000:>8.0f}ms" for v in row))
    print("first byte includes the customer's endpoint and two 1 s health checks of the node")
    print("(AWS: an NLB and endpoint service take minutes to become available)")


if __name__ == "__main__":
    main()

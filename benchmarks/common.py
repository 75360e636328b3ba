"""What the control-plane benchmarks share: their own `privlink serve`, polling, percentiles."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

PRIVLINK = str(Path(sys.executable).with_name("privlink"))
POLL = 0.005


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def greeting_node(port: int) -> None:
    """A TCP server on 127.0.0.1:port that says `node` and hangs up."""

    async def greet(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"node\n")
        await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(greet, "127.0.0.1", port)
        await server.serve_forever()

    threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()


def until(check: Callable[[], object], limit: float = 60.0) -> float:
    """Poll until `check()` is truthy; the perf_counter time it was."""
    deadline = time.perf_counter() + limit
    while time.perf_counter() < deadline:
        if check():
            return time.perf_counter()
        time.sleep(POLL)
    raise SystemExit("bench: condition not met in time")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Serve:
    url: str
    env: dict[str, str]
    api: httpx.Client
    pid: int = 0


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def serve(**settings: str) -> Iterator[Serve]:
    """`privlink serve` on SQLite with the userspace data plane, its admin API client."""
    data = Path(tempfile.mkdtemp(prefix="privlink-bench-"))
    port = free_port()
    env = {
        **os.environ,
        "PRIVLINK_DATA_DIR": str(data),
        "PRIVLINK_PORT": str(port),
        "PRIVLINK_DEMO": "0",
        "PRIVLINK_METRICS_PUBLIC": "1",  # scraped without a token
        "PRIVLINK_DATAPLANE": "userspace",
        "PRIVLINK_LOG_LEVEL": "warning",
        **settings,
    }
    env.pop("PRIVLINK_DATABASE_URL", None)
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [PRIVLINK, "serve"],
        env=env,
        # BENCH_SERVE_LOG keeps serve's output (its request log has each request's ms).
        stdout=open(os.environ.get("BENCH_SERVE_LOG", os.devnull), "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    try:
        until(lambda: _ready(url))
        admin = (data / "admin-token").read_text().strip()
        headers = {"Authorization": f"aivenv1 {admin}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as api:
            yield Serve(url=url, env={**env, "PRIVLINK_URL": url}, api=api, pid=process.pid)
    finally:
        process.terminate()
        process.wait(30)


def project(bench: Serve, name: str) -> None:
    """A project with PrivateLink enabled."""
    bench.api.post("/v1/project", json={"project": name}).raise_for_status()
    subprocess.run(
        [PRIVLINK, "admin", "project", "update", name, "--enable-privatelink"],
        env=bench.env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def project_vpc(bench: Serve, cloud: str = "aws-eu-west-1", *, new_project: bool = True) -> str:
    """Project `bench` (PrivateLink enabled, made unless `new_project` is False) with an
    ACTIVE project VPC in `cloud`; its ID."""
    if new_project:
        project(bench, "bench")
    api = bench.api
    vpc: str = api.post(
        "/v1/project/bench/vpcs",
        json={"cloud_name": cloud, "network_cidr": "10.0.0.0/24"},
    ).json()["project_vpc_id"]
    until(lambda: api.get(f"/v1/project/bench/vpcs/{vpc}").json()["state"] == "ACTIVE")
    return vpc


def register_pg(
    api: httpx.Client,
    name: str,
    node: int,
    vpc: str | None = None,
    *,
    project: str = "bench",
    cloud: str = "aws-eu-west-1",
    **config: object,
) -> None:
    """A pg service of `project` in `cloud` behind the node on 127.0.0.1:node, in `vpc`
    if given."""
    api.post(
        f"/v1/project/{project}/service",
        json={
            "service_name": name,
            "service_type": "pg",
            "cloud_name": cloud,
            "plan": "business-4",
            "components": {"pg": [f"127.0.0.1:{node}"]},
        },
    ).raise_for_status()
    if vpc is None:
        return
    body = {"project_vpc_id": vpc, **({"user_config": config} if config else {})}
    api.put(f"/v1/project/{project}/service/{name}", json=body).raise_for_status()


def report(title: str, rows: list[tuple[str, list[float]]], notes: list[str]) -> None:
    print(title)
    width = max([32, *(len(label) + 2 for label, _ in rows)])
    print(f"{'':{width}}{'p50':>10}{'p99':>10}{'mean':>10}")
    for label, values in rows:
        cells = [pct(values, 0.5), pct(values, 0.99), sum(values) / len(values)]
        print(f"{label:{width}}" + "".join(f"{v * 1000:>8.0f}ms" for v in cells))
    for note in notes:
        print(note)

"""privlink at N inbound PrivateLinks: bulk convergence, new objects, API latency, idle cost.

Run with `make bench-scale` (BENCH_N="100,1000" by default). For each N a fresh
`privlink serve` (SQLite, userspace data plane, no demo) gets N services behind one
greeting node, each with a PrivateLink, then measures:

- bulk: creates of all N, and how many become `active` per second;
- new: 20 more, one after another, create -> `active` p50/p99 with N already there;
- api: GET of one PrivateLink and the project's service list at 10 and 50 concurrent
  clients, p50/p99;
- idle: the server's CPU (share of one core) and RSS over BENCH_IDLE seconds (30) with
  nothing changing.

The last table divides each figure at the largest N by the one at the smallest.
"""

from __future__ import annotations

import os
import random
import sqlite3
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from common import free_port, greeting_node, pct, project_vpc, register_pg, serve, until

SIZES = [int(n) for n in os.environ.get("BENCH_N", "100,1000").split(",")]
IDLE = float(os.environ.get("BENCH_IDLE", "30"))
BULK_LIMIT = float(os.environ.get("BENCH_BULK_LIMIT", "1800"))
NEW = 20
TICK = os.sysconf("SC_CLK_TCK")


def states(database: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as db:
        return dict(
            db.execute("SELECT state, count(*) FROM privatelinks GROUP BY state").fetchall()
        )


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def create(api: httpx.Client, name: str, principal: str) -> None:
    base = f"/v1/project/bench/service/{name}/privatelink/aws"
    api.post(base, json={"principals": [principal]}).raise_for_status()


def latencies(url: str, token: str, paths: list[str], clients: int, count: int) -> list[float]:
    headers = {"Authorization": f"aivenv1 {token}"}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as api:

        def one(path: str) -> float:
            started = time.perf_counter()
            api.get(path).raise_for_status()
            return time.perf_counter() - started

        with ThreadPoolExecutor(clients) as pool:
            return list(pool.map(one, [random.choice(paths) for _ in range(count)]))


def measure(n: int) -> dict[str, float]:
    node = free_port()
    greeting_node(node)
    figures: dict[str, float] = {}
    with serve(PRIVLINK_HEALTH_CHECK_INTERVAL="5") as bench:
        api, url = bench.api, bench.url
        data = Path(bench.env["PRIVLINK_DATA_DIR"])
        pid = bench.pid
        vpc = project_vpc(bench)
        principal = api.post("/v1/cloud/accounts", json={"name": "acme"}).json()["principal"]
        names = [f"pg-{i}" for i in range(n)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda name: register_pg(api, name, node, vpc), names))
        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda name: create(api, name, principal), names))
        created = time.perf_counter()
        deadline = time.perf_counter() + BULK_LIMIT
        while states(data / "privlink.db").get("active", 0) < n:
            if time.perf_counter() > deadline:
                raise SystemExit(f"bench: {n} PrivateLinks not active in {BULK_LIMIT} s")
            time.sleep(0.25)
        done = time.perf_counter()
        figures["bulk creates/s"] = n / (created - started)
        figures["bulk converged/s"] = n / (done - started)
        print(f"  N={n}: bulk {done - started:.1f} s", file=sys.stderr, flush=True)

        fresh = []
        for i in range(NEW):
            name = f"new-{i}"
            register_pg(api, name, node, vpc)
            base = f"/v1/project/bench/service/{name}/privatelink/aws"
            begun = time.perf_counter()
            create(api, name, principal)
            fresh.append(until(lambda base=base: api.get(base).json()["state"] == "active") - begun)
        figures["new -> active p50 (ms)"] = pct(fresh, 0.5) * 1000
        figures["new -> active p99 (ms)"] = pct(fresh, 0.99) * 1000

        token = bench.api.headers["Authorization"].split()[1]
        gets = [f"/v1/project/bench/service/{name}/privatelink/aws" for name in names]
        for clients in (10, 50):
            got = latencies(url, token, gets, clients, 500)
            figures[f"get p50 @{clients} (ms)"] = pct(got, 0.5) * 1000
            figures[f"get p99 @{clients} (ms)"] = pct(got, 0.99) * 1000
            listed = latencies(url, token, ["/v1/project/bench/service"], clients, 50)
            figures[f"list p50 @{clients} (ms)"] = pct(listed, 0.5) * 1000
            figures[f"list p99 @{clients} (ms)"] = pct(listed, 0.99) * 1000

        time.sleep(5)  # let the last wakes settle
        before = cpu_seconds(pid)
        time.sleep(IDLE)
        figures["idle CPU (% of a core)"] = (cpu_seconds(pid) - before) / IDLE * 100
        figures["RSS (MiB)"] = rss_mib(pid)
    return figures


def main() -> None:
    results = {n: measure(n) for n in SIZES}
    keys = list(next(iter(results.values())))
    print(f"privlink at scale: SQLite, one replica, userspace data plane ({os.cpu_count()} cores)")
    print(f"{'':28}" + "".join(f"{'N=' + str(n):>12}" for n in SIZES), end="")
    print(f"{'ratio':>10}" if len(SIZES) > 1 else "")
    for key in keys:
        cells = [results[n][key] for n in SIZES]
        ratio = f"{cells[-1] / cells[0]:>9.2f}x" if len(SIZES) > 1 and cells[0] else ""
        print(f"{key:28}" + "".join(f"{c:>12.1f}" for c in cells) + ratio)


if __name__ == "__main__":
    main()

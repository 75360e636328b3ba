"""privlink at N inbound PrivateLinks: bulk convergence, new objects, API latency, idle cost.

Run with `make bench-scale`. BENCH_RUNS says which deployments at which sizes, by
default "sqlite:1000 pg3:100,1000,10000":

- `sqlite`: one `privlink serve` on SQLite (the embedded default);
- `pg3`: three `privlink serve` replicas on one PostgreSQL (a throw-away cluster)
  behind HAProxy (round robin), as docs/deploy.md runs them.

Each run gets N services behind one greeting node, each with a PrivateLink, then:

- bulk: creates of all N (8 clients), and how many become `active` per second;
- new: 20 more, one after another, create -> `active` p50/p99 with N already there;
- api: first reads: each of the first 2,000 PrivateLinks read once from each replica
  (10 clients; every one misses the replica's response cache), p50/p99; then `wrk`
  GETs of them (round robin), and of the list of 1,000 services, at 10 and 50
  connections for BENCH_API seconds (10) each, p50/p99: answers as clients polling
  them get them;
- idle: each replica's CPU (share of one core; the busiest replica) and RSS over
  BENCH_IDLE seconds (60) with nothing changing and no resync due (objects were just
  made, and a resync comes 0.5-1x PRIVLINK_RESYNC_INTERVAL after an object's last look);
- resync: every object made due at once; CPU of all replicas per look, and from it the
  steady idle cost per replica: N looks per 0.75 x interval, spread over the replicas,
  plus the idle figure above.

The last column divides each figure at a deployment's largest N by its smallest.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from common import PRIVLINK, _ready, free_port, greeting_node, pct, register_pg, until
from cryptography.fernet import Fernet
from sqlalchemy import Engine, text

from privlink.store.db import make_engine
from privlink.testing import throwaway_postgres

RUNS = os.environ.get("BENCH_RUNS", "sqlite:1000 pg3:100,1000,10000")
IDLE = float(os.environ.get("BENCH_IDLE", "60"))
API_SECONDS = int(os.environ.get("BENCH_API", "10"))
BULK_LIMIT = float(os.environ.get("BENCH_BULK_LIMIT", "3600"))
NEW = 20
LISTED = 1000  # services in the listed project
TICK = os.sysconf("SC_CLK_TCK")
RESYNC = float(os.environ.get("PRIVLINK_RESYNC_INTERVAL", "3600"))
LONG_AGO = datetime(2000, 1, 1)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Deployment:
    """The replicas, the URL clients use (HAProxy's with several), the database."""

    def __init__(
        self,
        url: str,
        token: str,
        pids: list[int],
        engine: Engine,
        env: dict[str, str],
        replica_urls: list[str],
    ) -> None:
        self.url, self.token, self.pids, self.engine = url, token, pids, engine
        self.replica_urls = replica_urls  # each replica's own (its /metrics)
        self.env = env  # for `privlink admin` commands on the same database
        self.api = httpx.Client(
            base_url=url, headers={"Authorization": f"aivenv1 {token}"}, timeout=60
        )

    def states(self) -> dict[str, int]:
        with self.engine.connect() as db:
            rows = db.execute(text("SELECT state, count(*) FROM privatelinks GROUP BY state"))
            return {state: int(count) for state, count in rows}


@contextmanager
def replicas(kind: str, workdir: Path) -> Iterator[Deployment]:
    with ExitStack() as stack:
        env = {
            **os.environ,
            "PRIVLINK_DEMO": "0",
            "PRIVLINK_METRICS_PUBLIC": "1",  # scraped without a token
            "PRIVLINK_DATAPLANE": "userspace",
            "PRIVLINK_LOG_LEVEL": "warning",
            "PRIVLINK_HEALTH_CHECK_INTERVAL": "5",
            "PRIVLINK_SECRET_KEYS": Fernet.generate_key().decode(),
        }
        if kind == "sqlite":
            count = 1
            env.pop("PRIVLINK_DATABASE_URL", None)
            database = f"sqlite:///{workdir / 'replica-0' / 'privlink.db'}"
        else:
            count = 3
            found = stack.enter_context(throwaway_postgres())
            if found is None:
                raise SystemExit("bench: PostgreSQL binaries missing (apt-get install postgresql)")
            database = env["PRIVLINK_DATABASE_URL"] = found
        urls, pids = [], []
        for i in range(count):
            port = free_port()
            data = workdir / f"replica-{i}"
            log = stack.enter_context((workdir / f"replica-{i}.log").open("w"))
            process = subprocess.Popen(
                [PRIVLINK, "serve"],
                env={**env, "PRIVLINK_DATA_DIR": str(data), "PRIVLINK_PORT": str(port)},
                stdout=log,
                stderr=log,
            )
            stack.callback(_stop, process)
            url = f"http://127.0.0.1:{port}"
            until(lambda url=url: _ready(url), limit=120)  # the first migrates, alone
            urls.append(url)
            pids.append(process.pid)
        token = (workdir / "replica-0" / "admin-token").read_text().strip()
        url = urls[0] if count == 1 else stack.enter_context(haproxy(urls, workdir))
        engine = make_engine(database)
        stack.callback(engine.dispose)
        admin_env = {**env, "PRIVLINK_DATABASE_URL": database}
        admin_env["PRIVLINK_DATA_DIR"] = str(workdir / "replica-0")
        yield Deployment(url, token, pids, engine, admin_env, urls)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def haproxy(urls: list[str], workdir: Path) -> Iterator[str]:
    """A round-robin HTTP load balancer in front of the replicas."""
    if not shutil.which("haproxy"):
        raise SystemExit("bench: haproxy missing (apt-get install haproxy)")
    port = free_port()
    servers = "\n".join(
        f"    server r{i} {url.removeprefix('http://')}" for i, url in enumerate(urls)
    )
    config = workdir / "haproxy.cfg"
    config.write_text(
        "global\n    maxconn 4096\n    nbthread 1\n"
        "defaults\n    mode http\n    timeout connect 5s\n    timeout client 120s\n"
        "    timeout server 120s\n"
        f"frontend api\n    bind 127.0.0.1:{port}\n    default_backend replicas\n"
        f"backend replicas\n    balance roundrobin\n{servers}\n"
    )
    process = subprocess.Popen(["haproxy", "-f", str(config)], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        until(lambda: _ready(url))
        yield url
    finally:
        _stop(process)  # type: ignore[arg-type]


def project_vpc(bench: Deployment) -> str:
    """Project `bench` (PrivateLink enabled by an operator) with an ACTIVE project VPC."""
    api = bench.api
    api.post("/v1/project", json={"project": "bench"}).raise_for_status()
    subprocess.run(
        [PRIVLINK, "admin", "project", "update", "bench", "--enable-privatelink"],
        env=bench.env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    vpc: str = api.post(
        "/v1/project/bench/vpcs",
        json={"cloud_name": "aws-eu-west-1", "network_cidr": "10.0.0.0/24"},
    ).json()["project_vpc_id"]
    until(lambda: api.get(f"/v1/project/bench/vpcs/{vpc}").json()["state"] == "ACTIVE", 120)
    return vpc


def create(api: httpx.Client, name: str, principal: str) -> None:
    base = f"/v1/project/bench/service/{name}/privatelink/aws"
    api.post(base, json={"principals": [principal]}).raise_for_status()


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def wrk(url: str, token: str, paths: list[str], clients: int, workdir: Path) -> dict[str, float]:
    """p50/p99 (ms) and requests/s of GETs of `paths` (round robin) by `clients` connections."""
    script = workdir / "paths.lua"
    listed = ", ".join(f'"{p}"' for p in paths)
    script.write_text(
        f'wrk.headers["Authorization"] = "aivenv1 {token}"\n'
        f"paths = {{{listed}}}\ncounter = 0\n"
        "request = function()\n  counter = counter + 1\n"
        '  return wrk.format("GET", paths[(counter % #paths) + 1])\nend\n'
    )
    out = subprocess.run(
        ["wrk", "-t2", f"-c{clients}", f"-d{API_SECONDS}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found: dict[str, float] = {}
    for label, key in (("50%", "p50"), ("99%", "p99")):
        value, unit = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M).groups()  # type: ignore[union-attr]
        found[key] = float(value) * _UNITS[unit] * 1000
    found["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    if "Non-2xx" in out or "Socket errors" in out:
        print(f"  wrk: {out.strip().splitlines()[-3:]}", file=sys.stderr)
    return found


def measure(kind: str, n: int) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix=f"privlink-scale-{kind}-{n}-"))
    node = free_port()
    greeting_node(node)
    figures: dict[str, float] = {}
    with replicas(kind, workdir) as bench:
        api = bench.api
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
        while bench.states().get("active", 0) < n:
            if time.perf_counter() > deadline:
                raise SystemExit(f"bench: {n} PrivateLinks not active in {BULK_LIMIT} s")
            time.sleep(0.5)
        done = time.perf_counter()
        figures["bulk creates/s"] = n / (created - started)
        figures["bulk converged/s"] = n / (done - started)
        print(f"  {kind} N={n}: bulk {done - started:.1f} s", file=sys.stderr, flush=True)

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

        if n > LISTED:  # the listed project holds 1,000 services, whatever N is
            api.post("/v1/project", json={"project": "listed"}).raise_for_status()
            with ThreadPoolExecutor(8) as pool:
                list(
                    pool.map(
                        lambda i: register_pg(api, f"svc-{i}", node, project="listed"),
                        range(LISTED),
                    )
                )
            listed = "/v1/project/listed/service"
        else:
            listed = "/v1/project/bench/service"
        gets = [f"/v1/project/bench/service/{name}/privatelink/aws" for name in names[:2000]]
        first = first_reads(bench, gets)
        figures["first read p50 @10 (ms)"] = pct(first, 0.5) * 1000
        figures["first read p99 @10 (ms)"] = pct(first, 0.99) * 1000
        for clients in (10, 50):
            got = wrk(bench.url, bench.token, gets, clients, workdir)
            figures[f"get p50 @{clients} (ms)"] = got["p50"]
            figures[f"get p99 @{clients} (ms)"] = got["p99"]
            figures[f"get req/s @{clients}"] = got["rps"]
            whole = wrk(bench.url, bench.token, [listed], clients, workdir)
            figures[f"list p50 @{clients} (ms)"] = whole["p50"]
            figures[f"list p99 @{clients} (ms)"] = whole["p99"]

        time.sleep(5)  # let the last wakes settle
        before = [cpu_seconds(pid) for pid in bench.pids]
        time.sleep(IDLE)
        busy = [
            (cpu_seconds(pid) - b) / IDLE * 100 for pid, b in zip(bench.pids, before, strict=True)
        ]
        figures["idle CPU, busiest replica (%)"] = max(busy)
        figures["RSS, largest replica (MiB)"] = max(rss_mib(pid) for pid in bench.pids)
        calls_before = cloud_calls(bench)
        cost = resync_cost(bench, n + NEW)
        per_look = (cloud_calls(bench) - calls_before) / (n + NEW)
        figures["CPU per resync look (ms)"] = cost * 1000
        figures["cloud calls per look"] = per_look
        # Each object is looked at every 0.5-1x the interval: 0.75x on average.
        figures["cloud calls per object per hour"] = per_look * 3600 / (0.75 * RESYNC)
        looks = (n + NEW) / (0.75 * RESYNC)  # per second, all replicas
        steady = figures["idle CPU, busiest replica (%)"] + looks * cost / len(bench.pids) * 100
        figures["steady idle CPU per replica (%)"] = steady
    shutil.rmtree(workdir, ignore_errors=True)
    return figures


def first_reads(bench: Deployment, paths: list[str]) -> list[float]:
    """Seconds each first GET of `paths` took on each replica (its cache empty for it)."""
    headers = {"Authorization": f"aivenv1 {bench.token}"}
    # One client with kept-alive connections: a client made per request costs more
    # than the request it measures.
    client = httpx.Client(headers=headers, timeout=60, limits=httpx.Limits(max_connections=20))

    def read(where: tuple[str, str]) -> float:
        url, path = where
        begun = time.perf_counter()
        client.get(f"{url}{path}").raise_for_status()
        return time.perf_counter() - begun

    everywhere = [(url, path) for path in paths for url in bench.replica_urls]
    with client, ThreadPoolExecutor(10) as pool:
        return list(pool.map(read, everywhere))


def cloud_calls(bench: Deployment) -> float:
    """The reconciler's cloud calls so far, all replicas (`privlink_cloud_calls_total`)."""
    total = 0.0
    for url in bench.replica_urls:
        for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
            if line.startswith("privlink_cloud_calls_total{"):
                total += float(line.rsplit(" ", 1)[1])
    return total


def resync_cost(bench: Deployment, count: int) -> float:
    """CPU seconds (all replicas) per resync look: every PrivateLink is made due at once
    and the replicas' runners (which look at the queue every 2 s) work through them."""
    before = sum(cpu_seconds(pid) for pid in bench.pids)
    with bench.engine.begin() as db:
        db.execute(text("UPDATE privatelinks SET resync_at = :past"), {"past": LONG_AGO})
    due = text("SELECT count(*) FROM privatelinks WHERE resync_at <= :past")
    deadline = time.perf_counter() + BULK_LIMIT
    while True:
        with bench.engine.connect() as db:
            if not db.execute(due, {"past": LONG_AGO + timedelta(days=1)}).scalar():
                break
        if time.perf_counter() > deadline:
            raise SystemExit("bench: resyncs did not finish")
        time.sleep(0.5)
    return (sum(cpu_seconds(pid) for pid in bench.pids) - before) / count


def main() -> None:
    cores = os.cpu_count()
    for run in RUNS.split():
        kind, _, sizes_text = run.partition(":")
        sizes = [int(n) for n in sizes_text.split(",")]
        results = {n: measure(kind, n) for n in sizes}
        keys = list(next(iter(results.values())))
        where = "SQLite, one replica" if kind == "sqlite" else "PostgreSQL, three replicas"
        print(f"\nprivlink at scale: {where}, userspace data plane ({cores} cores)")
        print(f"{'':32}" + "".join(f"{'N=' + str(n):>12}" for n in sizes), end="")
        print(f"{'ratio':>10}" if len(sizes) > 1 else "")
        for key in keys:
            cells = [results[n][key] for n in sizes]
            ratio = f"{cells[-1] / cells[0]:>9.2f}x" if len(sizes) > 1 and cells[0] else ""
            print(f"{key:32}" + "".join(f"{c:>12.1f}" for c in cells) + ratio, flush=True)


if __name__ == "__main__":
    main()

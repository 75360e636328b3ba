"""`make bench-dataplane`: direct vs. through an endpoint (kernel, userspace) vs. HAProxy.

Everything runs on loopback inside a network namespace this script creates
(`unshare --net`, as root); elsewhere it runs on the host's loopback and says so.
The client and the backend are a small C program (loadgen.c) so that the
measuring side is never the bottleneck.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from privlink.cloud.contract import Target
from privlink.cloud.local import nft
from privlink.cloud.local.control import LocalCloud
from privlink.cloud.local.dataplane import DataPlane
from privlink.domain.cloud import HealthCheck
from privlink.store import migrate
from privlink.store.db import make_engine, make_sessionmaker
from privlink.testing import LoopThread

HERE = Path(__file__).resolve().parent
BACKEND = 31001  # echo; BACKEND + 1 is the sink
LISTEN = 7001  # endpoint listener for echo; LISTEN + 1 for the sink
HAPROXY = 8001
SECONDS = int(os.environ.get("BENCH_SECONDS", "3"))
ROWS = (
    "bulk 1 stream (Gbit/s)",
    "bulk 8 streams (Gbit/s)",
    "new conn/s (64 B req/resp)",
    "ping-pong p50 (us)",
    "ping-pong p99 (us)",
)


def in_namespace() -> None:
    """Re-run this script inside a fresh network namespace when we can make one."""
    if os.environ.get("PRIVLINK_BENCH_NETNS") or os.geteuid() != 0 or not shutil.which("unshare"):
        return
    script = f"ip link set lo up && exec {sys.executable} {Path(__file__).resolve()}"
    env = {**os.environ, "PRIVLINK_BENCH_NETNS": "1"}
    sys.exit(subprocess.call(["unshare", "--net", "--", "sh", "-c", script], env=env))


def build_loadgen(workdir: Path) -> Path:
    binary = workdir / "loadgen"
    subprocess.run(
        ["gcc", "-O2", "-pthread", "-o", str(binary), str(HERE / "loadgen.c")], check=True
    )
    return binary


def wait_port(host: str, port: int) -> bool:
    import socket

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def measure(loadgen: Path, host: str, echo: int, sink: int) -> list[float]:
    def run(*args: object) -> str:
        done = subprocess.run(
            [str(loadgen), *map(str, args)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"loadgen {' '.join(map(str, args))} failed: {done.stderr.strip()}")
        return done.stdout

    p50, p99 = (float(x) for x in run("ping", host, echo, 20000).split())
    return [
        float(run("bulk", host, sink, 1, SECONDS)),
        float(run("bulk", host, sink, 8, SECONDS)),
        float(run("conn", host, echo, 4, SECONDS)),
        p50,
        p99,
    ]


def local_cloud(workdir: Path) -> tuple[LocalCloud, str]:
    """Provider NLB + endpoint service in front of the backend; a customer endpoint."""
    engine = make_engine(f"sqlite:///{workdir / 'bench.db'}")
    migrate.upgrade(engine)
    cloud = LocalCloud(make_sessionmaker(engine))
    cloud.create_account("provider")
    cloud.create_account("customer")
    provider = cloud.account("provider", "eu-west-1")
    customer = cloud.account("customer", "eu-west-1")
    vpc = provider.create_vpc("10.0.0.0/16")
    subnets = [provider.create_subnet(vpc.id, az).id for az in ("euw1-az1", "euw1-az2")]
    lb = provider.create_load_balancer(name="bench", subnet_ids=subnets)
    check = HealthCheck(interval=1, timeout=0.5, healthy_threshold=2, unhealthy_threshold=2)
    for offset in (0, 1):
        tg = provider.create_target_group(
            name=f"bench-{offset}", port=BACKEND + offset, health_check=check
        )
        provider.register_targets(tg.arn, [Target("127.0.0.1", BACKEND + offset)])
        provider.create_listener(
            load_balancer_arn=lb.arn, port=LISTEN + offset, target_group_arn=tg.arn
        )
    svc = provider.create_endpoint_service(load_balancer_arns=[lb.arn], acceptance_required=False)
    provider.modify_endpoint_service_permissions(svc.id, add=["*"])
    cvpc = customer.create_vpc("10.1.0.0/16")
    csub = customer.create_subnet(cvpc.id, "euw1-az1")
    endpoint = customer.create_endpoint(vpc_id=cvpc.id, service_name=svc.name, subnet_ids=[csub.id])
    return cloud, endpoint.addresses[0].address


def through_dataplane(cloud: LocalCloud, address: str, mode: str, loadgen: Path) -> list[float]:
    loop = LoopThread()
    # As `privlink serve` runs it: userspace forwarding in one worker process per core.
    dataplane = DataPlane(cloud, mode=mode, workers=os.cpu_count() or 1, sync_interval=0.2)
    loop.run(dataplane.start())
    try:
        deadline = time.monotonic() + 30
        while any(len(dataplane.board.healthy(arn)) < 1 for arn in dataplane.board.groups):
            if time.monotonic() > deadline:
                raise SystemExit("targets never became healthy")
            time.sleep(0.1)
        time.sleep(0.5)  # let kernel mode write its rules after the health change
        if not wait_port(address, LISTEN):
            raise SystemExit(f"the endpoint {address}:{LISTEN} does not forward ({mode} mode)")
        return measure(loadgen, address, LISTEN, LISTEN + 1)
    finally:
        loop.run(dataplane.stop())
        loop.close()


def through_haproxy(workdir: Path, loadgen: Path) -> list[float] | None:
    """HAProxy in TCP mode, as shipped by Debian, in front of the same backend."""
    if not shutil.which("haproxy"):
        print("haproxy column skipped: install Debian's haproxy")
        return None
    config = workdir / "haproxy.cfg"
    lines = [
        "global",
        "  maxconn 8000",
        "defaults",
        "  mode tcp",
        "  timeout connect 5s",
        "  timeout client 60s",
        "  timeout server 60s",
    ]
    for offset in (0, 1):
        lines += [
            f"listen l{offset}",
            f"  bind 127.0.0.1:{HAPROXY + offset}",
            f"  server s 127.0.0.1:{BACKEND + offset}",
        ]
    config.write_text("\n".join(lines) + "\n")
    log_path = workdir / "haproxy.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(["haproxy", "-f", str(config)], stdout=log, stderr=log)
    try:
        if not (wait_port("127.0.0.1", HAPROXY) and wait_port("127.0.0.1", HAPROXY + 1)):
            print("haproxy did not start:", log_path.read_text()[-800:])
            return None
        return measure(loadgen, "127.0.0.1", HAPROXY, HAPROXY + 1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(10)


def main() -> None:
    in_namespace()
    where = (
        "a network namespace of its own"
        if os.environ.get("PRIVLINK_BENCH_NETNS")
        else "the host's loopback (not root: no namespace, no kernel mode)"
    )
    with tempfile.TemporaryDirectory(prefix="privlink-bench-") as tmp:
        workdir = Path(tmp)
        loadgen = build_loadgen(workdir)
        backend = subprocess.Popen([str(loadgen), "serve", str(BACKEND)])
        try:
            if not wait_port("127.0.0.1", BACKEND):
                raise SystemExit("the benchmark backend did not start")
            columns: dict[str, list[float] | None] = {
                "direct": measure(loadgen, "127.0.0.1", BACKEND, BACKEND + 1)
            }
            cloud, address = local_cloud(workdir)
            kernel_ok, why = nft.available()
            columns["kernel"] = (
                through_dataplane(cloud, address, "kernel", loadgen) if kernel_ok else None
            )
            columns["userspace"] = through_dataplane(cloud, address, "userspace", loadgen)
            columns["haproxy"] = through_haproxy(workdir, loadgen)
        finally:
            backend.kill()
    print(
        f"privlink data plane benchmark — {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {SECONDS}s per throughput row, on {where}"
    )
    if not kernel_ok:
        print(f"kernel mode skipped: {why}")
    direct = columns["direct"]
    assert direct is not None
    header = f"{'':<28}" + "".join(f"{name:>22}" for name in columns)
    print(header)
    for i, row in enumerate(ROWS):
        cells = []
        for values in columns.values():
            if values is None:
                cells.append(f"{'n/a':>22}")
                continue
            ratio = values[i] / direct[i] if direct[i] else 0
            if "us" in row:  # latency: show the added microseconds, not a ratio
                cells.append(f"{values[i]:>10.1f} (+{values[i] - direct[i]:>6.1f})    ")
            else:
                cells.append(f"{values[i]:>12.1f} ({ratio:>4.2f}x)  ")
        print(f"{row:<28}" + "".join(cells))


if __name__ == "__main__":
    main()

"""The inbound reference document, played end to end.

The platform side is the real `avn` CLI; the customer side is `privlink cloud`;
behind the services are a real PostgreSQL (TLS, passwords), a real Redis (TLS) and
three greeting nodes that say which broker they are. Clients reach them by the
per-connection names, resolved by the local cloud's DNS server (through the system
resolver, in a mount namespace whose resolv.conf points at it) and verified with the
certificates the project CA issued.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from privlink import demo
from privlink.commands.root import app
from privlink.testing import LoopThread
from tests.e2e.server import Server
from tests.e2e.test_avn import avn
from tests.inbound.conftest import greeting
from tests.support import free_port, lookup, throwaway_postgres, wait_for

runner = CliRunner()
PASSWORD = "pl-Secret-42"


def cli(*args: str) -> Any:
    """`privlink ARGS --json` -> its JSON."""
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def pg_port() -> Iterator[int]:
    """A real PostgreSQL with TLS and a password-checked `avnadmin` owning `defaultdb`."""
    with throwaway_postgres(tls=True) as url:
        assert url is not None, "PostgreSQL server binaries are needed (apt-get install postgresql)"
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        for sql in (
            f"CREATE ROLE avnadmin LOGIN PASSWORD '{PASSWORD}'",
            "CREATE DATABASE defaultdb OWNER avnadmin",
        ):
            subprocess.run(
                [
                    "psql",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-U",
                    "privlink",
                    "-d",
                    "postgres",
                    "-c",
                    sql,
                ],
                check=True,
                capture_output=True,
            )
        yield port


@dataclass
class Redis:
    port: int  # TLS only
    workdir: Path


@pytest.fixture(scope="module")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    """A real Redis serving TLS only, with an `avnadmin` user; it starts on a throwaway
    certificate and loads the one the project CA issues (CONFIG SET) once it exists."""
    binary = shutil.which("redis-server") or shutil.which("valkey-server")
    assert binary, "redis-server is needed (apt-get install redis-server)"
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    _self_signed(workdir / "boot.crt", workdir / "boot.key")
    config = workdir / "redis.conf"
    config.write_text(
        f'port 0\ntls-port {port}\nbind 127.0.0.1\nsave ""\ndir {workdir}\n'
        f"tls-cert-file {workdir / 'boot.crt'}\ntls-key-file {workdir / 'boot.key'}\n"
        f"tls-ca-cert-file {workdir / 'boot.crt'}\ntls-auth-clients no\n"
        f"user avnadmin on >{PASSWORD} ~* &* +@all\nuser default off\n"
    )
    process = subprocess.Popen(
        [binary, str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    boot = ssl.create_default_context(cafile=str(workdir / "boot.crt"))
    boot.check_hostname = False  # the throwaway certificate names no host
    wait_for(lambda: _redis_ping("127.0.0.1", port, boot) == "+PONG")
    yield Redis(port, workdir)
    process.terminate()
    process.wait(10)


def _self_signed(cert: Path, key: Path) -> None:
    subprocess.run(
        ["openssl", "req", "-new", "-x509", "-days", "2", "-nodes", "-subj", "/CN=boot",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip


def _redis_ping(
    host: str,
    port: int,
    context: ssl.SSLContext,
    server_name: str | None = None,
    password: str = PASSWORD,
) -> str:
    """AUTH + PING over TLS to host:port, the certificate checked for `server_name`."""
    with (
        socket.create_connection((host, port), timeout=30) as raw,
        context.wrap_socket(raw, server_hostname=server_name or host) as sock,
    ):
        sock.sendall(f"AUTH avnadmin {password}\r\nPING\r\n".encode())
        data = b""
        while data.count(b"\r\n") < 2:
            chunk = sock.recv(100)
            if not chunk:
                break
            data += chunk
    return data.decode().split("\r\n")[1] if data.startswith(b"+OK") else data.decode()


@pytest.fixture
def brokers() -> Iterator[list[str]]:
    nodes = tuple((f"broker-{i}", "127.0.0.1", free_port()) for i in range(3))
    loop = LoopThread()
    servers = loop.run(demo.start_nodes(nodes))
    yield [f"{host}:{port}" for _name, host, port in nodes]
    loop.run(demo.stop_nodes(servers))
    loop.close()


# Where the DNS server listens: port 53 (resolv.conf names no port), on a loopback
# address of its own so runs side by side never meet.
DNS_ADDRESS = f"127.53.{random.randint(1, 254)}.{random.randint(1, 254)}"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    running = Server(
        tmp_path / "state",
        PRIVLINK_HEALTH_CHECK_INTERVAL="1",
        PRIVLINK_RESYNC_INTERVAL="2",
        PRIVLINK_DNS_LISTEN=f"{DNS_ADDRESS}:53",
    ).start()
    monkeypatch.setenv("PRIVLINK_URL", running.url)
    monkeypatch.setenv("PRIVLINK_DATA_DIR", str(running.data_dir))
    monkeypatch.setenv("PRIVLINK_CLOUD_REGION", "eu-west-1")
    yield running
    if running.process is not None:
        running.stop()


@pytest.mark.slow
def test_inbound_reference(
    server: Server,
    tmp_path: Path,
    pg_port: int,
    redis: Redis,
    brokers: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # -- the operator: a project with the feature, three services -----------
    cli("admin", "project", "create", "shop")
    cli("admin", "project", "update", "shop", "--enable-privatelink")
    services = {
        "kafka-shop": ("kafka", [f"kafka={b}" for b in brokers]),
        "pg-shop": ("pg", [f"pg=127.0.0.1:{pg_port}"]),
        "valkey-shop": ("valkey", [f"valkey=127.0.0.1:{redis.port}"]),
    }
    for name, (kind, nodes) in services.items():
        nodes_args = [arg for node in nodes for arg in ("--node", node)]
        cli(
            "admin", "service", "register", name, "--project", "shop", "--type", kind,
            "--cloud", "aws-eu-west-1", "--plan", "business-4", *nodes_args,
            "--user", f"avnadmin:{PASSWORD}",
        )  # fmt: skip
    token = cli("admin", "token", "create", "--project", "shop")["full_token"]

    def run_avn(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = avn(server, token, tmp_path, *args, "--project", "shop")
        if ok:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    def avn_json(*args: str) -> Any:
        return json.loads(run_avn(*args, "--json").stdout)

    def routes(name: str) -> list[Any]:
        service = avn_json("service", "get", name)
        return [c for c in service["components"] if c["route"] == "privatelink"]

    def address(name: str) -> str:
        found = lookup(name, 53, server=DNS_ADDRESS)
        assert found.rcode == "NOERROR", found
        return found.values[0]

    # -- the platform user: a project VPC, the services moved into it --------
    vpc_id = avn_json("vpc", "create", "--cloud", "aws-eu-west-1", "--network-cidr", "10.3.0.0/24")[
        "project_vpc_id"
    ]
    wait_for(lambda: avn_json("vpc", "list")[0]["state"] == "ACTIVE")
    for name in services:
        run_avn("service", "update", "--project-vpc-id", vpc_id, name)

    # -- the customer: account, VPC, subnets in two AZs, a security group ----
    monkeypatch.setenv("PRIVLINK_CLOUD_ACCOUNT", "acme")
    account = cli("cloud", "account", "create", "acme")
    principal = account["principal"]
    cvpc = cli("cloud", "vpc", "create")["id"]
    subnets = [
        cli("cloud", "subnet", "create", "--vpc", cvpc, "--az", az)["id"]
        for az in ("euw1-az1", "euw1-az2")
    ]
    group = cli("cloud", "security-group", "create", "--vpc", cvpc, "--name", "clients")["id"]
    cli(
        "cloud", "security-group", "allow", group, "--ports", "10000-31000", "--cidr", "127.0.0.0/8"
    )

    # -- PrivateLink per service, allowing the customer's account -----------
    plc: dict[str, str] = {}
    for name in services:
        created = run_avn("service", "privatelink", "aws", "create", "--principal", principal, name)
        assert "creating" in created.stdout
        pl = wait_for(
            lambda name=name: (
                (got := avn_json("service", "privatelink", "aws", "get", name))[0]["state"]
                == "active"
                and got[0]
            )
        )
        assert pl["aws_service_name"].startswith("com.privlink.vpce.eu-west-1.vpce-svc-")
        endpoint = cli(
            "cloud", "endpoint", "create", "--vpc", cvpc, "--service-name", pl["aws_service_name"],
            "--subnet", subnets[0], "--subnet", subnets[1], "--security-group", group,
        )  # fmt: skip

        # The reference's order: the connection is `active` with every component off ...
        def active(name: str = name, endpoint_id: str = endpoint["id"]) -> str | None:
            rows = avn_json("service", "privatelink", "aws", "connection", "list", name)
            return next(
                (
                    r["privatelink_connection_id"]
                    for r in rows
                    if r["vpc_endpoint_id"] == endpoint_id and r["state"] == "active"
                ),
                None,
            )

        plc[name] = wait_for(active, timeout=90)
        assert not routes(name)
        # ... then a component is switched on, and its route appears.
        component = services[name][0]
        run_avn("service", "update", "-c", f"privatelink_access.{component}=true", name)
        wait_for(lambda name=name: routes(name))

    # -- the platform installs what the project CA issued for the names -----
    zone = "pl.privlink.internal"
    tls = {}
    for name in ("pg-shop", "valkey-shop"):
        tls[name] = tmp_path / f"tls-{name}"
        issued = cli(
            "admin", "service", "certificate", name, "--project", "shop", "--dir", str(tls[name])
        )  # fmt: skip
        assert f"{plc[name]}.{name}.shop.{zone}" in issued["names"]
    _install_pg_certificate(pg_port, tls["pg-shop"])
    config_set = subprocess.run(
        ["redis-cli", "--tls", "--insecure", "-p", str(redis.port), "--user", "avnadmin",
         "--pass", PASSWORD, "--no-auth-warning", "CONFIG", "SET",
         "tls-cert-file", str(tls["valkey-shop"] / "server.crt"),
         "tls-key-file", str(tls["valkey-shop"] / "server.key")],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert config_set.stdout.strip() == "OK", config_set.stdout + config_set.stderr

    # -- connection info per route gives names that reach each service -------
    ca_file = tmp_path / "ca.pem"
    kcat = run_avn(
        "service", "connection-info", "kcat", "kafka-shop", "-p", plc["kafka-shop"],
        "-a", "sasl", "-W", "--ca", str(ca_file),
    ).stdout  # fmt: skip
    assert "BEGIN CERTIFICATE" in ca_file.read_text()
    assert "security.protocol=SASL_SSL" in kcat
    assert "sasl.username=avnadmin" in kcat
    host, port = re.search(r"-b (\S+):(\d+)", kcat).groups()  # type: ignore[union-attr]
    assert host == f"{plc['kafka-shop']}.kafka-shop.shop.{zone}"
    assert greeting(address(host), int(port)).startswith("broker-")
    # Each broker has its own name and port through the same endpoint (what it advertises).
    status = cli("service", "privatelink", "aws", "status", "kafka-shop", "--project", "shop")
    per_broker = [p for p in status["connections"][0]["ports"] if p["node"] is not None]
    assert [p["host"] for p in per_broker] == [f"kafka-{i}.{host}" for i in range(3)]
    for p in per_broker:
        assert greeting(address(p["host"]), p["port"]) == f"broker-{p['node']}"
    # Certificate authentication: the user's client certificate, signed by the project CA.
    cert, key = tmp_path / "service.crt", tmp_path / "service.key"
    kcat_cert = run_avn(
        "service", "connection-info", "kcat", "kafka-shop", "-p", plc["kafka-shop"],
        "-a", "certificate", "-W", "--ca", str(ca_file), "--client-cert", str(cert),
        "--client-key", str(key),
    ).stdout  # fmt: skip
    assert "security.protocol=SSL" in kcat_cert
    verified = subprocess.run(
        ["openssl", "verify", "-CAfile", str(ca_file), "-purpose", "sslclient", str(cert)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "PRIVATE KEY" in key.read_text()

    psql = run_avn("service", "connection-info", "psql", "pg-shop", "-p", plc["pg-shop"]).stdout
    uri = psql.split()[1]
    pg_uri = run_avn("service", "connection-info", "pg", "uri", "pg-shop", "-p", plc["pg-shop"])
    assert pg_uri.stdout.strip() == uri
    assert "sslmode=require" in uri
    assert f"@{plc['pg-shop']}.pg-shop.shop.{zone}:" in uri  # a name, not an address
    # verify-full: the chain and the name both checked; the name found by the system
    # resolver (glibc, resolv.conf) asking the local cloud's DNS server.
    strict = uri.replace("sslmode=require", f"sslmode=verify-full&sslrootcert={ca_file}")
    query = _in_resolver_namespace(
        tmp_path, ["psql", strict, "-tAc", "select 'through ' || 'privatelink', current_user"]
    )
    assert query.returncode == 0, query.stderr
    assert query.stdout.strip() == "through privatelink|avnadmin"

    valkey = run_avn(
        "service", "connection-info", "valkey", "uri", "valkey-shop", "-p", plc["valkey-shop"],
        "-u", "avnadmin",
    ).stdout.strip()  # fmt: skip
    match = re.fullmatch(r"rediss://avnadmin:(.+)@([a-z0-9.-]+):(\d+)", valkey)
    assert match, valkey
    assert match.group(1) == PASSWORD
    valkey_host, valkey_port = match.group(2), int(match.group(3))
    assert valkey_host == f"{plc['valkey-shop']}.valkey-shop.shop.{zone}"
    verifying = ssl.create_default_context(cafile=str(ca_file))
    assert _redis_ping(address(valkey_host), valkey_port, verifying, valkey_host) == "+PONG"
    pong = _in_resolver_namespace(
        tmp_path,
        ["redis-cli", "--tls", "--cacert", str(ca_file), "-h", valkey_host, "-p",
         str(valkey_port), "--user", "avnadmin", "--pass", PASSWORD, "--no-auth-warning", "PING"],
    )  # fmt: skip
    assert pong.stdout.strip() == "PONG", pong.stdout + pong.stderr
    dug = subprocess.run(
        ["dig", f"@{DNS_ADDRESS}", "+short", valkey_host, "A"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    endpoint_addresses = sorted(dug.stdout.split())
    assert endpoint_addresses
    assert all(a.startswith("127.") for a in endpoint_addresses)

    # -- validate, update principals (connections stay), refresh ------------
    checked = runner.invoke(
        app, ["service", "privatelink", "aws", "validate", "pg-shop", "--project", "shop"]
    )
    assert checked.exit_code == 0, checked.output
    assert "All hops hold." in checked.output
    assert "verified against the project CA" in checked.output  # the TLS hop, by name
    other = "arn:aws:iam::222222222222:root"
    updated = run_avn("service", "privatelink", "aws", "update", "--principal", other, "pg-shop")
    assert other in updated.stdout
    run_avn("service", "privatelink", "aws", "refresh", "pg-shop")
    rows = avn_json("service", "privatelink", "aws", "connection", "list", "pg-shop")
    assert [r["state"] for r in rows] == ["active"]  # already connected: stays, as on AWS
    again = _in_resolver_namespace(tmp_path, ["psql", strict, "-tAc", "select 1"])
    assert again.stdout.strip() == "1", again.stderr
    pg_service = avn_json("service", "privatelink", "aws", "get", "pg-shop")[0]["aws_service_name"]
    refused = runner.invoke(
        app,
        [
            "cloud",
            "endpoint",
            "create",
            "--vpc",
            cvpc,
            "--subnet",
            subnets[0],
            "--service-name",
            pg_service,
        ],
    )
    assert refused.exit_code == 1
    assert "is not allowed" in refused.output

    # -- delete: connections rejected, names and every platform resource gone --
    kafka_name = f"{plc['kafka-shop']}.kafka-shop.shop.{zone}"
    assert lookup(kafka_name, 53, server=DNS_ADDRESS).rcode == "NOERROR"
    deleted = run_avn("service", "privatelink", "aws", "delete", "kafka-shop")
    assert "deleting" in deleted.stdout
    wait_for(
        lambda: (
            run_avn("service", "privatelink", "aws", "get", "kafka-shop", ok=False).returncode != 0
        )
    )
    assert lookup(kafka_name, 53, server=DNS_ADDRESS).rcode == "NXDOMAIN"
    gone = run_avn("service", "privatelink", "aws", "get", "kafka-shop", ok=False)
    assert "has no AWS PrivateLink" in gone.stdout + gone.stderr
    monkeypatch.setenv("PRIVLINK_CLOUD_ACCOUNT", "privlink-platform")
    nlbs = cli("cloud", "nlb", "list")
    assert len(nlbs) == 2  # pg-shop's and valkey-shop's remain
    history = cli("events", "--project", "shop", "--service", "kafka-shop")
    assert [e["state"] for e in history if e["kind"] == "privatelink"][-1] == "deleted"


def _install_pg_certificate(port: int, folder: Path) -> None:
    """Put the issued certificate and key where the server reads them; reload it."""
    psql = ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "privlink", "-d", "postgres", "-tAc"]
    data = Path(
        subprocess.run(
            [*psql, "show data_directory"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    owner = data.stat()
    for name in ("server.crt", "server.key"):
        target = data / name
        target.write_text((folder / name).read_text())
        os.chown(target, owner.st_uid, owner.st_gid)
        target.chmod(0o600)
    subprocess.run([*psql, "select pg_reload_conf()"], capture_output=True, check=True)


def _in_resolver_namespace(tmp_path: Path, command: list[str]) -> subprocess.CompletedProcess[str]:
    """`command` in a mount namespace whose /etc/resolv.conf names only the local cloud's
    DNS server (the host's own file is untouched)."""
    resolv = tmp_path / "resolv.conf"
    resolv.write_text(f"nameserver {DNS_ADDRESS}\noptions timeout:2 attempts:2\n")
    script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(resolv),
         *command],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

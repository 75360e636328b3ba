"""The local cloud's DNS server, asked with `dig` (UDP and TCP) against a real `privlink
serve`: endpoints' own names, a private DNS name proved with a TXT record, refusals."""

from __future__ import annotations

import subprocess

from tests.e2e.server import Server
from tests.e2e.test_local_cloud_cli import NamedBackend, cloud, server  # noqa: F401  (fixture)
from tests.support import free_port


def dig(serve: Server, name: str, rdtype: str = "A", *extra: str) -> tuple[str, list[str]]:
    """(status, answers) of `dig @127.0.0.1 -p PORT NAME TYPE`."""
    result = subprocess.run(
        ["dig", "@127.0.0.1", "-p", str(serve.dns_port), name, rdtype, "+noall", "+comments",
         "+answer", "+tries=1", "+time=5", *extra],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    status = next(
        line.split("status: ")[1].split(",")[0]
        for line in result.stdout.splitlines()
        if "status: " in line
    )
    answers = sorted(
        line.split()[-1].strip('"')
        for line in result.stdout.splitlines()
        if line and not line.startswith(";") and line.split()[3] == rdtype
    )
    return status, answers


def test_endpoint_names_and_a_private_dns_name_proved_by_txt(server: Server) -> None:  # noqa: F811
    backend = NamedBackend("api")
    provider = cloud("account", "create", "acme")["account_id"]
    consumer = cloud("account", "create", "shop")["account_id"]
    vpc = cloud("vpc", "create", account="acme")["id"]
    subnet = cloud("subnet", "create", "--vpc", vpc, "--az", "euw1-az1", account="acme")["id"]
    port = backend.server_address[1]
    cloud("target-group", "create", "--name", "api", "--port", str(port), account="acme")
    cloud("target-group", "register", "api", f"127.0.0.1:{port}", account="acme")
    cloud("nlb", "create", "--name", "api-nlb", "--subnet", subnet, account="acme")
    listen = free_port()
    cloud(
        "listener", "create", "--nlb", "api-nlb", "--port", str(listen), "--target-group", "api",
        account="acme",
    )  # fmt: skip
    service = cloud(
        "endpoint-service", "create", "--nlb", "api-nlb", "--no-acceptance-required",
        account="acme",
    )  # fmt: skip
    cloud(
        "endpoint-service", "allow", service["id"], f"arn:aws:iam::{consumer}:root", account="acme"
    )

    # The provider names the service; the name waits for its domain to be proved.
    config = cloud(
        "endpoint-service", "private-dns", service["id"], "api.example.com", account="acme"
    )
    assert config["state"] == "pendingVerification"
    assert config["record_name"].endswith(".api.example.com")
    failed = cloud("endpoint-service", "verify-dns", service["id"], account="acme")
    assert failed["state"] == "failed"  # no TXT record yet
    cvpc = cloud("vpc", "create", account="shop")["id"]
    csub = cloud("subnet", "create", "--vpc", cvpc, "--az", "euw1-az1", account="shop")["id"]
    create = ["endpoint", "create", "--vpc", cvpc, "--service-name", service["name"]]
    refused = cloud(*create, "--subnet", csub, "--private-dns", account="shop", ok=False)
    assert "no verified private DNS name" in refused

    zone = cloud("dns", "create-zone", "example.com", account="acme")
    taken = cloud("dns", "create-zone", "example.com", account="shop", ok=False)
    assert "held by another account" in taken
    cloud(
        "dns", "set", zone["id"], config["record_name"], "--type", "TXT",
        "--value", config["value"], account="acme",
    )  # fmt: skip
    assert dig(server, config["record_name"], "TXT") == ("NOERROR", [config["value"]])
    verified = cloud("endpoint-service", "verify-dns", service["id"], account="acme")
    assert verified["state"] == "verified"

    endpoint = cloud(*create, "--subnet", csub, "--private-dns", "--wait", account="shop")
    assert endpoint["state"] == "available"
    (address,) = [a["address"] for a in endpoint["addresses"]]
    # The private DNS name, the endpoint's regional and zonal names: its address.
    assert dig(server, "api.example.com") == ("NOERROR", [address])
    assert dig(server, endpoint["dns_name"]) == ("NOERROR", [address])
    assert dig(server, endpoint["dns_name"], "A", "+tcp") == ("NOERROR", [address])
    first, _, rest = endpoint["dns_name"].partition(".")
    assert dig(server, f"{first}-euw1-az1.{rest}") == ("NOERROR", [address])
    assert dig(server, f"{first}-euw1-az2.{rest}")[0] == "NXDOMAIN"
    assert dig(server, "nothing.example.com")[0] == "NXDOMAIN"
    assert dig(server, "example.org")[0] == "REFUSED"  # not served here: never recursed
    listed = cloud("dns", "records", zone["id"], account="acme")
    assert [(r["name"], r["type"]) for r in listed] == [(config["record_name"], "TXT")]

    cloud("endpoint", "delete", endpoint["id"], account="shop")
    # No address any more; the name stays a node of example.com (its TXT record is below it).
    assert dig(server, "api.example.com") == ("NOERROR", [])
    assert dig(server, endpoint["dns_name"])[0] == "NXDOMAIN"
    assert provider

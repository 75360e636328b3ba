"""An app with the reconciler and data plane running, and greeting nodes behind services."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from privlink import demo
from privlink.testing import LoopThread
from tests.support import free_port, lookup, running_app, wait_for

PRINCIPAL = "arn:aws:iam::{account}:root"


@dataclass
class Inbound:
    client: TestClient
    token: str
    admin: str
    nodes: dict[str, list[str]]

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"aivenv1 {token or self.token}"}

    def call(
        self, method: str, path: str, status: int = 200, token: str | None = None, **kw: Any
    ) -> Any:
        response = self.client.request(method, path, headers=self.headers(token), **kw)
        assert response.status_code == status, response.text
        return response.json()

    def pl(self, service: str = "kafka-1") -> Any:
        return self.call("GET", f"/v1/project/alpha/service/{service}/privatelink/aws")

    def pl_state(self, service: str = "kafka-1") -> str:
        response = self.client.get(
            f"/v1/project/alpha/service/{service}/privatelink/aws", headers=self.headers()
        )
        return "GONE" if response.status_code == 404 else str(response.json()["state"])

    def cloud(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        return self.call(method, f"/v1/cloud{path}", status, **kw)

    @property
    def dns_port(self) -> int:
        return int(self.client.app.state.privlink.dns_server.port)  # type: ignore[attr-defined]

    def address(self, host: str) -> str:
        """A connection name resolved by the local cloud's DNS server (its first address)."""
        found = lookup(host, self.dns_port)
        assert found.rcode == "NOERROR", (host, found)
        assert found.values, (host, found)
        return found.values[0]

    def operator_cloud(self, method: str, path: str, status: int = 200, **kw: Any) -> Any:
        """The local cloud as the operator sees it (the platform's own account too)."""
        return self.call(method, f"/v1/cloud{path}", status, token=self.admin, **kw)


@pytest.fixture
def greeting_nodes() -> Iterator[dict[str, str]]:
    """Four greeting nodes on loopback ports: name -> HOST:PORT."""
    names = ["broker-0", "broker-1", "broker-2", "registry"]
    nodes = tuple((name, "127.0.0.1", free_port()) for name in names)
    loop = LoopThread()
    servers = loop.run(demo.start_nodes(nodes))
    yield {name: f"{host}:{port}" for name, host, port in nodes}
    loop.run(demo.stop_nodes(servers))
    loop.close()


@pytest.fixture
def inbound(tmp_path: Path, greeting_nodes: dict[str, str]) -> Iterator[Inbound]:
    with running_app(tmp_path, health_check_interval=1, resync_interval=2) as app:
        nodes = {
            "kafka": [greeting_nodes[f"broker-{i}"] for i in range(3)],
            "schema_registry": [greeting_nodes["registry"]],
        }
        yield Inbound(client=app.client, token=app.token, admin=app.admin, nodes=nodes)


def register_in_vpc(
    inbound: Inbound, name: str = "kafka-1", plan: str = "business-4", cloud: str = "aws-eu-west-1"
) -> str:
    """A kafka service with the greeting nodes, inside an ACTIVE project VPC of its cloud."""
    response = inbound.client.post(
        "/v1/project/alpha/service",
        json={
            "service_name": name,
            "service_type": "kafka",
            "cloud_name": cloud,
            "plan": plan,
            "components": inbound.nodes,
            "users": {"avnadmin": "s3cret"},
        },
        headers=inbound.headers(inbound.admin),
    )
    assert response.status_code == 201, response.text
    vpcs = [
        v for v in inbound.call("GET", "/v1/project/alpha/vpcs")["vpcs"] if v["cloud_name"] == cloud
    ]
    if vpcs:
        vpc_id = vpcs[0]["project_vpc_id"]
    else:
        vpc_id = inbound.call(
            "POST",
            "/v1/project/alpha/vpcs",
            201,
            json={"cloud_name": cloud, "network_cidr": "10.1.0.0/24"},
        )["project_vpc_id"]
    wait_for(lambda: inbound.call("GET", f"/v1/project/alpha/vpcs/{vpc_id}")["state"] == "ACTIVE")
    inbound.call("PUT", f"/v1/project/alpha/service/{name}", json={"project_vpc_id": vpc_id})
    return vpc_id


def active_privatelink(inbound: Inbound) -> None:
    """kafka-1 in a project VPC with an AWS PrivateLink, once it is `active`."""
    register_in_vpc(inbound)
    inbound.call(
        "POST",
        "/v1/project/alpha/service/kafka-1/privatelink/aws",
        json={"principals": [PRINCIPAL.format(account="123456789012")]},
    )
    wait_for(lambda: inbound.pl_state() == "active")


@dataclass
class Customer:
    account_id: str
    vpc_id: str
    subnet_ids: list[str]
    group_id: str

    @property
    def principal(self) -> str:
        return PRINCIPAL.format(account=self.account_id)


def make_customer(
    inbound: Inbound, name: str = "acme", ports: tuple[int, int] = (10000, 31000)
) -> Customer:
    """A customer account with a VPC, subnets in two AZs and a security group."""
    account = inbound.cloud("POST", "/accounts", 201, json={"name": name})["account_id"]
    base = f"/{name}/eu-west-1"
    vpc = inbound.cloud("POST", f"{base}/vpcs", 201, json={"cidr": "10.9.0.0/16"})["id"]
    subnets = [
        inbound.cloud("POST", f"{base}/subnets", 201, json={"vpc_id": vpc, "az_id": az})["id"]
        for az in ("euw1-az1", "euw1-az2")
    ]
    group = inbound.cloud(
        "POST", f"{base}/security-groups", 201, json={"vpc_id": vpc, "name": "clients"}
    )["id"]
    inbound.cloud(
        "POST",
        f"{base}/security-groups/{group}/ingress",
        json={"cidr": "127.0.0.0/8", "from_port": ports[0], "to_port": ports[1]},
    )
    return Customer(account, vpc, subnets, group)


def connect_endpoint(
    inbound: Inbound, customer: Customer, service_name: str, name: str = "acme"
) -> Any:
    return inbound.cloud(
        "POST",
        f"/{name}/eu-west-1/endpoints",
        201,
        json={
            "vpc_id": customer.vpc_id,
            "service_name": service_name,
            "subnet_ids": customer.subnet_ids,
            "security_group_ids": [customer.group_id],
        },
    )


def greeting(host: str, port: int, timeout: float = 30.0) -> str:
    """The name a node greets with, reached at host:port."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(100)
            if not chunk:
                break
            data += chunk
        return data.decode().strip()

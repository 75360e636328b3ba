"""The API with reconciler and data plane, a dedicated deployment, and a customer's service."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.inbound.conftest import Inbound, greeting_nodes  # noqa: F401  (fixture)
from tests.support import running_app, wait_for

SERVICE = "mqtt-1"
LINKS = f"/v1/project/alpha/service/{SERVICE}/privatelink/aws/outbound"


class Platform(Inbound):
    """The platform side: a deployment `mqtt-1` and its outbound links."""

    def info(self, service: str = SERVICE) -> Any:
        return self.call(
            "GET", f"/v1/project/alpha/service/{service}/privatelink/aws/outbound-info"
        )

    def create(self, service_name: str, status: int = 201) -> Any:
        return self.call("POST", LINKS, status, json={"service_name": service_name})

    def link(self, link_id: str) -> Any:
        return self.call("GET", f"{LINKS}/{link_id}")

    def state(self, link_id: str) -> str:
        response = self.client.get(f"{LINKS}/{link_id}", headers=self.headers())
        return "GONE" if response.status_code == 404 else str(response.json()["state"])

    def refused(self, status: int, method: str, path: str, **kw: Any) -> str:
        response = self.client.request(method, path, headers=self.headers(), **kw)
        assert response.status_code == status, response.text
        message: str = response.json()["message"]
        return message


def register(platform: Inbound, name: str = SERVICE, plan: str = "dedicated-4") -> None:
    response = platform.client.post(
        "/v1/project/alpha/service",
        json={
            "service_name": name,
            "service_type": "mqtt",
            "cloud_name": "aws-eu-west-1",
            "plan": plan,
            "components": {"mqtt": ["127.0.0.1:1883"]},
        },
        headers=platform.headers(platform.admin),
    )
    assert response.status_code == 201, response.text


@pytest.fixture
def platform(tmp_path: Path, greeting_nodes: dict[str, str]) -> Iterator[Platform]:  # noqa: F811
    settings = {
        "health_check_interval": 1,
        "resync_interval": 2,
        "outbound_link_limit": 3,
        "cloud_target_addresses": "127.0.0.1/32",  # the customers' backends run there
    }
    with running_app(tmp_path, **settings) as app:
        platform = Platform(client=app.client, token=app.token, admin=app.admin, nodes={})
        register(platform)
        yield platform


@dataclass
class CustomerService:
    account: str
    service_id: str
    service_name: str
    listener_port: int
    target: str


def customer_service(
    platform: Platform,
    target: str,
    az_ids: list[str],
    *,
    account: str = "acme",
    allow: str | None = None,
    listener_port: int = 8883,
    wait_healthy: bool = True,
) -> CustomerService:
    """What the reference has the customer build: target group with a health-check override
    port, internal NLB in the given AZ IDs, TCP listener, endpoint service, allowed principal."""
    accounts = [a["name"] for a in platform.cloud("GET", "/accounts")["accounts"]]
    if account not in accounts:
        platform.cloud("POST", "/accounts", 201, json={"name": account})
    base = f"/{account}/eu-west-1"
    vpc = platform.cloud("POST", f"{base}/vpcs", 201, json={"cidr": "10.20.0.0/16"})["id"]
    subnets = [
        platform.cloud("POST", f"{base}/subnets", 201, json={"vpc_id": vpc, "az_id": az})["id"]
        for az in az_ids
    ]
    host, port = target.rsplit(":", 1)
    suffix = vpc[-6:]
    platform.cloud(
        "POST",
        f"{base}/target-groups",
        201,
        json={
            "name": f"backend-{suffix}",
            "port": int(port),
            "health_check": {"interval": 1, "healthy_threshold": 2, "port": int(port)},
        },
    )
    platform.cloud(
        "POST",
        f"{base}/target-groups/backend-{suffix}/targets",
        json={"targets": [{"host": host, "port": int(port)}]},
    )
    platform.cloud(
        "POST", f"{base}/load-balancers", 201, json={"name": f"nlb-{suffix}", "subnet_ids": subnets}
    )
    platform.cloud(
        "POST",
        f"{base}/load-balancers/nlb-{suffix}/listeners",
        201,
        json={"port": listener_port, "target_group": f"backend-{suffix}"},
    )
    # The reference: check that the listener's targets are healthy before going on.
    if wait_healthy:
        wait_for(
            lambda: (
                [
                    t["state"]
                    for t in platform.cloud("GET", f"{base}/target-groups/backend-{suffix}/health")[
                        "targets"
                    ]
                ]
                == ["healthy"]
            )
        )
    service = platform.cloud(
        "POST", f"{base}/endpoint-services", 201, json={"load_balancers": [f"nlb-{suffix}"]}
    )
    if allow:
        platform.cloud(
            "POST", f"{base}/endpoint-services/{service['id']}/permissions", json={"add": [allow]}
        )
    return CustomerService(account, service["id"], service["name"], listener_port, target)


def accept(platform: Platform, svc: CustomerService, endpoint_id: str) -> None:
    platform.cloud(
        "POST",
        f"/{svc.account}/eu-west-1/endpoint-services/{svc.service_id}/connections/accept",
        json={"endpoint_ids": [endpoint_id]},
    )

"""Every route x every kind of caller (issue 15): the native API, the Aiven-compatible API,
the local-cloud API and the console, called by project alpha's admin and read-only tokens,
project beta's token, an operator and nobody.

Routes are read from the app itself, so a new route is in the matrix the day it is added.
Only the allowed combinations get through; the rest answer 401/403/404 (the console: the
log-in redirect, 403 or 404 pages), carry none of alpha's data, and change nothing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Route

from privlink import demo
from privlink.console import session as console_session
from privlink.services import tenancy
from privlink.store.db import make_sessionmaker
from privlink.testing import LoopThread
from tests.inbound.conftest import Inbound, connect_endpoint, make_customer, register_in_vpc
from tests.outbound.conftest import register as register_deployment
from tests.support import free_port, running_app, wait_for

REGION = "eu-west-1"
# Answers that are the same for everyone and carry no tenant's data.
PUBLIC = {"/healthz", "/readyz", "/openapi.json", "/docs", "/redoc", "/login", "/"}
PUBLIC_PREFIXES = ("/docs/", "/console/static")
# Console POSTs that only read (the forms' inline checks).
CONSOLE_READS = ("/console/check/",)
SESSION_PLUMBING = {("POST", "/login"), ("POST", "/logout")}
# The messages that mean "you may not", as opposed to "there is no such object".
TENANCY_REFUSALS = ("does not exist", "No local-cloud account")


class Who(Enum):
    ALPHA_ADMIN = "alpha admin"
    ALPHA_READER = "alpha read-only"
    BETA = "beta admin"
    OPERATOR = "operator"
    NOBODY = "no token"


class Outcome(Enum):
    ALLOWED = "allowed"
    UNAUTHENTICATED = "401"
    FORBIDDEN = "403"
    HIDDEN = "404"


@dataclass
class World:
    client: TestClient
    tokens: dict[Who, str]
    cookies: dict[Who, str]
    values: dict[str, str]  # path parameter -> alpha's object
    secrets: list[str]  # alpha's data no other tenant may see


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """alpha with a service in a VPC, an active PrivateLink with a customer connection,
    a dedicated deployment with an outbound link and an attachment; beta with its own
    account; a token of every role, and a console session for each."""
    nodes = [(f"n{i}", "127.0.0.1", free_port()) for i in range(4)]
    loop = LoopThread()
    servers = loop.run(demo.start_nodes(tuple(nodes)))
    addresses = [f"{host}:{port}" for _, host, port in nodes]
    tmp = tmp_path_factory.mktemp("matrix")
    with running_app(tmp, health_check_interval=1, resync_interval=2) as app:
        with make_sessionmaker(app.engine)() as session, session.begin():
            tenancy.create_project(session, name="beta")
            reader = tenancy.create_token(session, project="alpha", role="read-only")
            beta = tenancy.create_token(session, project="beta").secret
        tokens = {
            Who.ALPHA_ADMIN: app.token,
            Who.ALPHA_READER: reader.secret,
            Who.BETA: beta,
            Who.OPERATOR: app.admin,
        }
        inbound = Inbound(
            client=app.client,
            token=app.token,
            admin=app.admin,
            nodes={"kafka": addresses[:3], "schema_registry": addresses[3:]},
        )
        values = _alpha_objects(inbound, reader.token.token_id)
        beta_headers = {"Authorization": f"aivenv1 {beta}"}
        created = app.client.post(
            "/v1/cloud/accounts", json={"name": "globex"}, headers=beta_headers
        )
        assert created.status_code == 201, created.text
        with make_sessionmaker(app.engine)() as session, session.begin():
            cookies = {who: tenancy.open_session(session, secret=t) for who, t in tokens.items()}
        secrets = [values[k] for k in ("connection_id", "endpoint_id", "service_id")]
        secrets += ["s3cret", values["account_id"], values["dns"]]
        yield World(app.client, tokens, cookies, values, secrets)
    loop.run(demo.stop_nodes(servers))
    loop.close()


def _alpha_objects(inbound: Inbound, reader_token_id: str) -> dict[str, str]:
    hook = inbound.call(
        "POST", "/v1/project/alpha/webhooks", 201, json={"url": "https://hooks.example/alpha"}
    )
    project_vpc = register_in_vpc(inbound)
    customer = make_customer(inbound)
    base = "/v1/project/alpha/service/kafka-1/privatelink/aws"
    inbound.call("POST", base, json={"principals": [customer.principal]})
    wait_for(lambda: inbound.pl_state() == "active")
    service_name = inbound.pl()["aws_service_name"]
    endpoint = connect_endpoint(inbound, customer, service_name)
    wait_for(
        lambda: (
            [c["state"] for c in inbound.call("GET", f"{base}/connections")["connections"]]
            == ["active"]
        )
    )
    (connection,) = inbound.call("GET", f"{base}/connections")["connections"]
    cloud = f"/acme/{REGION}"
    inbound.cloud("POST", f"{cloud}/target-groups", 201, json={"name": "web", "port": 80})
    inbound.cloud(
        "POST",
        f"{cloud}/load-balancers",
        201,
        json={"name": "nlb", "subnet_ids": customer.subnet_ids},
    )
    inbound.cloud(
        "POST",
        f"{cloud}/load-balancers/nlb/listeners",
        201,
        json={"port": 8883, "target_group": "web"},
    )
    own_service = inbound.cloud(
        "POST", f"{cloud}/endpoint-services", 201, json={"load_balancers": ["nlb"]}
    )
    register_deployment(inbound, "mqtt-1")
    info = inbound.call("GET", "/v1/project/alpha/service/mqtt-1/privatelink/aws/outbound-info")
    inbound.cloud(
        "POST",
        f"{cloud}/endpoint-services/{own_service['id']}/permissions",
        json={"add": [info["principal"]]},
    )
    links = "/v1/project/alpha/service/mqtt-1/privatelink/aws/outbound"
    link = inbound.call("POST", links, 201, json={"service_name": own_service["name"]})
    url = f"{links}/{link['link_id']}"
    wait_for(lambda: inbound.call("GET", url)["state"] == "pending-acceptance")
    attachment = inbound.call(
        "POST",
        f"{links}/{link['link_id']}/attachments",
        201,
        json={"kind": "connector", "name": "sink"},
    )
    # The same service published from Azure and from Google (their own routes).
    for name, cloud_name, body in [
        ("az-1", "azure-westeurope", {"user_subscription_ids": [str(uuid.uuid4())]}),
        ("gc-1", "google-europe-west1", {}),
    ]:
        register_in_vpc(inbound, name=name, cloud=cloud_name)
        path = f"/v1/project/alpha/service/{name}/privatelink/{cloud_name.split('-')[0]}"
        inbound.call("POST", path, json=body)
        wait_for(lambda path=path: inbound.call("GET", path)["state"] == "active")
    zone = inbound.cloud("POST", f"{cloud}/dns/zones", 201, json={"name": "alpha-shop.example"})
    deliveries = f"/v1/project/alpha/webhooks/{hook['id']}/deliveries"
    delivery = inbound.call("GET", deliveries)["deliveries"][0]
    return {
        "zone_id": zone["id"],
        "webhook_id": hook["id"],
        "delivery_id": str(delivery["id"]),
        "project": "alpha",
        "service": "kafka-1",
        "project_vpc_id": project_vpc,
        "connection_id": connection["privatelink_connection_id"],
        "plc": connection["privatelink_connection_id"],
        "link_id": link["link_id"],
        "attachment_id": attachment["attachment_id"],
        "service_type": "kafka",
        "token_id": reader_token_id,
        "field": "principals",
        "account": "acme",
        "account_id": customer.account_id,
        "region": REGION,
        "vpc_id": customer.vpc_id,
        "subnet_id": customer.subnet_ids[0],
        "group_id": customer.group_id,
        "target_group": "web",
        "load_balancer": "nlb",
        "port": "8883",
        "service_id": own_service["id"],
        "endpoint_id": endpoint["id"],
        "dns": str(endpoint["dns_name"]),
    }


# -- the routes ------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    method: str
    template: str
    console: bool

    @property
    def reads(self) -> bool:
        return self.method == "GET" or self.template.startswith(CONSOLE_READS)

    @property
    def public(self) -> bool:
        return self.template in PUBLIC or self.template.startswith(PUBLIC_PREFIXES)

    @property
    def operator_only(self) -> bool:
        return self.template.startswith("/v1/admin") or (self.method, self.template) in {
            ("POST", "/v1/project"),
            ("POST", "/v1/project/{project}/service"),
            ("GET", "/v1/project/{project}/service/{service}/tls"),  # the server's private key
            ("GET", "/metrics"),  # every tenant's counts
        }

    @property
    def alphas(self) -> bool:
        """Whether the call names one of alpha's objects (rather than listing the caller's)."""
        return "{project}" in self.template or "{account}" in self.template

    def path(self, values: dict[str, str]) -> str:
        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name == "vpc_id" and self.template.startswith("/v1/project"):
                return values["project_vpc_id"]
            if name == "service" and "/outbound" in self.template:
                return "mqtt-1"
            if name == "service" and "/privatelink/azure" in self.template:
                return "az-1"
            if name == "service" and "/privatelink/google" in self.template:
                return "gc-1"
            if name == "name":
                kind = "load_balancer" if "/load-balancers/" in self.template else "target_group"
                return values[kind]
            return values[name]

        return re.sub(r"\{(\w+)\}", fill, self.template)


def _routes(routes: list[Any]) -> Iterator[Route]:
    """Routes, with those of included routers (FastAPI keeps those nested; ours have no
    prefix); mounts (static files) aside."""
    for route in routes:
        if isinstance(route, Route):
            yield route
        elif hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes)


def calls_of(client: TestClient) -> list[Call]:
    """Every method of every route the app serves (HEAD aside: Starlette adds it to GETs)."""
    found = []
    for route in _routes(client.app.routes):  # type: ignore[attr-defined]
        console = isinstance(route, APIRoute) and not route.include_in_schema
        for method in sorted(route.methods or ()):
            # Log-in and log-out are the session's own plumbing (tests/console/test_session).
            if method != "HEAD" and (method, route.path) not in SESSION_PLUMBING:
                found.append(Call(method, route.path, console))
    return found


def expected(call: Call, who: Who) -> Outcome:
    if call.public:
        return Outcome.ALLOWED
    if who is Who.NOBODY:
        return Outcome.UNAUTHENTICATED
    if who is Who.OPERATOR:
        return Outcome.ALLOWED
    if who is Who.BETA and call.alphas:
        return Outcome.HIDDEN  # alpha's project is not there for beta, operator route or not
    if call.operator_only:
        return Outcome.FORBIDDEN
    if who is Who.ALPHA_READER and not call.reads:
        return Outcome.FORBIDDEN
    return Outcome.ALLOWED


# -- calling -----------------------------------------------------------------------------
def probe(world: World, call: Call, who: Who) -> Any:
    """One request as `who`. Changes carry a body no route accepts, so an allowed caller
    gets 400 (the role and tenancy checks come before the body's) and nothing changes."""
    path = call.path(world.values)
    if call.console:
        world.client.cookies.clear()
        if who is not Who.NOBODY:
            world.client.cookies.set(console_session.COOKIE, world.cookies[who])
        data = None
        if call.method == "POST" and who is not Who.NOBODY:
            data = {"csrf": console_session.csrf_token(world.cookies[who]), "value": "x"}
        return world.client.request(call.method, path, data=data, follow_redirects=False)
    headers = {} if who is Who.NOBODY else {"Authorization": f"aivenv1 {world.tokens[who]}"}
    body = None if call.method in ("GET", "DELETE") else {"matrix_probe": True}
    return world.client.request(call.method, path, json=body, headers=headers)


def refusal(response: Any) -> bool:
    """Whether a 404 is the tenancy check's "not yours" rather than a missing object."""
    text = response.text
    return "Project 'alpha' does not exist" in text or "No local-cloud account" in text


def verdict(call: Call, who: Who, response: Any) -> str | None:
    """What is wrong with this answer, or None."""
    status = response.status_code
    want = expected(call, who)
    if want is Outcome.ALLOWED:
        if status in (401, 403) or (status == 404 and refusal(response)):
            return f"refused ({status}) but should be allowed"
        if call.reads and status >= 400 and not call.console:
            return f"a read answered {status}"
        if status >= 500:
            return f"server error {status}"
        return None
    if want is Outcome.UNAUTHENTICATED:
        to_login = status == 303 and response.headers.get("location") == "/login"
        if call.console and (to_login or status == 403):
            return None
        return None if status == 401 else f"answered {status}, wanted 401"
    wanted = 403 if want is Outcome.FORBIDDEN else 404
    return None if status == wanted else f"answered {status}, wanted {wanted}"


def leaks(world: World, call: Call, who: Who, response: Any) -> list[str]:
    if who in (Who.ALPHA_ADMIN, Who.ALPHA_READER, Who.OPERATOR):
        return []
    sent = call.path(world.values)
    return [s for s in world.secrets if s in response.text and s not in sent]


def snapshot(world: World) -> dict[str, Any]:
    """alpha's objects as the operator sees them, without what time alone changes."""
    headers = {"Authorization": f"aivenv1 {world.tokens[Who.OPERATOR]}"}
    cloud = f"/v1/cloud/acme/{REGION}"
    links = "/v1/project/alpha/service/mqtt-1/privatelink/aws/outbound"
    paths = [
        "/v1/project",
        "/v1/admin/tokens",
        "/v1/project/alpha/service",
        "/v1/project/alpha/vpcs",
        "/v1/project/alpha/service/kafka-1/privatelink/aws",
        "/v1/project/alpha/service/kafka-1/privatelink/aws/connections",
        links,
        f"{links}/{world.values['link_id']}/attachments",
        "/v1/cloud/accounts",
        *(f"{cloud}/{kind}" for kind in ("vpcs", "subnets", "security-groups", "target-groups")),
        *(f"{cloud}/{kind}" for kind in ("load-balancers", "endpoint-services", "endpoints")),
    ]
    return {path: _stable(world.client.get(path, headers=headers).json()) for path in paths}


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _stable(v) for k, v in value.items() if not any(w in k for w in ("time", "health"))
        }
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


REFUSED = [Who.NOBODY, Who.BETA, Who.ALPHA_READER]


def test_refused_callers_get_nothing_and_change_nothing(world: World) -> None:
    """Nobody, beta and alpha's read-only token, on every route: refused where they must
    be, with none of alpha's data in any answer, and alpha's objects as they were."""
    before = snapshot(world)
    problems = []
    for call in calls_of(world.client):
        for who in REFUSED:
            if who is Who.ALPHA_READER and expected(call, who) is Outcome.ALLOWED:
                continue  # its reads are checked with the allowed callers
            if call.template == "/logout" and who is not Who.NOBODY:
                continue  # ends the session the other checks use; test_session covers it
            response = probe(world, call, who)
            wrong = verdict(call, who, response)
            if wrong:
                problems.append(f"{who.value:16} {call.method:6} {call.template}: {wrong}")
            for secret in leaks(world, call, who, response):
                problems.append(f"{who.value:16} {call.method:6} {call.template}: shows {secret}")
    assert not problems, "\n".join(problems)
    assert snapshot(world) == before


def test_allowed_callers_get_through(world: World) -> None:
    """alpha's tokens and the operator, on every route they may use: past the role and
    tenancy checks. Reads succeed; changes reach body validation (400), and deletes run
    last, children first."""
    calls = [c for c in calls_of(world.client) if c.template != "/logout"]
    problems = []
    deletes = [c for c in calls if not c.reads and (c.method == "DELETE" or c.console)]
    for call in [c for c in calls if c not in deletes]:
        for who in (Who.ALPHA_READER, Who.ALPHA_ADMIN, Who.OPERATOR):
            if expected(call, who) is not Outcome.ALLOWED:
                continue
            wrong = verdict(call, who, probe(world, call, who))
            if wrong:
                problems.append(f"{who.value:16} {call.method:6} {call.template}: {wrong}")
    for call in sorted(deletes, key=lambda c: -c.template.count("/")):
        for who in (Who.ALPHA_ADMIN, Who.OPERATOR):
            if expected(call, who) is Outcome.ALLOWED:
                wrong = verdict(call, who, probe(world, call, who))
                if wrong:
                    problems.append(f"{who.value:16} {call.method:6} {call.template}: {wrong}")
    assert not problems, "\n".join(problems)

"""`privlink cloud …`: the customer's side of the local cloud, as one drives AWS.

Every command acts as one account (`--account`, or PRIVLINK_CLOUD_ACCOUNT) in one
region (`--region`, or PRIVLINK_CLOUD_REGION, default eu-west-1). Those options, `--url`
and `--json` are declared once (`SHARED`): on the `cloud` group and, for convenience, on
each command, where they win.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from privlink.commands.common import call, watch
from privlink.output import fail, show

DEFAULT_REGION = "eu-west-1"
_META = "privlink.cloud"

groups = {
    "account": "Accounts (12-digit IDs) and their principals.",
    "vpc": "VPCs; each gets its own loopback range on this host.",
    "subnet": "Subnets, each in one AZ ID.",
    "security-group": "Security groups for interface endpoints.",
    "target-group": "TCP target groups, targets and their health.",
    "nlb": "Internal network load balancers.",
    "listener": "TCP listeners of a load balancer.",
    "endpoint-service": "Endpoint services and their allowed principals.",
    "endpoint": "Interface endpoints in your VPC.",
    "connections": "Endpoint connections of your endpoint service.",
    "dns": "Hosted zones and records (global): what the local cloud's DNS server answers.",
}
app = typer.Typer(
    help="Drive the local cloud as a customer drives AWS.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
apps = {}
for group, text in groups.items():
    apps[group] = typer.Typer(help=text, no_args_is_help=True, rich_markup_mode=None)
    app.add_typer(apps[group], name=group)
# The customer's side in the other clouds the local cloud emulates: `cloud azure vnet …`.
nested = {
    "azure": (
        "Drive the local cloud as a customer drives Azure (region default westeurope).",
        {
            "vnet": "Virtual networks.",
            "subnet": "Subnets of a VNet.",
            "private-endpoint": "Private endpoints to Private Link Services.",
        },
    ),
    "gcp": (
        "Drive the local cloud as a customer drives Google Cloud (region default europe-west1).",
        {
            "network": "VPC networks.",
            "subnet": "Subnets of a network.",
            "endpoint": "Private Service Connect endpoints (forwarding rules).",
        },
    ),
}
for cloud_name, (text, subgroups) in nested.items():
    parent = typer.Typer(help=text, no_args_is_help=True, rich_markup_mode=None)
    app.add_typer(parent, name=cloud_name)
    for group, group_text in subgroups.items():
        apps[f"{cloud_name} {group}"] = typer.Typer(
            help=group_text, no_args_is_help=True, rich_markup_mode=None
        )
        parent.add_typer(apps[f"{cloud_name} {group}"], name=group)

# name -> (flags, help, environment variable, default): declared once, used twice.
SHARED: dict[str, tuple[tuple[str, ...], str, str | None, Any]] = {
    "account": (("--account", "-A"), "Account name or ID.", "PRIVLINK_CLOUD_ACCOUNT", None),
    "region": (("--region", "-r"), "Region.", "PRIVLINK_CLOUD_REGION", None),
    "url": (("--url",), "privlink API.", "PRIVLINK_URL", None),
    "as_json": (("--json",), "Print JSON for scripts.", None, False),
}


def _option(name: str, *, group: bool) -> inspect.Parameter:
    flags, text, env, default = SHARED[name]
    kind = bool if name == "as_json" else str | None
    option = typer.Option(*flags, help=text, envvar=env if group else None)
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        annotation=Annotated[kind, option],
        default=default if group or name == "as_json" else None,
    )


def _with_shared(function: Callable[..., Any], names: list[str], *, group: bool) -> None:
    """Append the shared options to `function`'s signature, as typer reads it."""
    signature = inspect.signature(function, eval_str=True)
    own = [
        p
        for p in signature.parameters.values()
        if p.name not in ("scope", "ctx") and p.kind is not p.VAR_KEYWORD
    ]
    ctx = inspect.Parameter(
        "ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context
    )
    params = [ctx, *own, *(_option(n, group=group) for n in names)]
    function.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    function.__annotations__ = {p.name: p.annotation for p in params}


def _group_options(ctx: typer.Context, **given: Any) -> None:
    ctx.meta[_META] = given


_with_shared(_group_options, list(SHARED), group=True)
app.callback()(_group_options)


@dataclass
class Scope:
    """Where a command acts and how it prints."""

    account: str
    region: str
    url: str | None
    as_json: bool

    @property
    def base(self) -> str:
        return f"/v1/cloud/{self.account}/{self.region}"

    def get(self, path: str, **params: Any) -> Any:
        return call(lambda c: c.get(self.base + path, **params), self.url)

    def post(self, path: str, body: Any = None) -> Any:
        return call(lambda c: c.post(self.base + path, body), self.url)

    def delete(self, path: str) -> Any:
        return call(lambda c: c.delete(self.base + path), self.url)

    def show(self, value: Any, columns: list[str] | None = None) -> None:
        show(value, as_json=self.as_json, columns=None if self.as_json else columns)

    def deleted(self, what: str, name: str) -> None:
        if self.as_json:
            show({"deleted": name}, as_json=True)
        else:
            typer.echo(f"Deleted {what} {name}.")


def command(
    group: str, name: str, *, scoped: bool = True, region: str = DEFAULT_REGION
) -> Callable[[Callable[..., Any]], Any]:
    """Register `function(scope, …)` as `privlink cloud GROUP NAME` with the shared options;
    `region`: where it acts when none is given."""

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def run(ctx: typer.Context, **given: Any) -> Any:
            shared = {n: given.pop(n, None) for n in SHARED}
            outer = ctx.meta.get(_META, {})
            pick = {
                n: shared[n] if shared[n] not in (None, False) else outer.get(n) for n in SHARED
            }
            if scoped and not pick["account"]:
                fail("Give the account with --account NAME or PRIVLINK_CLOUD_ACCOUNT")
            scope = Scope(
                account=pick["account"] or "",
                region=pick["region"] or region,
                url=pick["url"],
                as_json=bool(pick["as_json"]),
            )
            return function(scope, **given)

        names = list(SHARED) if scoped else ["url", "as_json"]
        _with_shared(run, names, group=False)
        apps[group].command(name)(run)
        return function

    return register


def _target(text: str) -> dict[str, Any]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        fail(f"Target {text!r} is not HOST:PORT")
    return {"host": host, "port": int(port)}


# -- accounts --------------------------------------------------------------
@command("account", "create", scoped=False)
def account_create(scope: Scope, name: str) -> None:
    """Create an account."""
    show(
        call(lambda c: c.post("/v1/cloud/accounts", {"name": name}), scope.url),
        as_json=scope.as_json,
    )


@command("account", "list", scoped=False)
def account_list(scope: Scope) -> None:
    """List the accounts."""
    rows = call(lambda c: c.get("/v1/cloud/accounts"), scope.url)["accounts"]
    show(rows, as_json=scope.as_json)


# -- VPCs, subnets, security groups ---------------------------------------
@command("vpc", "create")
def vpc_create(
    scope: Scope, cidr: Annotated[str, typer.Option(help="The VPC's CIDR.")] = "10.0.0.0/16"
) -> None:
    """Create a VPC."""
    scope.show(scope.post("/vpcs", {"cidr": cidr}))


@command("vpc", "list")
def vpc_list(scope: Scope) -> None:
    """List the VPCs."""
    scope.show(scope.get("/vpcs")["vpcs"])


@command("vpc", "delete")
def vpc_delete(scope: Scope, vpc_id: str) -> None:
    """Delete a VPC (and its subnets) with no endpoint or load balancer in it."""
    scope.delete(f"/vpcs/{vpc_id}")
    scope.deleted("VPC", vpc_id)


@command("subnet", "create")
def subnet_create(
    scope: Scope,
    vpc: Annotated[str, typer.Option(help="VPC ID.")],
    az: Annotated[str, typer.Option(help="AZ ID, e.g. euw1-az1.")],
) -> None:
    """Create a subnet in one AZ ID."""
    scope.show(scope.post("/subnets", {"vpc_id": vpc, "az_id": az}))


@command("subnet", "list")
def subnet_list(
    scope: Scope, vpc: Annotated[str | None, typer.Option(help="Only this VPC.")] = None
) -> None:
    """List the subnets."""
    scope.show(scope.get("/subnets", vpc_id=vpc)["subnets"])


@command("subnet", "delete")
def subnet_delete(scope: Scope, subnet_id: str) -> None:
    """Delete a subnet no endpoint or load balancer uses."""
    scope.delete(f"/subnets/{subnet_id}")
    scope.deleted("subnet", subnet_id)


@command("security-group", "create")
def sg_create(
    scope: Scope,
    vpc: Annotated[str, typer.Option(help="VPC ID.")],
    name: Annotated[str, typer.Option(help="Group name.")],
) -> None:
    """Create a security group."""
    scope.show(scope.post("/security-groups", {"vpc_id": vpc, "name": name}))


@command("security-group", "allow")
def sg_allow(
    scope: Scope,
    group_id: str,
    ports: Annotated[str, typer.Option(help="PORT or FROM-TO.")],
    cidr: Annotated[str, typer.Option(help="Source CIDR.")] = "0.0.0.0/0",
) -> None:
    """Allow TCP ingress on a port range."""
    low, _, high = ports.partition("-")
    if not low.isdigit() or (high and not high.isdigit()):
        fail(f"Ports {ports!r}: write PORT or FROM-TO, e.g. 10000-31000")
    body = {"cidr": cidr, "from_port": int(low), "to_port": int(high or low)}
    scope.show(scope.post(f"/security-groups/{group_id}/ingress", body))


@command("security-group", "list")
def sg_list(scope: Scope) -> None:
    """List the security groups."""
    scope.show(scope.get("/security-groups")["security_groups"])


# -- target groups -----------------------------------------------------------
@command("target-group", "create")
def tg_create(
    scope: Scope,
    name: Annotated[str, typer.Option(help="Target group name.")],
    port: Annotated[int, typer.Option(help="Traffic port of the targets.")],
    health_port: Annotated[int | None, typer.Option(help="Health-check override port.")] = None,
    interval: Annotated[float, typer.Option(help="Health-check interval, seconds.")] = 10.0,
    timeout: Annotated[
        float | None, typer.Option(help="Health-check timeout, seconds [5 or the interval].")
    ] = None,
    healthy_threshold: Annotated[int, typer.Option(help="Passes to become healthy.")] = 3,
    unhealthy_threshold: Annotated[int, typer.Option(help="Failures to become unhealthy.")] = 3,
    proxy_protocol_v2: Annotated[bool, typer.Option(help="Send Proxy Protocol v2.")] = False,
) -> None:
    """Create a TCP target group with its health check."""
    body = {
        "name": name,
        "port": port,
        "proxy_protocol_v2": proxy_protocol_v2,
        "health_check": {
            "interval": interval,
            "timeout": timeout,
            "port": health_port,
            "healthy_threshold": healthy_threshold,
            "unhealthy_threshold": unhealthy_threshold,
        },
    }
    scope.show(scope.post("/target-groups", body), ["name", "port", "arn"])


@command("target-group", "list")
def tg_list(scope: Scope) -> None:
    """List the target groups."""
    scope.show(
        scope.get("/target-groups")["target_groups"], ["name", "port", "proxy_protocol_v2", "arn"]
    )


@command("target-group", "register")
def tg_register(scope: Scope, name: str, targets: list[str]) -> None:
    """Register targets given as HOST:PORT."""
    body = {"targets": [_target(t) for t in targets]}
    scope.show(scope.post(f"/target-groups/{name}/targets", body)["targets"])


@command("target-group", "deregister")
def tg_deregister(scope: Scope, name: str, targets: list[str]) -> None:
    """Deregister targets given as HOST:PORT (they drain first)."""
    body = {"targets": [_target(t) for t in targets]}
    scope.show(scope.post(f"/target-groups/{name}/targets/deregister", body)["targets"])


@command("target-group", "health")
def tg_health(
    scope: Scope,
    name: str,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until all are healthy.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds --wait waits at most.")] = 300,
) -> None:
    """Show the health of each target."""
    path = f"/target-groups/{name}/health"
    rows = scope.get(path)["targets"]
    if wait:
        rows = watch(
            lambda: scope.get(path)["targets"],
            done=lambda r: bool(r) and all(t["state"] == "healthy" for t in r or []),
            failed=lambda r: None,
            label=lambda r: ", ".join(f"{t['host']}:{t['port']} {t['state']}" for t in r or []),
            timeout=timeout,
        )
    scope.show(rows)


@command("target-group", "delete")
def tg_delete(scope: Scope, name: str) -> None:
    """Delete a target group no listener uses."""
    scope.delete(f"/target-groups/{name}")
    scope.deleted("target group", name)


# -- load balancers and listeners --------------------------------------------
NLB_COLUMNS = ["name", "az_ids", "state", "arn"]


@command("nlb", "create")
def nlb_create(
    scope: Scope,
    name: Annotated[str, typer.Option(help="NLB name.")],
    subnet: Annotated[list[str], typer.Option(help="Subnet ID (one per AZ).")],
) -> None:
    """Create an internal network load balancer in the given subnets."""
    scope.show(scope.post("/load-balancers", {"name": name, "subnet_ids": subnet}), NLB_COLUMNS)


@command("nlb", "list")
def nlb_list(scope: Scope) -> None:
    """List the load balancers."""
    scope.show(scope.get("/load-balancers")["load_balancers"], NLB_COLUMNS)


@command("nlb", "delete")
def nlb_delete(scope: Scope, name: str) -> None:
    """Delete a load balancer no endpoint service uses."""
    scope.delete(f"/load-balancers/{name}")
    scope.deleted("load balancer", name)


@command("listener", "create")
def listener_create(
    scope: Scope,
    nlb: Annotated[str, typer.Option(help="NLB name.")],
    port: Annotated[int, typer.Option(help="Listener port.")],
    target_group: Annotated[str, typer.Option(help="Target group name.")],
) -> None:
    """Add a TCP listener forwarding to a target group."""
    body = {"port": port, "target_group": target_group}
    scope.show(scope.post(f"/load-balancers/{nlb}/listeners", body))


@command("listener", "list")
def listener_list(scope: Scope, nlb: Annotated[str, typer.Option(help="NLB name.")]) -> None:
    """List a load balancer's listeners."""
    scope.show(scope.get(f"/load-balancers/{nlb}/listeners")["listeners"])


# -- endpoint services and connections --------------------------------------
SERVICE_COLUMNS = [
    "id",
    "name",
    "state",
    "az_ids",
    "acceptance_required",
    "principals",
    "supported_ip_address_types",
]


@command("endpoint-service", "create")
def es_create(
    scope: Scope,
    nlb: Annotated[list[str], typer.Option(help="NLB name.")],
    acceptance_required: Annotated[
        bool, typer.Option(help="Connections need your acceptance.")
    ] = True,
) -> None:
    """Create an endpoint service on network load balancers."""
    body = {"load_balancers": nlb, "acceptance_required": acceptance_required}
    scope.show(scope.post("/endpoint-services", body), SERVICE_COLUMNS)


@command("endpoint-service", "allow")
def es_allow(scope: Scope, service_id: str, principal: list[str]) -> None:
    """Allow principals (ARNs or *) to connect."""
    path = f"/endpoint-services/{service_id}/permissions"
    scope.show(scope.post(path, {"add": principal}), SERVICE_COLUMNS)


@command("endpoint-service", "revoke")
def es_revoke(scope: Scope, service_id: str, principal: list[str]) -> None:
    """Stop allowing principals; connected endpoints stay connected."""
    path = f"/endpoint-services/{service_id}/permissions"
    scope.show(scope.post(path, {"remove": principal}), SERVICE_COLUMNS)


@command("endpoint-service", "show")
def es_show(scope: Scope, service_id: str) -> None:
    """Show an endpoint service."""
    scope.show(scope.get(f"/endpoint-services/{service_id}"), SERVICE_COLUMNS)


@command("endpoint-service", "list")
def es_list(scope: Scope) -> None:
    """List your endpoint services."""
    scope.show(scope.get("/endpoint-services")["endpoint_services"], SERVICE_COLUMNS)


PRIVATE_DNS_COLUMNS = ["name", "state", "type", "record_name", "value"]


@command("endpoint-service", "private-dns")
def es_private_dns(
    scope: Scope,
    service_id: str,
    name: Annotated[
        str | None, typer.Argument(help="e.g. api.example.com; leave out to remove it.")
    ] = None,
) -> None:
    """Give the service a private DNS name; shows the TXT record that proves the domain."""
    path = f"/endpoint-services/{service_id}/private-dns"
    put = call(lambda c: c.request("PUT", scope.base + path, json={"name": name}), scope.url)
    scope.show(put, PRIVATE_DNS_COLUMNS)


@command("endpoint-service", "verify-dns")
def es_verify_dns(scope: Scope, service_id: str) -> None:
    """Check the domain's TXT record: the private DNS name is verified, or failed."""
    path = f"/endpoint-services/{service_id}/private-dns/verify"
    scope.show(scope.post(path), PRIVATE_DNS_COLUMNS)


@command("endpoint-service", "delete")
def es_delete(scope: Scope, service_id: str) -> None:
    """Delete an endpoint service with no live connection."""
    scope.delete(f"/endpoint-services/{service_id}")
    scope.deleted("endpoint service", service_id)


ENDPOINT_COLUMNS = [
    "id",
    "state",
    "service_name",
    "ip_address_type",
    "addresses",
    "dns_name",
    "reason",
]
CONNECTION_COLUMNS = ["id", "state", "owner", "addresses"]


def _endpoint_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r | {"addresses": [a["address"] for a in r["addresses"]]} for r in rows]


def _show_endpoints(scope: Scope, rows: list[dict[str, Any]], columns: list[str]) -> None:
    scope.show(rows if scope.as_json else _endpoint_rows(rows), columns)


@command("connections", "list")
def conn_list(scope: Scope, service_id: str) -> None:
    """Endpoints connected (or asking to connect) to your service."""
    rows = scope.get(f"/endpoint-services/{service_id}/connections")["connections"]
    _show_endpoints(scope, rows, CONNECTION_COLUMNS)


def _decide(scope: Scope, verb: str, service_id: str, endpoint_ids: list[str]) -> None:
    path = f"/endpoint-services/{service_id}/connections/{verb}"
    rows = scope.post(path, {"endpoint_ids": endpoint_ids})["connections"]
    _show_endpoints(scope, rows, CONNECTION_COLUMNS)


@command("connections", "accept")
def conn_accept(scope: Scope, service_id: str, endpoint_id: list[str]) -> None:
    """Accept endpoint connection requests."""
    _decide(scope, "accept", service_id, endpoint_id)


@command("connections", "reject")
def conn_reject(scope: Scope, service_id: str, endpoint_id: list[str]) -> None:
    """Reject endpoint connections; their traffic stops."""
    _decide(scope, "reject", service_id, endpoint_id)


# -- interface endpoints -----------------------------------------------------
def _endpoint(scope: Scope, endpoint_id: str, wait: bool, timeout: float) -> dict[str, Any]:
    path = f"/endpoints/{endpoint_id}"
    endpoint: dict[str, Any] = scope.get(path)
    if not wait:
        return endpoint
    settled: dict[str, Any] | None = watch(
        lambda: scope.get(path),
        done=lambda e: e is not None and e["state"] in ("available", "pendingAcceptance"),
        failed=lambda e: (
            f"Endpoint {endpoint_id} is {e['state']}: {e['reason']}"
            if e["state"] in ("failed", "rejected", "deleted")
            else None
        ),
        label=lambda e: (
            (e or {}).get("state", "gone") + (f" ({e['reason']})" if e and e["reason"] else "")
        ),
        timeout=timeout,
    )
    assert settled is not None
    return settled


def _show_endpoint(scope: Scope, endpoint: dict[str, Any]) -> None:
    scope.show(endpoint if scope.as_json else _endpoint_rows([endpoint]), ENDPOINT_COLUMNS)


Wait = Annotated[bool, typer.Option("--wait", help="Wait until available (or acceptance).")]
Timeout = Annotated[float, typer.Option(help="Seconds --wait waits at most.")]


@command("endpoint", "create")
def ep_create(
    scope: Scope,
    vpc: Annotated[str, typer.Option(help="VPC ID.")],
    service_name: Annotated[str, typer.Option(help="Endpoint service name.")],
    subnet: Annotated[list[str], typer.Option(help="Subnet ID (one per AZ).")],
    security_group: Annotated[list[str] | None, typer.Option(help="Security group ID.")] = None,
    principal: Annotated[str | None, typer.Option(help="Act as this user/role ARN.")] = None,
    client_token: Annotated[
        str | None, typer.Option(help="Idempotency token: a retry returns the same endpoint.")
    ] = None,
    private_dns: Annotated[
        bool, typer.Option(help="The service's verified private DNS name answers with it.")
    ] = False,
    wait: Wait = False,
    timeout: Timeout = 300,
) -> None:
    """Create an interface endpoint to an endpoint service."""
    body = {
        "vpc_id": vpc,
        "service_name": service_name,
        "subnet_ids": subnet,
        "security_group_ids": security_group or [],
        "principal": principal,
        "client_token": client_token,
        "private_dns_enabled": private_dns,
    }
    created = scope.post("/endpoints", body)
    _show_endpoint(scope, _endpoint(scope, created["id"], wait, timeout))


@command("endpoint", "show")
def ep_show(scope: Scope, endpoint_id: str, wait: Wait = False, timeout: Timeout = 300) -> None:
    """Show an endpoint; --wait waits for available (or for acceptance)."""
    _show_endpoint(scope, _endpoint(scope, endpoint_id, wait, timeout))


@command("endpoint", "list")
def ep_list(scope: Scope) -> None:
    """List your interface endpoints."""
    _show_endpoints(scope, scope.get("/endpoints")["endpoints"], ENDPOINT_COLUMNS)


@command("endpoint", "delete")
def ep_delete(scope: Scope, endpoint_id: str) -> None:
    """Delete an interface endpoint."""
    scope.delete(f"/endpoints/{endpoint_id}")
    scope.deleted("endpoint", endpoint_id)


# -- DNS ------------------------------------------------------------------------
RECORD_COLUMNS = ["name", "type", "values", "ttl"]


@command("dns", "zones")
def dns_zones(scope: Scope) -> None:
    """List your hosted zones."""
    scope.show(scope.get("/dns/zones")["zones"], ["id", "name"])


@command("dns", "create-zone")
def dns_create_zone(scope: Scope, name: str) -> None:
    """Create a hosted zone (a domain you hold): its records are served at once."""
    scope.show(scope.post("/dns/zones", {"name": name}), ["id", "name"])


@command("dns", "delete-zone")
def dns_delete_zone(scope: Scope, zone_id: str) -> None:
    """Delete an empty hosted zone."""
    scope.delete(f"/dns/zones/{zone_id}")
    scope.deleted("hosted zone", zone_id)


@command("dns", "records")
def dns_records(
    scope: Scope,
    zone_id: str,
    under: Annotated[str | None, typer.Option(help="Only this name and below.")] = None,
) -> None:
    """List a zone's records (all of them, or those at and below --under)."""
    found = scope.get(f"/dns/zones/{zone_id}/records", under=under)
    scope.show(found["records"], RECORD_COLUMNS)


@command("dns", "set")
def dns_set(
    scope: Scope,
    zone_id: str,
    name: str,
    value: Annotated[list[str], typer.Option(help="A value (repeat for several).")],
    record_type: Annotated[str, typer.Option("--type", help="A, CNAME or TXT.")] = "A",
    ttl: Annotated[int, typer.Option(help="Seconds resolvers may keep it.")] = 60,
) -> None:
    """Create or replace a record set."""
    record = {"name": name, "type": record_type.upper(), "values": value, "ttl": ttl}
    found = scope.post(f"/dns/zones/{zone_id}/records", {"upsert": [record]})
    scope.show(found["records"], RECORD_COLUMNS)


@command("dns", "delete")
def dns_delete(
    scope: Scope,
    zone_id: str,
    name: str,
    record_type: Annotated[str, typer.Option("--type", help="A, CNAME or TXT.")] = "A",
) -> None:
    """Delete a record set."""
    record = {"name": name, "type": record_type.upper()}
    found = scope.post(f"/dns/zones/{zone_id}/records", {"delete": [record]})
    scope.show(found["records"], RECORD_COLUMNS)


@command("dns", "resolve", scoped=False)
def dns_resolve(
    scope: Scope,
    name: str,
    record_type: Annotated[str, typer.Option("--type", help="A, CNAME or TXT.")] = "A",
    server: Annotated[
        str,
        typer.Option(
            help="The DNS server's ADDRESS:PORT.", envvar="PRIVLINK_DNS_LISTEN", show_default=True
        ),
    ] = "127.0.0.1:8053",
) -> None:
    """Ask the local cloud's DNS server, as `dig @ADDRESS -p PORT NAME` does."""
    import dns.exception  # here: only this command needs dnspython
    import dns.message
    import dns.query
    import dns.rcode
    import dns.rdatatype

    address, _, port = server.rpartition(":")
    query = dns.message.make_query(name, record_type.upper())
    try:
        answer = dns.query.udp(query, address, port=int(port), timeout=5)
    except (dns.exception.DNSException, OSError, ValueError) as error:
        fail(
            f"No answer from {server} ({error}); is `privlink serve` running with the local cloud?"
        )
    rows = [
        {"name": str(rrset.name).rstrip("."), "type": dns.rdatatype.to_text(rrset.rdtype),
         "value": item.to_text().strip('"'), "ttl": rrset.ttl}
        for rrset in answer.answer
        for item in rrset
    ]  # fmt: skip
    status = dns.rcode.to_text(answer.rcode())
    if scope.as_json:
        show({"status": status, "answers": rows}, as_json=True)
        return
    typer.echo(f"status: {status}")
    if rows:
        show(rows, as_json=False, columns=["name", "type", "value", "ttl"])


# -- Azure and Google Cloud: the same networks and endpoints, in their words ----------
# The local cloud's endpoint states as Azure's private endpoint connections and Google's
# PSC endpoints name them.
AZURE_STATUS = {
    "pendingAcceptance": "Pending",
    "pending": "Approved",
    "available": "Approved",
    "rejected": "Rejected",
}
GOOGLE_STATUS = {
    "pendingAcceptance": "PENDING",
    "pending": "ACCEPTED",
    "available": "ACCEPTED",
    "rejected": "REJECTED",
}
AZURE_REGION, GOOGLE_REGION = "westeurope", "europe-west1"
Cidr = Annotated[str, typer.Option(help="The network's CIDR.")]


def _first_zone(scope: Scope, cloud: str) -> str:
    """Azure and Google subnets are regional: the local cloud places them in a zone."""
    from privlink.domain.cloud import PROVIDERS  # pure and small: no server import

    zones = PROVIDERS[cloud].get(scope.region)
    if zones is None:
        fail(
            f"{scope.region} is not a {cloud} region the local cloud has; give one of "
            f"{', '.join(sorted(PROVIDERS[cloud]))} with --region"
        )
    return zones[0]


def _in_words(endpoint: dict[str, Any], words: dict[str, str], provider: str) -> dict[str, Any]:
    status = words.get(endpoint["state"], "Disconnected" if provider == "azure" else "CLOSED")
    address = endpoint["addresses"][0]["address"] if endpoint["addresses"] else None
    return endpoint | {"status": status, "ip_address": address}


def _network_create(scope: Scope, cidr: str, cloud: str) -> None:
    _first_zone(scope, cloud)
    scope.show(scope.post("/vpcs", {"cidr": cidr}), ["id", "region", "cidr", "private_range"])


def _subnet_create(scope: Scope, network: str, cloud: str) -> None:
    body = {"vpc_id": network, "az_id": _first_zone(scope, cloud)}
    scope.show(scope.post("/subnets", body), ["id", "vpc_id", "cidr", "private_range"])


def _subnets(scope: Scope, network: str | None) -> None:
    rows = scope.get("/subnets", vpc_id=network)["subnets"]
    scope.show(rows, ["id", "vpc_id", "cidr", "private_range"])


def _endpoint_create(
    scope: Scope, cloud: str, network: str, subnet: str, target: str, address: str | None
) -> dict[str, Any]:
    _first_zone(scope, cloud)
    body = {"vpc_id": network, "service_name": target, "subnet_ids": [subnet], "address": address}
    return dict(scope.post("/endpoints", body))


AZURE_ENDPOINT_COLUMNS = ["id", "resource_id", "status", "ip_address", "service_name"]
GOOGLE_ENDPOINT_COLUMNS = ["id", "resource_id", "psc_connection_id", "status", "ip_address"]


def _show_in_words(scope: Scope, value: Any, cloud: str) -> None:
    """Endpoints (a list) or one endpoint, with their status in the cloud's words."""
    words, columns = (
        (AZURE_STATUS, AZURE_ENDPOINT_COLUMNS)
        if cloud == "azure"
        else (GOOGLE_STATUS, GOOGLE_ENDPOINT_COLUMNS)
    )
    if isinstance(value, list):
        scope.show([_in_words(r, words, cloud) for r in value], columns)
    else:
        scope.show(_in_words(value, words, cloud), columns)


@command("azure vnet", "create", region=AZURE_REGION)
def azure_vnet_create(scope: Scope, cidr: Cidr = "10.0.0.0/16") -> None:
    """Create a virtual network."""
    _network_create(scope, cidr, "azure")


@command("azure subnet", "create", region=AZURE_REGION)
def azure_subnet_create(scope: Scope, vnet: Annotated[str, typer.Option(help="VNet ID.")]) -> None:
    """Create a subnet; its private range is where endpoints get their addresses."""
    _subnet_create(scope, vnet, "azure")


@command("azure subnet", "list", region=AZURE_REGION)
def azure_subnet_list(
    scope: Scope, vnet: Annotated[str | None, typer.Option(help="Only this VNet.")] = None
) -> None:
    """List the subnets."""
    _subnets(scope, vnet)


@command("azure private-endpoint", "create", region=AZURE_REGION)
def azure_pe_create(
    scope: Scope,
    vnet: Annotated[str, typer.Option(help="VNet ID.")],
    subnet: Annotated[str, typer.Option(help="Subnet ID.")],
    alias: Annotated[str, typer.Option(help="The Private Link Service's alias.")],
    ip_address: Annotated[
        str | None, typer.Option(help="A static private address in the subnet.")
    ] = None,
    wait: Wait = False,
    timeout: Timeout = 300,
) -> None:
    """Create a private endpoint to a Private Link Service; it waits for the owner's
    approval (Pending)."""
    created = _endpoint_create(scope, "azure", vnet, subnet, alias, ip_address)
    _show_in_words(scope, _endpoint(scope, created["id"], wait, timeout), "azure")


@command("gcp network", "create", region=GOOGLE_REGION)
def gcp_network_create(scope: Scope, cidr: Cidr = "10.0.0.0/16") -> None:
    """Create a VPC network."""
    _network_create(scope, cidr, "google")


@command("gcp subnet", "create", region=GOOGLE_REGION)
def gcp_subnet_create(
    scope: Scope, network: Annotated[str, typer.Option(help="Network ID.")]
) -> None:
    """Create a subnet; its private range is where endpoints get their addresses."""
    _subnet_create(scope, network, "google")


@command("gcp subnet", "list", region=GOOGLE_REGION)
def gcp_subnet_list(
    scope: Scope, network: Annotated[str | None, typer.Option(help="Only this network.")] = None
) -> None:
    """List the subnets."""
    _subnets(scope, network)


@command("gcp endpoint", "create", region=GOOGLE_REGION)
def gcp_endpoint_create(
    scope: Scope,
    network: Annotated[str, typer.Option(help="Network ID.")],
    subnet: Annotated[str, typer.Option(help="Subnet ID.")],
    target: Annotated[str, typer.Option(help="The service attachment.")],
    address: Annotated[
        str | None, typer.Option(help="The endpoint's internal address, in the subnet.")
    ] = None,
    wait: Wait = False,
    timeout: Timeout = 300,
) -> None:
    """Create a Private Service Connect endpoint (a forwarding rule) to a service
    attachment; it waits (PENDING) until the producer accepts it."""
    created = _endpoint_create(scope, "google", network, subnet, target, address)
    _show_in_words(scope, _endpoint(scope, created["id"], wait, timeout), "google")


def _shared_verbs(cloud: str, network: str, endpoint: str, region: str) -> None:
    """The verbs both clouds' customer sides have: list networks; show, list and delete
    endpoints (in the cloud's words)."""

    @command(f"{cloud} {network}", "list", region=region)
    def network_list(scope: Scope) -> None:
        """List the networks."""
        scope.show(scope.get("/vpcs")["vpcs"])

    @command(f"{cloud} {endpoint}", "show", region=region)
    def endpoint_show(
        scope: Scope, endpoint_id: str, wait: Wait = False, timeout: Timeout = 300
    ) -> None:
        """Show an endpoint: its status (in the cloud's words) and its address."""
        _show_in_words(scope, _endpoint(scope, endpoint_id, wait, timeout), PROVIDER[cloud])

    @command(f"{cloud} {endpoint}", "list", region=region)
    def endpoint_list(scope: Scope) -> None:
        """List your endpoints."""
        _show_in_words(scope, scope.get("/endpoints")["endpoints"], PROVIDER[cloud])

    @command(f"{cloud} {endpoint}", "delete", region=region)
    def endpoint_delete(scope: Scope, endpoint_id: str) -> None:
        """Delete an endpoint."""
        scope.delete(f"/endpoints/{endpoint_id}")
        scope.deleted("endpoint", endpoint_id)


PROVIDER = {"azure": "azure", "gcp": "google"}
_shared_verbs("azure", "vnet", "private-endpoint", AZURE_REGION)
_shared_verbs("gcp", "network", "endpoint", GOOGLE_REGION)

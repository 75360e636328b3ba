"""`privlink cloud …`: the customer's side of the local cloud, as one drives AWS.

Every command acts as one account (`--account`, or PRIVLINK_CLOUD_ACCOUNT) in one
region (`--region`, or PRIVLINK_CLOUD_REGION, default eu-west-1).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

import typer

from privlink.client import ApiError, Client
from privlink.output import fail, show

app = typer.Typer(
    help="Drive the local cloud as a customer drives AWS.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
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
}
apps = {}
for group, text in groups.items():
    apps[group] = typer.Typer(help=text, no_args_is_help=True, rich_markup_mode=None)
    app.add_typer(apps[group], name=group)

Account = Annotated[
    str,
    typer.Option("--account", "-A", envvar="PRIVLINK_CLOUD_ACCOUNT", help="Account name or ID."),
]
Region = Annotated[
    str, typer.Option("--region", "-r", envvar="PRIVLINK_CLOUD_REGION", help="Region.")
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Wait = Annotated[bool, typer.Option("--wait", help="Wait until the state is reached.")]
Url = Annotated[str | None, typer.Option("--url", envvar="PRIVLINK_URL", help="privlink API.")]
DEFAULT_REGION = "eu-west-1"


def call(action: Callable[[Client], Any], url: str | None = None) -> Any:
    try:
        return action(Client(url))
    except ApiError as error:
        fail(error.message)


def scoped(account: str, region: str) -> str:
    return f"/v1/cloud/{account}/{region}"


def deleted(what: str, name: str, as_json: bool) -> None:
    if as_json:
        show({"deleted": name}, as_json=True)
    else:
        typer.echo(f"Deleted {what} {name}.")


def _target(text: str) -> dict[str, Any]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        fail(f"Target {text!r} is not HOST:PORT")
    return {"host": host, "port": int(port)}


# -- accounts --------------------------------------------------------------
@apps["account"].command("create")
def account_create(name: str, as_json: Json = False, url: Url = None) -> None:
    """Create an account."""
    show(call(lambda c: c.post("/v1/cloud/accounts", {"name": name}), url), as_json=as_json)


@apps["account"].command("list")
def account_list(as_json: Json = False, url: Url = None) -> None:
    show(call(lambda c: c.get("/v1/cloud/accounts"), url)["accounts"], as_json=as_json)


# -- VPCs, subnets, security groups ---------------------------------------
@apps["vpc"].command("create")
def vpc_create(
    account: Account,
    region: Region = DEFAULT_REGION,
    cidr: Annotated[str, typer.Option(help="The VPC's CIDR.")] = "10.0.0.0/16",
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Create a VPC."""
    show(
        call(lambda c: c.post(f"{scoped(account, region)}/vpcs", {"cidr": cidr}), url),
        as_json=as_json,
    )


@apps["vpc"].command("list")
def vpc_list(
    account: Account, region: Region = DEFAULT_REGION, as_json: Json = False, url: Url = None
) -> None:
    show(call(lambda c: c.get(f"{scoped(account, region)}/vpcs"), url)["vpcs"], as_json=as_json)


@apps["subnet"].command("create")
def subnet_create(
    account: Account,
    vpc: Annotated[str, typer.Option(help="VPC ID.")],
    az: Annotated[str, typer.Option(help="AZ ID, e.g. euw1-az1.")],
    region: Region = DEFAULT_REGION,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Create a subnet in one AZ ID."""
    body = {"vpc_id": vpc, "az_id": az}
    show(call(lambda c: c.post(f"{scoped(account, region)}/subnets", body), url), as_json=as_json)


@apps["subnet"].command("list")
def subnet_list(
    account: Account,
    region: Region = DEFAULT_REGION,
    vpc: Annotated[str | None, typer.Option(help="Only this VPC.")] = None,
    as_json: Json = False,
    url: Url = None,
) -> None:
    rows = call(lambda c: c.get(f"{scoped(account, region)}/subnets", vpc_id=vpc), url)
    show(rows["subnets"], as_json=as_json)


@apps["security-group"].command("create")
def sg_create(
    account: Account,
    vpc: Annotated[str, typer.Option(help="VPC ID.")],
    name: Annotated[str, typer.Option(help="Group name.")],
    region: Region = DEFAULT_REGION,
    as_json: Json = False,
    url: Url = None,
) -> None:
    body = {"vpc_id": vpc, "name": name}
    show(
        call(lambda c: c.post(f"{scoped(account, region)}/security-groups", body), url),
        as_json=as_json,
    )


@apps["security-group"].command("allow")
def sg_allow(
    group_id: str,
    account: Account,
    ports: Annotated[str, typer.Option(help="PORT or FROM-TO.")],
    cidr: Annotated[str, typer.Option(help="Source CIDR.")] = "0.0.0.0/0",
    region: Region = DEFAULT_REGION,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Allow TCP ingress on a port range."""
    low, _, high = ports.partition("-")
    if not low.isdigit() or (high and not high.isdigit()):
        fail(f"Ports {ports!r}: write PORT or FROM-TO, e.g. 10000-31000")
    body = {"cidr": cidr, "from_port": int(low), "to_port": int(high or low)}
    path = f"{scoped(account, region)}/security-groups/{group_id}/ingress"
    show(call(lambda c: c.post(path, body), url), as_json=as_json)


@apps["security-group"].command("list")
def sg_list(
    account: Account, region: Region = DEFAULT_REGION, as_json: Json = False, url: Url = None
) -> None:
    rows = call(lambda c: c.get(f"{scoped(account, region)}/security-groups"), url)
    show(rows["security_groups"], as_json=as_json)


# -- target groups -----------------------------------------------------------
@apps["target-group"].command("create")
def tg_create(
    account: Account,
    name: Annotated[str, typer.Option(help="Target group name.")],
    port: Annotated[int, typer.Option(help="Traffic port of the targets.")],
    region: Region = DEFAULT_REGION,
    health_port: Annotated[int | None, typer.Option(help="Health-check override port.")] = None,
    interval: Annotated[float, typer.Option(help="Health-check interval, seconds.")] = 10.0,
    timeout: Annotated[
        float | None, typer.Option(help="Health-check timeout, seconds [5 or the interval].")
    ] = None,
    healthy_threshold: Annotated[int, typer.Option(help="Passes to become healthy.")] = 3,
    unhealthy_threshold: Annotated[int, typer.Option(help="Failures to become unhealthy.")] = 3,
    proxy_protocol_v2: Annotated[bool, typer.Option(help="Send Proxy Protocol v2.")] = False,
    as_json: Json = False,
    url: Url = None,
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
    tg = call(lambda c: c.post(f"{scoped(account, region)}/target-groups", body), url)
    show(tg, as_json=as_json, columns=None if as_json else ["name", "port", "arn"])


@apps["target-group"].command("list")
def tg_list(
    account: Account, region: Region = DEFAULT_REGION, as_json: Json = False, url: Url = None
) -> None:
    rows = call(lambda c: c.get(f"{scoped(account, region)}/target-groups"), url)
    show(
        rows["target_groups"],
        as_json=as_json,
        columns=None if as_json else ["name", "port", "proxy_protocol_v2", "arn"],
    )


@apps["target-group"].command("register")
def tg_register(
    name: str,
    targets: list[str],
    account: Account,
    region: Region = DEFAULT_REGION,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Register targets given as HOST:PORT."""
    body = {"targets": [_target(t) for t in targets]}
    path = f"{scoped(account, region)}/target-groups/{name}/targets"
    show(call(lambda c: c.post(path, body), url)["targets"], as_json=as_json)


@apps["target-group"].command("deregister")
def tg_deregister(
    name: str,
    targets: list[str],
    account: Account,
    region: Region = DEFAULT_REGION,
    as_json: Json = False,
    url: Url = None,
) -> None:
    body = {"targets": [_target(t) for t in targets]}
    path = f"{scoped(account, region)}/target-groups/{name}/targets/deregister"
    show(call(lambda c: c.post(path, body), url)["targets"], as_json=as_json)


@apps["target-group"].command("health")
def tg_health(
    name: str,
    account: Account,
    region: Region = DEFAULT_REGION,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until all are healthy.")] = False,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Show the health of each target."""
    path = f"{scoped(account, region)}/target-groups/{name}/health"
    rows = poll(
        lambda c: c.get(path)["targets"],
        lambda r: bool(r) and all(t["state"] == "healthy" for t in r),
        lambda r: False,
        wait,
        url,
        label=lambda r: ", ".join(f"{t['host']}:{t['port']} {t['state']}" for t in r),
    )
    show(rows, as_json=as_json)


@apps["target-group"].command("delete")
def tg_delete(
    name: str,
    account: Account,
    region: Region = DEFAULT_REGION,
    as_json: Json = False,
    url: Url = None,
) -> None:
    call(lambda c: c.delete(f"{scoped(account, region)}/target-groups/{name}"), url)
    deleted("target group", name, as_json)


# -- load balancers and listeners --------------------------------------------
@apps["nlb"].command("create")
def nlb_create(
    account: Account,
    name: Annotated[str, typer.Option(help="NLB name.")],
    subnet: Annotated[list[str], typer.Option(help="Subnet ID (one per AZ).")],
    region: Region = DEFAULT_REGION,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Create an internal network load balancer in the given subnets."""
    body = {"name": name, "subnet_ids": subnet}
    show(
        call(lambda c: c.post(f"{scoped(account, region)}/load-balancers", body), url),
        as_json=as_json,
        columns=None if as_json else ["name", "az_ids", "state", "arn"],
    )


@apps["nlb"].command("list")
def nlb_list(
    account: Account, region: Region = DEFAULT_REGION, as_json: Json = False, url: Url = None
) -> None:
    rows = call(lambda c: c.get(f"{scoped(account, region)}/load-balancers"), url)
    show(
        rows["load_balancers"],
        as_json=as_json,
        columns=None if as_json else ["name", "az_ids", "state", "arn"],
    )


@apps["nlb"].command("delete")
def nlb_delete(
    name: str,
    account: Account,
    region: Region = DEFAULT_REGION,
    as_json: Json = False,
    url: Url = None,
) -> None:
    call(lambda c: c.delete(f"{scoped(account, region)}/load-balancers/{name}"), url)
    deleted("load balancer", name, as_json)


@apps["listener"].command("create")
def listener_create(
    account: Account,
    nlb: Annotated[str, typer.Option(help="NLB name.")],
    port: Annotated[int, typer.Option(help="Listener port.")],
    target_group: Annotated[str, typer.Option(help="Target group name.")],
    region: Region = DEFAULT_REGION,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Add a TCP listener forwarding to a target group."""
    body = {"port": port, "target_group": target_group}
    path = f"{scoped(account, region)}/load-balancers/{nlb}/listeners"
    show(call(lambda c: c.post(path, body), url), as_json=as_json)


@apps["listener"].command("list")
def listener_list(
    account: Account,
    nlb: Annotated[str, typer.Option(help="NLB name.")],
    region: Region = DEFAULT_REGION,
    as_json: Json = False,
    url: Url = None,
) -> None:
    path = f"{scoped(account, region)}/load-balancers/{nlb}/listeners"
    show(call(lambda c: c.get(path), url)["listeners"], as_json=as_json)


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


@apps["endpoint-service"].command("create")
def es_create(
    account: Account,
    nlb: Annotated[list[str], typer.Option(help="NLB name.")],
    acceptance_required: Annotated[
        bool, typer.Option(help="Connections need your acceptance.")
    ] = True,
    region: Region = DEFAULT_REGION,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Create an endpoint service on network load balancers."""
    body = {"load_balancers": nlb, "acceptance_required": acceptance_required}
    show(
        call(lambda c: c.post(f"{scoped(account, region)}/endpoint-services", body), url),
        as_json=as_json,
        columns=None if as_json else SERVICE_COLUMNS,
    )


def _permissions(
    account: str, region: str, service_id: str, body: dict[str, Any], as_json: bool, url: str | None
) -> None:
    path = f"{scoped(account, region)}/endpoint-services/{service_id}/permissions"
    show(
        call(lambda c: c.post(path, body), url),
        as_json=as_json,
        columns=None if as_json else SERVICE_COLUMNS,
    )


@apps["endpoint-service"].command("allow")
def es_allow(
    service_id: str,
    principal: list[str],
    account: Account,
    region: Region = DEFAULT_REGION,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Allow principals (ARNs or *) to connect."""
    _permissions(account, region, service_id, {"add": principal}, as_json, url)


@apps["endpoint-service"].command("revoke")
def es_revoke(
    service_id: str,
    principal: list[str],
    account: Account,
    region: Region = DEFAULT_REGION,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Stop allowing principals; connected endpoints stay connected."""
    _permissions(account, region, service_id, {"remove": principal}, as_json, url)


@apps["endpoint-service"].command("show")
def es_show(
    service_id: str,
    account: Account,
    region: Region = DEFAULT_REGION,
    as_json: Json = False,
    url: Url = None,
) -> None:
    path = f"{scoped(account, region)}/endpoint-services/{service_id}"
    show(
        call(lambda c: c.get(path), url),
        as_json=as_json,
        columns=None if as_json else SERVICE_COLUMNS,
    )


@apps["endpoint-service"].command("list")
def es_list(
    account: Account, region: Region = DEFAULT_REGION, as_json: Json = False, url: Url = None
) -> None:
    rows = call(lambda c: c.get(f"{scoped(account, region)}/endpoint-services"), url)
    show(rows["endpoint_services"], as_json=as_json, columns=None if as_json else SERVICE_COLUMNS)


@apps["endpoint-service"].command("delete")
def es_delete(
    service_id: str,
    account: Account,
    region: Region = DEFAULT_REGION,
    as_json: Json = False,
    url: Url = None,
) -> None:
    call(lambda c: c.delete(f"{scoped(account, region)}/endpoint-services/{service_id}"), url)
    deleted("endpoint service", service_id, as_json)


ENDPOINT_COLUMNS = [
    "id",
    "state",
    "service_name",
    "ip_address_type",
    "addresses",
    "dns_name",
    "reason",
]


def _endpoint_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r | {"addresses": [a["address"] for a in r["addresses"]]} for r in rows]


@apps["connections"].command("list")
def conn_list(
    service_id: str,
    account: Account,
    region: Region = DEFAULT_REGION,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Endpoints connected (or asking to connect) to your service."""
    path = f"{scoped(account, region)}/endpoint-services/{service_id}/connections"
    rows = call(lambda c: c.get(path), url)["connections"]
    show(
        rows if as_json else _endpoint_rows(rows),
        as_json=as_json,
        columns=None if as_json else ["id", "state", "owner", "addresses"],
    )


def _decide(
    verb: str,
    service_id: str,
    endpoint_ids: list[str],
    account: str,
    region: str,
    as_json: bool,
    url: str | None,
) -> None:
    path = f"{scoped(account, region)}/endpoint-services/{service_id}/connections/{verb}"
    rows = call(lambda c: c.post(path, {"endpoint_ids": endpoint_ids}), url)["connections"]
    show(
        rows if as_json else _endpoint_rows(rows),
        as_json=as_json,
        columns=None if as_json else ["id", "state", "owner", "addresses"],
    )


@apps["connections"].command("accept")
def conn_accept(
    service_id: str,
    endpoint_id: list[str],
    account: Account,
    region: Region = DEFAULT_REGION,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Accept endpoint connection requests."""
    _decide("accept", service_id, endpoint_id, account, region, as_json, url)


@apps["connections"].command("reject")
def conn_reject(
    service_id: str,
    endpoint_id: list[str],
    account: Account,
    region: Region = DEFAULT_REGION,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Reject endpoint connections; their traffic stops."""
    _decide("reject", service_id, endpoint_id, account, region, as_json, url)


# -- interface endpoints -----------------------------------------------------
def poll(
    fetch: Callable[[Client], Any],
    done: Callable[[Any], bool],
    failed: Callable[[Any], bool],
    wait: bool,
    url: str | None,
    label: Callable[[Any], str],
    limit: float = 300.0,
) -> Any:
    """Fetch once, or until `done` with the state shown as it changes."""
    client_value = call(fetch, url)
    if not wait:
        return client_value
    deadline = time.monotonic() + limit
    shown = ""
    while True:
        text = label(client_value)
        if text != shown:
            typer.echo(f"  … {text}", err=True)
            shown = text
        if done(client_value):
            return client_value
        if failed(client_value):
            fail(f"failed: {text}")
        if time.monotonic() > deadline:
            fail(f"still not done after {limit:.0f}s: {text}")
        time.sleep(0.2)
        client_value = call(fetch, url)


def _wait_endpoint(path: str, wait: bool, url: str | None) -> dict[str, Any]:
    result: dict[str, Any] = poll(
        lambda c: c.get(path),
        lambda e: e["state"] in ("available", "pendingAcceptance"),
        lambda e: e["state"] in ("failed", "rejected", "deleted"),
        wait,
        url,
        label=lambda e: e["state"] + (f" ({e['reason']})" if e["reason"] else ""),
    )
    return result


@apps["endpoint"].command("create")
def ep_create(
    account: Account,
    vpc: Annotated[str, typer.Option(help="VPC ID.")],
    service_name: Annotated[str, typer.Option(help="Endpoint service name.")],
    subnet: Annotated[list[str], typer.Option(help="Subnet ID (one per AZ).")],
    security_group: Annotated[list[str] | None, typer.Option(help="Security group ID.")] = None,
    principal: Annotated[str | None, typer.Option(help="Act as this user/role ARN.")] = None,
    client_token: Annotated[
        str | None, typer.Option(help="Idempotency token: a retry returns the same endpoint.")
    ] = None,
    region: Region = DEFAULT_REGION,
    wait: Wait = False,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Create an interface endpoint to an endpoint service."""
    body = {
        "vpc_id": vpc,
        "service_name": service_name,
        "subnet_ids": subnet,
        "security_group_ids": security_group or [],
        "principal": principal,
        "client_token": client_token,
    }
    created = call(lambda c: c.post(f"{scoped(account, region)}/endpoints", body), url)
    endpoint = _wait_endpoint(f"{scoped(account, region)}/endpoints/{created['id']}", wait, url)
    show(
        endpoint if as_json else _endpoint_rows([endpoint]),
        as_json=as_json,
        columns=None if as_json else ENDPOINT_COLUMNS,
    )


@apps["endpoint"].command("show")
def ep_show(
    endpoint_id: str,
    account: Account,
    region: Region = DEFAULT_REGION,
    wait: Wait = False,
    as_json: Json = False,
    url: Url = None,
) -> None:
    """Show an endpoint; --wait waits for available (or for acceptance)."""
    endpoint = _wait_endpoint(f"{scoped(account, region)}/endpoints/{endpoint_id}", wait, url)
    show(
        endpoint if as_json else _endpoint_rows([endpoint]),
        as_json=as_json,
        columns=None if as_json else ENDPOINT_COLUMNS,
    )


@apps["endpoint"].command("list")
def ep_list(
    account: Account, region: Region = DEFAULT_REGION, as_json: Json = False, url: Url = None
) -> None:
    rows = call(lambda c: c.get(f"{scoped(account, region)}/endpoints"), url)["endpoints"]
    show(
        rows if as_json else _endpoint_rows(rows),
        as_json=as_json,
        columns=None if as_json else ENDPOINT_COLUMNS,
    )


@apps["endpoint"].command("delete")
def ep_delete(
    endpoint_id: str,
    account: Account,
    region: Region = DEFAULT_REGION,
    as_json: Json = False,
    url: Url = None,
) -> None:
    call(lambda c: c.delete(f"{scoped(account, region)}/endpoints/{endpoint_id}"), url)
    deleted("endpoint", endpoint_id, as_json)

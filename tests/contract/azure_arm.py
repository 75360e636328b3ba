"""A hand-written Azure Resource Manager for the Azure driver's contract tests: the
Microsoft.Network resources it uses, answered over HTTP in ARM's documented shapes.

It sits under the SDK as its transport (a `requests` adapter), so the driver and the SDK
run unchanged: long-running operations (201/202 with Azure-AsyncOperation or Location,
polled to `Succeeded`), throttling (429 with Retry-After) and errors (ARM's error body).
"""

from __future__ import annotations

import io
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from urllib3.response import HTTPResponse

HOST = "https://management.azure.com"


@dataclass
class Fault:
    status: int
    code: str
    message: str
    match: str = ""  # only requests whose "METHOD path" contains this
    times: int = 1


@dataclass
class Arm:
    """The resources, by lowercase path; what was asked, in order; faults to inject."""

    subscription: str = "11111111-2222-3333-4444-555555555555"
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    operations: dict[str, tuple[int, str]] = field(default_factory=dict)  # id -> polls, path

    # -- what a test arranges ----------------------------------------------------------
    def virtual_network(self, group: str, name: str, subnet: str = "default") -> str:
        vnet = f"{_group(self.subscription, group)}/virtualNetworks/{name}"
        self.resources[vnet.lower()] = {"id": vnet, "name": name, "properties": {}}
        sub = f"{vnet}/subnets/{subnet}"
        self.resources[sub.lower()] = {"id": sub, "name": subnet, "properties": {}}
        return vnet

    def private_endpoint(self, pls_id: str, subscription: str) -> str:
        """A customer's private endpoint asking to connect, as Azure refuses it when the
        service is not visible to the subscription; the connection's name."""
        pls = self.resources[pls_id.lower()]
        visible = pls["properties"].get("visibility", {}).get("subscriptions", [])
        if subscription not in visible:
            raise PermissionError(f"{pls['name']} is not visible to {subscription}")
        name = f"pe-{uuid.uuid4().hex[:8]}"
        endpoint = f"{_group(subscription, 'customer')}/privateEndpoints/{name}"
        conn = {
            "name": f"{name}.{uuid.uuid4()}",
            "type": "Microsoft.Network/privateLinkServices/privateEndpointConnections",
            "properties": {
                "privateEndpoint": {"id": endpoint},
                "privateLinkServiceConnectionState": {"status": "Pending", "description": ""},
            },
        }
        conn["id"] = f"{pls['id']}/privateEndpointConnections/{conn['name']}"
        pls["properties"]["privateEndpointConnections"].append(conn)
        return str(conn["name"])

    def fail(self, status: int, code: str, match: str = "", times: int = 1) -> None:
        self.faults.append(Fault(status, code, f"injected {code}", match, times))

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [r for p, r in self.resources.items() if re.search(f"/{kind.lower()}/[^/]+$", p)]

    def writes(self) -> list[str]:
        return [r for r in self.requests if not r.startswith("GET")]

    # -- the HTTP side -------------------------------------------------------------------
    def handle(self, method: str, url: str, body: Any) -> tuple[int, dict[str, str], Any]:
        path = urlsplit(url).path
        key = path.lower()
        self.requests.append(f"{method} {path}")
        for fault in self.faults:
            if fault.times > 0 and fault.match in f"{method} {path}":
                fault.times -= 1
                headers = {"Retry-After": "0"} if fault.status == 429 else {}
                return fault.status, headers, _error(fault.code, fault.message)
        if key.startswith("/operations/"):
            return self._poll(key)
        if method == "GET" and key.endswith("/subnets"):
            return 200, {}, {"value": self._children(key)}
        if method == "GET" and key.endswith("/privateendpointconnections"):
            pls = self.resources.get(key.rsplit("/", 1)[0])
            if pls is None:
                return 404, {}, _error("ResourceNotFound", f"{path} not found")
            return 200, {}, {"value": pls["properties"]["privateEndpointConnections"]}
        if "/privateendpointconnections/" in key and method == "PUT":
            return self._decide(key, body)
        if key.endswith(("/recordsets", "/all")) and method == "GET":
            return 200, {}, {"value": self._records(key.rsplit("/", 1)[0])}
        if key.endswith("/health") and method == "POST":
            return self._accepted(key, "POST")
        if method == "GET":
            found = self.resources.get(key)
            if found is None:
                return 404, {}, _error("ResourceNotFound", f"The resource {path} was not found")
            return 200, {}, found
        if method == "PUT":
            return self._put(path, body)
        if method == "DELETE":
            if key not in self.resources:
                return 204, {}, None
            if "/dnszones/" in key:  # Azure DNS deletes at once
                del self.resources[key]
                return 200, {}, None
            return self._accepted(key, "DELETE")
        return 400, {}, _error("InvalidRequest", f"{method} {path} is not emulated")

    def _put(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        key = path.lower()
        name = path.rsplit("/", 1)[-1]
        resource = {**body, "id": path, "name": name}
        props = resource.setdefault("properties", {})
        if "/privatelinkservices/" in key:
            old = self.resources.get(key, {}).get("properties", {})
            location = body.get("location", "westeurope")
            props["alias"] = old.get("alias") or (
                f"{name}.{uuid.uuid4()}.{location}.azure.privatelinkservice"
            )
            props["privateEndpointConnections"] = old.get("privateEndpointConnections", [])
        if "/dnszones/" in key and key.count("/") > 8:  # a record set
            zone = key.split("/dnszones/")[1].split("/")[0]
            relative = name if name != "@" else ""
            props["fqdn"] = f"{relative}.{zone}." if relative else f"{zone}."
            resource["type"] = f"Microsoft.Network/dnszones/{path.rsplit('/', 2)[-2]}"
            self.resources[key] = resource
            return 200, {}, resource
        if "/dnszones/" in key:
            self.resources[key] = resource
            return 201, {}, resource
        props["provisioningState"] = "Succeeded"
        if "/virtualnetworks/" in key:  # its subnets are resources of their own too
            for sub in props.get("subnets", []):
                sub_path = f"{path}/subnets/{sub['name']}"
                self.resources[sub_path.lower()] = {**sub, "id": sub_path}
        created = key not in self.resources
        self.resources[key] = resource
        operation = uuid.uuid4().hex
        self.operations[operation] = (1, key)  # "InProgress" once, then "Succeeded"
        headers = {"Azure-AsyncOperation": f"{HOST}/operations/{operation}", "Retry-After": "0"}
        return (201 if created else 200), headers, resource

    def _accepted(self, key: str, method: str) -> tuple[int, dict[str, str], Any]:
        operation = uuid.uuid4().hex
        self.operations[operation] = (1, f"{method} {key}")
        return 202, {"Location": f"{HOST}/operations/{operation}", "Retry-After": "0"}, None

    def _poll(self, key: str) -> tuple[int, dict[str, str], Any]:
        operation = key.rsplit("/", 1)[-1]
        polls, what = self.operations[operation]
        if polls > 0:
            self.operations[operation] = (polls - 1, what)
            if what.startswith(("DELETE ", "POST ")):
                return 202, {"Location": f"{HOST}{key}", "Retry-After": "0"}, None
            return 200, {"Retry-After": "0"}, {"status": "InProgress"}
        if what.startswith("DELETE "):
            self.resources.pop(what.split(" ", 1)[1], None)
            return 200, {}, None
        if what.startswith("POST "):  # a rule's health: its pool's addresses, all up
            lb_key, _, rest = what.split(" ", 1)[1].partition("/loadbalancingrules/")
            rule = rest.split("/")[0]
            lb = self.resources[lb_key]
            pool = next(
                p for p in lb["properties"]["backendAddressPools"] if p["name"].lower() == rule
            )
            count = len(pool["properties"]["loadBalancerBackendAddresses"])
            return 200, {}, {"up": count, "down": 0, "loadBalancerBackendAddresses": []}
        return 200, {}, {"status": "Succeeded"}

    def _decide(self, key: str, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        pls_key, _, name = key.rpartition("/privateendpointconnections/")
        pls = self.resources.get(pls_key)
        if pls is None:
            return 404, {}, _error("ResourceNotFound", f"{pls_key} not found")
        for conn in pls["properties"]["privateEndpointConnections"]:
            if conn["name"].lower() == name:
                state = body["properties"]["privateLinkServiceConnectionState"]
                conn["properties"]["privateLinkServiceConnectionState"] = state
                return 200, {}, conn
        return 404, {}, _error("ResourceNotFound", f"connection {name} not found")

    def _children(self, prefix: str) -> list[dict[str, Any]]:
        return [r for p, r in sorted(self.resources.items()) if p.startswith(prefix + "/")]

    def _records(self, zone_key: str) -> list[dict[str, Any]]:
        return [
            r
            for p, r in sorted(self.resources.items())
            if p.startswith(zone_key + "/") and p.count("/") > zone_key.count("/") + 1
        ]


def _group(subscription: str, group: str) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.Network"


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


class ArmAdapter(BaseAdapter):
    """`requests` answered by an `Arm`, as if it were management.azure.com."""

    def __init__(self, arm: Arm) -> None:
        super().__init__()
        self.arm = arm

    def send(self, request: requests.PreparedRequest, **_kwargs: Any) -> requests.Response:
        body = json.loads(request.body) if request.body else None
        status, headers, payload = self.arm.handle(str(request.method), str(request.url), body)
        content = json.dumps(payload).encode() if payload is not None else b""
        response = requests.Response()
        response.status_code = status
        response.headers.update({"Content-Type": "application/json", **headers})
        response.raw = HTTPResponse(
            body=io.BytesIO(content),
            headers=response.headers,
            status=status,
            preload_content=False,
        )
        response.url = str(request.url)
        response.request = request
        response.reason = "OK" if status < 400 else "Error"
        return response

    def close(self) -> None:
        pass


def session(arm: Arm) -> requests.Session:
    s = requests.Session()
    s.mount("https://", ArmAdapter(arm))
    return s

"""A hand-written Compute Engine and Cloud DNS API for the Google Cloud driver's contract
tests, served over real HTTP on a loopback port in the shapes Google documents.

The SDK (google-cloud-compute, google-cloud-dns) runs unchanged against it, pointed
there by its `api_endpoint`: inserts, patches and deletes answer an Operation that is
RUNNING until waited on (`operations/{name}/wait`), errors carry Google's error body, and
faults can be injected (429 throttling, an operation ending in an error).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from tests.support import free_port

COMPUTE = "/compute/v1/projects/"
STATUS = {"accept": "ACCEPTED", "reject": "REJECTED"}


@dataclass
class Fault:
    status: int
    reason: str
    match: str
    times: int = 1
    in_operation: bool = False  # the call is taken; its operation ends with this error


@dataclass
class Gce:
    project: str = "platform-project"
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> resource
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- what a test arranges ----------------------------------------------------------
    def instance(self, zone: str, name: str, address: str) -> str:
        path = f"projects/{self.project}/zones/{zone}/instances/{name}"
        self.resources[path] = {
            "name": name,
            "selfLink": f"{self.url}{COMPUTE}{path.split('/', 1)[1]}",
            "networkInterfaces": [{"networkIP": address}],
        }
        return path

    def network(self, name: str, region: str, nat: str) -> str:
        """A project VPC network with its subnetwork (same name) and a PSC NAT one."""
        self.resources[f"projects/{self.project}/global/networks/{name}"] = {"name": name}
        for sub in (name, nat):
            self.resources[f"projects/{self.project}/regions/{region}/subnetworks/{sub}"] = {
                "name": sub
            }
        return name

    def endpoint(self, attachment: str, project: str) -> str:
        """A consumer's PSC endpoint connecting to the attachment (any project may; it
        waits unless its project is accepted); its PSC connection ID."""
        found = self.resources[attachment]
        psc = str(uuid.uuid4().int >> 70)
        accepted = {a["projectIdOrNum"] for a in found.get("consumerAcceptLists", [])}
        status = "ACCEPTED" if project in accepted else "PENDING"
        if project in found.get("consumerRejectLists", []):
            status = "REJECTED"
        region = attachment.split("/")[3]
        rule = f"projects/{project}/regions/{region}/forwardingRules/psc-{psc[:6]}"
        found.setdefault("connectedEndpoints", []).append(
            {
                "endpoint": f"https://www.googleapis.com/compute/v1/{rule}",
                "pscConnectionId": psc,
                "status": status,
                "consumerNetwork": f"https://www.googleapis.com/compute/v1/projects/{project}/global/networks/default",
            }
        )
        return psc

    def fail(self, status: int, reason: str, match: str, times: int = 1) -> None:
        self.faults.append(Fault(status, reason, match, times))

    def fail_operation(self, reason: str, match: str) -> None:
        self.faults.append(Fault(400, reason, match, 1, in_operation=True))

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [r for p, r in self.resources.items() if re.search(f"/{kind}/[^/]+$", p)]

    def writes(self) -> list[str]:
        return [r for r in self.requests if not r.startswith("GET") and "/wait" not in r
                and "listNetworkEndpoints" not in r]  # fmt: skip

    # -- the HTTP side -------------------------------------------------------------------
    def handle(self, method: str, url: str, body: Any) -> tuple[int, Any]:
        path = urlsplit(url).path
        with self.lock:
            self.requests.append(f"{method} {path}")
            for fault in self.faults:
                if fault.in_operation and method == "GET":
                    continue  # only a change has an operation to fail
                if fault.times > 0 and fault.match in f"{method} {path}":
                    fault.times -= 1
                    if fault.in_operation:  # taken, then its operation fails
                        status, op = self._compute(method, path.removeprefix("/compute/v1/"), body)
                        op["error"] = {"errors": [{"code": fault.reason, "message": "injected"}]}
                        return status, op
                    return fault.status, _error(fault.status, fault.reason)
            if path.startswith("/dns/v1/projects/"):
                return self._dns(method, path, body)
            return self._compute(method, path.removeprefix("/compute/v1/"), body)

    def _compute(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if path.endswith("/wait"):
            op = self.operations.get(path.rsplit("/", 2)[-2])
            if op is None:
                return 404, _error(404, "notFound")
            op["status"] = "DONE"
            return 200, op
        if path.endswith("/aggregated/instances"):
            zones: dict[str, Any] = {}
            for p, r in self.resources.items():
                if "/instances/" in p:
                    zones.setdefault(f"zones/{p.split('/')[3]}", {"instances": []})[
                        "instances"
                    ].append(r)
            return 200, {"items": zones}
        if path.endswith("/listNetworkEndpoints"):
            neg = self.resources.get(path.rsplit("/", 1)[0])
            if neg is None:
                return 404, _error(404, "notFound")
            items = [{"networkEndpoint": e} for e in neg.get("endpoints", [])]
            return 200, {"items": items}
        for verb in ("attachNetworkEndpoints", "detachNetworkEndpoints"):
            if path.endswith("/" + verb):
                neg = self.resources[path.rsplit("/", 1)[0]]
                given = body.get("networkEndpoints", [])
                have = neg.setdefault("endpoints", [])
                if verb.startswith("attach"):
                    have.extend(given)
                else:
                    neg["endpoints"] = [e for e in have if e not in given]
                return 200, self._operation(path)
        if method == "GET":
            found = self.resources.get(path)
            return (200, found) if found is not None else (404, _error(404, "notFound"))
        if method == "POST":  # insert into a collection
            name = body["name"]
            key = f"{path}/{name}"
            if key in self.resources:
                return 409, _error(409, "alreadyExists")
            self.resources[key] = {**body, "selfLink": f"{self.url}/compute/v1/{key}"}
            if "/serviceAttachments/" in key:
                self.resources[key]["fingerprint"] = uuid.uuid4().hex[:12]
            return 200, self._operation(key)
        if method == "PATCH":
            found = self.resources.get(path)
            if found is None:
                return 404, _error(404, "notFound")
            if body.get("fingerprint") != found.get("fingerprint"):
                return 412, _error(412, "conditionNotMet")
            found.update({k: v for k, v in body.items() if k != "fingerprint"})
            found["fingerprint"] = uuid.uuid4().hex[:12]
            self._settle(found)
            return 200, self._operation(path)
        if method == "DELETE":
            if path not in self.resources:
                return 404, _error(404, "notFound")
            del self.resources[path]
            return 200, self._operation(path)
        return 400, _error(400, "badRequest")

    @staticmethod
    def _settle(attachment: dict[str, Any]) -> None:
        """Connected endpoints follow the accept and reject lists, as Google moves them."""
        accepted = {a["projectIdOrNum"] for a in attachment.get("consumerAcceptLists", [])}
        rejected = set(attachment.get("consumerRejectLists", []))
        for e in attachment.get("connectedEndpoints", []):
            project = e["endpoint"].split("/projects/")[1].split("/")[0]
            e["status"] = (
                "REJECTED" if project in rejected else "ACCEPTED" if project in accepted
                else "PENDING"
            )  # fmt: skip

    def _operation(self, target: str, error: str = "") -> dict[str, Any]:
        name = f"operation-{uuid.uuid4().hex[:12]}"
        parts = target.split("/")
        scope = "global" if parts[2] == "global" else f"regions/{parts[3]}"
        op: dict[str, Any] = {
            "kind": "compute#operation",
            "name": name,
            "status": "RUNNING",
            "targetLink": f"{self.url}/compute/v1/{target}",
            "selfLink": f"{self.url}/compute/v1/projects/{self.project}/{scope}/operations/{name}",
        }
        if scope != "global":
            op["region"] = parts[3]
        if error:
            op["error"] = {"errors": [{"code": error, "message": f"injected {error}"}]}
        self.operations[name] = op
        return op

    def _dns(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        rest = path.removeprefix("/dns/v1/")
        zones = f"projects/{self.project}/managedZones"
        if method == "POST" and rest == zones:
            self.resources[f"{zones}/{body['name']}"] = {**body, "rrsets": []}
            return 200, body
        zone_key = "/".join(rest.split("/")[:4])
        zone = self.resources.get(zone_key)
        if zone is None:
            return 404, _error(404, "notFound")
        if rest == zone_key:
            return 200, {k: v for k, v in zone.items() if k != "rrsets"}
        if rest.endswith("/rrsets"):
            return 200, {"rrsets": zone["rrsets"]}
        if rest.endswith("/changes") and method == "POST":
            for gone in body.get("deletions", []):
                if gone not in zone["rrsets"]:
                    return 412, _error(412, "conditionNotMet")
            zone["rrsets"] = [r for r in zone["rrsets"] if r not in body.get("deletions", [])]
            zone["rrsets"].extend(body.get("additions", []))
            return 200, {**body, "id": uuid.uuid4().hex[:6], "status": "done"}
        return 400, _error(400, "badRequest")


def _error(status: int, reason: str) -> dict[str, Any]:
    return {
        "error": {
            "code": status,
            "message": f"injected {reason}" if reason else "error",
            "errors": [{"reason": reason, "message": reason, "domain": "global"}],
        }
    }


@contextmanager
def serve(gce: Gce) -> Iterator[Gce]:
    """The API on http://127.0.0.1:PORT while the block runs."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else {}
            status, payload = gce.handle(self.command, self.path, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _answer

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    gce.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gce
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)

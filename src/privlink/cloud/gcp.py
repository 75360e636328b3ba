"""The Google Cloud driver: a service published as a Private Service Connect port mapping
service (google-cloud-compute) and connection names in Cloud DNS (google-cloud-dns).

The only module importing Google's SDK (an import-linter contract). Credentials come the
SDK's usual way (Application Default Credentials). What is made, each named
`privlink-<PrivateLink ID>` so a step killed at any instant finds it again:

- a regional port mapping network endpoint group (GCE_VM_IP_PORTMAP): each open unit's
  port maps to one node (a VM found by its address) and its port: Kafka's per-broker
  ports are exactly this; a component with several nodes is reached at its first;
- a regional backend service (INTERNAL) over it, and an internal forwarding rule;
- a service attachment (ACCEPT_MANUAL) with the project VPC's PSC NAT subnetwork:
  accepting a connection adds its consumer project to the accept list (Google accepts
  by project), rejecting adds it to the reject list.

Changes are operations, waited on with `regionOperations.wait`; 429 and 5xx answers are
retried with backoff.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import google.cloud.dns as dns  # type: ignore[import-untyped]  # no py.typed
from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.api_core.retry import Retry, if_exception_type
from google.cloud import compute_v1

from privlink.cloud import contract as c
from privlink.domain.dns import Record
from privlink.domain.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PrivlinkError,
    Unavailable,
)

T = TypeVar("T")
# A connected endpoint's status -> the contract's endpoint state.
STATES = {
    "PENDING": "pendingAcceptance",
    "ACCEPTED": "available",
    "REJECTED": "rejected",
    "CLOSED": "failed",
    "NEEDS_ATTENTION": "failed",
}
CONNECTION_LIMIT = 10  # endpoints one accepted consumer project may connect
THROTTLED = (gexc.TooManyRequests, gexc.ServiceUnavailable, gexc.InternalServerError)


def name_of(key: str) -> str:
    """Every resource's name (Compute: [a-z]([-a-z0-9]{0,61}[a-z0-9])?)."""
    return f"privlink-{key}"[:63].rstrip("-")


def _error(operation: str, error: Exception) -> PrivlinkError:
    text = f"Google Cloud {operation}: {error}"
    if isinstance(error, gexc.NotFound):
        return NotFound(text)
    if isinstance(error, gexc.Forbidden | gexc.Unauthorized):
        return Forbidden(text)
    if isinstance(error, THROTTLED) or not isinstance(error, gexc.GoogleAPICallError):
        return Unavailable(text)
    if isinstance(error, gexc.Conflict):  # alreadyExists, resourceNotReady, fingerprint
        return Conflict(text, temporary=True)
    return InvalidInput(text)


@contextmanager
def _google(operation: str) -> Iterator[None]:
    try:
        yield
    except (gexc.GoogleAPIError, OSError) as error:
        raise _error(operation, error) from None


class GoogleCloud:
    """The platform's Google Cloud project: a publisher per region, and the project VPC
    networks services are placed in."""

    def __init__(self, *, project: str, nat_subnetwork: str, **options: Any) -> None:
        self.options = dict(project=project, nat_subnetwork=nat_subnetwork, **options)
        self._publishers: dict[str, GooglePublisher] = {}

    def publisher(self, region: str) -> GooglePublisher:
        if region not in self._publishers:
            self._publishers[region] = GooglePublisher(region=region, **self.options)
        return self._publishers[region]

    def project_network(self, region: str, key: str, cidr: str) -> str:
        return self.publisher(region).virtual_network(key, cidr)

    def delete_project_network(self, region: str, key: str) -> None:
        self.publisher(region).delete_virtual_network(key)


class GooglePublisher(c.Publisher):
    """The platform's Google Cloud project in one region."""

    def __init__(
        self,
        *,
        project: str,
        region: str,
        nat_subnetwork: str,
        credentials: Any = None,
        api_endpoint: str | None = None,
        dns_endpoint: str | None = None,
        retry_initial: float = 1.0,
    ) -> None:
        options = ClientOptions(api_endpoint=api_endpoint) if api_endpoint else None
        kw: dict[str, Any] = {"credentials": credentials, "client_options": options}
        self.negs = compute_v1.RegionNetworkEndpointGroupsClient(**kw)
        self.backends = compute_v1.RegionBackendServicesClient(**kw)
        self.rules = compute_v1.ForwardingRulesClient(**kw)
        self.attachments = compute_v1.ServiceAttachmentsClient(**kw)
        self.instances = compute_v1.InstancesClient(**kw)
        self.subnetworks = compute_v1.SubnetworksClient(**kw)
        self.networks = compute_v1.NetworksClient(**kw)
        self.operations = compute_v1.RegionOperationsClient(**kw)
        self.global_operations = compute_v1.GlobalOperationsClient(**kw)
        dns_options = ClientOptions(api_endpoint=dns_endpoint) if dns_endpoint else None
        self.dns = dns.Client(project=project, credentials=credentials, client_options=dns_options)
        self.project, self.region, self.nat_subnetwork = project, region, nat_subnetwork
        self.retry = Retry(
            predicate=if_exception_type(*THROTTLED),
            initial=retry_initial,
            maximum=retry_initial * 16,
            timeout=retry_initial * 120,
        )

    def _call(self, what: str, fn: Callable[..., T], **params: Any) -> T:
        with _google(what):
            return fn(retry=self.retry, **params)

    def _get(self, what: str, fn: Callable[..., T], **params: Any) -> T | None:
        try:
            return self._call(what, fn, **params)
        except NotFound:
            return None

    def _wait(self, operation: str, started: compute_v1.Operation) -> None:
        """Wait for a regional operation to be DONE; its error raised as privlink's."""
        op = started
        for _ in range(60):  # wait returns within 2 minutes each time, or when done
            if op.status == compute_v1.Operation.Status.DONE:
                break
            op = self._call(
                f"{operation} (wait)",
                self.operations.wait,
                project=self.project,
                region=self.region,
                operation=op.name,
            )
        errors = list(op.error.errors) if op.error else []
        if errors:
            first = errors[0]
            text = f"Google Cloud {operation}: {first.code}: {first.message}"
            if first.code in ("RESOURCE_NOT_READY", "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE"):
                raise Conflict(text, temporary=True)
            raise InvalidInput(text)

    def _change(self, operation: str, fn: Callable[..., compute_v1.Operation], **p: Any) -> None:
        self._wait(operation, self._call(operation, fn, **p))

    def _region_url(self, kind: str, name: str) -> str:
        return f"projects/{self.project}/regions/{self.region}/{kind}/{name}"

    # -- project networks ----------------------------------------------------------------
    def virtual_network(self, key: str, cidr: str) -> str:
        """A project VPC's network with a subnetwork over its CIDR and the PSC NAT
        subnetwork service attachments take addresses from; the network's name."""
        name = f"privlink-vpc-{key}"[:63].rstrip("-")
        if self._get("networks.get", self.networks.get, project=self.project, network=name) is None:
            body = compute_v1.Network(name=name, auto_create_subnetworks=False)
            with _google("networks.insert"):
                op = self.networks.insert_unary(project=self.project, network_resource=body)
            self._global_wait("networks.insert", op)
        network_url = f"projects/{self.project}/global/networks/{name}"
        for subnet, purpose, rng in (
            (name, None, cidr),
            (self.nat_subnetwork, "PRIVATE_SERVICE_CONNECT", _nat_range(cidr)),
        ):
            found = self._get(
                "subnetworks.get",
                self.subnetworks.get,
                project=self.project,
                region=self.region,
                subnetwork=subnet,
            )
            if found is None:
                body = compute_v1.Subnetwork(
                    name=subnet, network=network_url, ip_cidr_range=rng, purpose=purpose
                )
                self._change(
                    "subnetworks.insert",
                    self.subnetworks.insert_unary,
                    project=self.project,
                    region=self.region,
                    subnetwork_resource=body,
                )
        return name

    def _global_wait(self, operation: str, op: compute_v1.Operation) -> None:
        """Networks are global: their operations are waited on globally."""
        for _ in range(60):
            if op.status == compute_v1.Operation.Status.DONE:
                return
            op = self._call(
                f"{operation} (wait)",
                self.global_operations.wait,
                project=self.project,
                operation=op.name,
            )

    def delete_virtual_network(self, key: str) -> None:
        name = f"privlink-vpc-{key}"[:63].rstrip("-")
        for subnet in (self.nat_subnetwork, name):
            with suppress(NotFound):
                self._change(
                    "subnetworks.delete",
                    self.subnetworks.delete_unary,
                    project=self.project,
                    region=self.region,
                    subnetwork=subnet,
                )
        with suppress(NotFound), _google("networks.delete"):
            op = self.networks.delete_unary(project=self.project, network=name)
            self._global_wait("networks.delete", op)

    # -- publish -------------------------------------------------------------------------
    def _instances(self) -> dict[str, str]:
        """Internal address -> the VM's URL, of the project's VMs in this region."""
        found = {}
        with _google("instances.aggregated_list"):
            pages = self.instances.aggregated_list(project=self.project, retry=self.retry)
            for scope, listed in pages:
                if not scope.startswith(f"zones/{self.region}-"):
                    continue
                for vm in listed.instances:
                    for nic in vm.network_interfaces:
                        found[nic.network_i_p] = vm.self_link
        return found

    def publish(self, spec: c.PublishSpec) -> c.Published:
        name = name_of(spec.key)
        network = f"projects/{self.project}/global/networks/{spec.network}"
        subnet = self._region_url("subnetworks", spec.network)
        neg = self._get("networkEndpointGroups.get", self.negs.get, project=self.project,
                        region=self.region, network_endpoint_group=name)  # fmt: skip
        if neg is None:
            body = compute_v1.NetworkEndpointGroup(
                name=name,
                network_endpoint_type="GCE_VM_IP_PORTMAP",
                network=network,
                subnetwork=subnet,
            )
            self._change(
                "networkEndpointGroups.insert",
                self.negs.insert_unary,
                project=self.project,
                region=self.region,
                network_endpoint_group_resource=body,
            )
        healthy = self._sync_endpoints(name, spec)
        if self._get("backendServices.get", self.backends.get, project=self.project,
                     region=self.region, backend_service=name) is None:  # fmt: skip
            body = compute_v1.BackendService(
                name=name,
                load_balancing_scheme="INTERNAL",
                protocol="TCP",
                backends=[
                    compute_v1.Backend(group=self._region_url("networkEndpointGroups", name))
                ],
            )
            self._change(
                "backendServices.insert",
                self.backends.insert_unary,
                project=self.project,
                region=self.region,
                backend_service_resource=body,
            )
        if self._get("forwardingRules.get", self.rules.get, project=self.project,
                     region=self.region, forwarding_rule=name) is None:  # fmt: skip
            body = compute_v1.ForwardingRule(
                name=name,
                load_balancing_scheme="INTERNAL",
                backend_service=self._region_url("backendServices", name),
                all_ports=True,
                network=network,
                subnetwork=subnet,
            )
            self._change(
                "forwardingRules.insert",
                self.rules.insert_unary,
                project=self.project,
                region=self.region,
                forwarding_rule_resource=body,
            )
        if self._attachment(name) is None:
            body = compute_v1.ServiceAttachment(
                name=name,
                connection_preference="ACCEPT_MANUAL",
                target_service=self._region_url("forwardingRules", name),
                nat_subnets=[self._region_url("subnetworks", self.nat_subnetwork)],
                enable_proxy_protocol=False,
                consumer_accept_lists=[
                    compute_v1.ServiceAttachmentConsumerProjectLimit(
                        project_id_or_num=p, connection_limit=CONNECTION_LIMIT
                    )
                    for p in spec.consumers
                ],
            )
            self._change(
                "serviceAttachments.insert",
                self.attachments.insert_unary,
                project=self.project,
                region=self.region,
                service_attachment_resource=body,
            )
        return c.Published(
            id=name,
            name=self._region_url("serviceAttachments", name),
            resource_id="",
            healthy=healthy,
        )

    def _sync_endpoints(self, neg: str, spec: c.PublishSpec) -> dict[str, bool]:
        """Each open unit's port mapped to its (first) node; other mappings removed.
        A unit is healthy when its node is a VM of the project (port mapping has no
        health checks)."""
        vms = self._instances()
        wanted: dict[int, compute_v1.NetworkEndpoint] = {}
        healthy = {}
        for unit in spec.units:
            node = unit.targets[0]
            vm = vms.get(node.host)
            healthy[unit.key] = vm is not None
            if unit.open and vm is not None:
                wanted[unit.port] = compute_v1.NetworkEndpoint(
                    instance=vm, port=node.port, client_destination_port=unit.port
                )
        with _google("networkEndpointGroups.listNetworkEndpoints"):
            listed = self.negs.list_network_endpoints(
                project=self.project,
                region=self.region,
                network_endpoint_group=neg,
                retry=self.retry,
            )
            have = {e.network_endpoint.client_destination_port: e.network_endpoint for e in listed}
        stale = [
            e
            for port, e in have.items()
            if port not in wanted
            or (e.instance, e.port) != (wanted[port].instance, wanted[port].port)
        ]
        missing = [e for port, e in wanted.items() if port not in have or have[port] in stale]
        if stale:
            self._change(
                "networkEndpointGroups.detachNetworkEndpoints",
                self.negs.detach_network_endpoints_unary,
                project=self.project,
                region=self.region,
                network_endpoint_group=neg,
                region_network_endpoint_groups_detach_endpoints_request_resource=(
                    compute_v1.RegionNetworkEndpointGroupsDetachEndpointsRequest(
                        network_endpoints=stale
                    )
                ),
            )
        if missing:
            self._change(
                "networkEndpointGroups.attachNetworkEndpoints",
                self.negs.attach_network_endpoints_unary,
                project=self.project,
                region=self.region,
                network_endpoint_group=neg,
                region_network_endpoint_groups_attach_endpoints_request_resource=(
                    compute_v1.RegionNetworkEndpointGroupsAttachEndpointsRequest(
                        network_endpoints=missing
                    )
                ),
            )
        return healthy

    def _attachment(self, name: str) -> compute_v1.ServiceAttachment | None:
        return self._get("serviceAttachments.get", self.attachments.get, project=self.project,
                         region=self.region, service_attachment=name)  # fmt: skip

    def unpublish(self, key: str) -> None:
        name = name_of(key)
        for operation, fn, field in (
            ("serviceAttachments.delete", self.attachments.delete_unary, "service_attachment"),
            ("forwardingRules.delete", self.rules.delete_unary, "forwarding_rule"),
            ("backendServices.delete", self.backends.delete_unary, "backend_service"),
            ("networkEndpointGroups.delete", self.negs.delete_unary, "network_endpoint_group"),
        ):
            with suppress(NotFound):
                self._change(
                    operation, fn, project=self.project, region=self.region, **{field: name}
                )

    # -- connections -----------------------------------------------------------------------
    def describe_endpoint_connections(self, service_id: str) -> list[c.Endpoint]:
        attachment = self._attachment(service_id)
        if attachment is None:
            raise NotFound(f"Google Cloud: no service attachment {service_id}")
        return [self._endpoint(service_id, e) for e in attachment.connected_endpoints]

    @staticmethod
    def _endpoint(
        service_id: str, connected: compute_v1.ServiceAttachmentConnectedEndpoint
    ) -> c.Endpoint:
        path = connected.endpoint.split("/compute/v1/", 1)[-1]
        parts = path.split("/")
        owner = parts[1] if len(parts) > 1 and parts[0] == "projects" else ""
        return c.Endpoint(
            id=str(connected.psc_connection_id),
            vpc_id=connected.consumer_network,
            service_id=service_id,
            service_name=service_id,
            state=STATES.get(connected.status, "failed"),
            owner=owner,
            subnet_ids=(),
            addresses=(),  # the producer sees no consumer address in Google Cloud
            dns_name="",
            resource_id=path,
            psc_connection_id=str(connected.psc_connection_id),
        )

    def _decide(self, service_id: str, endpoint_ids: Sequence[str], accept: bool) -> None:
        attachment = self._attachment(service_id)
        if attachment is None:
            raise NotFound(f"Google Cloud: no service attachment {service_id}")
        owners = {
            e.owner
            for e in (self._endpoint(service_id, x) for x in attachment.connected_endpoints)
            if e.id in endpoint_ids
        }
        accepted = {a.project_id_or_num for a in attachment.consumer_accept_lists}
        rejected = set(attachment.consumer_reject_lists)
        if accept:
            accepted |= owners
            rejected -= owners
        else:
            rejected |= owners
            accepted -= owners
        patch = compute_v1.ServiceAttachment(
            fingerprint=attachment.fingerprint,
            consumer_accept_lists=[
                compute_v1.ServiceAttachmentConsumerProjectLimit(
                    project_id_or_num=p, connection_limit=CONNECTION_LIMIT
                )
                for p in sorted(accepted)
            ],
            consumer_reject_lists=sorted(rejected),
        )
        self._change(
            "serviceAttachments.patch",
            self.attachments.patch_unary,
            project=self.project,
            region=self.region,
            service_attachment=service_id,
            service_attachment_resource=patch,
        )

    def accept_endpoint_connections(self, service_id: str, endpoint_ids: Sequence[str]) -> None:
        self._decide(service_id, endpoint_ids, accept=True)

    def reject_endpoint_connections(self, service_id: str, endpoint_ids: Sequence[str]) -> None:
        self._decide(service_id, endpoint_ids, accept=False)

    # -- DNS: a Cloud DNS managed zone ---------------------------------------------------
    def _zone(self, zone_id: str) -> Any:
        return self.dns.zone(zone_id.replace(".", "-")[:63], dns_name=zone_id.rstrip(".") + ".")

    def dns_zone(self, name: str) -> str:
        zone = self._zone(name)
        with _google("managedZones"):
            if not zone.exists():
                zone.create()
        return name.rstrip(".")

    def dns_records(self, zone_id: str, under: str) -> list[Record]:
        under = under.rstrip(".").lower()
        with _google("resourceRecordSets.list"):
            sets = list(self._zone(zone_id).list_resource_record_sets())
        found = []
        for rs in sets:
            name = rs.name.rstrip(".").lower()
            if rs.record_type not in ("A", "TXT", "CNAME"):
                continue
            if name != under and not name.endswith("." + under):
                continue
            values = [v.strip('"') if rs.record_type == "TXT" else v for v in rs.rrdatas]
            if rs.record_type == "CNAME":
                values = [v.rstrip(".") for v in values]
            found.append(Record(name, rs.record_type, tuple(sorted(values)), int(rs.ttl)))
        return sorted(found)

    def change_dns_records(
        self, zone_id: str, *, upsert: Sequence[Record] = (), delete: Sequence[Record] = ()
    ) -> None:
        zone_name = zone_id.rstrip(".").lower()
        for record in [*upsert, *delete]:
            if record.name != zone_name and not record.name.endswith("." + zone_name):
                raise InvalidInput(f"Record {record.name} is not in zone {zone_name}")
        zone = self._zone(zone_id)
        current = {(r.name, r.type): r for r in self.dns_records(zone_id, zone_name)}
        changes = zone.changes()  # one change: all or nothing, as Cloud DNS applies it

        def rrset(r: Record) -> Any:
            values = [f'"{v}"' if r.type == "TXT" else v for v in r.values]
            if r.type == "CNAME":
                values = [v.rstrip(".") + "." for v in values]
            return zone.resource_record_set(r.name + ".", r.type, r.ttl, values)

        for record in upsert:
            old = current.get((record.name, record.type))
            if old == record:
                continue
            if old is not None:
                changes.delete_record_set(rrset(old))
            changes.add_record_set(rrset(record))
        for record in delete:
            old = current.get((record.name, record.type))
            if old is not None:  # one already gone counts as removed
                changes.delete_record_set(rrset(old))
        if changes.additions or changes.deletions:
            with _google("changes.create"):
                changes.create()


def _nat_range(cidr: str) -> str:
    """A /28 for Private Service Connect NAT, out of 100.64.0.0/10 (not the VPC's own),
    chosen from the VPC's CIDR so that projects differ."""
    import ipaddress

    net = ipaddress.ip_network(cidr, strict=False)
    index = int(net.network_address) >> 4 & 0x3FFFF
    return str(ipaddress.ip_network((int(ipaddress.ip_address("100.64.0.0")) + index * 16, 28)))

"""The Azure driver: a service published with an internal Standard Load Balancer and a
Private Link Service (azure-mgmt-network); connection names in an Azure DNS zone
(azure-mgmt-dns).

The only module importing the Azure SDK (an import-linter contract). Credentials come the
SDK's usual way (`DefaultAzureCredential`: environment, workload or managed identity,
`az login`). Bodies are ARM's JSON as Azure documents it; the SDK's pipeline retries
throttling (429, honouring Retry-After) and 5xx, and polls long-running operations.

Everything is named from the PrivateLink's ID (`privlink-<id>`), so a step killed at any
instant finds what it made; a PUT is sent only when what is there differs from the wish.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)
from azure.mgmt.dns import DnsManagementClient
from azure.mgmt.dns import models as dns_models
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network import models as network_models

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
FRONTEND = "frontend"
# Azure's private endpoint connection status -> the contract's endpoint state.
STATES = {
    "Pending": "pendingAcceptance",
    "Approved": "available",
    "Rejected": "rejected",
    "Disconnected": "failed",
}
IN_PROGRESS = ("AnotherOperationInProgress", "RetryableError", "Canceled", "Conflict")


def name_of(key: str) -> str:
    """The load balancer's and the Private Link Service's name (Azure: at most 80)."""
    return f"privlink-{key}"


def _error(operation: str, error: AzureError) -> PrivlinkError:
    """One Azure error as privlink's: throttling and 5xx as Unavailable, "in progress" as
    a temporary Conflict, the rest permanent."""
    if isinstance(error, ResourceNotFoundError):
        return NotFound(f"Azure {operation}: {error.message}")
    if isinstance(error, ClientAuthenticationError):
        return Forbidden(f"Azure {operation}: {error.message}")
    if not isinstance(error, HttpResponseError) or error.status_code is None:
        return Unavailable(f"Azure {operation}: {type(error).__name__}: {error}")
    code = (error.error.code if error.error else "") or ""
    text = f"Azure {operation}: {code}: {error.message}".strip()
    if error.status_code == 429 or error.status_code >= 500:
        return Unavailable(text)
    if error.status_code == 403:
        return Forbidden(text)
    if error.status_code == 409 or any(code.startswith(p) for p in IN_PROGRESS):
        return Conflict(text, temporary=True)
    return InvalidInput(text)


@contextmanager
def _azure(operation: str) -> Iterator[None]:
    try:
        yield
    except AzureError as error:
        raise _error(operation, error) from None


def _id(value: Any) -> str:
    return str((value or {}).get("id", ""))


class AzureCloud:
    """The platform's Azure subscription: a publisher per location (region), and the
    project VNets services are placed in."""

    def __init__(
        self,
        *,
        subscription_id: str,
        resource_group: str,
        credential: Any = None,
        **client_options: Any,
    ) -> None:
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        self.options = dict(
            subscription_id=subscription_id,
            resource_group=resource_group,
            credential=credential,
            **client_options,
        )
        self._publishers: dict[str, AzurePublisher] = {}

    def publisher(self, location: str) -> AzurePublisher:
        if location not in self._publishers:
            self._publishers[location] = AzurePublisher(location=location, **self.options)
        return self._publishers[location]

    def project_network(self, location: str, key: str, cidr: str) -> str:
        """A project VPC's VNet (`privlink-vpc-<key>`) with one subnet over its CIDR, where
        Private Link Services may take their NAT addresses; its resource ID."""
        return self.publisher(location).virtual_network(key, cidr)

    def delete_project_network(self, location: str, key: str) -> None:
        self.publisher(location).delete_virtual_network(key)


class AzurePublisher(c.Publisher):
    """The platform's subscription in one region (location), publishing into one
    resource group; names go to a DNS zone in `dns_resource_group`."""

    def __init__(
        self,
        *,
        subscription_id: str,
        resource_group: str,
        location: str,
        credential: Any = None,
        dns_resource_group: str | None = None,
        **client_options: Any,  # e.g. transport=…, polling_interval=… (tests)
    ) -> None:
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        self.network = NetworkManagementClient(credential, subscription_id, **client_options)
        self.dns = DnsManagementClient(credential, subscription_id, **client_options)
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.dns_resource_group = dns_resource_group or resource_group
        self.location = location

    def _lro(self, operation: str, begin: Callable[..., Any], *args: Any) -> Any:
        with _azure(operation):
            return begin(*args).result()

    def _get(self, operation: str, fetch: Callable[..., T], *args: Any) -> T | None:
        try:
            with _azure(operation):
                return fetch(*args)
        except NotFound:
            return None

    def _resource_id(self, kind: str, name: str) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Network/{kind}/{name}"
        )

    # -- project networks --------------------------------------------------------------
    def virtual_network(self, key: str, cidr: str) -> str:
        name = f"privlink-vpc-{key}"
        body = {
            "location": self.location,
            "tags": {"privlink:project-vpc": key},
            "properties": {
                "addressSpace": {"addressPrefixes": [cidr]},
                "subnets": [
                    {
                        "name": "default",
                        "properties": {
                            "addressPrefix": cidr,
                            # A Private Link Service takes its NAT addresses here.
                            "privateLinkServiceNetworkPolicies": "Disabled",
                        },
                    }
                ],
            },
        }
        have = self._get("virtual_networks.get", self.network.virtual_networks.get,
                         self.resource_group, name)  # fmt: skip
        if have is None:
            self._lro(
                "virtual_networks.create_or_update",
                self.network.virtual_networks.begin_create_or_update,
                self.resource_group,
                name,
                body,
            )
        return self._resource_id("virtualNetworks", name)

    def delete_virtual_network(self, key: str) -> None:
        with suppress(NotFound):
            self._lro(
                "virtual_networks.delete",
                self.network.virtual_networks.begin_delete,
                self.resource_group,
                f"privlink-vpc-{key}",
            )

    # -- publish ---------------------------------------------------------------
    def _subnet(self, network: str) -> str:
        """The first subnet of the platform VNet `network` (its resource ID)."""
        parts = network.strip("/").split("/")
        if len(parts) < 8 or parts[6] != "virtualNetworks":
            raise InvalidInput(f"Not a virtual network's resource ID: {network!r}")
        with _azure("subnets.list"):
            subnets = list(self.network.subnets.list(parts[3], parts[7]))
        if not subnets:
            raise Conflict(f"Virtual network {network} has no subnet", temporary=True)
        return str(subnets[0].as_dict()["id"])

    def _load_balancer(self, spec: c.PublishSpec, subnet: str) -> dict[str, Any]:
        """The load balancer as ARM's JSON: a frontend in the subnet, a pool and a probe
        per unit, a rule per open unit."""
        lb_id = self._resource_id("loadBalancers", name_of(spec.key))
        hc = spec.health_check
        pools, probes, rules = [], [], []
        for unit in spec.units:
            ports = {t.port for t in unit.targets}
            if len(ports) != 1:
                raise Conflict(
                    f"Unit {unit.key}: an Azure load balancing rule has one backend port; "
                    f"its nodes listen on {sorted(ports)}"
                )
            pools.append(
                {
                    "name": unit.key,
                    "properties": {
                        "loadBalancerBackendAddresses": [
                            {
                                "name": f"{unit.key}-{i}",
                                "properties": {
                                    "ipAddress": t.host,
                                    "virtualNetwork": {"id": subnet.rsplit("/subnets/", 1)[0]},
                                },
                            }
                            for i, t in enumerate(unit.targets)
                        ]
                    },
                }
            )
            probes.append(
                {
                    "name": unit.key,
                    "properties": {
                        "protocol": "Tcp",
                        "port": hc.port or unit.targets[0].port,
                        "intervalInSeconds": max(5, int(hc.interval)),
                        "numberOfProbes": hc.unhealthy_threshold,
                        "probeThreshold": hc.healthy_threshold,
                    },
                }
            )
            if unit.open:
                rules.append(
                    {
                        "name": unit.key,
                        "properties": {
                            "frontendIPConfiguration": {
                                "id": f"{lb_id}/frontendIPConfigurations/{FRONTEND}"
                            },
                            "backendAddressPool": {"id": f"{lb_id}/backendAddressPools/{unit.key}"},
                            "probe": {"id": f"{lb_id}/probes/{unit.key}"},
                            "protocol": "Tcp",
                            "frontendPort": unit.port,
                            "backendPort": unit.targets[0].port,
                            "enableFloatingIP": False,
                            "idleTimeoutInMinutes": 4,
                            "disableOutboundSnat": True,
                        },
                    }
                )
        return {
            "location": self.location,
            "sku": {"name": "Standard"},
            "tags": dict(spec.tags),
            "properties": {
                "frontendIPConfigurations": [
                    {
                        "name": FRONTEND,
                        "properties": {
                            "subnet": {"id": subnet},
                            "privateIPAllocationMethod": "Dynamic",
                        },
                    }
                ],
                "backendAddressPools": pools,
                "probes": probes,
                "loadBalancingRules": rules,
            },
        }

    @staticmethod
    def _lb_shape(body: dict[str, Any]) -> Any:
        """What of a load balancer the wish decides, comparable between wish and cloud."""
        props = body.get("properties", {})
        pools = {
            p["name"]: sorted(
                a.get("properties", {}).get("ipAddress", "")
                for a in p.get("properties", {}).get("loadBalancerBackendAddresses", [])
            )
            for p in props.get("backendAddressPools", [])
        }
        probes = {
            p["name"]: (p["properties"].get("port"), p["properties"].get("intervalInSeconds"))
            for p in props.get("probes", [])
        }
        rules = {
            r["name"]: (
                r["properties"].get("frontendPort"),
                r["properties"].get("backendPort"),
                _id(r["properties"].get("backendAddressPool")).rsplit("/", 1)[-1],
            )
            for r in props.get("loadBalancingRules", [])
        }
        frontends = sorted(
            _id(f.get("properties", {}).get("subnet"))
            for f in props.get("frontendIPConfigurations", [])
        )
        return pools, probes, rules, frontends

    def publish(self, spec: c.PublishSpec) -> c.Published:
        name = name_of(spec.key)
        subnet = self._subnet(spec.network)
        want_lb = self._load_balancer(spec, subnet)
        have_lb = self._get("load_balancers.get", self.network.load_balancers.get,
                            self.resource_group, name)  # fmt: skip
        if have_lb is None or self._lb_shape(have_lb.as_dict()) != self._lb_shape(want_lb):
            self._lro(
                "load_balancers.create_or_update",
                self.network.load_balancers.begin_create_or_update,
                self.resource_group,
                name,
                want_lb,
            )
        lb_id = self._resource_id("loadBalancers", name)
        want_pls = {
            "location": self.location,
            "tags": dict(spec.tags),
            "properties": {
                "loadBalancerFrontendIpConfigurations": [
                    {"id": f"{lb_id}/frontendIPConfigurations/{FRONTEND}"}
                ],
                "ipConfigurations": [
                    {
                        "name": "nat",
                        "properties": {
                            "subnet": {"id": subnet},
                            "privateIPAllocationMethod": "Dynamic",
                            "primary": True,
                        },
                    }
                ],
                "visibility": {"subscriptions": list(spec.consumers)},
                "autoApproval": {"subscriptions": []},
            },
        }
        have = self._get("private_link_services.get", self.network.private_link_services.get,
                         self.resource_group, name)  # fmt: skip
        pls = have.as_dict() if have is not None else None
        visible = (pls or {}).get("properties", {}).get("visibility", {}).get("subscriptions")
        if pls is None or sorted(visible or []) != sorted(spec.consumers):
            made = self._lro(
                "private_link_services.create_or_update",
                self.network.private_link_services.begin_create_or_update,
                self.resource_group,
                name,
                want_pls,
            )
            pls = made.as_dict()
        alias = str(pls.get("properties", {}).get("alias", ""))
        if not alias:  # ARM gives the alias once the service is provisioned
            raise Conflict(f"Private Link Service {name} has no alias yet", temporary=True)
        healthy = {u.key: self._healthy(name, u.key) if u.open else False for u in spec.units}
        return c.Published(id=name, name=alias, resource_id=str(pls["id"]), healthy=healthy)

    def _healthy(self, lb: str, rule: str) -> bool:
        """Whether a backend behind the rule answers its probe (the rule health API)."""
        health = self._lro(
            "load_balancing_rules.health",
            self.network.load_balancer_load_balancing_rules.begin_health,
            self.resource_group,
            lb,
            rule,
        )
        return int(health.as_dict().get("up", 0)) > 0

    def unpublish(self, key: str) -> None:
        name = name_of(key)
        for operation, begin in (
            ("private_link_services.delete", self.network.private_link_services.begin_delete),
            ("load_balancers.delete", self.network.load_balancers.begin_delete),
        ):
            with suppress(NotFound):  # gone already
                self._lro(operation, begin, self.resource_group, name)

    # -- connections -------------------------------------------------------------
    def describe_endpoint_connections(self, service_id: str) -> list[c.Endpoint]:
        with _azure("private_link_services.list_private_endpoint_connections"):
            found = [
                conn.as_dict()
                for conn in self.network.private_link_services.list_private_endpoint_connections(
                    self.resource_group, service_id
                )
            ]
        return [self._endpoint(service_id, conn) for conn in found]

    @staticmethod
    def _endpoint(service_id: str, conn: dict[str, Any]) -> c.Endpoint:
        props = conn.get("properties", {})
        endpoint_id = _id(props.get("privateEndpoint"))
        status = props.get("privateLinkServiceConnectionState", {}).get("status", "Pending")
        parts = endpoint_id.strip("/").split("/")
        owner = parts[1] if len(parts) > 1 and parts[0].lower() == "subscriptions" else ""
        return c.Endpoint(
            id=str(conn["name"]),
            vpc_id="",
            service_id=service_id,
            service_name=service_id,
            state=STATES.get(status, "failed"),
            owner=owner,
            subnet_ids=(),
            addresses=(),  # the owner sees no consumer address in Azure
            dns_name="",
            resource_id=endpoint_id,
        )

    def _decide(self, service_id: str, endpoint_ids: Sequence[str], status: str) -> None:
        for connection in endpoint_ids:
            body = {
                "name": connection,
                "properties": {
                    "privateLinkServiceConnectionState": {
                        "status": status,
                        "description": f"{status.lower()} by privlink",
                    }
                },
            }
            with _azure("private_link_services.update_private_endpoint_connection"):
                self.network.private_link_services.update_private_endpoint_connection(
                    self.resource_group,
                    service_id,
                    connection,
                    network_models.PrivateEndpointConnection(body),
                )

    def accept_endpoint_connections(self, service_id: str, endpoint_ids: Sequence[str]) -> None:
        self._decide(service_id, endpoint_ids, "Approved")

    def reject_endpoint_connections(self, service_id: str, endpoint_ids: Sequence[str]) -> None:
        self._decide(service_id, endpoint_ids, "Rejected")

    # -- DNS: an Azure DNS zone --------------------------------------------------
    def dns_zone(self, name: str) -> str:
        zone = self._get("zones.get", self.dns.zones.get, self.dns_resource_group, name)
        if zone is None:
            with _azure("zones.create_or_update"):
                self.dns.zones.create_or_update(
                    self.dns_resource_group, name, dns_models.Zone(location="global")
                )
        return name

    def dns_records(self, zone_id: str, under: str) -> list[Record]:
        under = under.rstrip(".").lower()
        with _azure("record_sets.list_all_by_dns_zone"):
            sets = list(self.dns.record_sets.list_all_by_dns_zone(self.dns_resource_group, zone_id))
        found = []
        for rs in sets:  # azure-mgmt-dns's models: attributes, not ARM's JSON
            fqdn = str(rs.fqdn or "").rstrip(".").lower()
            kind = str(rs.type or "").rsplit("/", 1)[-1]
            if fqdn != under and not fqdn.endswith("." + under):
                continue
            if kind == "A":
                values = tuple(sorted(str(a.ipv4_address) for a in rs.a_records or []))
            elif kind == "TXT":
                values = tuple(sorted("".join(t.value or []) for t in rs.txt_records or []))
            elif kind == "CNAME" and rs.cname_record is not None:
                values = (str(rs.cname_record.cname),)
            else:
                continue
            found.append(Record(fqdn, kind, values, int(rs.ttl or 60)))
        return sorted(found)

    def _relative(self, zone: str, name: str) -> str:
        zone, name = zone.rstrip(".").lower(), name.rstrip(".").lower()
        if name == zone:
            return "@"
        if not name.endswith("." + zone):
            raise InvalidInput(f"Record {name} is not in zone {zone}")
        return name[: -len(zone) - 1]

    def change_dns_records(
        self, zone_id: str, *, upsert: Sequence[Record] = (), delete: Sequence[Record] = ()
    ) -> None:
        # Azure DNS has no batch: every name is checked first, so a refusal changes nothing.
        names = {r.name: self._relative(zone_id, r.name) for r in [*upsert, *delete]}
        for record in upsert:
            values = list(record.values)
            record_set = dns_models.RecordSet(
                ttl=record.ttl,
                a_records=[dns_models.ARecord(ipv4_address=v) for v in values]
                if record.type == "A"
                else None,
                txt_records=[dns_models.TxtRecord(value=[v]) for v in values]
                if record.type == "TXT"
                else None,
                cname_record=dns_models.CnameRecord(cname=values[0])
                if record.type == "CNAME"
                else None,
            )
            with _azure("record_sets.create_or_update"):
                self.dns.record_sets.create_or_update(
                    self.dns_resource_group, zone_id, names[record.name], record.type, record_set
                )
        for record in delete:
            with _azure("record_sets.delete"):
                self.dns.record_sets.delete(
                    self.dns_resource_group, zone_id, names[record.name], record.type
                )

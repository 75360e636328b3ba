"""How the local cloud names its accounts and PrivateLink resources in each cloud it
emulates: an AWS account is also an Azure subscription and a Google Cloud project, and a
region's cloud decides which names its endpoint services and endpoints answer to.

Pure functions of the account and resource IDs, so the names never need storing.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import uuid

from privlink.domain import cloud as rules
from privlink.domain import privatelink, validation
from privlink.domain.errors import Forbidden, InvalidInput

_SUBSCRIPTIONS = uuid.UUID("6f1c2a3e-6d2b-4f0e-9a51-5d1f0c9b7e21")  # namespace of uuid5s
RESOURCE_GROUP = "privlink"


def subscription_id(account_id: str) -> str:
    """The Azure subscription ID of a local account."""
    return str(uuid.uuid5(_SUBSCRIPTIONS, account_id))


def gcp_project(account_id: str) -> str:
    """The Google Cloud project ID of a local account."""
    return f"pl-{account_id}"


def owner(region: str, account_id: str, principal: str) -> str:
    """Who an endpoint's owner is, in the words of the region's cloud."""
    provider = rules.provider_of(region)
    if provider == "azure":
        return subscription_id(account_id)
    if provider == "google":
        return gcp_project(account_id)
    return principal


def service_name(region: str, account_id: str, service_id: str) -> str:
    """What consumers give to connect: an AWS service name, an Azure alias, a Google
    service attachment."""
    provider = rules.provider_of(region)
    if provider == "azure":
        return f"{service_id}.{subscription_id(account_id)}.{region}.azure.privatelinkservice"
    if provider == "google":
        project = gcp_project(account_id)
        return f"projects/{project}/regions/{region}/serviceAttachments/{service_id}"
    return f"com.privlink.vpce.{region}.{service_id}"


def service_resource_id(region: str, account_id: str, service_id: str) -> str:
    """The Azure resource ID of a Private Link Service ('' in the other clouds)."""
    if rules.provider_of(region) != "azure":
        return ""
    return (
        f"/subscriptions/{subscription_id(account_id)}/resourceGroups/{RESOURCE_GROUP}"
        f"/providers/Microsoft.Network/privateLinkServices/{service_id}"
    )


def endpoint_resource_id(region: str, account_id: str, endpoint_id: str) -> str:
    """An Azure private endpoint's resource ID, a Google forwarding rule's path ('' on AWS)."""
    provider = rules.provider_of(region)
    if provider == "azure":
        return (
            f"/subscriptions/{subscription_id(account_id)}/resourceGroups/{RESOURCE_GROUP}"
            f"/providers/Microsoft.Network/privateEndpoints/{endpoint_id}"
        )
    if provider == "google":
        return f"projects/{gcp_project(account_id)}/regions/{region}/forwardingRules/{endpoint_id}"
    return ""


def psc_connection_id(region: str, endpoint_id: str) -> str:
    """The Private Service Connect connection ID of a Google endpoint ('' elsewhere): a
    64-bit number, as Google gives it."""
    if rules.provider_of(region) != "google":
        return ""
    return str(int(hashlib.sha256(endpoint_id.encode()).hexdigest()[:15], 16))


_ALIAS = re.compile(
    r"vpce-svc-[0-9a-f]{17}\.[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}\.[a-z0-9]{2,30}"
    r"\.azure\.privatelinkservice",
    re.ASCII,
)
_ATTACHMENT = re.compile(
    r"projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/regions/[a-z0-9-]{2,30}"
    r"/serviceAttachments/[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?",
    re.ASCII,
)
_GCP_PROJECT = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]", re.ASCII)


def check_service_name(region: str, name: str) -> str:
    """What a consumer gave to connect to, in the form the region's cloud takes."""
    provider = rules.provider_of(region)
    if provider == "azure":
        if _ALIAS.fullmatch(name):
            return name
        raise InvalidInput(
            f"Invalid Private Link Service alias {name[:120]!r}; accepted: "
            "NAME.GUID.REGION.azure.privatelinkservice, as the service's owner gives it"
        )
    if provider == "google":
        if _ATTACHMENT.fullmatch(name):
            return name
        raise InvalidInput(
            f"Invalid service attachment {name[:120]!r}; accepted: "
            "projects/PROJECT/regions/REGION/serviceAttachments/NAME"
        )
    return validation.endpoint_service_name(name)


def check_consumer(region: str, value: str) -> str:
    """A consumer a service may allow: an IAM principal, a subscription ID, a project ID."""
    provider = rules.provider_of(region)
    if provider == "azure":
        return privatelink.subscription_id(value)
    if provider == "google":
        if _GCP_PROJECT.fullmatch(value):
            return value
        raise InvalidInput(
            f"Invalid Google Cloud project ID {value[:80]!r}; accepted: 6-30 lowercase "
            "letters, digits and hyphens, starting with a letter"
        )
    return validation.principal(value)


def check_may_connect(
    region: str, allowed: list[str], owner: str, service: str, acceptance_required: bool
) -> rules.EndpointState:
    """Refuse an endpoint its service does not let connect; else its first state.

    AWS: only allowed principals may make one. Azure: only subscriptions the service is
    visible to; each waits for approval. Google: any project may; one in the consumer
    accept list is accepted at once, the others wait."""
    provider = rules.provider_of(region)
    if provider == "azure":
        if owner not in allowed:
            raise Forbidden(
                f"Private Link Service {service} is not visible to subscription {owner}; its "
                "owner must add the subscription to the service's visibility"
            )
        return rules.EndpointState.pending_acceptance
    if provider == "google":
        if owner in allowed:
            return rules.EndpointState.pending
        return rules.EndpointState.pending_acceptance
    fix = "its owner must add it to the allowed principals"
    privatelink.check_allowed(allowed, owner, service.rsplit(".", 1)[-1], fix)
    return rules.initial_endpoint_state(acceptance_required)


def address_in(value: str, subnet: str, subnet_id: str) -> str:
    """A requested endpoint address: a valid IPv4 address inside the subnet's range."""
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        raise InvalidInput(
            f"Invalid IP address {value[:60]!r}; accepted: an IPv4 address"
        ) from None
    network = ipaddress.IPv4Network(subnet)
    hosts = list(network.hosts())
    if address not in network or address in hosts[:3] or address == hosts[-1]:
        raise InvalidInput(
            f"Address {address} is not usable in subnet {subnet_id} ({subnet}); accepted: "
            f"{hosts[3]} to {hosts[-2]}"
        )
    return str(address)

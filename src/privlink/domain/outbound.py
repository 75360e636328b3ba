"""Rules of outbound PrivateLink: a deployment's interface endpoint into a customer's service.

Pure: what a link's state is given what the cloud shows, who may create or delete
one, and the deployment's network facts (AZ IDs, principal) the customer needs.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import secrets
from collections.abc import Sequence

from privlink.domain import catalog, cloud, privatelink
from privlink.domain.cloud import REGIONS
from privlink.domain.errors import Conflict, Forbidden, InvalidInput

CREATING = "creating"
PENDING = "pending-acceptance"
RUNNING = "running"
FAILED = "failed"
DELETING = "deleting"
STATES = (CREATING, PENDING, RUNNING, FAILED, DELETING)
DELETABLE = (RUNNING, FAILED)
DEFAULT_LIMIT = 10  # links per service
DEPLOYMENT_AZS = 2  # AZ IDs a deployment's network spans
# Plan tiers with outbound PrivateLink (the reference: dedicated and premium only).
OUTBOUND_TIERS = frozenset({"premium", "dedicated"})
ATTACHMENT_KINDS = ("data-integration", "rule-action", "connector", "other")
_LINK_ID = re.compile(r"plo[0-9a-f]{11}")
_ATTACHMENT_ID = re.compile(r"pla[0-9a-f]{11}")
_ROLE_NAME = re.compile(r"[A-Za-z0-9+=,.@_-]{1,64}")


def new_link_id() -> str:
    return f"plo{secrets.token_hex(6)[:11]}"


def new_attachment_id() -> str:
    return f"pla{secrets.token_hex(6)[:11]}"


def link_id(value: str) -> str:
    if _LINK_ID.fullmatch(value):
        return value
    raise InvalidInput(
        f"Invalid outbound link ID {value[:40]!r}; accepted: plo followed by 11 hex digits"
    )


def attachment_id(value: str) -> str:
    if _ATTACHMENT_ID.fullmatch(value):
        return value
    raise InvalidInput(
        f"Invalid attachment ID {value[:40]!r}; accepted: pla followed by 11 hex digits"
    )


def attachment(kind: str, name: str) -> tuple[str, str]:
    """What uses a link: a kind from ATTACHMENT_KINDS and a name of 1-100 printable characters."""
    if kind not in ATTACHMENT_KINDS:
        raise InvalidInput(
            f"Unknown attachment kind {kind[:40]!r}; accepted: {', '.join(ATTACHMENT_KINDS)}"
        )
    if not 1 <= len(name) <= 100 or not name.isprintable() or name != name.strip():
        raise InvalidInput(
            "Attachment name: 1-100 printable characters without leading or trailing spaces"
        )
    return kind, name


def plan_allows_outbound(plan: str) -> bool:
    return plan.split("-", 1)[0] in OUTBOUND_TIERS


def deployment_azs(zones: Sequence[str], key: str) -> tuple[str, ...]:
    """The AZ IDs a deployment's network spans: a stable choice of two of the region's."""
    choices = list(itertools.combinations(sorted(zones), min(DEPLOYMENT_AZS, len(zones))))
    pick = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % len(choices)
    return choices[pick]


def role_name(project: str, service: str) -> str:
    """The IAM role name the deployment's endpoints are created as."""
    name = f"privlink-{project}-{service}"
    if not _ROLE_NAME.fullmatch(name):
        name = "privlink-" + hashlib.sha256(f"{project}/{service}".encode()).hexdigest()[:32]
    return name


def check_can_create(
    *, plan: str, feature_enabled: bool, linked: Sequence[str], service_name: str, limit: int
) -> None:
    """Refusals that need no cloud: plan, feature, duplicates, the per-service limit."""
    if not feature_enabled:
        raise Forbidden(
            "PrivateLink is not enabled for this project; ask the platform operator "
            "to enable it (`privlink admin project update NAME --enable-privatelink`)"
        )
    if not plan_allows_outbound(plan):
        raise Forbidden(
            f"Plan {plan!r} does not include outbound PrivateLink; it comes with "
            f"{' and '.join(sorted(OUTBOUND_TIERS))} plans — upgrade the service to use it"
        )
    if service_name in linked:
        raise Conflict(f"This service already has a link to {service_name}")
    if len(linked) >= limit:
        raise Conflict(
            f"This service has {len(linked)} outbound links, the most allowed per service "
            f"is {limit}; delete one first"
        )


def check_azs(service_azs: Sequence[str], deployment: Sequence[str], service_id: str) -> list[str]:
    """The AZ IDs both sides share; refuse if none."""
    return cloud.shared_azs(service_id, service_azs, deployment, "the deployment is")


def check_principal(allowed: Sequence[str], principal: str, service_id: str) -> None:
    privatelink.check_allowed(
        allowed,
        principal,
        service_id,
        "add the deployment's principal to the service's allowed principals "
        f"(`privlink cloud endpoint-service allow {service_id} --principal {principal}`)",
    )


def check_deletable(link_id: str, state: str, attachments: Sequence[str]) -> None:
    if state not in DELETABLE:
        why = {
            CREATING: "the endpoint is being created; wait until it settles",
            PENDING: "the endpoint service's owner has not answered the connection "
            "request yet; ask them to accept or reject it",
            DELETING: "it is already being deleted",
        }.get(state, "")
        raise Conflict(
            f"Link {link_id} is {state}; it can be deleted only while running or failed, "
            f"so that no half-made endpoint is left behind: {why}"
        )
    if attachments:
        raise Conflict(
            f"Link {link_id} is still used by {', '.join(attachments)}; "
            "remove those attachments first"
        )


def observed(
    endpoint_state: str | None, endpoint_reason: str, service_exists: bool
) -> tuple[str, str]:
    """The link's (state, reason) from its endpoint's state as the cloud shows it.

    `endpoint_state` None: no endpoint exists (yet, or any more).
    """
    state = (endpoint_state or "").lower()
    if state in ("pendingacceptance", "pending-acceptance"):
        return PENDING, "waiting for the endpoint service's owner to accept the connection"
    if state == "pending":
        return PENDING, "accepted; the endpoint is being provisioned"
    if state == "available":
        if not service_exists:
            return FAILED, "the endpoint service no longer exists; its owner deleted it"
        return RUNNING, ""
    if state in ("rejected", "failed", "expired") and not service_exists:
        return FAILED, "the endpoint service no longer exists; its owner deleted it"
    if state == "rejected":
        return FAILED, "the connection was rejected by the endpoint service's owner"
    if state == "expired":
        return FAILED, "the connection request expired before the owner accepted it"
    if state == "failed":
        return FAILED, endpoint_reason or "the cloud reports the endpoint failed"
    return CREATING, ""


def deployment_key(project: str, service: str) -> str:
    """What names a deployment's network: its AZ choice and its VPC's tag."""
    return f"{project}/{service}"


def deployment(project: str, service: str, cloud_name: str) -> tuple[str, tuple[str, ...], str]:
    """A deployment's (region, AZ IDs, role name): what the customer builds against."""
    region = catalog.cloud_region(cloud_name)
    if catalog.cloud_provider(cloud_name) != "aws":
        raise InvalidInput(
            f"Outbound links reach endpoint services in AWS; service in {cloud_name} cannot "
            "make one (move it to an aws-<region> cloud)"
        )
    zones = REGIONS[region]
    key = deployment_key(project, service)
    return region, deployment_azs(zones, key), role_name(project, service)

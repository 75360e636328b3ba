"""Cloud concepts both drivers share: regions and AZ IDs, IDs, and state machines.

Pure: the local cloud and the reconciler both follow these rules, and the
property tests check them without any I/O.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from privlink.domain.errors import Conflict, InvalidInput, NotFound

# Region -> AZ IDs, as AWS names them (IDs, not per-account zone names).
REGIONS: dict[str, tuple[str, ...]] = {
    "eu-west-1": ("euw1-az1", "euw1-az2", "euw1-az3"),
    "eu-central-1": ("euc1-az1", "euc1-az2", "euc1-az3"),
    "us-east-1": ("use1-az1", "use1-az2", "use1-az4", "use1-az6"),
    "us-west-2": ("usw2-az1", "usw2-az2", "usw2-az3"),
    "ap-southeast-2": ("apse2-az1", "apse2-az2", "apse2-az3"),
}
# Azure and Google Cloud regions the local cloud emulates. Their zones get IDs in the same
# shape (the local cloud places subnets by them); customers of those clouds never see them.
AZURE_REGIONS: dict[str, tuple[str, ...]] = {
    "westeurope": ("azwe1-az1", "azwe1-az2", "azwe1-az3"),
    "northeurope": ("azne1-az1", "azne1-az2", "azne1-az3"),
    "eastus": ("azeu1-az1", "azeu1-az2", "azeu1-az3"),
}
GOOGLE_REGIONS: dict[str, tuple[str, ...]] = {
    "europe-west1": ("gew1-az1", "gew1-az2", "gew1-az3"),
    "europe-west4": ("gew4-az1", "gew4-az2", "gew4-az3"),
    "us-central1": ("guc1-az1", "guc1-az2", "guc1-az3"),
}
AWS_REGIONS = dict(REGIONS)
PROVIDERS: dict[str, dict[str, tuple[str, ...]]] = {
    "aws": AWS_REGIONS,
    "azure": AZURE_REGIONS,
    "google": GOOGLE_REGIONS,
}
REGIONS.update(AZURE_REGIONS)
REGIONS.update(GOOGLE_REGIONS)


def provider_of(region_name: str) -> str:
    """Which cloud a region is of: aws, azure or google."""
    for provider, regions in PROVIDERS.items():
        if region_name in regions:
            return provider
    raise InvalidInput(f"Unknown region {region_name!r}; available: {', '.join(sorted(REGIONS))}")


def region(name: str) -> str:
    if name in REGIONS:
        return name
    raise InvalidInput(f"Unknown region {name!r}; available: {', '.join(sorted(REGIONS))}")


def az_in_region(region_name: str, az: str) -> str:
    zones = REGIONS[region(region_name)]
    if az in zones:
        return az
    raise InvalidInput(f"AZ ID {az!r} is not in {region_name}; its AZ IDs are {', '.join(zones)}")


def new_id(prefix: str) -> str:
    """An AWS-shaped ID such as `vpce-0123456789abcdef0` (17 hex digits)."""
    return f"{prefix}-{secrets.token_hex(9)[:17]}"


def new_account_id() -> str:
    return f"{secrets.randbelow(10**12):012d}"


class TargetState(StrEnum):
    initial = "initial"
    healthy = "healthy"
    unhealthy = "unhealthy"
    draining = "draining"
    unused = "unused"


@dataclass(frozen=True)
class HealthCheck:
    interval: float = 10.0
    timeout: float = 5.0
    healthy_threshold: int = 3
    unhealthy_threshold: int = 3
    port: int | None = None  # override; None means the target's traffic port

    def __post_init__(self) -> None:
        if not 1 <= self.interval <= 300:
            raise InvalidInput(f"Health-check interval {self.interval}s: accepted 1-300 seconds")
        if not 0 < self.timeout <= self.interval:
            raise InvalidInput(
                f"Health-check timeout {self.timeout}s: must be above 0 and at most the interval"
            )
        for name in ("healthy_threshold", "unhealthy_threshold"):
            value = getattr(self, name)
            if not 2 <= value <= 10:
                raise InvalidInput(f"Health-check {name.replace('_', ' ')} {value}: accepted 2-10")
        if self.port is not None and not 1 <= self.port <= 65535:
            raise InvalidInput(f"Health-check port {self.port}: accepted 1-65535")


@dataclass(frozen=True)
class TargetHealth:
    """The health of one target, moved by one check result at a time."""

    state: TargetState = TargetState.initial
    successes: int = 0
    failures: int = 0
    reason: str = "Elb.RegistrationInProgress"

    def observe(self, ok: bool, check: HealthCheck, reason: str = "") -> TargetHealth:
        """The health after one more check; draining and unused targets are not checked."""
        if self.state in (TargetState.draining, TargetState.unused):
            return self
        successes = self.successes + 1 if ok else 0
        failures = 0 if ok else self.failures + 1
        state = self.state
        if ok and successes >= check.healthy_threshold:
            state = TargetState.healthy
        elif not ok and failures >= check.unhealthy_threshold:
            state = TargetState.unhealthy
        if state is TargetState.healthy:
            why = ""
        elif state is TargetState.unhealthy:
            why = reason or "Target.FailedHealthChecks"
        else:
            why = self.reason
        return TargetHealth(state=state, successes=successes, failures=failures, reason=why)


class ServiceState(StrEnum):
    pending = "Pending"
    available = "Available"
    deleting = "Deleting"
    deleted = "Deleted"
    failed = "Failed"


class EndpointState(StrEnum):
    pending_acceptance = "pendingAcceptance"
    pending = "pending"
    available = "available"
    rejected = "rejected"
    deleting = "deleting"
    deleted = "deleted"
    failed = "failed"


# Which endpoint states each event may move from, and to where.
_ENDPOINT_MOVES: dict[str, tuple[frozenset[EndpointState], EndpointState]] = {
    "accept": (frozenset({EndpointState.pending_acceptance}), EndpointState.pending),
    "provisioned": (frozenset({EndpointState.pending}), EndpointState.available),
    "reject": (
        frozenset(
            {EndpointState.pending_acceptance, EndpointState.pending, EndpointState.available}
        ),
        EndpointState.rejected,
    ),
    "delete": (
        frozenset(
            {
                EndpointState.pending_acceptance,
                EndpointState.pending,
                EndpointState.available,
                EndpointState.rejected,
                EndpointState.failed,
            }
        ),
        EndpointState.deleted,
    ),
    "service_lost": (
        frozenset(
            {EndpointState.pending_acceptance, EndpointState.pending, EndpointState.available}
        ),
        EndpointState.failed,
    ),
}
ENDPOINT_EVENTS = tuple(_ENDPOINT_MOVES)
LIVE_CONNECTION_STATES = frozenset(
    {EndpointState.pending_acceptance, EndpointState.pending, EndpointState.available}
)


def initial_endpoint_state(acceptance_required: bool) -> EndpointState:
    return EndpointState.pending_acceptance if acceptance_required else EndpointState.pending


def move_endpoint(state: EndpointState, event: str) -> EndpointState:
    """The endpoint's next state after `event`, or `Conflict` naming the states it needs."""
    allowed, target = _ENDPOINT_MOVES[event]
    if state not in allowed:
        need = " or ".join(sorted(s.value for s in allowed))
        raise Conflict(
            f"Cannot {event.replace('_', ' ')} an endpoint in state {state.value}; "
            f"it must be {need}"
        )
    return target


def can_delete_service(connection_states: list[EndpointState]) -> None:
    """AWS refuses to delete an endpoint service that still has live connections."""
    live = [s for s in connection_states if s in LIVE_CONNECTION_STATES]
    if live:
        raise Conflict(
            f"Endpoint service has {len(live)} connection(s) in state "
            f"{', '.join(sorted({s.value for s in live}))}; reject them or have their "
            "endpoints deleted first"
        )


def service_missing(service: str, region_name: str, why: str = "") -> NotFound:
    """The one message for an endpoint service that cannot be found (by name or ID)."""
    return NotFound(f"Endpoint service {service} does not exist in {region_name}{why}")


def shared_azs(
    service_id: str, service_azs: Sequence[str], consumer_azs: Sequence[str], consumer: str
) -> list[str]:
    """The AZ IDs an endpoint can use: those of the service that the consumer also has.

    `consumer` names the other side in the refusal ("the chosen subnets are", "the
    deployment is").
    """
    shared = sorted(set(service_azs) & set(consumer_azs))
    if not shared:
        raise InvalidInput(
            f"Endpoint service {service_id} has its load balancer in AZ IDs "
            f"{', '.join(sorted(service_azs)) or 'none'}, {consumer} in "
            f"{', '.join(sorted(set(consumer_azs)))}: they share none. Put the load balancer "
            "and the endpoint's subnets in at least one common AZ ID"
        )
    return shared


# Per-parent limits of the local cloud (AWS's are higher; these keep one tenant's health
# checks and rows bounded on a shared host).
MAX_TARGETS = 100  # per target group
MAX_SECURITY_GROUPS = 100  # per VPC


def check_quota(project: str, held: int, quota: int, what: str) -> None:
    """A tenant's local-cloud resources of one kind stay within the operator's quota."""
    if held >= quota:
        raise Conflict(
            f"Project {project} holds {held} local-cloud {what}, its quota "
            f"(PRIVLINK_CLOUD_RESOURCE_QUOTA) is {quota}; delete one first"
        )

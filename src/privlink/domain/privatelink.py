"""Inbound PrivateLink rules: principals, states, listener units and their ports."""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from privlink.domain import catalog, validation
from privlink.domain.errors import Conflict, Forbidden, InvalidInput

MAX_PRINCIPALS = 16  # AWS's default quota of allowed principals per endpoint service
MAX_SUBSCRIPTIONS = 16  # Azure subscriptions one PrivateLink may be visible to
AWS, AZURE, GOOGLE = "aws", "azure", "google"

CREATING, ACTIVE, DELETING, FAILED = "creating", "active", "deleting", "failed"
STATES = (CREATING, ACTIVE, DELETING, FAILED)

# Customer endpoint state (AWS) -> connection state (Aiven's words).
CONNECTION_STATES = {
    "pendingAcceptance": "pending-user-approval",
    "pending": "user-approved",
    "available": "connected",
}
CONNECTION_ACTIVE = "active"
_PLC = re.compile(r"plc[0-9a-f]{11}")
# Components a client must reach node by node (each Kafka broker advertises its own address).
PER_NODE = frozenset({("kafka", "kafka")})


def principals(value: Sequence[str] | None) -> list[str]:
    """A principal list for create/update: 1-16 valid ARNs, duplicates dropped."""
    if not value:
        raise InvalidInput(
            "Give at least one principal allowed to connect, e.g. "
            "--principal arn:aws:iam::123456789012:root"
        )
    unique = list(dict.fromkeys(validation.principal(p) for p in value))
    if len(unique) > MAX_PRINCIPALS:
        raise InvalidInput(
            f"{len(unique)} principals given; an endpoint service allows at most "
            f"{MAX_PRINCIPALS}. Allow a whole account (arn:aws:iam::ACCOUNT:root) "
            "instead of its users and roles"
        )
    return unique


def subscription_id(value: str) -> str:
    """An Azure subscription ID: a GUID, kept in lowercase."""
    try:
        parsed = uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        parsed = None
    if parsed is None or len(value) != 36:
        raise InvalidInput(
            f"Invalid Azure subscription ID {str(value)[:80]!r}; accepted: a GUID such as "
            "00000000-0000-0000-0000-000000000000"
        )
    return str(parsed)


def subscription_ids(value: Sequence[str] | None) -> list[str]:
    """The subscriptions an Azure PrivateLink is visible to: 1-16 GUIDs, duplicates dropped."""
    if not value:
        raise InvalidInput(
            "Give at least one Azure subscription allowed to connect (--user-subscription-id GUID)"
        )
    unique = list(dict.fromkeys(subscription_id(v) for v in value))
    if len(unique) > MAX_SUBSCRIPTIONS:
        raise InvalidInput(
            f"{len(unique)} subscriptions given; a PrivateLink is visible to at most "
            f"{MAX_SUBSCRIPTIONS}"
        )
    return unique


def user_ip(value: str) -> str:
    """The private IP address of a customer's endpoint, as the customer reports it."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise InvalidInput(
            f"Invalid IP address {str(value)[:60]!r}; accepted: the endpoint's private IPv4 "
            "or IPv6 address, e.g. 10.0.0.4"
        ) from None


def access(user_config: Mapping[str, object]) -> dict[str, bool]:
    """Which components a service's user config opens to PrivateLink."""
    value = user_config.get("privatelink_access") or {}
    return {str(k): bool(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def connection_id(value: str) -> str:
    if _PLC.fullmatch(value):
        return value
    raise InvalidInput(f"Invalid PrivateLink connection ID {value!r}; accepted: plc + 11 hex")


def allows(allowed: Iterable[str], principal: str) -> bool:
    """Whether an endpoint owned by `principal` (an ARN, or only an account ID) may connect
    under the `allowed` list."""
    allowed = set(allowed)
    if principal.isascii() and principal.isdigit():
        # The cloud names only the endpoint's account (AWS): it was allowed when it was made.
        return "*" in allowed or any(
            p != "*" and validation.principal_account(p) == principal for p in allowed
        )
    account = validation.principal_account(principal) if principal != "*" else ""
    return "*" in allowed or principal in allowed or f"arn:aws:iam::{account}:root" in allowed


def check_allowed(allowed: Iterable[str], principal: str, service_id: str, fix: str) -> None:
    """Refuse an endpoint of `principal` on a service that does not allow it; `fix` says
    who must do what."""
    if not allows(allowed, principal):
        raise Forbidden(
            f"Principal {principal} is not allowed on endpoint service {service_id}; {fix}"
        )


def check_can_use(*, service_type: str, plan: str, in_vpc: bool, feature_enabled: bool) -> None:
    """Refuse PrivateLink where it cannot be had, saying what to do instead."""
    if service_type in catalog.NO_PRIVATELINK:
        raise InvalidInput(f"PrivateLink is not supported for {service_type} services")
    if not feature_enabled:
        raise InvalidInput(
            "PrivateLink is a limited-availability feature not enabled for this "
            "project; ask the platform operator to enable it "
            "(privlink admin project update PROJECT --enable-privatelink)"
        )
    if not catalog.plan_allows_privatelink(plan):
        tiers = ", ".join(sorted(catalog.PRIVATELINK_TIERS))
        raise InvalidInput(
            f"Plan {plan} does not include PrivateLink; upgrade the service to a "
            f"{tiers} plan (avn service update --plan PLAN SERVICE)"
        )
    if not in_vpc:
        raise InvalidInput(
            "PrivateLink needs the service in a project VPC; create one "
            "(avn vpc create --cloud CLOUD --network-cidr CIDR) and move the service "
            "into it (avn service update --project-vpc-id ID SERVICE)"
        )


def check_changeable(state: str, action: str) -> None:
    if state == DELETING:
        raise Conflict(
            f"PrivateLink is being deleted; it cannot be {action}. Wait until it is "
            "gone, then create it again"
        )


@dataclass(frozen=True)
class Unit:
    """What one listener serves: one node of a per-node component, or a whole component."""

    component: str
    node: int  # -1: every node of the component, balanced
    targets: tuple[tuple[str, int], ...]

    @property
    def key(self) -> str:
        return self.component if self.node < 0 else f"{self.component}-{self.node}"


def units(service_type: str, components: Mapping[str, Sequence[str]]) -> list[Unit]:
    """The listeners a service needs: one per component, plus one per node where needed."""
    result = []
    for component, nodes in components.items():
        targets = tuple(catalog.node(n) for n in nodes)
        result.append(Unit(component, -1, targets))
        if (service_type, component) in PER_NODE:
            result += [Unit(component, i, (t,)) for i, t in enumerate(targets)]
    return result


def allocate_ports(wanted: Sequence[str], taken: Mapping[str, int], pool: range) -> dict[str, int]:
    """Ports for every key in `wanted`: kept where already assigned, else the lowest free."""
    result = {k: p for k, p in taken.items() if k in wanted}
    used = set(result.values())
    free = (p for p in pool if p not in used)
    for key in wanted:
        if key not in result:
            port = next(free, None)
            if port is None:
                raise Conflict(
                    f"The listener port pool {pool.start}-{pool.stop - 1} is exhausted; "
                    "the operator can widen it (PRIVLINK_KAFKA_PORT_POOL)"
                )
            result[key] = port
    return result

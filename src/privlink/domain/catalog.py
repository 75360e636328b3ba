"""What services privlink knows: types, their components, plans and cloud names."""

from __future__ import annotations

import re

from privlink.domain.cloud import PROVIDERS
from privlink.domain.errors import InvalidInput

COMPONENTS: dict[str, tuple[str, ...]] = {
    "kafka": ("kafka", "kafka_connect", "kafka_rest", "schema_registry"),
    "pg": ("pg", "pgbouncer"),
    "valkey": ("valkey",),
    "mqtt": ("mqtt",),
    "opensearch": ("opensearch", "opensearch_dashboards"),
    "cassandra": ("cassandra",),
    "m3db": ("m3db",),
}
# Types that exist but cannot be published with PrivateLink (as in the reference).
NO_PRIVATELINK = frozenset({"cassandra", "m3db"})
# Plans whose tier includes PrivateLink; tiers are the plan's prefix (`business-4`).
PRIVATELINK_TIERS = frozenset({"business", "premium", "dedicated"})
TIERS = frozenset({"free", "hobbyist", "startup", *PRIVATELINK_TIERS})
_CLOUD = re.compile(r"(aws|azure|google)-([a-z0-9-]{2,30})", re.ASCII)
_NODE = re.compile(r"(?P<host>[A-Za-z0-9.-]{1,253}):(?P<port>\d{1,5})", re.ASCII)
_PLAN = re.compile(r"[a-z]+(?:-[a-z0-9]+)*", re.ASCII)


def service_type(value: str) -> str:
    if value in COMPONENTS:
        return value
    raise InvalidInput(f"Unknown service type {value!r}; known: {', '.join(sorted(COMPONENTS))}")


def component(kind: str, value: str) -> str:
    if value in COMPONENTS[service_type(kind)]:
        return value
    raise InvalidInput(
        f"Unknown component {value!r} for a {kind} service; its components are "
        f"{', '.join(COMPONENTS[kind])}"
    )


def cloud_names() -> list[str]:
    """Every cloud name privlink knows: `aws-eu-west-1`, `azure-westeurope`, `google-…`."""
    return [f"{p}-{r}" for p, regions in PROVIDERS.items() for r in sorted(regions)]


def cloud_region(cloud_name: str) -> str:
    """The region of a cloud name such as `aws-eu-west-1` or `azure-westeurope`."""
    match = _CLOUD.fullmatch(cloud_name)
    if match is None or match.group(2) not in PROVIDERS[match.group(1)]:
        raise InvalidInput(
            f"Unknown cloud {cloud_name[:80]!r}; accepted: a cloud privlink knows: "
            f"{', '.join(cloud_names())}"
        )
    return match.group(2)


def cloud_provider(cloud_name: str) -> str:
    """Which cloud a cloud name is in: aws, azure or google."""
    cloud_region(cloud_name)
    return cloud_name.split("-", 1)[0]


def node(value: str) -> tuple[str, int]:
    match = _NODE.fullmatch(value)
    if match is None or not 1 <= int(match.group("port")) <= 65535:
        raise InvalidInput(f"Invalid node {value!r}; accepted: HOST:PORT with a port 1-65535")
    return match.group("host"), int(match.group("port"))


def plan(value: str) -> str:
    if 1 <= len(value) <= 64 and _PLAN.fullmatch(value) and value.split("-")[0] in TIERS:
        return value
    raise InvalidInput(
        f"Invalid plan {value[:80]!r}; accepted: a tier ({', '.join(sorted(TIERS))}) and "
        "its size joined by a hyphen, e.g. business-4"
    )


def plan_allows_privatelink(value: str) -> bool:
    return value.split("-", 1)[0] in PRIVATELINK_TIERS


def user_config_schema(kind: str) -> dict[str, object]:
    """The JSON schema of a type's user config; avn validates `-c` keys against it."""
    access = {
        component: {"type": "boolean", "title": f"Allow access to {component} through PrivateLink"}
        for component in COMPONENTS[service_type(kind)]
    }
    properties: dict[str, object] = {}
    if kind not in NO_PRIVATELINK:
        properties["privatelink_access"] = {
            "type": "object",
            "title": "Allow access to selected service components through PrivateLink",
            "properties": access,
            "additionalProperties": False,
        }
    return {"type": "object", "properties": properties, "additionalProperties": False}


def merge_user_config(
    kind: str, current: dict[str, object], update: dict[str, object]
) -> dict[str, object]:
    """`current` with `update` merged in, refusing keys the type does not have."""
    merged = dict(current)
    for key, value in update.items():
        if key != "privatelink_access" or kind in NO_PRIVATELINK:
            known = "privatelink_access" if kind not in NO_PRIVATELINK else "none"
            raise InvalidInput(
                f"Unknown user config key {key!r} for a {kind} service; known: {known}"
            )
        if not isinstance(value, dict):
            raise InvalidInput("privatelink_access must map component names to true or false")
        access = dict(merged.get("privatelink_access") or {})  # type: ignore[call-overload]
        for name, enabled in value.items():
            component(kind, name)
            if not isinstance(enabled, bool):
                raise InvalidInput(f"privatelink_access.{name} must be true or false")
            access[name] = enabled
        merged["privatelink_access"] = access
    return merged

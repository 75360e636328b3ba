"""Validators for the names and identifiers users type.

Each returns the value unchanged (or normalised) or raises `InvalidInput` with
a message that names the bad value and lists what is accepted.
"""

from __future__ import annotations

import re

from privlink.domain.errors import InvalidInput

PRINCIPAL_FORMS = (
    "arn:aws:iam::<12-digit account>:root, "
    "arn:aws:iam::<12-digit account>:user/<name>, "
    "arn:aws:iam::<12-digit account>:role/<name>, or *"
)
# IAM user and role names: 1-64 characters of letters, digits and +=,.@_-
_IAM_NAME = r"[A-Za-z0-9+=,.@_-]{1,64}"
_PRINCIPAL = re.compile(
    rf"arn:aws:iam::(\d{{12}}):(root|user/{_IAM_NAME}|role/{_IAM_NAME})", re.ASCII
)
_AZ_ID = re.compile(r"[a-z]{2,4}[0-9]{1,2}-az[0-9]{1,2}")
_HEX17 = r"[0-9a-f]{17}"
# Service IDs have 17 hex digits; services made before AWS's longer IDs have 8.
_SERVICE_ID = r"(?:[0-9a-f]{17}|[0-9a-f]{8})"
_SERVICE_NAME = re.compile(
    rf"com\.[a-z0-9]+\.vpce\.([a-z]{{2}}(?:-[a-z]+)+-\d)\.vpce-svc-{_SERVICE_ID}", re.ASCII
)
_RESOURCE_IDS = {
    "vpce-svc": re.compile(rf"vpce-svc-{_HEX17}"),
    "vpce": re.compile(rf"vpce-{_HEX17}"),
    "plc": re.compile(r"plc[0-9a-f]{11}"),
}
_DNS_LABEL = re.compile(r"[a-z][a-z0-9-]*")
PROJECT_NAME_MAX = 63
SERVICE_NAME_MAX = 64
MAX_PRINCIPAL_LENGTH = 2048


def _shown(value: str, limit: int = 80) -> str:
    return repr(value if len(value) <= limit else value[:limit] + "…")


def principal(value: str) -> str:
    """An IAM principal an endpoint service may allow."""
    if value == "*":
        return value
    if len(value) <= MAX_PRINCIPAL_LENGTH and _PRINCIPAL.fullmatch(value):
        return value
    hint = ""
    if ":assumed-role/" in value:
        hint = " (assumed-role sessions cannot be allowed; allow the role itself)"
    elif re.fullmatch(r"arn:aws:iam::\d{12}:(user|role)/.+/.+", value, re.ASCII):
        hint = " (paths are not accepted; give the name without its path)"
    raise InvalidInput(f"Invalid principal {_shown(value)}{hint}; accepted: {PRINCIPAL_FORMS}")


def principal_account(value: str) -> str | None:
    """The 12-digit account of a principal, or None for `*`."""
    match = _PRINCIPAL.fullmatch(value)
    return match.group(1) if match else None


def az_id(value: str) -> str:
    """An availability-zone ID such as `euw1-az1` (never a zone name like `eu-west-1a`)."""
    if _AZ_ID.fullmatch(value):
        return value
    raise InvalidInput(
        f"Invalid AZ ID {_shown(value)}; accepted: an AZ ID such as use1-az1 or euw1-az3 "
        "(zone names like eu-west-1a differ between accounts and are not accepted)"
    )


def endpoint_service_name(value: str) -> str:
    """`com.<provider>.vpce.<region>.vpce-svc-<17 hex>` (8 hex for older services)."""
    if _SERVICE_NAME.fullmatch(value):
        return value
    raise InvalidInput(
        f"Invalid endpoint service name {_shown(value)}; accepted: "
        "com.<provider>.vpce.<region>.vpce-svc-<17 hex digits> (8 on older services), "
        "e.g. com.amazonaws.vpce.eu-west-1.vpce-svc-0b16e88f3b706aaf1"
    )


def service_name_region(value: str) -> str:
    """The region part of a valid endpoint service name."""
    match = _SERVICE_NAME.fullmatch(endpoint_service_name(value))
    assert match is not None
    return match.group(1)


def resource_id(kind: str, value: str) -> str:
    """A cloud resource ID of the given kind: `vpce-svc`, `vpce` or `plc`."""
    pattern = _RESOURCE_IDS[kind]
    if pattern.fullmatch(value):
        return value
    digits = 11 if kind == "plc" else 17
    raise InvalidInput(
        f"Invalid {kind} ID {_shown(value)}; accepted: {kind}"
        f"{'' if kind == 'plc' else '-'}<{digits} lowercase hex digits>"
    )


def _dns_label_name(value: str, what: str, max_len: int) -> str:
    if (
        1 <= len(value) <= max_len
        and _DNS_LABEL.fullmatch(value)
        and not value.endswith("-")
        and "--" not in value
    ):
        return value
    raise InvalidInput(
        f"Invalid {what} name {_shown(value)}; accepted: 1-{max_len} characters of lowercase "
        "letters, digits and single hyphens, starting with a letter and not ending with a hyphen"
    )


def project_name(value: str) -> str:
    return _dns_label_name(value, "project", PROJECT_NAME_MAX)


def service_name(value: str) -> str:
    return _dns_label_name(value, "service", SERVICE_NAME_MAX)


_ELB_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?", re.ASCII)
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.:-]{0,252})", re.ASCII)


def elb_name(value: str, what: str) -> str:
    """A target group or load balancer name, as ELB accepts them."""
    if _ELB_NAME.fullmatch(value):
        return value
    raise InvalidInput(
        f"Invalid {what} name {_shown(value)}; accepted: 1-32 letters, digits and hyphens, "
        "not starting or ending with a hyphen"
    )


def target_host(value: str) -> str:
    """A target's address: an IP address or a host name (no paths, spaces or controls)."""
    if _HOST.fullmatch(value) and ".." not in value:
        return value
    raise InvalidInput(
        f"Invalid target host {_shown(value)}; accepted: an IP address or a host name"
    )

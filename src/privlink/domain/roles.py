"""What a token may do: its role, checked in one place (`tenancy.authorize`)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OPERATOR = "operator"  # the install: every project, tokens, plans, the platform account
    ADMIN = "admin"  # one project: read and change it
    READ_ONLY = "read-only"  # one project: list, get, validate, read events and the audit log


ROLES = ", ".join(r.value for r in Role)

# Requests with these methods read; every other method asks for a change.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# POSTs that only read: the console forms' inline checks.
READING_PATHS = ("/console/check/",)


def reads(method: str, path: str) -> bool:
    return method.upper() in READ_METHODS or path.startswith(READING_PATHS)


def may_change(role: Role) -> bool:
    return role != Role.READ_ONLY

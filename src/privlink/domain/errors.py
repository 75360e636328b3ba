"""Domain errors; the API maps each class to one HTTP status in one place.

Each error also says whether retrying the same step later may succeed (`temporary`,
kopf's TemporaryError vs PermanentError): the reconciler retries temporary ones with
backoff and marks the object failed on permanent ones. `Unavailable` is always
temporary; a cloud's "in progress, retry" answers are `Conflict(…, temporary=True)`.

PrivlinkError
├── InvalidInput        400  the request is wrong; the message says how to fix it
├── Unauthenticated     401  no token or an unknown one
├── Forbidden           403  the token may not do this (e.g. admin only)
├── NotFound            404  no such object, or not visible to this token
├── Conflict            409  the object's state does not allow this now
└── Unavailable         503  a dependency (database, cloud) cannot answer
"""

from __future__ import annotations


class PrivlinkError(Exception):
    """Base of every error privlink reports to a user."""

    status = 500
    temporary = False

    def __init__(self, message: str, *, temporary: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if temporary is not None:
            self.temporary = temporary


class InvalidInput(PrivlinkError):
    """The input is not acceptable; the message names it and what is accepted."""

    status = 400


class Unauthenticated(PrivlinkError):
    """No credentials, or credentials that match no live token."""

    status = 401


class Forbidden(PrivlinkError):
    """The caller is known but may not do this."""

    status = 403


class NotFound(PrivlinkError):
    """The object does not exist or is not visible to the caller."""

    status = 404


class Conflict(PrivlinkError):
    """The object exists but its state forbids the operation now."""

    status = 409


class Unavailable(PrivlinkError):
    """A dependency cannot answer now; retrying later may work."""

    status = 503
    temporary = True

"""The stored objects as the layers above services see them (API, console, admin): the
same rows, named here so that nothing above this layer imports the store."""

from __future__ import annotations

from privlink.store.tables import (
    ApiToken,
    Event,
    OutboundAttachment,
    OutboundLink,
    Privatelink,
    PrivatelinkConnection,
    Project,
    ProjectVpc,
    Service,
)

__all__ = [
    "ApiToken",
    "Event",
    "OutboundAttachment",
    "OutboundLink",
    "Privatelink",
    "PrivatelinkConnection",
    "Project",
    "ProjectVpc",
    "Service",
]

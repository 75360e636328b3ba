"""HTTP API: the Aiven-compatible surface and privlink's native one."""

from __future__ import annotations

from fastapi import FastAPI

from privlink.api import errors
from privlink.api.routes import (
    audit,
    cloud,
    health,
    outbound,
    privatelinks,
    projects,
    services,
    vpcs,
)


def install(app: FastAPI) -> None:
    """Add the API's routes, its error responses and its OpenAPI document to `app`."""
    errors.install(app)
    errors.install_openapi(app)
    for module in (health, projects, services, vpcs, privatelinks, outbound, cloud, audit):
        app.include_router(module.router)

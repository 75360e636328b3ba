"""HTTP API: the Aiven-compatible surface and privlink's native one."""

from __future__ import annotations

from fastapi import FastAPI

from privlink.api import errors
from privlink.api.routes import (
    audit,
    cloud,
    health,
    outbound,
    privatelink_clouds,
    privatelinks,
    projects,
    services,
    usage,
    vpcs,
    webhooks,
)


def install(app: FastAPI, *, serve_api: bool = True) -> None:
    """Add the API's routes, its error responses and its OpenAPI document to `app`; a
    replica without the `api` role serves only health and metrics."""
    errors.install(app)
    errors.install_openapi(app)
    modules = (
        health,
        projects,
        services,
        vpcs,
        privatelink_clouds,
        privatelinks,
        outbound,
        cloud,
        audit,
        webhooks,
        usage,
    )
    for module in modules if serve_api else (health,):
        app.include_router(module.router)

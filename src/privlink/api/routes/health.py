"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from privlink.api.deps import get_token
from privlink.api.errors import documented, error_response
from privlink.services import readiness, tenancy
from privlink.state import StateDep

router = APIRouter(tags=["operations"])


class Status(BaseModel):
    status: str


@router.get("/healthz")
def healthz() -> Status:
    """The process is up and serving HTTP."""
    return Status(status="ok")


@router.get("/readyz", response_model=Status, responses=documented(503))
def readyz(state: StateDep) -> Status | JSONResponse:
    """The database answers and its schema is at the newest migration."""
    problem = readiness.problem(state.engine)
    if problem is not None:
        return error_response(503, problem)
    return Status(status="ready")


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"},
        **documented(401, 403),
    },
)
def metrics(state: StateDep, request: Request) -> Response:
    """Prometheus text; an operator token is needed unless PRIVLINK_METRICS_PUBLIC=1."""
    if not state.settings.metrics_public:
        with state.sessions() as session:
            caller = tenancy.authenticate(session, secret=get_token(request))
        tenancy.require_admin(caller)
    return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)

"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from privlink.api.deps import StateDep
from privlink.api.errors import documented, error_response
from privlink.store import migrate

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
    try:
        at_head = migrate.is_at_head(state.engine)
    except SQLAlchemyError as error:
        return error_response(503, f"Database unreachable: {error.__class__.__name__}")
    if not at_head:
        return error_response(
            503, "Database schema is not at the newest migration; run `privlink db upgrade`"
        )
    return Status(status="ready")


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
def metrics(state: StateDep) -> Response:
    return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)

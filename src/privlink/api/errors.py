"""The one place where errors become HTTP responses.

Every error body has the shape the avn CLI reads:
`{"message": "...", "errors": [{"message": "...", "status": N}]}`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy.exc
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from privlink.domain.errors import PrivlinkError

log = structlog.get_logger(__name__)


def error_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = {"message": message, "errors": [{"message": message, "status": status}]}
    return JSONResponse(body, status_code=status, headers=headers)


def describe_validation(errors: Sequence[Any]) -> str:
    """Turn pydantic's error list into one sentence a person can act on."""
    parts = []
    for item in errors:
        kind = item.get("type", "")
        location = [str(part) for part in item.get("loc", ()) if part != "body"]
        where = ".".join(location)
        if kind == "json_invalid":
            detail = item.get("ctx", {}).get("error", "")
            parts.append(
                f"Request body is not valid JSON ({detail})"
                if detail
                else "Request body is not valid JSON"
            )
        elif kind == "extra_forbidden":
            parts.append(f"Unknown field '{where}'")
        elif kind == "missing":
            parts.append(f"Missing field '{where}'" if where else "Missing request body")
        else:
            message = str(item.get("msg", "invalid value")).removeprefix("Value error, ")
            parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts) or "Invalid request"


async def _privlink_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PrivlinkError)
    return error_response(exc.status, exc.message)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(400, describe_validation(exc.errors()))


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "HTTP error"
    if exc.status_code == 404 and message == "Not Found":
        message = "No such API path; see /docs or /openapi.json for the paths privlink serves"
    return error_response(exc.status_code, message, headers=exc.headers)


async def _database_busy(_request: Request, exc: Exception) -> JSONResponse:
    """No free database connection in time, or the database is unreachable: the client
    should retry shortly (never a 500 for load)."""
    log.warning("database unavailable", error=repr(exc)[:300])
    return error_response(
        503, "The database is busy or unreachable; retry shortly", headers={"Retry-After": "1"}
    )


async def _unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", error=repr(exc))
    return error_response(500, "Internal error; the server log has the details")


def install(app: FastAPI) -> None:
    app.add_exception_handler(PrivlinkError, _privlink_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(sqlalchemy.exc.TimeoutError, _database_busy)
    app.add_exception_handler(sqlalchemy.exc.OperationalError, _database_busy)
    app.add_exception_handler(Exception, _unexpected_error)


_MEANING = {
    400: "The request is malformed or not acceptable; the message says what is accepted",
    401: "No token, or a token that matches no live one",
    403: "The token may not do this, or the feature or plan does not allow it",
    404: "No such object, or not visible to this token",
    409: "The object's state does not allow this now",
    503: "A dependency (database, cloud) cannot answer now",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, all with the one error body."""
    from privlink.api.schemas.common import ErrorBody

    return {s: {"model": ErrorBody, "description": _MEANING[s]} for s in statuses}


def install_openapi(app: FastAPI) -> None:
    """Validation errors answer 400 (`_validation_error`), not the framework's 422: say so."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    responses = operation.get("responses", {})
                    invalid = responses.pop("422", None)
                    if invalid is not None and "400" not in responses:
                        responses["400"] = {
                            "description": _MEANING[400],
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ErrorBody"}
                                }
                            },
                        }
            schemas = schema.get("components", {}).get("schemas", {})
            schemas.pop("HTTPValidationError", None)
            schemas.pop("ValidationError", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

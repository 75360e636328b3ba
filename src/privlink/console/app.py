"""How the console joins the app: its router, static files, and its two redirects."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from privlink.console import webhook_pages  # noqa: F401  (its pages join `pages`)
from privlink.console.routes import pages, router, templates
from privlink.console.session import BadForm, LoginRequired

STATIC = Path(__file__).parent / "static"

__all__ = ["STATIC", "install", "pages", "router"]


def install(app: FastAPI) -> None:
    """Add the console's pages, static files and redirects to `app`."""
    app.include_router(router)
    app.include_router(pages)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")

    async def to_login(_request: Request, _error: Exception) -> Response:
        return RedirectResponse("/login", status_code=303)

    async def bad_form(request: Request, error: Exception) -> Response:
        return templates.TemplateResponse(
            request,
            "not_found.html",
            {"caller": None, "message": str(error)},
            status_code=403,
        )

    app.add_exception_handler(LoginRequired, to_login)
    app.add_exception_handler(BadForm, bad_form)

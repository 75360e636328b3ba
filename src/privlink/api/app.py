"""The FastAPI application factory; nothing is built at import time."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

import privlink
from privlink.api import errors
from privlink.api.middleware import BodyLimit, RequestContext
from privlink.api.routes import health, projects
from privlink.api.state import AppState
from privlink.settings import Settings
from privlink.store.db import make_engine, make_sessionmaker


def create_app(settings: Settings, *, engine: Engine | None = None) -> FastAPI:
    engine = engine or make_engine(settings.database_url)
    registry = CollectorRegistry()
    app = FastAPI(
        title="privlink",
        version=privlink.__version__,
        description="PrivateLink control plane: an Aiven-compatible API plus native endpoints.",
    )
    app.state.privlink = AppState(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        registry=registry,
    )
    errors.install(app)
    app.include_router(health.router)
    app.include_router(projects.router)
    # Outermost last: RequestContext sees every response, including 413s.
    app.add_middleware(BodyLimit)
    app.add_middleware(RequestContext, registry=registry)
    return app

"""`privlink serve` and `privlink db …`: the commands that run against the database.

Loaded lazily by `cli.py`, so that the CLI's other commands start fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import structlog
import uvicorn
from sqlalchemy import Engine

from privlink import logs
from privlink.app import create_app
from privlink.services import certificates, demo_seed, sealed, tenancy
from privlink.settings import Settings
from privlink.store import migrate, sealing
from privlink.store.db import make_engine, make_sessionmaker

log = structlog.get_logger(__name__)
TOKEN_FILE = "admin-token"
DEMO_TOKEN_FILE = "demo-token"


def open_database(settings: Settings) -> Engine:
    """An engine whose schema is at the newest migration. The data folder holds the
    database and tokens: only its owner may enter it (0700)."""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    settings.data_dir.chmod(0o700)
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    return engine


def _save_token(path: Path, secret: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")


def _banner(settings: Settings, admin_secret: str | None) -> str:
    url = f"http://{settings.host}:{settings.port}"
    token_file = settings.data_dir / TOKEN_FILE
    lines = [
        f"privlink is serving on {url} (cloud: {settings.cloud}, database: "
        f"{settings.database_url.split('@')[-1]})",
        f"Web console: {url}/ (log in with an API token)",
    ]
    if admin_secret:
        lines += [
            "",
            "First start: an admin token was created. It is shown only this once",
            f"(a copy readable only by you is in {token_file}):",
            "",
            f"    {admin_secret}",
            "",
            "Next, in another terminal:",
            f"    curl -s -H 'Authorization: Bearer {admin_secret}' {url}/v1/project",
        ]
    else:
        lines += [
            f"Admin token: the one printed on first start (copy in {token_file});",
            "make another with `privlink admin token create --admin`.",
        ]
    return "\n".join(lines)


def _demo_banner(settings: Settings, secret: str) -> str:
    return "\n".join(
        [
            "",
            "",
            "Demo: project 'demo' with PrivateLink enabled: service 'demo-kafka', whose",
            "three brokers answer with their names, and 'demo-mqtt' on a dedicated plan.",
            "The project's token",
            f"(also in {settings.data_dir / DEMO_TOKEN_FILE}):",
            "",
            f"    {secret}",
            "",
            "Walk-throughs in the README: 'Inbound PrivateLink in five minutes' (publish",
            "demo-kafka to a customer VPC) and 'Outbound PrivateLink' (connect demo-mqtt to a",
            "customer's service). Turn the demo off with PRIVLINK_DEMO=0.",
        ]
    )


def serve(settings: Settings) -> None:
    logs.configure(settings.log_format, settings.log_level)
    engine = open_database(settings)
    with make_sessionmaker(engine, sealing.load(settings))() as session, session.begin():
        sealed.reseal(session)  # secrets stored before sealing existed
        certificates.fill_client_certificates(session)  # users made before they existed
        issued = tenancy.ensure_admin_token(session)
        demo_secret = demo_seed.seed(session) if settings.demo else None
    if issued is not None:
        _save_token(settings.data_dir / TOKEN_FILE, issued.secret)
    if demo_secret is not None:
        _save_token(settings.data_dir / DEMO_TOKEN_FILE, demo_secret)
    app = create_app(settings, engine=engine, freeze_startup=True)
    banner = _banner(settings, issued.secret if issued else None)
    if demo_secret is not None:
        banner += _demo_banner(settings, demo_secret)
    print(banner, file=sys.stderr, flush=True)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    try:
        uvicorn.Server(config).run()
    except KeyboardInterrupt:
        # uvicorn re-raises the SIGINT it handled after a graceful shutdown;
        # the stop was asked for, so end quietly with status 0.
        pass
    finally:
        engine.dispose()


def db_upgrade(settings: Settings) -> str:
    engine = open_database(settings)
    try:
        return migrate.current_revision(engine) or "empty"
    finally:
        engine.dispose()

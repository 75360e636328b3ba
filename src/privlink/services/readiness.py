"""Is the database ready to serve: reachable, and its schema at the newest migration."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from privlink.store import migrate


def problem(engine: Engine) -> str | None:
    """Why the database cannot serve now, or None when it can."""
    try:
        at_head = migrate.is_at_head(engine)
    except SQLAlchemyError as error:
        return f"Database unreachable: {error.__class__.__name__}"
    if not at_head:
        return "Database schema is not at the newest migration; run `privlink db upgrade`"
    return None

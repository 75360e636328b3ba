"""Alembic environment: runs against the engine handed over in `config.attributes`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from privlink.store.metadata import METADATA

config = context.config
engine = config.attributes["engine"]
sqlite = engine.dialect.name == "sqlite"

with engine.connect() as connection:
    if sqlite:
        # SQLite alters a table by copying it to a new one and dropping the old, which
        # rows of other tables still point at: foreign keys are checked after, not during
        # (the pragma only works outside a transaction, so before the migration's begins).
        connection.execute(text("PRAGMA foreign_keys=OFF"))
        connection.commit()
    context.configure(
        connection=connection,
        target_metadata=METADATA,
        render_as_batch=sqlite,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        connection.commit()
        broken = connection.execute(text("PRAGMA foreign_key_check")).all()
        connection.execute(text("PRAGMA foreign_keys=ON"))
        if broken:
            raise RuntimeError(f"Migration left rows pointing at nothing: {broken[:5]}")

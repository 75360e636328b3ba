"""change generations: one table of counters (forwarding, responses) replaces lc_generation

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27 21:32:26.914831
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    generations = op.create_table(
        "generations",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_generations")),
    )
    op.bulk_insert(
        generations, [{"name": "forwarding", "value": 0}, {"name": "responses", "value": 0}]
    )
    # Carry the data plane's count over, so a running replica's next look sees a change.
    op.execute(
        "UPDATE generations SET value = (SELECT value + 1 FROM lc_generation WHERE id = 1)"
        " WHERE name = 'forwarding'"
    )
    op.drop_table("lc_generation")


def downgrade() -> None:
    lc_generation = op.create_table(
        "lc_generation",
        sa.Column("id", sa.INTEGER(), nullable=False),
        sa.Column("value", sa.INTEGER(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lc_generation")),
    )
    op.bulk_insert(lc_generation, [{"id": 1, "value": 0}])
    op.drop_table("generations")

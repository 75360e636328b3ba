"""per-object resync times

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27 19:15:50.197356
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


QUEUED = ("outbound_links", "privatelinks", "project_vpcs")


def upgrade() -> None:
    for table in QUEUED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("resync_at", sa.DateTime(timezone=True), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_resync_at"), ["resync_at"])


def downgrade() -> None:
    for table in QUEUED:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_resync_at"))
            batch_op.drop_column("resync_at")

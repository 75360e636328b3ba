"""Token roles: operator, admin (one project), read-only (one project)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

tokens = sa.table("api_tokens", sa.column("role", sa.String), sa.column("is_admin", sa.Boolean))


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=16), server_default="admin", nullable=False)
        )
    op.execute(tokens.update().where(tokens.c.is_admin == sa.true()).values(role="operator"))
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_column("is_admin")


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(
            sa.Column("is_admin", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.execute(tokens.update().where(tokens.c.role == "operator").values(is_admin=True))
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_column("role")

"""Azure and Google PrivateLinks: the provider, resource IDs, approvals and user IPs.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-28 09:55:44.298831
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("privatelink_connections", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("resource_id", sa.String(length=400), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("psc_connection_id", sa.String(length=32), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("approved", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("user_ip_address", sa.String(length=45), nullable=True))

    with op.batch_alter_table("privatelinks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("provider", sa.String(length=8), server_default="aws", nullable=False)
        )
        batch_op.add_column(
            sa.Column("resource_id", sa.String(length=400), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("privatelinks", schema=None) as batch_op:
        batch_op.drop_column("resource_id")
        batch_op.drop_column("provider")

    with op.batch_alter_table("privatelink_connections", schema=None) as batch_op:
        batch_op.drop_column("user_ip_address")
        batch_op.drop_column("approved")
        batch_op.drop_column("psc_connection_id")
        batch_op.drop_column("resource_id")

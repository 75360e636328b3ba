"""index privatelinks.aws_service_id: a customer's endpoint change wakes the PrivateLink
publishing that endpoint service, found by it (a scan of every PrivateLink before)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-28 01:56:23.388904
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("privatelinks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_privatelinks_aws_service_id"), ["aws_service_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("privatelinks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privatelinks_aws_service_id"))

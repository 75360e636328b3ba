"""Local-cloud resources keep their owner tag in an indexed `finder` column (filled in for
the rows already there), so a lookup by owner reads only that owner's rows

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 17:16:27.844863
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TABLES = {
    "lc_endpoint_services": "id",
    "lc_endpoints": "id",
    "lc_listeners": "arn",
    "lc_load_balancers": "arn",
    "lc_security_groups": "id",
    "lc_subnets": "id",
    "lc_target_groups": "arn",
    "lc_vpcs": "id",
}


def upgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("finder", sa.String(length=200), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{name}_finder"), ["finder"], unique=False)
    _fill_finders()


# The owner tags as they were when this revision was written (privlink.domain.naming).
OWNER_KEYS = (
    "privlink:privatelink",
    "privlink:outbound",
    "privlink:deployment",
    "privlink:project-vpc",
)


def _fill_finders() -> None:
    connection = op.get_bind()
    for name, key in TABLES.items():
        table = sa.table(name, sa.column(key), sa.column("tags", sa.JSON), sa.column("finder"))
        for row_key, tags in connection.execute(sa.select(table.c[key], table.c.tags)).all():
            found = next((f"{k}={tags[k]}"[:200] for k in OWNER_KEYS if k in (tags or {})), None)
            if found is not None:
                connection.execute(
                    sa.update(table).where(table.c[key] == row_key).values(finder=found)
                )


def downgrade() -> None:
    for name in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{name}_finder"))
            batch_op.drop_column("finder")

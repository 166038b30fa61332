"""plan.archived_at / archived_by: an archived plan is read-only, off the dashboards and the flows

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plan") as plan:
        plan.add_column(
            sa.Column("archived_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        plan.add_column(sa.Column("archived_by", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plan") as plan:
        plan.drop_column("archived_by")
        plan.drop_column("archived_at")

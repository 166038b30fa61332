"""plan and task reporting cadence (每月25日前报送…): the scheduled open_round flow reads it

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 10:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plan") as plan:
        plan.add_column(sa.Column("cadence", sa.String(length=16), nullable=True))
        plan.add_column(sa.Column("cadence_day", sa.Integer(), nullable=True))
        plan.add_column(sa.Column("cadence_adjust", sa.String(length=16), nullable=True))
        plan.add_column(sa.Column("cadence_from", sa.Date(), nullable=True))
        plan.add_column(sa.Column("cadence_until", sa.Date(), nullable=True))
    with op.batch_alter_table("task") as task:
        task.add_column(sa.Column("cadence", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("task") as task:
        task.drop_column("cadence")
    with op.batch_alter_table("plan") as plan:
        for name in ("cadence_until", "cadence_from", "cadence_adjust", "cadence_day", "cadence"):
            plan.drop_column(name)

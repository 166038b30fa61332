"""notification.person, budget_day, merged_into: the reminder budget (基层减负)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification") as batch:
        batch.add_column(sa.Column("person", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("budget_day", sa.Date(), nullable=True))
        batch.add_column(sa.Column("merged_into", sa.Integer(), nullable=True))
        batch.create_index("ix_notification_budget", ["person", "budget_day"])


def downgrade() -> None:
    with op.batch_alter_table("notification") as batch:
        batch.drop_index("ix_notification_budget")
        batch.drop_column("merged_into")
        batch.drop_column("budget_day")
        batch.drop_column("person")

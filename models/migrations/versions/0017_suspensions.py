"""suspension: 暂停, one row per pause of an assignment, kept after it is resumed

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "suspension",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("assignment_id", sa.Integer(), sa.ForeignKey("assignment.id"), nullable=False),
        sa.Column("suspended_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("suspended_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("resumed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("resumed_by", sa.String(length=200), nullable=True),
        sa.Column("working_days", sa.Integer(), nullable=True),
        sa.Column("due_on_before", sa.Date(), nullable=True),
        sa.Column("due_on_after", sa.Date(), nullable=True),
    )
    op.create_index(
        "ix_suspension_assignment_resumed", "suspension", ["assignment_id", "resumed_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_suspension_assignment_resumed", table_name="suspension")
    op.drop_table("suspension")

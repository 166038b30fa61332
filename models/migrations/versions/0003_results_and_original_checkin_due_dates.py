"""compiled results, and each check-in's original due date

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "results_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("as_of", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("compiled_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("compiled_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("out_dir", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("published_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"]),
        sa.ForeignKeyConstraint(["round_id"], ["supervision_round.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("results_report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_results_report_plan_id"), ["plan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_results_report_round_id"), ["round_id"], unique=False)

    # On-time rates count against the date first set; an approved extension moves only due_on.
    with op.batch_alter_table("check_in", schema=None) as batch_op:
        batch_op.add_column(sa.Column("original_due_on", sa.Date(), nullable=True))
    op.execute("UPDATE check_in SET original_due_on = due_on WHERE original_due_on IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("check_in", schema=None) as batch_op:
        batch_op.drop_column("original_due_on")
    with op.batch_alter_table("results_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_results_report_round_id"))
        batch_op.drop_index(batch_op.f("ix_results_report_plan_id"))
    op.drop_table("results_report")

"""directive, directive_unit: 领导批示 and each unit's reply

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 17:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "directive",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("task.id"), nullable=False),
        sa.Column("assignment_id", sa.Integer(), sa.ForeignKey("assignment.id"), nullable=True),
        sa.Column("leader", sa.String(length=200), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("closed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("close_note", sa.String(length=2000), nullable=True),
    )
    op.create_index("ix_directive_task_id", "directive", ["task_id"])
    op.create_index("ix_directive_assignment_id", "directive", ["assignment_id"])
    op.create_index("ix_directive_leader", "directive", ["leader"])
    op.create_index("ix_directive_state", "directive", ["state"])
    op.create_table(
        "directive_unit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("directive_id", sa.Integer(), sa.ForeignKey("directive.id"), nullable=False),
        sa.Column("assignment_id", sa.Integer(), sa.ForeignKey("assignment.id"), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("unit.id"), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reply", sa.String(length=2000), nullable=True),
        sa.Column("replied_by", sa.String(length=200), nullable=True),
        sa.Column("replied_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    )
    op.create_index("ix_directive_unit_directive_id", "directive_unit", ["directive_id"])
    op.create_index("ix_directive_unit_assignment_id", "directive_unit", ["assignment_id"])
    op.create_index("ix_directive_unit_unit_id", "directive_unit", ["unit_id"])


def downgrade() -> None:
    for index in ("unit_id", "assignment_id", "directive_id"):
        op.drop_index(f"ix_directive_unit_{index}", table_name="directive_unit")
    op.drop_table("directive_unit")
    for index in ("state", "leader", "assignment_id", "task_id"):
        op.drop_index(f"ix_directive_{index}", table_name="directive")
    op.drop_table("directive")

"""escalation_note: the office's notes and 会商 outcomes on escalated items

Revision ID: 0020
Revises: 0018
Create Date: 2026-12-02 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0020"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "escalation_note",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("assignment_id", sa.Integer(), sa.ForeignKey("assignment.id"), nullable=False),
        sa.Column("round_id", sa.Integer(), sa.ForeignKey("supervision_round.id"), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(length=2000), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_escalation_note_assignment_id", "escalation_note", ["assignment_id"])


def downgrade() -> None:
    op.drop_index("ix_escalation_note_assignment_id", table_name="escalation_note")
    op.drop_table("escalation_note")

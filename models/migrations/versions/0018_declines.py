"""decline: 退办 requests and the office's decisions; assignment.sign_from restarts the 签收 window

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("assignment") as assignment:
        assignment.add_column(
            sa.Column("sign_from", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    op.create_table(
        "decline",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("assignment_id", sa.Integer(), sa.ForeignKey("assignment.id"), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("unit.id"), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("requested_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("decision_reason", sa.String(length=2000), nullable=True),
        sa.Column("new_assignment_id", sa.Integer(), sa.ForeignKey("assignment.id"), nullable=True),
        sa.Column("new_role", sa.String(length=16), nullable=True),
    )
    op.create_index("ix_decline_assignment_id", "decline", ["assignment_id"])
    op.create_index("ix_decline_state", "decline", ["state"])


def downgrade() -> None:
    op.drop_index("ix_decline_state", table_name="decline")
    op.drop_index("ix_decline_assignment_id", table_name="decline")
    op.drop_table("decline")
    with op.batch_alter_table("assignment") as assignment:
        assignment.drop_column("sign_from")

"""checkin_version: every filing kept as it was; filing_draft: text typed into an expired session

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 05:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checkin_version",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("checkin_id", sa.Integer(), sa.ForeignKey("check_in.id"), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("prior_state", sa.String(length=16), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("percent", sa.Integer(), nullable=True),
        sa.Column("milestone", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("problems", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("filed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("filed_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.UniqueConstraint("checkin_id", "revision"),
    )
    op.create_index("ix_checkin_version_checkin_id", "checkin_version", ["checkin_id"])
    # A check-in filed before versions were kept: its current content is its one known version.
    op.execute(
        "INSERT INTO checkin_version (checkin_id, revision, kind, prior_state, text, percent, "
        "milestone, problems, evidence, completed, filed_at, filed_by) "
        "SELECT id, revision, 'filed', 'pending', text, percent, milestone, problems, evidence, "
        "completed, submitted_at, COALESCE(submitted_by, '') FROM check_in "
        "WHERE submitted_at IS NOT NULL"
    )
    op.create_table(
        "filing_draft",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("assignment_id", sa.Integer(), sa.ForeignKey("assignment.id"), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("percent", sa.Integer(), nullable=True),
        sa.Column("problems", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("saved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("user_id", "assignment_id"),
    )


def downgrade() -> None:
    op.drop_table("filing_draft")
    op.drop_index("ix_checkin_version_checkin_id", "checkin_version")
    op.drop_table("checkin_version")

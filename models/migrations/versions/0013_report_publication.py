"""results_report: 期号, 文号 and withdrawal (the 通报's draft → published → withdrawn)

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-02 06:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("results_report") as batch:
        batch.add_column(sa.Column("issue_year", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("issue_no", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("doc_no", sa.String(length=60), nullable=True))
        batch.add_column(
            sa.Column("withdrawn_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
        batch.add_column(sa.Column("withdrawn_by", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("withdraw_reason", sa.String(length=500), nullable=True))
        batch.create_unique_constraint("uq_results_report_doc_no", ["doc_no"])


def downgrade() -> None:
    with op.batch_alter_table("results_report") as batch:
        batch.drop_constraint("uq_results_report_doc_no", type_="unique")
        for name in (
            "withdraw_reason",
            "withdrawn_by",
            "withdrawn_at",
            "doc_no",
            "issue_no",
            "issue_year",
        ):
            batch.drop_column(name)

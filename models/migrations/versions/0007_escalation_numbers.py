"""escalation numbers: one locked counter per year instead of count()+1

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "escalation_number",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    # Numbers already given out ("督〔2022〕007号"): each year goes on from the highest one, so no
    # number is given twice (the year is characters 3-6, the number what lies between 〕 and 号).
    op.execute(
        "INSERT INTO escalation_number (year, last) "
        "SELECT CAST(substr(number, 3, 4) AS INTEGER), "
        "max(CAST(substr(number, 8, length(number) - 8) AS INTEGER)) "
        "FROM escalation WHERE number LIKE '督〔____〕%号' GROUP BY CAST(substr(number, 3, 4) AS "
        "INTEGER)"
    )


def downgrade() -> None:
    op.drop_table("escalation_number")

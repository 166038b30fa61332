"""escalation.item_since: the row that stands for its item on the office's desk

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ON_DESK = sa.text("item_since IS NOT NULL")

# Each open item (assignment and round) in a live plan, marked at its highest open level (the
# lowest id on a tie) with the moment its first open level was raised: models.escalations'
# mark_items as of this revision, for every item at once.
MARK = """
UPDATE escalation SET item_since = ranked.first
FROM (
    SELECT e.id AS id,
        row_number() OVER (PARTITION BY e.assignment_id, e.round_id ORDER BY e.level DESC, e.id)
            AS rank,
        min(e.opened_at) OVER (PARTITION BY e.assignment_id, e.round_id) AS first
    FROM escalation AS e
    JOIN assignment AS a ON a.id = e.assignment_id
    JOIN task AS t ON t.id = a.task_id
    WHERE e.resolved_at IS NULL
        AND t.plan_id NOT IN (SELECT id FROM plan WHERE archived_at IS NOT NULL)
) AS ranked
WHERE escalation.id = ranked.id AND ranked.rank = 1
"""


def upgrade() -> None:
    with op.batch_alter_table("escalation") as batch_op:
        batch_op.add_column(
            sa.Column("item_since", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    op.execute(MARK)
    op.create_index(
        "ix_escalation_on_desk",
        "escalation",
        ["level", "item_since", "number", "stall"],
        sqlite_where=ON_DESK,
        postgresql_where=ON_DESK,
    )
    op.create_index(
        "ix_escalation_office_desk",
        "escalation",
        ["stall"],
        sqlite_where=ON_DESK,
        postgresql_where=ON_DESK,
    )


def downgrade() -> None:
    op.drop_index("ix_escalation_office_desk", table_name="escalation")
    op.drop_index("ix_escalation_on_desk", table_name="escalation")
    with op.batch_alter_table("escalation") as batch_op:
        batch_op.drop_column("item_since")

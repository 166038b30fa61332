"""escalation.directive_id, escalation_note.directive_id: each 领导批示 its own item on the desk;
ix_escalation_desk_item: the desk filtered by unit or task

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-03 18:00:00

Two 批示 on one assignment were one desk item (assignment, no round): the second's levels hid under
the first's. A 批示's rungs now name it, and so does a note on its item; the items are marked
again, each 批示 apart (models.escalations' mark_items as of this revision). A unit's or a task's
items are found through their assignments' marks, not by reading every mark.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ON_DESK = sa.text("item_since IS NOT NULL")

# The 批示 rungs' assignments: their items are marked again below.
DIRECTIVE_ITEMS = "SELECT assignment_id FROM escalation WHERE stall = 'directive'"

# A note on a 批示's item (no round) belongs to the 批示 whose row the desk showed it under: the
# item's marked row, else its newest rung.
NOTES = """
UPDATE escalation_note SET directive_id = (
    SELECT e.directive_id FROM escalation AS e
    WHERE e.assignment_id = escalation_note.assignment_id AND e.round_id IS NULL
        AND e.directive_id IS NOT NULL
    ORDER BY e.item_since IS NULL, e.id DESC
    LIMIT 1
)
WHERE round_id IS NULL
"""

UNMARK = f"UPDATE escalation SET item_since = NULL WHERE assignment_id IN ({DIRECTIVE_ITEMS})"

MARK = f"""
UPDATE escalation SET item_since = ranked.first
FROM (
    SELECT e.id AS id,
        row_number() OVER (
            PARTITION BY e.assignment_id, e.round_id, e.directive_id ORDER BY e.level DESC, e.id
        ) AS rank,
        min(e.opened_at) OVER (PARTITION BY e.assignment_id, e.round_id, e.directive_id) AS first
    FROM escalation AS e
    JOIN assignment AS a ON a.id = e.assignment_id
    JOIN task AS t ON t.id = a.task_id
    WHERE e.resolved_at IS NULL
        AND e.assignment_id IN ({DIRECTIVE_ITEMS})
        AND t.plan_id NOT IN (SELECT id FROM plan WHERE archived_at IS NOT NULL)
) AS ranked
WHERE escalation.id = ranked.id AND ranked.rank = 1
"""


def _directive_of(stage_key: str) -> int:
    """`d<批示>:a<分工>:l<n>` (models.directive_ladder.stage_prefix): the 批示's id."""
    return int(stage_key.split(":", 1)[0][1:])


def upgrade() -> None:
    for table in ("escalation", "escalation_note"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("directive_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                f"fk_{table}_directive_id_directive", "directive", ["directive_id"], ["id"]
            )
    connection = op.get_bind()
    rungs = connection.execute(
        sa.text("SELECT id, stage_key FROM escalation WHERE stall = 'directive'")
    ).all()
    for start in range(0, len(rungs), 5000):
        connection.execute(
            sa.text("UPDATE escalation SET directive_id = :directive WHERE id = :id"),
            [{"id": i, "directive": _directive_of(key)} for i, key in rungs[start : start + 5000]],
        )
    op.execute(NOTES)
    op.execute(UNMARK)
    op.execute(MARK)
    op.create_index(
        "ix_escalation_desk_item",
        "escalation",
        ["assignment_id"],
        sqlite_where=ON_DESK,
        postgresql_where=ON_DESK,
    )


def downgrade() -> None:
    op.drop_index("ix_escalation_desk_item", table_name="escalation")
    for table in ("escalation_note", "escalation"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_directive_id_directive", type_="foreignkey")
            batch_op.drop_column("directive_id")

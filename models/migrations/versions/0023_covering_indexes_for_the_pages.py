"""Covering indexes for the dashboard's headline and the office's verification queue

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 18:30:00

At 100,000 assignments the dashboard's three headline counts read the rows behind their indexes
(0.6 s together on a cold portal worker), and the verification queue sorted its 70,000 filings
for each page. Each index holds every column its query reads (BENCHMARKS.md, issue 16). The
check-ins' (state, due_on) index is replaced by the one that also holds the round.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_assignment_state_live_task", "assignment", ["state", "withdrawn_at", "task_id"]
    )
    op.create_index(
        "ix_escalation_open_items",
        "escalation",
        ["resolved_at", "assignment_id", "round_id", "level", "stall"],
    )
    op.create_index("ix_check_in_state_due_round", "check_in", ["state", "due_on", "round_id"])
    op.drop_index("ix_check_in_state_due", table_name="check_in")
    op.create_index("ix_check_in_review_queue", "check_in", ["state", "submitted_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_check_in_review_queue", table_name="check_in")
    op.create_index("ix_check_in_state_due", "check_in", ["state", "due_on"])
    op.drop_index("ix_check_in_state_due_round", table_name="check_in")
    op.drop_index("ix_escalation_open_items", table_name="escalation")
    op.drop_index("ix_assignment_state_live_task", table_name="assignment")

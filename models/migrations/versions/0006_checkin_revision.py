"""check-in revision: the office's review names the filing it read

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("check_in") as batch:
        batch.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))
    # A check-in filed before revisions were counted is its first filing.
    op.execute("UPDATE check_in SET revision = 1 WHERE submitted_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("check_in") as batch:
        batch.drop_column("revision")

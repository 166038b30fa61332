"""Channels beyond e-mail: a row's channel, address, fallback route and path; contacts' channels
and mobile; units' group robots; the shared rate-limit log

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 05:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification") as batch:
        batch.add_column(
            sa.Column("channel", sa.String(length=40), nullable=False, server_default="email")
        )
        batch.add_column(sa.Column("address", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("fallback", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("path", sa.JSON(), nullable=False, server_default="[]"))
    op.execute("UPDATE notification SET address = recipient_email")
    with op.batch_alter_table("contact") as batch:
        batch.add_column(sa.Column("mobile", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("channels", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("unit") as batch:
        batch.add_column(sa.Column("wecom_key", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("dingtalk_token", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("dingtalk_secret", sa.String(length=200), nullable=True))
    op.create_table(
        "rate_slot",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("destination", sa.String(length=200), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )
    op.create_index("ix_rate_slot_destination_at", "rate_slot", ["destination", "at"])


def downgrade() -> None:
    op.drop_index("ix_rate_slot_destination_at", table_name="rate_slot")
    op.drop_table("rate_slot")
    with op.batch_alter_table("unit") as batch:
        for name in ("dingtalk_secret", "dingtalk_token", "wecom_key"):
            batch.drop_column(name)
    with op.batch_alter_table("contact") as batch:
        batch.drop_column("channels")
        batch.drop_column("mobile")
    with op.batch_alter_table("notification") as batch:
        for name in ("path", "fallback", "address", "channel"):
            batch.drop_column(name)

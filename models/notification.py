"""The outbox: every message is a row first, written with the change that causes it."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String
from sqlmodel import Field, SQLModel

from models.labels import CHANNELS


class NotificationStatus(StrEnum):
    PENDING = "pending"  # waiting to be sent (again)
    CLAIMED = "claimed"  # a dispatcher is sending it; the claim expires
    SENT = "sent"
    DEAD = "dead"  # permanent failure, shown to the office
    MERGED = "merged"  # over the person's daily budget: sent inside the row `merged_into`


class Notification(SQLModel, table=True):
    __table_args__ = (
        Index("ix_notification_due", "status", "next_attempt_at"),
        Index("ix_notification_budget", "person", "budget_day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(
        max_length=300, unique=True, description="the same message is never enqueued twice"
    )
    kind: str = Field(max_length=40)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    recipient_name: str | None = None
    recipient_email: str | None = Field(default=None, max_length=320)
    channel: str = Field(
        default="email", max_length=40, description="the channel this row goes by now"
    )
    address: str | None = Field(
        default=None, max_length=320, description="its destination there (e-mail, mobile)"
    )
    fallback: list[list[str]] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False),
        description="the rest of the person's route, [[channel, address], ...], tried in order",
    )
    path: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False),
        description="the legs tried: [{channel, outcome, reason}, ...]",
    )
    lang: str = Field(default="zh", max_length=8)
    subject: str = ""
    body_text: str = ""
    body_html: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: NotificationStatus = Field(default=NotificationStatus.PENDING, sa_type=String(16))
    attempts: int = 0
    next_attempt_at: datetime
    claimed_by: str | None = None
    claim_expires_at: datetime | None = None
    sent_at: datetime | None = None
    message_id: str | None = None
    last_error: str | None = None
    maybe_sent: int = Field(
        default=0,
        description="times the server took the whole message and its answer never "
        "came back: it may have arrived that many times more",
    )
    created_at: datetime
    # The reminder budget (models.budget): whose day this message counts against, and where a
    # message over that budget went instead.
    person: str | None = Field(default=None, max_length=320)
    budget_day: date | None = None
    merged_into: int | None = None


class RateSlot(SQLModel, table=True):
    """One send to a rate-limited destination (a robot, a gateway): the shared sliding window."""

    __tablename__ = "rate_slot"
    __table_args__ = (Index("ix_rate_slot_destination_at", "destination", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    destination: str = Field(max_length=200)
    at: datetime


_STATUS_ZH = {"pending": "待发送", "claimed": "发送中", "sent": "已发送", "dead": "失败"}


def path_text(path: list[dict[str, Any]], channel: str, status: str) -> str:
    """The way a message went, for the office: "企业微信（失败：key无效）→ 邮件（已发送）"; the
    current leg last, unless the path already ends with it."""
    legs = []
    for leg in path:
        name = CHANNELS.get(str(leg.get("channel")), str(leg.get("channel")))
        if leg.get("outcome") == "sent":
            legs.append(f"{name}（已发送）")
        else:
            legs.append(f"{name}（失败：{leg.get('reason') or '未知原因'}）")
    if status in ("pending", "claimed"):
        legs.append(f"{CHANNELS.get(channel, channel)}（{_STATUS_ZH[status]}）")
    return (
        "→ ".join(legs) or f"{CHANNELS.get(channel, channel)}（{_STATUS_ZH.get(status, status)}）"
    )

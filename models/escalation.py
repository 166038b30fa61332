"""Escalations (督办) of stalled assignments, and extension requests (延期)."""

from datetime import date, datetime
from enum import IntEnum, StrEnum
from typing import Protocol

from sqlalchemy import Index, String, text
from sqlmodel import Field, SQLModel

# What the office itself has not done (a completion report it has not reviewed): it reminds the
# office and its head, climbs no higher than OFFICE_TOP_LEVEL, and never counts against the unit
# (no red light, not on the 会商 agenda, not in the unit's 督办 count; the 通报 shows it apart, as
# 办公室待审核).
OFFICE_STALLS = frozenset({"unreviewed"})
OFFICE_TOP_LEVEL = 2


def against_unit(stall: str) -> bool:
    """Whether an escalation of this stall is the unit's (True) or the office's own backlog."""
    return stall not in OFFICE_STALLS


def has_notice(level: int, stall: str) -> bool:
    """Whether an escalation is printed as a 督办通知单 (reports/notice.py): a unit's, at level 2
    or 3; a blue reminder is not a 督办单 to sign for, and the office's own backlog is not served
    on a unit."""
    return level >= Level.YELLOW and against_unit(stall)


# An escalated item: the assignment's stall in a round, or its part of a 批示 (round None); each
# shown once on the desk with its level history, counted once on the dashboard and in the 通报.
ItemKey = tuple[int, int | None, int | None]  # assignment, round, directive


class OnItem(Protocol):
    assignment_id: int
    round_id: int | None
    directive_id: int | None


def item_of(row: OnItem) -> ItemKey:
    """The item an escalation (or the office's note on it) belongs to."""
    return (row.assignment_id, row.round_id, row.directive_id)


class Level(IntEnum):
    BLUE = 1  # 提醒: liaison, cc unit head
    YELLOW = 2  # 催办: unit head, numbered 督办单
    RED = 3  # coordination mechanism: office and leading group, next 会商 agenda


# The rows `item_since` marks: the units' items in the order the desk pages them, by stall (the
# count and the office's own backlog), and by assignment (a unit or task filter).
_ON_DESK = text("item_since IS NOT NULL")


class Escalation(SQLModel, table=True):
    __table_args__ = (
        Index("ix_escalation_open_level", "resolved_at", "level"),
        # The dashboard's open items by highest level, grouped in index order (migration 0023).
        Index(
            "ix_escalation_open_items", "resolved_at", "assignment_id", "round_id", "level", "stall"
        ),
        Index(
            "ix_escalation_on_desk",
            "level",
            "item_since",
            "number",
            "stall",
            sqlite_where=_ON_DESK,
            postgresql_where=_ON_DESK,
        ),
        Index(
            "ix_escalation_office_desk", "stall", sqlite_where=_ON_DESK, postgresql_where=_ON_DESK
        ),
        # A unit's or a task's items: their assignments' marks (the desk's filters).
        Index(
            "ix_escalation_desk_item",
            "assignment_id",
            sqlite_where=_ON_DESK,
            postgresql_where=_ON_DESK,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    stage_key: str = Field(
        max_length=200, unique=True, description="fires once: assignment + round + level"
    )
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    round_id: int | None = Field(default=None, foreign_key="supervision_round.id", index=True)
    # A 领导批示's rung (stall "directive", no round): which 批示. Two 批示 on one assignment are
    # two items, each climbing its own ladder (`directive_ladder`'s stage keys name the 批示 too).
    directive_id: int | None = Field(default=None, foreign_key="directive.id")
    level: int = Field(ge=1, le=3)
    stall: str = Field(
        max_length=40, description="why it stalled: overdue, unsigned, idle, returned, unreviewed"
    )
    reason: str
    number: str | None = Field(
        default=None, max_length=40, unique=True, description="督办单 number"
    )
    opened_at: datetime
    resolved_at: datetime | None = None
    resolution: str | None = None
    # Set on the row that stands for its item (`ItemKey`) on the office's desk, None on
    # every other: the item's highest open level (its lowest id on a tie) in a live plan, holding
    # when the item's first still-open level was raised. `escalations.mark_items` keeps it whenever
    # a level is raised or resolved or the plan archived, so the desk need not rank the ladders.
    item_since: datetime | None = None


class EscalationNumber(SQLModel, table=True):
    """The last 督办单 number given out in a year: one row per year, incremented under its row lock.

    A counter rather than count()+1 (two runs counting at once gave out the same number) and rather
    than a sequence (SQLite has none; a rolled-back run would leave a gap in the office's register).
    """

    __tablename__ = "escalation_number"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int = 0


class ExtensionState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ExtensionRequest(SQLModel, table=True):
    __tablename__ = "extension_request"

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    requested_by: str
    requested_at: datetime
    original_due_on: date | None = None
    requested_due_on: date
    reason: str
    state: ExtensionState = Field(default=ExtensionState.PENDING, sa_type=String(16), index=True)
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None

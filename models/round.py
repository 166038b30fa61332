"""Supervision rounds (督导轮次) and the check-ins they collect."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint, exists
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Field, SQLModel

from models.db import table_of


class RoundState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CheckInState(StrEnum):
    PENDING = "pending"  # owed, not yet filed
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"


# What a unit still owes: never filed, or returned and not filed again. Reminders, escalations,
# lights, extensions, `duban status` and the 通报's "overdue" all count these, and nothing else.
OWED: Final = frozenset({CheckInState.PENDING, CheckInState.RETURNED})
# What a new filing may go to: an owed check-in, or one filed and still waiting for the office
# (filing again amends what the office has not reviewed yet; its review names the revision it
# read). An accepted one takes a new filing only while its assignment's work is still open
# (`WORK_OPEN`): a progress report was accepted and completion is still to come, or the office
# reopened the assignment. Otherwise accepted is final. `takes_filing` and `fileable` say this.
FILEABLE: Final = OWED | {CheckInState.SUBMITTED}
WORK_OPEN: Final = ("assigned", "in_progress")


class SupervisionRound(SQLModel, table=True):
    __tablename__ = "supervision_round"
    __table_args__ = (UniqueConstraint("plan_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    name: str = Field(max_length=200)
    report_by: date
    scope: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: RoundState = Field(default=RoundState.OPEN, sa_type=String(16), index=True)
    opened_at: datetime
    opened_by: str
    closed_at: datetime | None = None


class CheckIn(SQLModel, table=True):
    """What a unit owes in a round, and what it filed."""

    __tablename__ = "check_in"
    __table_args__ = (
        UniqueConstraint("round_id", "assignment_id"),
        Index("ix_check_in_round_state", "round_id", "state"),
        # What is owed by its due day, with the round to tell an open one: the dashboard's overdue
        # count reads only the index; the verification queue pages its filings in index order
        # (migration 0023).
        Index("ix_check_in_state_due_round", "state", "due_on", "round_id"),
        Index("ix_check_in_review_queue", "state", "submitted_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="supervision_round.id")
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    due_on: date = Field(description="current due date, extensions included")
    original_due_on: date | None = Field(
        default=None, description="on-time rates count against this"
    )
    state: CheckInState = Field(default=CheckInState.PENDING, sa_type=String(16))
    revision: int = Field(
        default=0,
        description="how many times the unit has filed it; the office's review names "
        "the one it read",
    )
    text: str | None = None
    percent: int | None = Field(default=None, ge=0, le=100)
    milestone: str | None = None
    problems: str | None = Field(default=None, description="需协调解决的问题")
    evidence: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    completed: bool = False
    submitted_at: datetime | None = None
    submitted_by: str | None = None
    reviewed_at: datetime | None = None
    reviewed_by: str | None = None
    review_reason: str | None = None


def owed() -> ColumnElement[bool]:
    """SQL: this check-in is still owed (`OWED`)."""
    return table_of(CheckIn).c.state.in_(sorted(s.value for s in OWED))


def takes_filing(checkin: CheckIn, assignment_state: str) -> bool:
    """A new filing may go to this check-in (`FILEABLE`, or accepted while the work is open)."""
    if checkin.state in FILEABLE:
        return True
    return checkin.state == CheckInState.ACCEPTED and str(assignment_state) in WORK_OPEN


def fileable() -> ColumnElement[bool]:
    """SQL: a new filing may go to this check-in (`takes_filing`)."""
    from models.assignment import Assignment

    checkins, assignments = table_of(CheckIn), table_of(Assignment)
    # Correlated on the assignment's key: one primary-key look-up per accepted check-in.
    work_open = exists().where(
        assignments.c.id == checkins.c.assignment_id, assignments.c.state.in_(WORK_OPEN)
    )
    return checkins.c.state.in_(sorted(s.value for s in FILEABLE)) | (
        (checkins.c.state == CheckInState.ACCEPTED.value) & work_open
    )


def in_open_round() -> ColumnElement[bool]:
    """SQL: this check-in belongs to a round that is still open."""
    rounds = table_of(SupervisionRound)
    return table_of(CheckIn).c.round_id.in_(
        rounds.select()
        .with_only_columns(rounds.c.id)
        .where(rounds.c.state == RoundState.OPEN.value)
    )

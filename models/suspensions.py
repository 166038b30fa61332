"""暂停: the office suspends an assignment with a reason and resumes it later.

While suspended an item's clock stops: no reminders, no escalation, no 催办, its light grey
(暂停). On resume its due date, and those of the check-ins it still owes in open rounds, move later
by the working days it was suspended (the statutory calendar, 调休 included).

A `suspension` row is one pause of one assignment, kept after it ends (when, why, by whom, for how
many working days), so the page shows the history and the 通报 counts what was paused at its
moment. Whether an item is paused is a two-state machine of its own (`TRANSITIONS`): the
assignment's lifecycle state is never touched.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import ColumnElement, Index, exists, func, or_
from sqlmodel import Field, Session, SQLModel, col, select

from models import audit, workflow
from models.assignment import Assignment
from models.clock import local_day, utc
from models.db import id_of
from models.errors import DubanError, ReasonRequired
from models.lifecycle import OFFICE, Actor
from models.round import CheckIn, RoundState, SupervisionRound, owed
from models.rounds import OPEN_STATES

if TYPE_CHECKING:  # the domain reads settings, never loads them
    from models.calendar import WorkingCalendar


class Pause(StrEnum):
    RUNNING = "running"  # 正常计时
    SUSPENDED = "suspended"  # 暂停


class PauseAction(StrEnum):
    SUSPEND = "suspend"  # 暂停
    RESUME = "resume"  # 恢复


# The one table of what may happen to an item's clock.
TRANSITIONS: Final[dict[tuple[Pause, PauseAction], Pause]] = {
    (Pause.RUNNING, PauseAction.SUSPEND): Pause.SUSPENDED,
    (Pause.SUSPENDED, PauseAction.RESUME): Pause.RUNNING,
}
PAUSE_ZH: Final = {Pause.RUNNING: "正常计时", Pause.SUSPENDED: "暂停中"}
ACTION_ZH: Final = {PauseAction.SUSPEND: "暂停", PauseAction.RESUME: "恢复"}


class Suspension(SQLModel, table=True):
    __table_args__ = (Index("ix_suspension_assignment_resumed", "assignment_id", "resumed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id")
    suspended_at: datetime
    suspended_by: str = Field(max_length=200)
    reason: str = Field(max_length=500)
    resumed_at: datetime | None = None
    resumed_by: str | None = Field(default=None, max_length=200)
    working_days: int | None = Field(default=None, description="suspended working days, on resume")
    due_on_before: date | None = None
    due_on_after: date | None = None


class PauseRefused(DubanError):
    """A second suspend, a resume of a running item, or a pause of a finished one."""

    zh = "{subject_zh}{why_zh}，不能{action_zh}。"
    en = "{subject} {why}; it cannot be {action}d"
    exit_code = 4


def open_suspension(session: Session, assignment_id: int) -> Suspension | None:
    return session.exec(
        select(Suspension).where(
            Suspension.assignment_id == assignment_id, col(Suspension.resumed_at).is_(None)
        )
    ).first()


def pause_of(session: Session, assignment_id: int) -> Pause:
    return Pause.RUNNING if open_suspension(session, assignment_id) is None else Pause.SUSPENDED


def available(session: Session, assignment: Assignment, actor: Actor) -> list[PauseAction]:
    """The pause actions this actor may take on this item now (the portal shows only these)."""
    if actor.role not in OFFICE or assignment.withdrawn_at is not None:
        return []
    pause = pause_of(session, id_of(assignment))
    if pause == Pause.RUNNING and str(assignment.state) not in OPEN_STATES:
        return []
    return [action for (state, action) in TRANSITIONS if state == pause]


def not_suspended() -> ColumnElement[bool]:
    """A filter on `Assignment`: its clock is running (reminders, escalations, 催办 use it)."""
    return ~exists().where(
        col(Suspension.assignment_id) == col(Assignment.id), col(Suspension.resumed_at).is_(None)
    )


def suspended_ids(session: Session, ids: Any) -> set[int]:
    """Which of the assignments `ids` selects (a subquery or a list) are suspended now."""
    return set(
        session.exec(
            select(Suspension.assignment_id).where(
                col(Suspension.resumed_at).is_(None), col(Suspension.assignment_id).in_(ids)
            )
        )
    )


def suspended_at(session: Session, moment: datetime) -> set[int]:
    """The assignments suspended at `moment` (the 通报 as of a date)."""
    at = utc(moment)
    return set(
        session.exec(
            select(Suspension.assignment_id).where(
                col(Suspension.suspended_at) <= at,
                or_(col(Suspension.resumed_at).is_(None), col(Suspension.resumed_at) > at),
            )
        )
    )


def history(session: Session, assignment_id: int) -> list[Suspension]:
    return list(
        session.exec(
            select(Suspension)
            .where(Suspension.assignment_id == assignment_id)
            .order_by(col(Suspension.suspended_at))
        )
    )


def last_resumed(session: Session) -> dict[int, datetime]:
    """Each resumed item's latest resume (UTC): the escalation ladder's clocks restart there."""
    return {
        a_id: utc(at)
        for a_id, at in session.exec(
            select(Suspension.assignment_id, func.max(Suspension.resumed_at))
            .where(col(Suspension.resumed_at).is_not(None))
            .group_by(col(Suspension.assignment_id))
        )
        if at is not None
    }


def count_suspended(session: Session) -> int:
    return int(
        session.exec(
            select(func.count(col(Suspension.id))).where(col(Suspension.resumed_at).is_(None))
        ).one()
    )


def suspended_working_days(start: date, end: date, calendar: WorkingCalendar) -> int:
    """Working days from the day the clock stopped up to, not including, the day it restarted."""
    if end <= start:
        return 0
    return calendar.working_days_between(start - timedelta(days=1), end - timedelta(days=1))


def _check(session: Session, assignment: Assignment, actor: Actor, action: PauseAction) -> Pause:
    if actor.role not in OFFICE:
        raise workflow.not_permitted(
            session, assignment, actor, action=action.value, action_zh=ACTION_ZH[action]
        )
    from models.archive import refuse_if_archived_assignment

    refuse_if_archived_assignment(session, assignment_id=id_of(assignment))  # read-only
    pause = pause_of(session, id_of(assignment))
    if (pause, action) not in TRANSITIONS:
        raise PauseRefused(
            why_zh="已暂停" if pause == Pause.SUSPENDED else "未暂停",
            why="is suspended already" if pause == Pause.SUSPENDED else "is not suspended",
            action_zh=ACTION_ZH[action],
            action=action.value,
            **workflow.describe(session, assignment),
        )
    if action == PauseAction.SUSPEND and (
        str(assignment.state) not in OPEN_STATES or assignment.withdrawn_at is not None
    ):
        raise PauseRefused(
            why_zh="已报结或已撤销",
            why="is handed in or withdrawn",
            action_zh=ACTION_ZH[action],
            action=action.value,
            **workflow.describe(session, assignment),
        )
    return pause


def suspend(
    session: Session, *, assignment_id: int, reason: str, actor: Actor, now: datetime
) -> Suspension:
    """The office stops an item's clock, with a reason."""
    # The row lock makes two presses at once wait for each other, so only one pause opens.
    session.exec(
        select(Assignment.id).where(Assignment.id == assignment_id).with_for_update()
    ).first()
    assignment = workflow.get_assignment(session, assignment_id)
    _check(session, assignment, actor, PauseAction.SUSPEND)
    if not reason.strip():
        raise ReasonRequired(action="suspend", action_zh="暂停")
    row = Suspension(
        assignment_id=assignment_id,
        suspended_at=utc(now),
        suspended_by=actor.name,
        reason=reason.strip(),
        due_on_before=assignment.due_on,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        at=now,
        actor=actor,
        action="suspension.suspend",
        object_type="assignment",
        object_id=assignment_id,
        task_id=assignment.task_id,
        unit_id=assignment.unit_id,
        after={"suspension": row.id, "pause": Pause.SUSPENDED.value},
        reason=row.reason,
    )
    return row


def resume(
    session: Session,
    *,
    assignment_id: int,
    actor: Actor,
    now: datetime,
    timezone: str,
    calendar: WorkingCalendar,
) -> Suspension:
    """The office restarts an item's clock; its due dates move by the suspended working days."""
    session.exec(
        select(Assignment.id).where(Assignment.id == assignment_id).with_for_update()
    ).first()
    assignment = workflow.get_assignment(session, assignment_id)
    _check(session, assignment, actor, PauseAction.RESUME)
    row = open_suspension(session, assignment_id)
    assert row is not None
    days = suspended_working_days(
        local_day(row.suspended_at, timezone), local_day(now, timezone), calendar
    )
    row.resumed_at, row.resumed_by, row.working_days = utc(now), actor.name, days
    row.due_on_before = assignment.due_on
    if assignment.due_on is not None:
        assignment.due_on = calendar.add_working_days(assignment.due_on, days)
        session.add(assignment)
    row.due_on_after = assignment.due_on
    moved = _move_checkins(session, assignment_id, days, calendar)
    session.add(row)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="suspension.resume",
        object_type="assignment",
        object_id=assignment_id,
        task_id=assignment.task_id,
        unit_id=assignment.unit_id,
        before={"due_on": row.due_on_before},
        after={
            "suspension": row.id,
            "pause": Pause.RUNNING.value,
            "working_days": days,
            "due_on": assignment.due_on,
            "checkin_due_on": max(moved) if moved else None,
        },
        reason=row.reason,
    )
    return row


def _move_checkins(
    session: Session, assignment_id: int, days: int, calendar: WorkingCalendar
) -> list[date]:
    """The check-ins the item still owes in open rounds move too; their new due dates."""
    moved = []
    for checkin in session.exec(
        select(CheckIn)
        .join(SupervisionRound, col(SupervisionRound.id) == col(CheckIn.round_id))
        .where(
            CheckIn.assignment_id == assignment_id,
            SupervisionRound.state == RoundState.OPEN,
            owed(),
        )
    ):
        checkin.due_on = calendar.add_working_days(checkin.due_on, days)
        session.add(checkin)
        moved.append(checkin.due_on)
    return moved


def facts(session: Session, assignment_id: int, timezone: str) -> dict[str, Any]:
    """What the assignment page shows: whether paused now, and each pause (when, why, by whom)."""
    from models.labels import local_time

    rows = history(session, assignment_id)
    return {
        "suspended": any(r.resumed_at is None for r in rows),
        "suspensions": [
            {
                "suspended_at": local_time(r.suspended_at, timezone),
                "suspended_by": r.suspended_by,
                "reason": r.reason,
                "resumed_at": local_time(r.resumed_at, timezone) if r.resumed_at else None,
                "resumed_by": r.resumed_by,
                "working_days": r.working_days,
                "due_on_before": r.due_on_before,
                "due_on_after": r.due_on_after,
            }
            for r in rows
        ],
    }

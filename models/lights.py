"""Traffic lights: green on pace, yellow behind the expected pace (序时进度) or due soon, red
overdue or at level 3.

A task's light is the worst of its assignments'; so is a unit's.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, func, select

from models.assignment import Assignment
from models.calendar import working_days_between
from models.escalation import Escalation
from models.lifecycle import HANDED_IN, State
from models.plan import Plan, Task
from models.round import CheckIn, CheckInState, RoundState, SupervisionRound

if TYPE_CHECKING:  # the domain reads settings, never loads them
    from config.settings import CycleRules

ORDER = {"green": 0, "yellow": 1, "red": 2}


def light(*, state: str, due_on: date | None, today: date, red_escalation: bool, percent: int | None,
          started_on: date | None, deadline: date | None, rules: CycleRules) -> str:
    if State(state) in HANDED_IN:
        return "green"
    if red_escalation or (due_on is not None and today > due_on):
        return "red"
    if due_on is not None and working_days_between(today, due_on) <= rules.warning_days:
        return "yellow"
    if deadline and started_on and deadline > started_on and today > started_on:
        expected = min(1.0, (today - started_on).days / (deadline - started_on).days)
        if (percent or 0) / 100 < expected - rules.pace_tolerance:
            return "yellow"
    return "green"


def lights(session: Session, *, today: date, rules: CycleRules) -> dict[str, dict[Any, str]]:
    """Lights of every open assignment, and of each task and unit (the worst of theirs)."""
    pending_due = dict(session.exec(
        select(CheckIn.assignment_id, func.min(CheckIn.due_on))
        .join(SupervisionRound, col(SupervisionRound.id) == col(CheckIn.round_id))
        .where(SupervisionRound.state == RoundState.OPEN,
               col(CheckIn.state).in_([CheckInState.PENDING.value, CheckInState.RETURNED.value]))
        .group_by(col(CheckIn.assignment_id))).all())
    latest_percent = dict(session.exec(
        select(CheckIn.assignment_id, func.max(CheckIn.percent)).where(col(CheckIn.percent).is_not(None))
        .group_by(col(CheckIn.assignment_id))).all())
    red = set(session.exec(select(Escalation.assignment_id).where(Escalation.level == 3,
                                                                  col(Escalation.resolved_at).is_(None))))
    rows = session.exec(
        # sqlmodel types select() for at most four columns; these rows are read by position below
        select(  # type: ignore[call-overload]
            Assignment.id, Assignment.task_id, Assignment.unit_id, Assignment.state, Assignment.due_on,
            Task.deadline, Plan.created_at)
        .join(Task, col(Task.id) == col(Assignment.task_id)).join(Plan, col(Plan.id) == col(Task.plan_id))
        .where(col(Assignment.withdrawn_at).is_(None), col(Task.withdrawn_at).is_(None)))
    by_assignment: dict[int, str] = {}
    by_task: dict[int, str] = {}
    by_unit: dict[int, str] = {}
    for a_id, task_id, unit_id, state, due_on, deadline, plan_created in rows:
        due = min((d for d in (due_on, pending_due.get(a_id)) if d), default=None)
        value = light(state=state, due_on=due, today=today, red_escalation=a_id in red,
                      percent=latest_percent.get(a_id), started_on=plan_created.date() if plan_created else None,
                      deadline=deadline, rules=rules)
        by_assignment[a_id] = value
        for table, key in ((by_task, task_id), (by_unit, unit_id)):
            if ORDER[value] >= ORDER[table.get(key, "green")]:
                table[key] = value
    return {"assignments": by_assignment, "tasks": by_task, "units": by_unit}


def counts(found: dict[str, dict[Any, str]]) -> dict[str, dict[str, int]]:
    return {scope: {c: Counter(values.values()).get(c, 0) for c in ORDER} for scope, values in found.items()}

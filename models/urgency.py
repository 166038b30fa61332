"""What a unit should do first: its assignments ordered by urgency, for the liaison's home page.

The rule (`urgency_of`), in the order the home page lists them:
  overdue        not yet handed in, and its due date has passed;
  due this week  not yet handed in, due on or before this week's Sunday (the office's calendar day);
  returned       the office returned its filing in an open round (`models.round.OWED`);
  escalated      an escalation (督办) against it is still open;
  to sign for    still assigned, not signed for (签收);
  in hand        in progress, nothing pressing;
  handed in      reported, verified or closed: the next move is the office's, so nothing it waits
                 for counts against the unit (an unreviewed report is the office's to remind).
The due date and the light are those of `models.lights` (one rule for both); the days left count
working days on the office's calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import IntEnum
from typing import Any

from sqlmodel import Session, col, select

from models.assignment import Assignment
from models.checkins import checkins_to_file
from models.escalation import Escalation
from models.lifecycle import HANDED_IN, State
from models.lights import light_facts, light_inputs, light_of
from models.plan import Plan, Task, live_plan
from models.round import CheckIn, CheckInState
from models.suspensions import suspended_ids


class Urgency(IntEnum):
    """Lower comes first on the home page."""

    OVERDUE = 0
    DUE_THIS_WEEK = 1
    RETURNED = 2
    ESCALATED = 3
    TO_SIGN = 4
    IN_HAND = 5
    HANDED_IN = 6


URGENCY_LABELS: dict[Urgency, str] = {
    Urgency.OVERDUE: "已逾期",
    Urgency.DUE_THIS_WEEK: "本周到期",
    Urgency.RETURNED: "被退回，需重新报送",
    Urgency.ESCALATED: "被督办",
    Urgency.TO_SIGN: "待签收",
    Urgency.IN_HAND: "办理中",
    Urgency.HANDED_IN: "已报结，待办公室办理",
}

# What the liaison does next about an item of each kind (the home page's first line).
NEXT_STEP: dict[Urgency, str] = {
    Urgency.OVERDUE: "已过截止日期，请尽快报送或申请延期",
    Urgency.DUE_THIS_WEEK: "本周内到期，请按时报送",
    Urgency.RETURNED: "请按退回意见修改后重新报送",
    Urgency.ESCALATED: "已被督办，请尽快办理并报送",
    Urgency.TO_SIGN: "请签收",
    Urgency.IN_HAND: "按进度报送",
    Urgency.HANDED_IN: "无需操作，等待办公室审核",
}


def week_end(today: date) -> date:
    """The Sunday of today's week: "this week" as the office says it."""
    return today + timedelta(days=6 - today.weekday())


def urgency_of(
    *, state: str, due_on: date | None, today: date, returned: bool, escalated: bool
) -> Urgency:
    """The one rule for how urgent an assignment is (see the module's docstring)."""
    if State(state) in HANDED_IN:
        return Urgency.HANDED_IN
    if due_on is not None and today > due_on:
        return Urgency.OVERDUE
    if due_on is not None and due_on <= week_end(today):
        return Urgency.DUE_THIS_WEEK
    if returned:
        return Urgency.RETURNED
    if escalated:
        return Urgency.ESCALATED
    if State(state) == State.ASSIGNED:
        return Urgency.TO_SIGN
    return Urgency.IN_HAND


@dataclass(frozen=True)
class Item:
    """One line of a liaison's home page."""

    assignment: Assignment
    task: Task
    urgency: Urgency
    light: str
    due_on: date | None  # the date owed by, or else the one the filed check-in was due
    days_left: int | None  # working days to the date owed by, negative when overdue; None if filed
    level: int | None  # the highest open escalation's
    escalation_number: str | None  # its 督办单
    checkin: CheckIn | None  # the check-in a filing goes to now

    @property
    def pressing(self) -> bool:
        """Something to do before the rest: overdue, due, returned, escalated or to sign for."""
        return self.urgency < Urgency.IN_HAND

    @property
    def label(self) -> str:
        return URGENCY_LABELS[self.urgency]

    @property
    def next_step(self) -> str:
        return NEXT_STEP[self.urgency]


def open_escalations(session: Session, which: Any) -> dict[int, Escalation]:
    """The highest open escalation of each assignment `which` selects (a subquery of ids)."""
    highest: dict[int, Escalation] = {}
    for escalation in session.exec(
        select(Escalation).where(
            col(Escalation.assignment_id).in_(which), col(Escalation.resolved_at).is_(None)
        )
    ):
        kept = highest.get(escalation.assignment_id)
        if kept is None or escalation.level > kept.level:
            highest[escalation.assignment_id] = escalation
    return highest


def unit_items(
    session: Session, *, unit_id: int, today: date, rules: Any, timezone: str
) -> list[Item]:
    """The unit's live assignments, most urgent first, then by due date and task number."""
    return items_of(session, unit_id=unit_id, today=today, rules=rules, timezone=timezone)


def assignment_item(
    session: Session, assignment: Assignment, *, today: date, rules: Any, timezone: str
) -> Item | None:
    """One assignment's line, as its unit's home page shows it (None once withdrawn)."""
    found = items_of(
        session,
        unit_id=assignment.unit_id,
        assignment_id=assignment.id,
        today=today,
        rules=rules,
        timezone=timezone,
    )
    return found[0] if found else None


def items_of(
    session: Session,
    *,
    unit_id: int,
    assignment_id: int | None = None,
    today: date,
    rules: Any,
    timezone: str,
) -> list[Item]:
    """The unit's live assignments (or the one `assignment_id`), most urgent first."""
    mine = select(Assignment.id).where(
        Assignment.unit_id == unit_id, col(Assignment.withdrawn_at).is_(None)
    )
    if assignment_id is not None:
        mine = mine.where(Assignment.id == assignment_id)
    query = (
        select(Assignment, Task, Plan.created_at)
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .join(Plan, col(Plan.id) == col(Task.plan_id))
        .where(col(Assignment.id).in_(mine), col(Task.withdrawn_at).is_(None))
    )
    if assignment_id is None:  # the inbox leaves archived plans out; their pages stay readable
        query = query.where(live_plan())
    rows = session.exec(query).all()
    owed_due, filings, red = light_facts(session, mine)
    paused = suspended_ids(session, mine)
    escalations = open_escalations(session, mine)
    to_file = checkins_to_file(session, unit_id=unit_id, assignment_id=assignment_id)
    items = []
    for assignment, task, created_at in rows:
        a_id = assignment.id or 0
        inputs = light_inputs(
            state=assignment.state,
            assignment_due_on=assignment.due_on,
            owed_due_on=owed_due.get(a_id, ()),
            filings=filings.get(a_id, ()),
            plan_created_at=created_at,
            deadline=task.deadline,
            red_escalation=a_id in red,
            timezone=timezone,
            suspended=a_id in paused,
        )
        checkin = to_file.get(a_id)
        escalation = escalations.get(a_id)
        due = inputs.due_on  # owed by: what urgency and the days left count to
        # Shown even once filed: a unit whose report waits for review still has a deadline (for
        # completion, for an extension), and the page lost it as soon as the unit filed.
        shown = due if due is not None or checkin is None else checkin.due_on
        items.append(
            Item(
                assignment=assignment,
                task=task,
                urgency=urgency_of(
                    state=assignment.state,
                    due_on=due,
                    today=today,
                    returned=checkin is not None and checkin.state == CheckInState.RETURNED,
                    escalated=escalation is not None,
                ),
                light=light_of(inputs, today=today, rules=rules),
                due_on=shown,
                days_left=None if due is None else rules.calendar.working_days_between(today, due),
                level=escalation.level if escalation else None,
                escalation_number=escalation.number if escalation else None,
                checkin=checkin,
            )
        )
    return sorted(items, key=lambda i: (i.urgency, i.due_on or date.max, i.task.number))

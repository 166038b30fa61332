"""The reminder ladder: T-3 and T-1 working days, the due day, then every few working days while
overdue.

A unit contact gets at most one digest a day, listing everything the unit
still owes, and only when one of its items reaches a step of the ladder;
nothing goes to a unit that has reported, and never an empty digest. The
dedup key is the unit, the contact and the day, so a rerun sends nothing new.
Messages go out only on working days, in working hours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlmodel import Session, col, select

from models import audit
from models.assignment import Assignment
from models.calendar import in_working_hours
from models.clock import local_day
from models.lifecycle import Actor
from models.outbox import enqueue_new
from models.plan import Plan, Task, live_plan
from models.recipients import message, unit_contacts
from models.round import CheckIn, RoundState, SupervisionRound, owed
from models.rounds import OPEN_STATES, item, round_payload
from models.suspensions import not_suspended
from models.unit import ContactRole, Unit

if TYPE_CHECKING:  # the domain reads settings, never loads them
    from config.settings import CycleRules, Settings
    from models.calendar import WorkingCalendar

URGENCY = {"t-3": 1, "t-1": 2, "due": 3, "overdue": 4}
_T = TypeVar("_T", bound=tuple[Any, ...])


@dataclass
class ReminderRun:
    skipped: str | None = None  # why nothing was considered (not a working day or hour)
    units: int = 0
    enqueued: int = 0
    stages: dict[str, int] = field(default_factory=dict)


def stage_of(today: date, due_on: date, rules: CycleRules) -> str | None:
    """Which step of the ladder an item owing a report reaches today, if any."""
    left = rules.calendar.working_days_between(today, due_on)
    if today == due_on:
        return "due"
    if left > 0:
        return f"t-{left}" if left in rules.reminder_before else None
    overdue = rules.calendar.working_days_between(due_on, today)
    return "overdue" if overdue > 0 and overdue % rules.overdue_every == 0 else None


def most_urgent(items: list[_T]) -> _T:
    """The item whose step a unit's digest is: each item is (stage or None, ...). Any stage beats
    none (a unit is triggered by some item's stage); among stages, URGENCY (overdue, due, t-1, t-3),
    and days the office adds to reminder_before (t-5) rank below those; a tie goes to the first."""
    return max(items, key=lambda i: (i[0] is not None, URGENCY.get(i[0] or "", 0)))


def send_reminders(
    session: Session, *, now: datetime, settings: Settings, actor: Actor
) -> ReminderRun:
    run = ReminderRun(skipped=in_working_hours(now, settings))
    if run.skipped:
        return run
    today = local_day(now, settings.timezone)
    calendar = settings.cycle.calendar
    rows = session.exec(
        # sqlmodel types select() for at most four columns; these rows are read by position below
        select(  # type: ignore[call-overload]
            CheckIn.id,
            CheckIn.due_on,
            Assignment.role,
            Task.number,
            Task.title,
            Unit.id,
            Unit.name,
            SupervisionRound.id,
            SupervisionRound.name,
            SupervisionRound.report_by,
            Plan.title,
            Assignment.id,
        )
        .join(Assignment, col(Assignment.id) == col(CheckIn.assignment_id))
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .join(SupervisionRound, col(SupervisionRound.id) == col(CheckIn.round_id))
        .join(Plan, col(Plan.id) == col(SupervisionRound.plan_id))
        .where(
            SupervisionRound.state == RoundState.OPEN,
            live_plan(),  # an archived plan reminds nobody
            owed(),
            col(Assignment.withdrawn_at).is_(None),
            col(Assignment.state).in_(OPEN_STATES),
            not_suspended(),  # a suspended item's clock stops
        )
        .order_by(Unit.id, CheckIn.due_on, Task.number)
    )
    by_unit: dict[int, list[tuple[str | None, dict[str, Any], dict[str, Any], str, str]]] = {}
    per_due: dict[
        date, tuple[str | None, int]
    ] = {}  # a round has few due dates: count working days once each
    for (
        checkin_id,
        due_on,
        role,
        number,
        title,
        unit_id,
        unit_name,
        _,
        round_name,
        report_by,
        plan_title,
        assignment_id,
    ) in rows:
        if due_on not in per_due:
            per_due[due_on] = (
                stage_of(today, due_on, settings.cycle),
                max(0, calendar.working_days_between(due_on, today)),
            )
        stage, days_overdue = per_due[due_on]
        entry = item(number, title, role, due_on, checkin_id, assignment_id) | {
            "days_overdue": days_overdue
        }
        round_info = round_payload(round_name, report_by)
        by_unit.setdefault(unit_id, []).append((stage, entry, round_info, plan_title, unit_name))
    triggered = {
        unit_id: items for unit_id, items in by_unit.items() if any(stage for stage, *_ in items)
    }
    liaisons = unit_contacts(session, triggered, ContactRole.LIAISON)
    messages: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for unit_id, items in triggered.items():
        urgent_stage, urgent, round_info, plan_title, unit_name = most_urgent(items)
        assert urgent_stage is not None
        run.stages[urgent_stage] = run.stages.get(urgent_stage, 0) + 1
        if unit_id not in liaisons:
            continue
        payload: dict[str, Any] = {
            "unit": unit_name,
            "round": round_info,
            "plan": {"title": plan_title},
            "items": [i for _, i, *_ in items],
        }
        kind = _digest_kind(payload, urgent_stage, urgent, today, calendar)
        key = f"digest:u{unit_id}:liaison:{today.isoformat()}"
        messages.append(message(kind, key, liaisons[unit_id], payload))
        events.append(
            {
                "at": now,
                "actor": actor,
                "action": "reminder.enqueue",
                "object_type": "unit",
                "object_id": unit_id,
                "unit_id": unit_id,
                "after": {"kind": kind, "stage": urgent_stage, "items": len(items), "key": key},
            }
        )
    run.units = len(triggered)
    new_keys = enqueue_new(session, messages, now=now)
    run.enqueued = len(new_keys)
    audit.record_many(
        session, [e for e in events if e["after"]["key"] in new_keys]
    )  # a rerun records nothing
    return run


def _digest_kind(
    payload: dict[str, Any],
    urgent_stage: str,
    urgent: dict[str, Any],
    today: date,
    calendar: WorkingCalendar,
) -> str:
    """The digest's kind; a reminder drops days_overdue and gains its stage and the days left to
    `urgent`, the item whose step this is (an earlier item may already be late, off the ladder)."""
    if urgent_stage == "overdue":
        kind = "overdue"
    else:
        kind = "reminder"
        for i in payload["items"]:
            i.pop("days_overdue")
        payload |= {
            "stage": urgent_stage,
            "days_left": calendar.working_days_between(today, date.fromisoformat(urgent["due_on"])),
        }
    return kind

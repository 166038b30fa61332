"""Supervision rounds: opening one (a check-in per open assignment in scope, a notice per unit),
closing it.

Opening is idempotent by plan and name. Cooperating units' check-ins fall
due a few working days before the round's date so the lead unit can
consolidate their input, but never before the day the round opens; a round
whose date has already passed is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from models import audit
from models.assignment import Assignment, AssignmentRole
from models.calendar import add_working_days, beyond_table
from models.clock import local_day, utc
from models.db import bulk_insert, id_of, table_of
from models.errors import DubanError, NotFound, ReportDateTooEarly, TextTooLong
from models.lifecycle import Actor, State
from models.outbox import enqueue_many
from models.plan import Plan, Task
from models.recipients import message, unit_contacts
from models.round import CheckIn, CheckInState, RoundState, SupervisionRound
from models.unit import ContactRole, Unit

OPEN_STATES = (State.ASSIGNED.value, State.IN_PROGRESS.value)


class RoundClosed(DubanError):
    zh = "督导轮次“{name}”已结束，不能再{what_zh}。"
    en = "the round '{name}' is closed; cannot {what}"
    exit_code = 4


@dataclass
class Opened:
    round: SupervisionRound
    created: bool
    checkins: int = 0
    notices: int = 0
    warnings: list[str] | None = None


def find_plan(session: Session, key: str) -> Plan:
    plan = session.exec(select(Plan).where(Plan.key == key)).first()
    if plan is None:
        raise NotFound(kind="plan", kind_zh="计划", key=key)
    return plan


def find_round(session: Session, plan: Plan, name: str) -> SupervisionRound:
    found = session.exec(select(SupervisionRound).where(SupervisionRound.plan_id == plan.id,
                                                        SupervisionRound.name == name)).first()
    if found is None:
        raise NotFound(kind="round", kind_zh="督导轮次", key=f"{plan.key}/{name}")
    return found


def item_payload(task: Task, assignment: Assignment, checkin: CheckIn) -> dict[str, Any]:
    """How a message names one check-in (see notifications/samples.py)."""
    return item(task.number, task.title, str(assignment.role), checkin.due_on, id_of(checkin), id_of(assignment))


def item(task_number: int, task_title: str, role: str, due_on: date, checkin_id: int,
         assignment_id: int) -> dict[str, Any]:
    """A message links to the assignment's portal page (notifications.links), the check-in is its
    round's."""
    return {"task_number": task_number, "task_title": task_title, "role": role, "due_on": due_on.isoformat(),
            "checkin_id": checkin_id, "assignment_id": assignment_id}


ROUND_NAME_LIMIT = 200  # SupervisionRound.name


def open_round(session: Session, *, plan_key: str, name: str, report_by: date, actor: Actor, now: datetime,
               cooperating_lead_days: int, task_numbers: list[int] | None = None,
               unit_names: list[str] | None = None, timezone: str = "Asia/Shanghai") -> Opened:
    """Open a round: one check-in per open assignment in scope, one notice per unit liaison."""
    if len(name) > ROUND_NAME_LIMIT:
        raise TextTooLong(what="round name", what_zh="轮次名称", length=len(name), limit=ROUND_NAME_LIMIT)
    plan = find_plan(session, plan_key)
    existing = session.exec(select(SupervisionRound).where(SupervisionRound.plan_id == plan.id,
                                                           SupervisionRound.name == name)).first()
    if existing is not None:
        return Opened(round=existing, created=False)
    opening_day = local_day(now, timezone)
    if report_by < opening_day:
        raise ReportDateTooEarly(report_by=report_by.isoformat(), today=opening_day.isoformat())
    at = utc(now)
    scope: dict[str, Any] = {"tasks": task_numbers or [], "units": unit_names or []}
    round_ = SupervisionRound(plan_id=id_of(plan), name=name, report_by=report_by, scope=scope, opened_at=at,
                              opened_by=actor.name)
    session.add(round_)
    session.flush()

    query = (select(Assignment.id, Assignment.unit_id, Assignment.role)
             .join(Task, col(Task.id) == col(Assignment.task_id))
             .where(Task.plan_id == plan.id, col(Task.withdrawn_at).is_(None), col(Assignment.withdrawn_at).is_(None),
                    col(Assignment.state).in_(OPEN_STATES)))
    if task_numbers:
        query = query.where(col(Task.number).in_(task_numbers))
    if unit_names:
        from models.planning import find_unit

        query = query.where(col(Assignment.unit_id).in_([find_unit(session, n).id for n in unit_names]))
    # A few working days early, but never before the round opens: a round due tomorrow must not make
    # its cooperating units overdue the day they hear of it.
    cooperating_due = max(add_working_days(report_by, -cooperating_lead_days), opening_day)
    rows: list[dict[str, Any]] = []
    for a_id, _unit_id, role in session.exec(query):
        due = cooperating_due if role == AssignmentRole.COOPERATING else report_by
        rows.append({"round_id": round_.id, "assignment_id": a_id, "state": CheckInState.PENDING.value,
                     "due_on": due, "original_due_on": due, "evidence": [], "completed": False})
    bulk_insert(session, table_of(CheckIn), rows)  # a province opens 100,000 check-ins at once
    warnings = []
    if beyond_table(report_by):
        warnings.append(f"{report_by.year} 年的法定节假日安排尚未收录，按周一至周五计算工作日；"
                        f"国务院通知发布后请录入 duban.toml 的 [calendar.{report_by.year}] / "
                        f"the {report_by.year} holiday calendar is not known yet: Monday to Friday assumed; "
                        f"enter it under [calendar.{report_by.year}] in duban.toml once it is published")
    notices = enqueue_many(session, round_notices(session, round_, plan), now=now)
    audit.record(session, at=now, actor=actor, action="round.open", object_type="round", object_id=round_.id,
                 after={"plan": plan.key, "name": name, "report_by": report_by, "scope": scope,
                        "checkins": len(rows), "notices": notices})
    return Opened(round=round_, created=True, checkins=len(rows), notices=notices, warnings=warnings)


def round_notices(session: Session, round_: SupervisionRound, plan: Plan) -> list[dict[str, Any]]:
    """One round_opened digest per unit liaison, listing everything the unit owes."""
    by_unit: dict[int, tuple[str, list[dict[str, Any]]]] = {}
    rows = session.exec(
        # sqlmodel types select() for at most four columns; these rows are read by position below
        select(  # type: ignore[call-overload]
            CheckIn.id, CheckIn.due_on, Assignment.role, Task.number, Task.title, Unit.id, Unit.name,
            Assignment.id)
        .join(Assignment, col(Assignment.id) == col(CheckIn.assignment_id))
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .where(CheckIn.round_id == round_.id)
        .order_by(Task.number)
    )
    for checkin_id, due_on, role, number, title, unit_id, unit_name, assignment_id in rows:
        by_unit.setdefault(unit_id, (unit_name, []))[1].append(item(number, title, role, due_on, checkin_id,
                                                                     assignment_id))
    liaisons = unit_contacts(session, by_unit, ContactRole.LIAISON)
    common = {"round": {"name": round_.name, "report_by": round_.report_by.isoformat()}, "plan": {"title": plan.title}}
    return [
        message("round_opened", f"round_opened:r{round_.id}:u{unit_id}:liaison", liaisons[unit_id],
                common | {"unit": unit_name, "items": items})
        for unit_id, (unit_name, items) in by_unit.items() if unit_id in liaisons
    ]


def close_round(session: Session, *, plan_key: str, name: str, actor: Actor, now: datetime) -> SupervisionRound:
    plan = find_plan(session, plan_key)
    round_ = find_round(session, plan, name)
    if round_.state == RoundState.CLOSED:
        return round_
    round_.state, round_.closed_at = RoundState.CLOSED, utc(now)
    session.add(round_)
    audit.record(session, at=now, actor=actor, action="round.close", object_type="round", object_id=round_.id,
                 before={"state": "open"}, after={"state": "closed"})
    return round_

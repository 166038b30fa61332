"""Supervision rounds: opening one (a check-in per open assignment in scope, a notice per unit),
closing it.

Opening is idempotent by plan and name. Cooperating units' check-ins fall
due a few working days before the round's date so the lead unit can
consolidate their input, but never before the day the round opens; a round
whose date has already passed is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, insert, literal
from sqlmodel import Session, col, select

from models import audit
from models.archive import refuse_if_archived
from models.assignment import Assignment, AssignmentRole
from models.calendar import STATUTORY, WorkingCalendar
from models.clock import local_day, utc
from models.db import id_of, table_of, take_turn
from models.errors import DubanError, NotFound, ReportDateTooEarly, TextTooLong
from models.lifecycle import Actor, State
from models.outbox import enqueue_many
from models.plan import Plan, Task
from models.recipients import message, unit_contacts, unreachable
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
    unreached: list[str] = field(default_factory=list)  # units nobody could be told of the round


def find_plan(session: Session, key: str) -> Plan:
    plan = session.exec(select(Plan).where(Plan.key == key)).first()
    if plan is None:
        raise NotFound(kind="plan", kind_zh="计划", key=key)
    return plan


def find_round(session: Session, plan: Plan, name: str) -> SupervisionRound:
    found = session.exec(
        select(SupervisionRound).where(
            SupervisionRound.plan_id == plan.id, SupervisionRound.name == name
        )
    ).first()
    if found is None:
        raise NotFound(kind="round", kind_zh="督导轮次", key=f"{plan.key}/{name}")
    return found


def resolve_plan(session: Session, key: str | None) -> Plan:
    """The plan a command names (`--plan`), or else the only one there is."""
    if key:
        return find_plan(session, key)
    plans = session.exec(select(Plan).order_by(col(Plan.id))).all()
    if len(plans) != 1:
        raise NotFound(
            kind="plan (give --plan)",
            kind_zh="计划（请用 --plan 指定）",
            key="、".join(p.key for p in plans) or "—",
        )
    return plans[0]


def resolve_round(
    session: Session, *, plan_key: str | None, name: str | None
) -> tuple[Plan, SupervisionRound]:
    """The round a command names: by name in the plan named, or in the one plan that has a round of
    that name; without a name, the latest open round of the plan (`resolve_plan`)."""
    if name is None:
        plan = resolve_plan(session, plan_key)
        latest = session.exec(
            select(SupervisionRound)
            .where(SupervisionRound.plan_id == plan.id, SupervisionRound.state == RoundState.OPEN)
            .order_by(col(SupervisionRound.id).desc())
        ).first()
        if latest is None:
            raise NotFound(kind="open round", kind_zh="进行中的督导轮次", key=plan.key)
        return plan, latest
    if plan_key:
        plan = find_plan(session, plan_key)
        return plan, find_round(session, plan, name)
    found = session.exec(
        select(SupervisionRound, Plan)
        .join(Plan, col(Plan.id) == col(SupervisionRound.plan_id))
        .where(SupervisionRound.name == name)
        .order_by(col(Plan.id))
    ).all()
    if len(found) != 1:  # none, or the same name in several plans: say which, and ask
        raise NotFound(
            kind="round" if not found else "round (give --plan)",
            kind_zh="督导轮次" if not found else "督导轮次（请用 --plan 指定）",
            key=name if not found else f"{name}：" + "、".join(p.key for _, p in found),
        )
    round_, plan = found[0]
    return plan, round_


def item_payload(task: Task, assignment: Assignment, checkin: CheckIn) -> dict[str, Any]:
    """How a message names one check-in (see notifications/samples.py)."""
    return item(
        task.number,
        task.title,
        str(assignment.role),
        checkin.due_on,
        id_of(checkin),
        id_of(assignment),
    )


def item(
    task_number: int, task_title: str, role: str, due_on: date, checkin_id: int, assignment_id: int
) -> dict[str, Any]:
    """A message links to the assignment's portal page (notifications.links), the check-in is its
    round's."""
    return {
        "task_number": task_number,
        "task_title": task_title,
        "role": role,
        "due_on": due_on.isoformat(),
        "checkin_id": checkin_id,
        "assignment_id": assignment_id,
    }


def round_payload(name: str, report_by: date) -> dict[str, str]:
    """How a message names its round (the templates' `round`; notifications/samples.py)."""
    return {"name": name, "report_by": report_by.isoformat()}


ROUND_NAME_LIMIT = 200  # SupervisionRound.name


class DueOnRestDay(DubanError):
    """A round due on a Sunday or holiday: the due-day reminder (working days only) would never go
    out."""

    zh = (
        "报送截止日期 {report_by} 不是工作日（周末或法定节假日），当天不会发送到期提醒：请改为 "
        "{earlier}（前一个工作日），"
        "或确需如此时加 --allow-holiday。"
    )
    en = (
        "the report-by date {report_by} is not a working day, so no due-day reminder would go "
        "out: choose {earlier} (the working day before) or pass --allow-holiday"
    )
    exit_code = 2


class TasksNotInPlan(DubanError):
    zh = "计划“{plan}”中没有任务 {missing}（现有任务序号 {known}），未开启轮次。"
    en = "the plan '{plan}' has no task {missing} (its tasks are {known}); no round was opened"
    exit_code = 3


class EmptyScope(DubanError):
    zh = "所选范围内没有待报送的任务分工（任务 {tasks}，单位 {units}），未开启轮次。"
    en = "nothing is open in the chosen scope (tasks {tasks}, units {units}); no round was opened"
    exit_code = 2


def _numbers(numbers: list[int]) -> str:
    """1,2,3,5 as "1–3、5": what an office reads in a message."""
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return (
        "、".join(f"{r[0]}–{r[-1]}" if len(r) > 2 else "、".join(map(str, r)) for r in runs) or "—"
    )


def open_round(
    session: Session,
    *,
    plan_key: str,
    name: str,
    report_by: date,
    actor: Actor,
    now: datetime,
    cooperating_lead_days: int,
    task_numbers: list[int] | None = None,
    unit_names: list[str] | None = None,
    timezone: str = "Asia/Shanghai",
    calendar: WorkingCalendar = STATUTORY,
    allow_holiday: bool = True,
) -> Opened:
    """Open a round: one check-in per open assignment in scope, one notice per unit liaison.

    `calendar` is the office's (`settings.working_calendar`): cooperating units' earlier date and
    whether the report-by date is a working day count in it. A scope naming a task the plan does not
    have, or holding nothing open, is refused before the round exists, so its name stays free.
    `allow_holiday=False` (the CLI's default) refuses a date that is not a working day; the
    scheduled flow passes True and gets a warning instead."""
    if len(name) > ROUND_NAME_LIMIT:
        raise TextTooLong(
            what="round name", what_zh="轮次名称", length=len(name), limit=ROUND_NAME_LIMIT
        )
    take_turn(session, "round.open")  # a second opening of the same round waits, then finds it open
    plan = find_plan(session, plan_key)
    refuse_if_archived(session, plan_id=id_of(plan))
    existing = session.exec(
        select(SupervisionRound).where(
            SupervisionRound.plan_id == plan.id, SupervisionRound.name == name
        )
    ).first()
    if existing is not None:
        return Opened(round=existing, created=False)
    opening_day = local_day(now, timezone)
    if report_by < opening_day:
        raise ReportDateTooEarly(report_by=report_by.isoformat(), today=opening_day.isoformat())
    rest_day = _check_report_by(report_by, calendar, allow_holiday=allow_holiday)
    if task_numbers:
        _check_tasks(session, plan, task_numbers)
    at = utc(now)
    scope: dict[str, Any] = {"tasks": task_numbers or [], "units": unit_names or []}
    round_ = SupervisionRound(
        plan_id=id_of(plan),
        name=name,
        report_by=report_by,
        scope=scope,
        opened_at=at,
        opened_by=actor.name,
    )
    session.add(round_)
    session.flush()

    # A few working days early, but never before the round opens: a round due tomorrow must not make
    # its cooperating units overdue the day they hear of it.
    cooperating_due = max(calendar.add_working_days(report_by, -cooperating_lead_days), opening_day)
    checkins = _insert_checkins(
        session,
        plan,
        round_,
        report_by=report_by,
        cooperating_due=cooperating_due,
        task_numbers=task_numbers,
        unit_names=unit_names,
    )
    warnings = _round_warnings(report_by, calendar, rest_day=rest_day)
    messages, unreached = round_notices(session, round_, plan)
    notices = enqueue_many(session, messages, now=now)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="round.open",
        object_type="round",
        object_id=round_.id,
        after={
            "plan": plan.key,
            "name": name,
            "report_by": report_by,
            "scope": scope,
            "checkins": checkins,
            "notices": notices,
            "unreached": unreached,
        },
    )
    return Opened(
        round=round_,
        created=True,
        checkins=checkins,
        notices=notices,
        warnings=warnings,
        unreached=unreached,
    )


def unreached_in_round(session: Session, round_id: int) -> list[str]:
    """The units owing something in this round that have no liaison e-mail to be told by."""
    owing = select(Assignment.unit_id).join(
        CheckIn, col(CheckIn.assignment_id) == col(Assignment.id)
    )
    return unreachable(session, session.exec(owing.where(CheckIn.round_id == round_id).distinct()))


def _check_report_by(report_by: date, calendar: WorkingCalendar, *, allow_holiday: bool) -> bool:
    """Whether the report-by date is a rest day; refused when it is and holidays are not allowed."""
    rest_day = not calendar.is_working_day(report_by)
    if rest_day and not allow_holiday:
        raise DueOnRestDay(
            report_by=report_by.isoformat(),
            earlier=calendar.add_working_days(report_by, -1).isoformat(),
        )
    return rest_day


def _check_tasks(session: Session, plan: Plan, task_numbers: list[int]) -> None:
    """Refuse a scope naming a task the plan does not have (or has withdrawn)."""
    known = set(
        session.exec(
            select(Task.number).where(Task.plan_id == plan.id, col(Task.withdrawn_at).is_(None))
        )
    )
    missing = sorted(set(task_numbers) - known)
    if missing:
        raise TasksNotInPlan(plan=plan.key, missing=_numbers(missing), known=_numbers(list(known)))


def _insert_checkins(
    session: Session,
    plan: Plan,
    round_: SupervisionRound,
    *,
    report_by: date,
    cooperating_due: date,
    task_numbers: list[int] | None,
    unit_names: list[str] | None,
) -> int:
    """One pending check-in per open assignment in scope, written by the database itself (INSERT …
    SELECT: a province opens 100,000 check-ins at once, and none of them needs to pass through
    Python); how many. A named scope holding none is refused."""
    due = case(
        (col(Assignment.role) == AssignmentRole.COOPERATING.value, literal(cooperating_due)),
        else_=literal(report_by),
    )
    query = (
        select(  # type: ignore[call-overload]
            literal(round_.id),
            Assignment.id,
            literal(CheckInState.PENDING.value),
            due,
            due,
            literal([], type_=table_of(CheckIn).c.evidence.type),
            literal(False),
        )
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .where(
            Task.plan_id == plan.id,
            col(Task.withdrawn_at).is_(None),
            col(Assignment.withdrawn_at).is_(None),
            col(Assignment.state).in_(OPEN_STATES),
        )
    )
    if task_numbers:
        query = query.where(col(Task.number).in_(task_numbers))
    if unit_names:
        from models.unit import find_unit

        query = query.where(
            col(Assignment.unit_id).in_([find_unit(session, n).id for n in unit_names])
        )
    columns = ["round_id", "assignment_id", "state", "due_on", "original_due_on", "evidence"]
    session.connection().execute(
        insert(table_of(CheckIn)).from_select([*columns, "completed"], query)
    )
    # Counted, not the cursor's rowcount: psycopg reports none for an INSERT … SELECT.
    count = session.exec(
        select(func.count()).select_from(CheckIn).where(CheckIn.round_id == round_.id)
    ).one()
    if not count and (task_numbers or unit_names):
        # Rolled back with the round row above: the name stays free for a corrected scope.
        raise EmptyScope(
            tasks=_numbers(task_numbers or []) if task_numbers else "全部",
            units="、".join(unit_names or []) or "全部",
        )
    return count


def _round_warnings(report_by: date, calendar: WorkingCalendar, *, rest_day: bool) -> list[str]:
    """What the office should know of the report-by date: a rest day, a year beyond the calendar."""
    warnings: list[str] = []
    if rest_day:
        warnings.append(
            f"报送截止日期 {report_by} 不是工作日，当天不会发送到期提醒 / the report-by date "
            f"{report_by} is not a working day: no due-day reminder goes out that day"
        )
    if calendar.beyond_table(report_by):
        warnings.append(
            f"{report_by.year} 年的法定节假日安排尚未收录，按周一至周五计算工作日；"
            f"国务院通知发布后请录入 duban.toml 的 [calendar.{report_by.year}] / "
            f"the {report_by.year} holiday calendar is not known yet: Monday to Friday assumed; "
            f"enter it under [calendar.{report_by.year}] in duban.toml once it is published"
        )
    return warnings


def round_notices(
    session: Session, round_: SupervisionRound, plan: Plan
) -> tuple[list[dict[str, Any]], list[str]]:
    """One round_opened digest per unit liaison, listing everything the unit owes; and the names of
    the units owing something that nobody can be told of (no liaison, or one with no way to reach
    them), in the directory's order."""
    by_unit: dict[int, tuple[str, list[dict[str, Any]]]] = {}
    # Core rows, not ORM ones: a province's round reads 100,000 of them here.
    rows = session.connection().execute(
        select(  # type: ignore[call-overload]
            CheckIn.id,
            CheckIn.due_on,
            Assignment.role,
            Task.number,
            Task.title,
            Unit.id,
            Unit.name,
            Assignment.id,
        )
        .join(Assignment, col(Assignment.id) == col(CheckIn.assignment_id))
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .where(CheckIn.round_id == round_.id)
        .order_by(Task.number)
    )
    for checkin_id, due_on, role, number, title, unit_id, unit_name, assignment_id in rows:
        by_unit.setdefault(unit_id, (unit_name, []))[1].append(
            item(number, title, role, due_on, checkin_id, assignment_id)
        )
    liaisons = unit_contacts(session, by_unit, ContactRole.LIAISON)
    common = {"round": round_payload(round_.name, round_.report_by), "plan": {"title": plan.title}}
    messages = [
        message(
            "round_opened",
            f"round_opened:r{round_.id}:u{unit_id}:liaison",
            liaisons[unit_id],
            common | {"unit": unit_name, "items": items},
        )
        for unit_id, (unit_name, items) in by_unit.items()
        if unit_id in liaisons
    ]
    unreached = [by_unit[i][0] for i in sorted(by_unit) if i not in liaisons]
    return messages, unreached


class UnreviewedFilings(DubanError):
    """Closing a round ends its filing, not the office's review: the office confirms it knows."""

    zh = (
        "督导轮次“{name}”还有 {count} 份报送待审核：请确认后再结束（结束后这些报送仍在审核页，"
        "可照常审核）。"
    )
    en = (
        "round {name} still has {count} filings to review: confirm to close it (they stay on the "
        "review page)"
    )
    exit_code = 4


def unreviewed_count(session: Session, round_id: int) -> int:
    """Filings of this round the office has not reviewed yet."""
    return len(
        session.exec(
            select(CheckIn.id).where(
                CheckIn.round_id == round_id, CheckIn.state == CheckInState.SUBMITTED
            )
        ).all()
    )


def close_round(
    session: Session,
    *,
    plan_key: str,
    name: str,
    actor: Actor,
    now: datetime,
    confirmed: bool = False,
) -> SupervisionRound:
    """End a round's filing, reminders and escalations. With filings still unreviewed, only once
    `confirmed`: they stay submitted and reviewable (the review does not ask whether the round is
    open)."""
    plan = find_plan(session, plan_key)
    refuse_if_archived(session, plan_id=id_of(plan))
    round_ = find_round(session, plan, name)
    if round_.state == RoundState.CLOSED:
        return round_
    unreviewed = unreviewed_count(session, id_of(round_))
    if unreviewed and not confirmed:
        raise UnreviewedFilings(name=round_.name, count=unreviewed)
    round_.state, round_.closed_at = RoundState.CLOSED, utc(now)
    session.add(round_)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="round.close",
        object_type="round",
        object_id=round_.id,
        before={"state": "open"},
        after={"state": "closed", "unreviewed": unreviewed},
    )
    return round_

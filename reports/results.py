"""The figures of a 通报, as they stood at a moment, from the audit trail and the check-ins.

Nothing here reads an assignment's current state. Every state change, report,
review, escalation and approved extension is replayed from the audit events
up to `as_of`, so compiling the same scope and moment later gives the same
figures, and `--as-of` reproduces a past report. Only the structure (which
tasks, units, assignments and check-ins exist, and their original due dates)
comes from the rows, each filtered by when it came to be.

Definitions (what a leader reads):
  on time   first filed on or before the check-in's original due date
  late      first filed after it (an approved extension does not make it on time)
  missing   not filed, and the due date in force at the time has passed
  pending   not filed, not yet due
  overdue   owed (never filed, or returned and not filed again) past the due date in force,
            counted in working days
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import or_
from sqlmodel import Session, col, select

from models.assignment import ROLE_LABELS, Assignment, AssignmentRole
from models.audit import AuditEvent
from models.calendar import working_days_between
from models.clock import local_day, utc
from models.errors import DubanError
from models.escalations import LEVEL_LABELS, STALL_REASONS
from models.lifecycle import STATE_LABELS, Action, State
from models.lights import ORDER, light
from models.plan import Plan, Task
from models.round import CheckIn, SupervisionRound
from models.unit import Unit

DONE = frozenset({State.VERIFIED.value, State.CLOSED.value})
LIGHT_LABELS = {"green": "绿", "yellow": "黄", "red": "红"}
STATUS_LABELS = {"on_time": "按时报送", "late": "逾期报送", "missing": "未报送", "pending": "未到期"}
CHECKIN_LABELS = {"pending": "待报送", "submitted": "已报送", "accepted": "审核通过", "returned": "已退回"}
ROLE_ZH = {role.value: labels[0] for role, labels in ROLE_LABELS.items()}
STATE_ZH = {state.value: labels[0] for state, labels in STATE_LABELS.items()}
REPLAYED = [f"assignment.{a.value}" for a in Action] + [
    "checkin.submit", "checkin.accept", "checkin.return", "escalation.raise", "escalation.resolve",
    "extension.approve"]


class RoundNotOpenYet(DubanError):
    exit_code = 2
    zh = "督导轮次“{name}”在 {as_of} 时尚未开启（开启于 {opened}）"
    en = "round “{name}” was not open yet at {as_of} (it opened {opened})"


@dataclass(slots=True)
class Item:
    """One check-in: what a unit owed in a round, as it stood."""

    checkin_id: int
    round_id: int
    round_name: str
    assignment_id: int
    task_number: int
    task_title: str
    unit: str
    role: str
    due_on: date  # original
    due_in_force: date  # after extensions approved by then
    checkin_state: str = "pending"
    filed_on: date | None = None
    percent: int | None = None
    text: str | None = None
    problems: str | None = None
    returns: int = 0
    status: str = "pending"
    overdue_days: int | None = None

    @property
    def role_zh(self) -> str:
        return ROLE_ZH[self.role]


@dataclass(slots=True)
class Line:
    """One assignment on a task: its state and the latest of its check-ins."""

    assignment_id: int
    unit: str
    role: str
    state: str
    light: str
    latest: Item | None

    @property
    def state_zh(self) -> str:
        return STATE_ZH[self.state]

    @property
    def role_zh(self) -> str:
        return ROLE_ZH[self.role]


@dataclass(slots=True)
class TaskResult:
    number: int
    title: str
    deadline: date | None
    light: str = "green"
    lines: list[Line] = field(default_factory=list)
    done: int = 0

    lead_units: list[str] = field(default_factory=list)  # lead units, or the responsible ones where none leads

    @property
    def completion_rate(self) -> float:
        return self.done / len(self.lines) if self.lines else 0.0

    @property
    def problems(self) -> list[tuple[str, str]]:
        return [(line.unit, line.latest.problems) for line in self.lines if line.latest and line.latest.problems]


@dataclass(slots=True)
class UnitResult:
    name: str
    assignments: int = 0
    on_time: int = 0
    late: int = 0
    missing: int = 0
    pending: int = 0
    returns: int = 0
    escalations: int = 0
    done: int = 0
    rank: int = 0

    @property
    def on_time_rate(self) -> float | None:
        due = self.on_time + self.late + self.missing
        return self.on_time / due if due else None

    @property
    def completion_rate(self) -> float:
        return self.done / self.assignments if self.assignments else 0.0


@dataclass(slots=True)
class EscalationResult:
    assignment_id: int
    number: str
    level: int
    stall: str
    task_number: int
    task_title: str
    unit: str
    round_name: str
    opened_on: date
    resolved_on: date | None
    history: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def level_zh(self) -> str:
        return LEVEL_LABELS[self.level]

    @property
    def reason_zh(self) -> str:
        return STALL_REASONS[self.stall][0]


@dataclass(slots=True)
class Results:
    plan_key: str
    plan_title: str
    issuer: str
    round_id: int | None
    round_name: str | None
    report_by: date | None
    as_of: datetime
    as_of_day: date
    headline: dict[str, Any]
    tasks: list[TaskResult]
    units: list[UnitResult]  # ranked
    items: list[Item]
    overdue: list[Item]  # most overdue first
    escalations: list[EscalationResult]
    agenda: list[EscalationResult]  # level 3, open at the moment

    @property
    def title(self) -> str:
        what = f"“{self.round_name}”" if self.round_name else f"《{self.plan_title}》"
        return f"关于{what}落实情况的通报"

    def notice_figures(self) -> dict[str, Any]:
        """The figures the results-published notice carries (notifications/samples.py)."""
        keys = ("assignments", "on_time", "late", "missing", "verified", "returned", "completion_rate")
        return {key: self.headline[key] for key in keys}


def end_of_day(day: date, timezone: str) -> datetime:
    """`--as-of 2022-10-15` means the whole of that day in the office's time zone."""
    return utc(datetime.combine(day, time.max, tzinfo=ZoneInfo(timezone)))


def compute(session: Session, *, plan: Plan, round_: SupervisionRound | None, as_of: datetime, timezone: str,
            rules: Any, issuer: str) -> Results:
    as_of = utc(as_of)
    today = local_day(as_of, timezone)
    if round_ is not None and utc(round_.opened_at) > as_of:
        raise RoundNotOpenYet(name=round_.name, as_of=as_of.isoformat(), opened=utc(round_.opened_at).isoformat())
    rounds = {r.id: r for r in session.exec(select(SupervisionRound).where(
        SupervisionRound.plan_id == plan.id, SupervisionRound.opened_at <= as_of))}
    if round_ is not None:
        rounds = {round_.id: round_}

    # The structure as it stood: assignments not yet withdrawn, and created by then (or owing a
    # check-in in a round opened by then, which they could only do if they existed).
    assignments: dict[int, tuple] = {}
    created: dict[int, datetime] = {}
    # Core rows, not ORM ones: at 100,000 rows the ORM's loading is most of the time.
    connection = session.connection()
    for row in connection.execute(
            select(Assignment.id, Assignment.task_id, Assignment.role, Assignment.original_due_on, Task.number,
                   Task.title, Task.deadline, Unit.name, Assignment.created_at)
            .join(Task, col(Task.id) == col(Assignment.task_id)).join(Unit, col(Unit.id) == col(Assignment.unit_id))
            .where(Task.plan_id == plan.id,
                   or_(col(Assignment.withdrawn_at).is_(None), col(Assignment.withdrawn_at) > as_of),
                   or_(col(Task.withdrawn_at).is_(None), col(Task.withdrawn_at) > as_of))):
        assignments[row[0]] = row[:8]
        created[row[0]] = utc(row[8])
    by_pair = {(row[1], row[7]): a_id for a_id, row in assignments.items()}

    items: dict[int, Item] = {}
    fallback_text: dict[int, tuple[datetime | None, str | None]] = {}
    if rounds:
        for c_id, round_id, a_id, due_on, original_due_on, submitted_at, text in connection.execute(
                select(CheckIn.id, CheckIn.round_id, CheckIn.assignment_id, CheckIn.due_on, CheckIn.original_due_on,
                       CheckIn.submitted_at, CheckIn.text).where(col(CheckIn.round_id).in_(list(rounds)))):
            a = assignments.get(a_id)
            if a is None:
                continue
            original = original_due_on or due_on
            items[c_id] = Item(checkin_id=c_id, round_id=round_id, round_name=rounds[round_id].name,
                               assignment_id=a_id, task_number=a[4], task_title=a[5], unit=a[7],
                               role=str(a[2]), due_on=original, due_in_force=original)
            fallback_text[c_id] = (submitted_at, text)
    owing = {i.assignment_id for i in items.values()}
    in_scope = owing if round_ is not None else {a for a in assignments if a in owing or created[a] <= as_of}

    # Replay the trail up to the moment.
    state: dict[int, str] = {}
    percent: dict[int, int] = {}
    due_in_force: dict[int, date] = {}
    raised: dict[str, dict[str, Any]] = {}
    resolved: dict[str, date] = {}
    plan_tasks = select(Task.id).where(Task.plan_id == plan.id)
    events = connection.execute(
        select(AuditEvent.at, AuditEvent.action, AuditEvent.object_id, AuditEvent.task_id, AuditEvent.unit_id,
               AuditEvent.after)
        .where(col(AuditEvent.action).in_(REPLAYED), AuditEvent.at <= as_of,
               or_(col(AuditEvent.task_id).in_(plan_tasks), AuditEvent.object_type == "escalation"))
        .order_by(AuditEvent.seq))
    unit_names = dict(session.exec(select(Unit.id, Unit.name)).all())
    task_ids = {row[1] for row in assignments.values()}
    for at, action, object_id, task_id, unit_id, after_json in events:
        after = orjson.loads(after_json) if after_json else {}
        if action.startswith("assignment."):
            state[int(object_id)] = after["state"]
        elif action.startswith("checkin."):
            item = items.get(int(object_id))
            if item is None:
                continue
            if action == "checkin.submit":
                if item.filed_on is None:
                    item.filed_on = local_day(at, timezone)
                item.percent, item.problems = after.get("percent"), after.get("problems")
                item.text = after["text"] if "text" in after else fallback_text[item.checkin_id][1]
                if item.percent is not None:
                    percent[item.assignment_id] = item.percent
                item.checkin_state = "submitted"
            elif action == "checkin.accept":
                item.checkin_state = "accepted"
            else:
                item.checkin_state = "returned"
                item.returns += 1
        elif action == "escalation.raise":
            raised[object_id] = after | {"on": local_day(at, timezone)}
        elif action == "escalation.resolve":
            resolved[object_id] = local_day(at, timezone)
        elif action == "extension.approve" and task_id in task_ids:
            a_id = by_pair.get((task_id, unit_names.get(unit_id)))
            if a_id is not None and after.get("due_on"):
                due_in_force[a_id] = date.fromisoformat(after["due_on"])

    # Escalations of the scope, the ladder each climbed, and which were open at the moment.
    escalations: list[EscalationResult] = []
    open_red: set[int] = set()
    climbed: dict[tuple[int, int | None], list[str]] = defaultdict(list)
    for esc_id, e in sorted(raised.items(), key=lambda pair: (pair[1]["on"], pair[1]["number"] or "")):
        a = assignments.get(e["assignment"])
        if a is None or e["assignment"] not in in_scope or (e["round"] is not None and e["round"] not in rounds):
            continue
        climbed[(e["assignment"], e["round"])].append(f"{e['on'].isoformat()} {LEVEL_LABELS[e['level']]}（{e['number']}）")
        result = EscalationResult(
            assignment_id=e["assignment"], number=e["number"] or "", level=e["level"], stall=e["stall"], task_number=a[4], task_title=a[5],
            unit=a[7], round_name=rounds[e["round"]].name if e["round"] in rounds else "",
            opened_on=e["on"], resolved_on=resolved.get(esc_id))
        result.history = climbed[(e["assignment"], e["round"])]
        escalations.append(result)
        if e["level"] == 3 and esc_id not in resolved:
            open_red.add(e["assignment"])

    latest: dict[int, Item] = {}
    for item in sorted(items.values(), key=lambda i: i.round_id):
        moved = due_in_force.get(item.assignment_id)
        if moved is not None:
            item.due_in_force = max(item.due_on, moved)
        if item.filed_on is not None:
            item.status = "on_time" if item.filed_on <= item.due_on else "late"
        elif today > item.due_in_force:
            item.status = "missing"
        if item.checkin_state in ("pending", "returned") and today > item.due_in_force:
            item.overdue_days = working_days_between(item.due_in_force, today)
        latest[item.assignment_id] = item

    problems_of: dict[int, list[str]] = defaultdict(list)
    for item in items.values():
        if item.problems:
            problems_of[item.assignment_id].append(item.problems)
    agenda = [e for e in escalations if e.level == 3 and e.resolved_on is None]
    for e in agenda:
        e.problems = problems_of.get(e.assignment_id, [])

    # Per task and per unit.
    started_on = plan.created_at.date() if plan.created_at else None
    tasks: dict[int, TaskResult] = {}
    units: dict[str, UnitResult] = {}
    for a_id in sorted(in_scope, key=lambda a: (assignments[a][4], assignments[a][7])):
        _, _, role, original_due, number, title, deadline, unit = assignments[a_id]
        current = state.get(a_id, State.ASSIGNED.value)
        item = latest.get(a_id)
        owed = item.due_in_force if item and item.checkin_state in ("pending", "returned") else None
        assignment_due = due_in_force.get(a_id, original_due)
        due = min((d for d in (assignment_due, owed) if d), default=None)
        colour = light(state=current, due_on=due, today=today, red_escalation=a_id in open_red,
                       percent=percent.get(a_id), started_on=started_on, deadline=deadline, rules=rules)
        task = tasks.setdefault(number, TaskResult(number=number, title=title, deadline=deadline))
        task.lines.append(Line(a_id, unit, str(role), current, colour, item))
        task.done += current in DONE
        if ORDER[colour] > ORDER[task.light]:
            task.light = colour
        result = units.setdefault(unit, UnitResult(name=unit))
        result.assignments += 1
        result.done += current in DONE
    for item in items.values():
        result = units[item.unit]
        setattr(result, item.status, getattr(result, item.status) + 1)
        result.returns += item.returns
    for e in escalations:
        units[e.unit].escalations += 1
    for task in tasks.values():
        task.lead_units = [line.unit for line in task.lines if line.role == AssignmentRole.LEAD] or [
            line.unit for line in task.lines if line.role == AssignmentRole.RESPONSIBLE]
    ranked = _rank(list(units.values()))

    statuses = Counter(item.status for item in items.values())
    done = sum(task.done for task in tasks.values())
    total = sum(len(task.lines) for task in tasks.values())
    due = statuses["on_time"] + statuses["late"] + statuses["missing"]
    headline = {
        "tasks": len(tasks),
        "assignments": total,
        "checkins": len(items),
        "on_time": statuses["on_time"], "late": statuses["late"], "missing": statuses["missing"],
        "pending": statuses["pending"],
        "verified": done,
        "returned": sum(item.returns for item in items.values()),
        "overdue": sum(1 for item in items.values() if item.overdue_days is not None),
        "completion_rate": round(done / total, 4) if total else 0.0,
        "on_time_rate": round(statuses["on_time"] / due, 4) if due else None,
        "escalations": {str(level): sum(1 for e in escalations if e.level == level) for level in (1, 2, 3)},
        "open_escalations": {str(level): sum(1 for e in escalations if e.level == level and e.resolved_on is None)
                             for level in (1, 2, 3)},
        "task_lights": {c: sum(1 for t in tasks.values() if t.light == c) for c in ORDER},
    }
    overdue = sorted((i for i in items.values() if i.overdue_days is not None),
                     key=lambda i: (-(i.overdue_days or 0), i.task_number, i.unit))
    return Results(
        plan_key=plan.key, plan_title=plan.title, issuer=issuer,
        round_id=round_.id if round_ else None, round_name=round_.name if round_ else None,
        report_by=round_.report_by if round_ else None, as_of=as_of, as_of_day=today, headline=headline,
        tasks=[tasks[n] for n in sorted(tasks)], units=ranked,
        items=sorted(items.values(), key=lambda i: (i.task_number, i.unit, i.round_id)), overdue=overdue,
        escalations=escalations, agenda=agenda)


def _rank(units: list[UnitResult]) -> list[UnitResult]:
    """Best first: on-time rate, then completion, then fewer escalations and returns. Ties share a
    rank."""
    def score(u: UnitResult) -> tuple:
        rate = u.on_time_rate
        return (-(rate if rate is not None else -1.0), -u.completion_rate, u.escalations, u.returns)

    units.sort(key=lambda u: (score(u), u.name))
    previous = None
    for position, unit in enumerate(units, start=1):
        current = score(unit)
        unit.rank = position if current != previous else units[position - 2].rank
        previous = current
    return units

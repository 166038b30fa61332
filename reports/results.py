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

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Connection, func, or_
from sqlmodel import Session, col, select

from models.assignment import ROLE_ZH, Assignment, AssignmentRole
from models.audit import AuditEvent
from models.clock import local_day, utc
from models.errors import DubanError
from models.escalation import Escalation, ItemKey, against_unit
from models.escalations import LEVEL_LABELS, STALL_REASONS
from models.lifecycle import STATE_LABELS, Action, State
from models.lights import ORDER, light_inputs, light_of
from models.plan import Plan, Task
from models.round import OWED, CheckIn, SupervisionRound
from models.scoring import Fact, Scoreboard, UnitScore, score_units
from models.suspensions import suspended_at
from models.unit import Unit

DONE = frozenset({State.VERIFIED.value, State.CLOSED.value})
LIGHT_LABELS = {"green": "绿", "yellow": "黄", "red": "红", "grey": "暂停"}
STATUS_LABELS = {
    "on_time": "按时报送",
    "late": "逾期报送",
    "missing": "未报送",
    "pending": "未到期",
}
CHECKIN_LABELS = {
    "pending": "待报送",
    "submitted": "已报送",
    "accepted": "审核通过",
    "returned": "已退回",
}
STATE_ZH = {state.value: labels[0] for state, labels in STATE_LABELS.items()}
REPLAYED = [f"assignment.{a.value}" for a in Action] + [
    "checkin.submit",
    "checkin.accept",
    "checkin.return",
    "escalation.raise",
    "escalation.resolve",
    "extension.approve",
    "suspension.resume",
]


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
    completed: bool = False  # the latest filing is the completion report (办结报告)
    waiting_days: int | None = None  # working days a completion report has waited for review
    extended_to: date | None = None  # where an approved extension moved it (it was owed then)

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
    light: str = "grey"  # until a line is added: grey only when every item is suspended
    lines: list[Line] = field(default_factory=list)
    done: int = 0

    lead_units: list[str] = field(
        default_factory=list
    )  # lead units, or the responsible ones where none leads

    @property
    def completion_rate(self) -> float:
        return self.done / len(self.lines) if self.lines else 0.0

    @property
    def problems(self) -> list[tuple[str, str]]:
        return [
            (line.unit, line.latest.problems)
            for line in self.lines
            if line.latest and line.latest.problems
        ]


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
    messages: int = 0  # messages its people received in the period (models.budget)
    nudges: int = 0  # 一键催办 the office pressed on it up to the moment (models.nudges)

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
    role: str = AssignmentRole.RESPONSIBLE.value  # the unit's role on the assignment (考核 weight)
    problems: list[str] = field(default_factory=list)

    @property
    def level_zh(self) -> str:
        return LEVEL_LABELS[self.level]

    @property
    def against_unit(self) -> bool:
        """False for the office's own backlog (an unreviewed report): not counted against the
        unit."""
        return against_unit(self.stall)

    @property
    def reason_zh(self) -> str:
        return STALL_REASONS[self.stall][0]


@dataclass(slots=True)
class DirectiveResult:
    """A unit's part of a 领导批示 as it stood at the moment (models.directives.standing_at)."""

    directive_id: int
    task_number: int
    task_title: str
    unit: str
    role: str
    leader: str
    text: str
    deadline: date | None
    state: str  # pending, replied, overdue, closed
    state_zh: str
    reply: str | None

    @property
    def unresolved(self) -> bool:
        return self.state == "overdue"


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
    escalations: list[EscalationResult]  # each item once, at its highest level
    agenda: list[EscalationResult]  # level 3, open at the moment
    office_backlog: list[Item] = field(default_factory=list)  # 办公室待审核, longest wait first
    # 考核得分 and 红黑榜 (models/scoring.py)
    scores: Scoreboard = field(default_factory=lambda: Scoreboard(units=[], red=[], black=[]))
    directives: list[DirectiveResult] = field(default_factory=list)  # 领导批示, by 批示 then unit

    @property
    def title(self) -> str:
        what = f"“{self.round_name}”" if self.round_name else f"《{self.plan_title}》"
        return f"关于{what}落实情况的通报"

    def notice_figures(self) -> dict[str, Any]:
        """The figures the results-published notice carries (notifications/samples.py)."""
        keys = (
            "assignments",
            "on_time",
            "late",
            "missing",
            "verified",
            "returned",
            "completion_rate",
        )
        return {key: self.headline[key] for key in keys}


def end_of_day(day: date, timezone: str) -> datetime:
    """`--as-of 2022-10-15` means the whole of that day in the office's time zone."""
    return utc(datetime.combine(day, time.max, tzinfo=ZoneInfo(timezone)))


class Held(NamedTuple):
    """An assignment of the scope as the structure query reads it."""

    id: int
    task_id: int
    role: str
    original_due_on: date | None
    task_number: int
    task_title: str
    task_deadline: date | None
    unit: str
    created_at: datetime


class Raised(NamedTuple):
    """An escalation.raise event: what was raised, and the office's day it was raised on."""

    assignment: int
    round: int | None
    directive: int | None  # a 批示's rung: its item is the 批示's part, not the assignment's
    level: int
    stall: str
    number: str | None
    on: date


@dataclass(slots=True)
class Replayed:
    """What the trail says up to the moment, beside what it wrote onto the items."""

    state: dict[int, str] = field(default_factory=dict)  # assignment -> state
    last_filed: dict[int, datetime] = field(
        default_factory=dict
    )  # check-in -> its latest filing (lights' percent rule)
    due_in_force: dict[int, date] = field(
        default_factory=dict
    )  # assignment -> date an approved extension set
    raised: dict[str, Raised] = field(default_factory=dict)  # escalation id -> its raise
    resolved: dict[str, date] = field(default_factory=dict)  # escalation id -> day resolved


def compute(
    session: Session,
    *,
    plan: Plan,
    round_: SupervisionRound | None,
    as_of: datetime,
    timezone: str,
    rules: Any,
    issuer: str,
    scoring: Any = None,
) -> Results:
    """The 通报's figures for `plan` (one round, or all rounds opened by then) as they stood at
    `as_of`."""
    as_of = utc(as_of)
    today = local_day(as_of, timezone)
    scope = _replayed(session, plan=plan, round_=round_, as_of=as_of, timezone=timezone)
    rounds, held, items, in_scope, replayed, escalations, paused, _ = scope
    latest = _settle(items, today=today, calendar=rules.calendar, paused=paused)
    backlog = _office_backlog(
        items, replayed.last_filed, today=today, timezone=timezone, calendar=rules.calendar
    )
    agenda = _agenda(escalations, items)
    open_red = {e.assignment_id for e in agenda}
    open_then = {
        r_id for r_id, r in rounds.items() if r.closed_at is None or utc(r.closed_at) > as_of
    }
    tasks, units = _tally_assignments(
        plan,
        held=held,
        in_scope=in_scope,
        replayed=replayed,
        items=items,
        latest=latest,
        open_then=open_then,
        open_red=open_red,
        paused=paused,
        today=today,
        rules=rules,
        timezone=timezone,
    )
    _tally_units(units, items=items, escalations=escalations)
    _count_messages(session, units, rounds=rounds, as_of=as_of)
    _count_nudges(session, units, as_of=as_of)
    overdue = sorted(
        (i for i in items.values() if i.overdue_days is not None),
        key=lambda i: (-(i.overdue_days or 0), i.task_number, i.unit),
    )
    ranked = _rank(list(units.values()))
    directives = _directives(session, scope, as_of=as_of, today=today, timezone=timezone)
    return Results(
        plan_key=plan.key,
        plan_title=plan.title,
        issuer=issuer,
        **_round_fields(round_),
        as_of=as_of,
        as_of_day=today,
        headline=_headline(tasks, items=items, escalations=escalations)
        | _office_figures(backlog, rules)
        | {"suspended": len(paused)},
        tasks=[tasks[n] for n in sorted(tasks)],
        units=ranked,
        items=sorted(items.values(), key=lambda i: (i.task_number, i.unit, i.round_id)),
        overdue=overdue,
        escalations=escalations,
        agenda=agenda,
        office_backlog=backlog,
        scores=scoreboard(
            items.values(),
            escalations,
            units=[u.name for u in ranked],
            rules=scoring,
            directives=directives,
        ),
        directives=directives,
    )


class Scope(NamedTuple):
    """What the replay of a scope gives: its rounds, assignments, items (check-ins), the assignments
    in scope, the replayed trail, the escalated items, the assignments suspended then, and whether
    a day's roundless 批示 (or rung) counts in it (`_roundless_in`, asked once per 通报)."""

    rounds: dict[int, SupervisionRound]
    held: dict[int, Held]
    items: dict[int, Item]
    in_scope: set[int]
    replayed: Replayed
    escalations: list[EscalationResult]
    paused: set[int]
    roundless: Callable[[date], bool]


def _replayed(
    session: Session,
    *,
    plan: Plan,
    round_: SupervisionRound | None,
    as_of: datetime,
    timezone: str,
) -> Scope:
    """The one replay the 通报 and 考核 share: the scope's structure, then the trail up to the
    moment."""
    rounds = _rounds(session, plan=plan, round_=round_, as_of=as_of)
    # Core rows, not ORM ones: at 100,000 rows the ORM's loading is most of the time.
    connection = session.connection()
    held = _structure(connection, plan=plan, as_of=as_of)
    items, texts = _items(connection, rounds=rounds, held=held)
    owing = {i.assignment_id for i in items.values()}
    in_scope = (
        owing
        if round_ is not None
        else {a for a, row in held.items() if a in owing or row.created_at <= as_of}
    )
    replayed = _replay(
        session,
        plan=plan,
        held=held,
        items=items,
        texts=texts,
        rounds=rounds,
        as_of=as_of,
        timezone=timezone,
    )
    roundless = _roundless_in(session, plan=plan, round_=round_, timezone=timezone)
    escalations = _escalations(
        replayed, held=held, in_scope=in_scope, rounds=rounds, roundless=roundless
    )
    paused = suspended_at(session, as_of) & in_scope  # the history rows say what was paused then
    return Scope(rounds, held, items, in_scope, replayed, escalations, paused, roundless)


@dataclass(slots=True)
class Scores:
    """考核 alone (`duban score`, the API): the scope, the moment and the scoreboard, without the
    rest of a 通报's figures."""

    plan_key: str
    plan_title: str
    round_name: str | None
    as_of: datetime
    as_of_day: date
    scores: Scoreboard


def compute_scores(
    session: Session,
    *,
    plan: Plan,
    round_: SupervisionRound | None,
    as_of: datetime,
    timezone: str,
    rules: Any,
    scoring: Any = None,
) -> Scores:
    """The units' 考核 scores as they stood at `as_of`: the 通报's replay (`compute`), without its
    lights, tallies and counts of messages; the same scoreboard `compute` gives."""
    as_of = utc(as_of)
    today = local_day(as_of, timezone)
    scope = _replayed(session, plan=plan, round_=round_, as_of=as_of, timezone=timezone)
    _settle(scope.items, today=today, calendar=rules.calendar, paused=scope.paused)
    units = sorted({scope.held[a].unit for a in scope.in_scope})
    directives = _directives(session, scope, as_of=as_of, today=today, timezone=timezone)
    return Scores(
        plan_key=plan.key,
        plan_title=plan.title,
        round_name=round_.name if round_ is not None else None,
        as_of=as_of,
        as_of_day=today,
        scores=scoreboard(
            scope.items.values(),
            scope.escalations,
            units=units,
            rules=scoring,
            directives=directives,
        ),
    )


def _roundless_in(
    session: Session, *, plan: Plan, round_: SupervisionRound | None, timezone: str
) -> Callable[[date], bool]:
    """Whether a 批示 (or its rung), which belongs to no round, counts in this scope on its day.

    The whole plan's 通报 counts every one. A round's counts those of the days it was the plan's
    newest round (opened on or before the day; the first round takes the days before it), so that
    a 批示 is counted in one round's 通报, not again in every later round its item is in.
    """
    if round_ is None:
        return lambda day: True
    opened = sorted(
        (local_day(r.opened_at, timezone), r.id or 0)
        for r in session.exec(select(SupervisionRound).where(SupervisionRound.plan_id == plan.id))
    )
    days = [d for d, _ in opened]

    def counts(day: date) -> bool:
        newest = opened[max(bisect_right(days, day) - 1, 0)][1]
        return newest == round_.id

    return counts


def _directives(
    session: Session,
    scope: Scope,
    *,
    as_of: datetime,
    today: date,
    timezone: str,
) -> list[DirectiveResult]:
    """The scope's 领导批示, each unit's part as it stood at the moment; a round's 通报 those
    written while it was the newest round (`scope.roundless`)."""
    from models.directives import standing_at

    return [
        DirectiveResult(
            directive_id=s.directive_id,
            task_number=held.task_number,
            task_title=held.task_title,
            unit=held.unit,
            role=str(held.role),
            leader=s.leader,
            text=s.text,
            deadline=s.deadline,
            state=s.state,
            state_zh=s.state_zh,
            reply=s.reply,
        )
        for s in standing_at(session, assignment_ids=scope.in_scope, as_of=as_of, today=today)
        if (held := scope.held.get(s.assignment_id)) is not None
        and scope.roundless(local_day(s.written_at, timezone))
    ]


def _count_messages(
    session: Session,
    units: dict[str, UnitResult],
    *,
    rounds: dict[int, SupervisionRound],
    as_of: datetime,
) -> None:
    """How many messages each unit received from the first round's opening to the moment."""
    from models.budget import received_by_unit
    from models.unit import Unit

    if not rounds:
        return
    since = min(utc(r.opened_at) for r in rounds.values())
    counts = received_by_unit(session, since=since, until=as_of)
    names = dict(session.exec(select(Unit.id, Unit.name).where(col(Unit.id).in_(counts))).all())
    for unit_id, count in counts.items():
        if names.get(unit_id) in units:
            units[names[unit_id]].messages = count


def _count_nudges(session: Session, units: dict[str, UnitResult], *, as_of: datetime) -> None:
    from models.nudges import counts_by_unit
    from models.unit import Unit

    counts = counts_by_unit(session, until=as_of)
    names = dict(session.exec(select(Unit.id, Unit.name).where(col(Unit.id).in_(counts))).all())
    for unit_id, count in counts.items():
        if names.get(unit_id) in units:
            units[names[unit_id]].nudges = count


def _round_fields(round_: SupervisionRound | None) -> dict[str, Any]:
    if round_ is None:
        return {"round_id": None, "round_name": None, "report_by": None}
    return {"round_id": round_.id, "round_name": round_.name, "report_by": round_.report_by}


def _rounds(
    session: Session, *, plan: Plan, round_: SupervisionRound | None, as_of: datetime
) -> dict[int, SupervisionRound]:
    """The round asked for (refused if it opened after the moment), or every round of the plan
    opened by then."""
    if round_ is not None:
        if utc(round_.opened_at) > as_of:
            raise RoundNotOpenYet(
                name=round_.name, as_of=as_of.isoformat(), opened=utc(round_.opened_at).isoformat()
            )
        return {round_.id: round_}
    return {
        r.id: r
        for r in session.exec(
            select(SupervisionRound).where(
                SupervisionRound.plan_id == plan.id, SupervisionRound.opened_at <= as_of
            )
        )
    }


def _structure(connection: Connection, *, plan: Plan, as_of: datetime) -> dict[int, Held]:
    """The assignments as they stood: not yet withdrawn (nor their task). Whether each was created
    by then is the caller's question: one owing a check-in in a round opened by then existed,
    whatever its row says."""
    rows = connection.execute(
        select(
            Assignment.id,
            Assignment.task_id,
            Assignment.role,
            Assignment.original_due_on,
            Task.number,
            Task.title,
            Task.deadline,
            Unit.name,
            Assignment.created_at,
        )
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .where(
            Task.plan_id == plan.id,
            or_(col(Assignment.withdrawn_at).is_(None), col(Assignment.withdrawn_at) > as_of),
            or_(col(Task.withdrawn_at).is_(None), col(Task.withdrawn_at) > as_of),
        )
    )
    return {row[0]: Held(*row[:8], created_at=utc(row[8])) for row in rows}


def _items(
    connection: Connection, *, rounds: dict[int, SupervisionRound], held: dict[int, Held]
) -> tuple[dict[int, Item], dict[int, str | None]]:
    """One item per check-in of the rounds on an assignment of the structure, due by its original
    date; beside them each check-in's stored text, for submissions whose event predates texts in the
    trail."""
    items: dict[int, Item] = {}
    texts: dict[int, str | None] = {}
    if not rounds:
        return items, texts
    for c_id, round_id, a_id, due_on, original_due_on, text in connection.execute(
        select(
            CheckIn.id,
            CheckIn.round_id,
            CheckIn.assignment_id,
            CheckIn.due_on,
            CheckIn.original_due_on,
            CheckIn.text,
        ).where(col(CheckIn.round_id).in_(list(rounds)))
    ):
        a = held.get(a_id)
        if a is None:
            continue
        original = original_due_on or due_on
        items[c_id] = Item(
            checkin_id=c_id,
            round_id=round_id,
            round_name=rounds[round_id].name,
            assignment_id=a_id,
            task_number=a.task_number,
            task_title=a.task_title,
            unit=a.unit,
            role=str(a.role),
            due_on=original,
            due_in_force=original,
        )
        texts[c_id] = text
    return items, texts


def _events(connection: Connection, *, plan: Plan, as_of: datetime) -> Any:
    """The replayed events of the plan's tasks, and every escalation's, up to the moment, in trail
    order."""
    plan_tasks = select(Task.id).where(Task.plan_id == plan.id)
    # An action the office dated back (--force-time) follows, in the chain, one dated after as_of:
    # an item's history stops at its first event beyond as_of, so a verification never shows before
    # its filing.
    beyond = dict(
        ((t, u), seq)
        for t, u, seq in connection.execute(
            select(AuditEvent.task_id, AuditEvent.unit_id, func.min(AuditEvent.seq))
            .where(
                col(AuditEvent.action).in_(REPLAYED),
                AuditEvent.at > as_of,
                col(AuditEvent.task_id).in_(plan_tasks),
            )
            .group_by(AuditEvent.task_id, AuditEvent.unit_id)
        )
    )
    rows = connection.execute(
        select(
            AuditEvent.at,
            AuditEvent.action,
            AuditEvent.object_id,
            AuditEvent.task_id,
            AuditEvent.unit_id,
            AuditEvent.after,
            AuditEvent.seq,
        )
        .where(
            col(AuditEvent.action).in_(REPLAYED),
            AuditEvent.at <= as_of,
            or_(col(AuditEvent.task_id).in_(plan_tasks), AuditEvent.object_type == "escalation"),
        )
        .order_by(AuditEvent.seq)
    )
    return [row[:6] for row in rows if not beyond or row[6] <= beyond.get((row[3], row[4]), row[6])]


def _replay(
    session: Session,
    *,
    plan: Plan,
    held: dict[int, Held],
    items: dict[int, Item],
    texts: dict[int, str | None],
    rounds: dict[int, SupervisionRound],
    as_of: datetime,
    timezone: str,
) -> Replayed:
    """Replay the trail up to the moment: states, percents and extensions per assignment,
    escalations raised and resolved; what each check-in's events say is written onto its item."""
    replayed = Replayed()
    unit_names = dict(session.exec(select(Unit.id, Unit.name)).all())
    by_pair = {(row.task_id, row.unit): a_id for a_id, row in held.items()}
    items_of: dict[int, list[Item]] = defaultdict(list)  # made at the first extension
    for at, action, object_id, task_id, unit_id, after_json in _events(
        session.connection(), plan=plan, as_of=as_of
    ):
        after = orjson.loads(after_json) if after_json else {}
        if action.startswith("assignment."):
            replayed.state[int(object_id)] = after["state"]
        elif action.startswith("checkin."):
            item = items.get(int(object_id))
            if item is not None:
                _replay_checkin(
                    item,
                    action,
                    after,
                    at=at,
                    timezone=timezone,
                    text=texts[item.checkin_id],
                    last_filed=replayed.last_filed,
                )
        elif action == "escalation.raise":
            replayed.raised[object_id] = Raised(
                after["assignment"],
                after["round"],
                _directive_of(session, object_id, after),
                after["level"],
                after["stall"],
                after["number"],
                local_day(at, timezone),
            )
        elif action == "escalation.resolve":
            replayed.resolved[object_id] = local_day(at, timezone)
        elif action in ("extension.approve", "suspension.resume"):
            # A resume moves the due date by the suspended working days, as an extension does.
            a_id = by_pair.get((task_id, unit_names.get(unit_id)))
            moved_to = after.get("due_on") or after.get("checkin_due_on")
            if a_id is not None and moved_to:
                replayed.due_in_force[a_id] = moved = date.fromisoformat(moved_to)
                if not items_of:
                    for each in items.values():
                        items_of[each.assignment_id].append(each)
                _extend(items_of.get(a_id, []), moved, at=at, rounds=rounds)
    return replayed


def _directive_of(session: Session, escalation_id: str, after: dict[str, Any]) -> int | None:
    """The 批示 a raised rung belongs to: in its event since the desk kept each 批示 apart; a rung
    raised before then is looked up on its row (migration 0024 filled it in)."""
    if "directive" in after or after["stall"] != "directive":
        return after.get("directive")
    return session.exec(
        select(Escalation.directive_id).where(Escalation.id == int(escalation_id))
    ).first()


def _extend(
    items: list[Item],
    moved: date,
    *,
    at: datetime,
    rounds: dict[int, SupervisionRound],
) -> None:
    """An approved extension moves the assignment's check-ins owed in rounds open at that moment
    (models.extensions): neither one filed by then nor one of a round opened later."""
    at = utc(at)
    for item in items:
        if item.checkin_state not in OWED:
            continue
        r = rounds[item.round_id]
        if utc(r.opened_at) <= at and (r.closed_at is None or utc(r.closed_at) > at):
            item.extended_to = max(item.extended_to or item.due_on, moved)


def _replay_checkin(
    item: Item,
    action: str,
    after: dict[str, Any],
    *,
    at: datetime,
    timezone: str,
    text: str | None,
    last_filed: dict[int, datetime],
) -> None:
    """One check-in event onto its item; a filing's moment is kept for the lights' percent rule."""
    if action == "checkin.submit":
        if item.filed_on is None:
            item.filed_on = local_day(at, timezone)
        item.percent, item.problems = after.get("percent"), after.get("problems")
        item.completed = bool(after.get("completed"))
        item.text = after.get("text", text)
        last_filed[item.checkin_id] = at
        item.checkin_state = "submitted"
    elif action == "checkin.accept":
        item.checkin_state = "accepted"
    else:
        item.checkin_state = "returned"
        item.returns += 1


def _escalations(
    replayed: Replayed,
    *,
    held: dict[int, Held],
    in_scope: set[int],
    rounds: dict[int, SupervisionRound],
    roundless: Callable[[date], bool],
) -> list[EscalationResult]:
    """The scope's escalated items, each (`ItemKey`) once at the highest level it reached,
    with the ladder it climbed (every 督办单 number on its date); in the order first raised. A rung
    of no round (a 批示's) counts where `roundless` places its day."""
    by_item: dict[ItemKey, EscalationResult] = {}
    for esc_id, e in sorted(
        replayed.raised.items(), key=lambda pair: (pair[1].on, pair[1].number or "")
    ):
        a = held.get(e.assignment)
        if (
            a is None
            or e.assignment not in in_scope
            or (e.round not in rounds if e.round is not None else not roundless(e.on))
        ):
            continue
        resolved = replayed.resolved.get(esc_id)
        key = (e.assignment, e.round, e.directive)
        found = by_item.get(key)
        if found is None:
            found = by_item[key] = EscalationResult(
                assignment_id=e.assignment,
                number=e.number or "",
                level=e.level,
                stall=e.stall,
                task_number=a.task_number,
                task_title=a.task_title,
                unit=a.unit,
                round_name=rounds[e.round].name if e.round in rounds else "",
                opened_on=e.on,
                resolved_on=resolved,
                role=str(a.role),
            )
        elif e.level > found.level:
            found.level, found.number, found.stall = e.level, e.number or "", e.stall
            # The item is settled only when its highest step is.
            found.resolved_on = resolved
        found.history.append(f"{e.on.isoformat()} {LEVEL_LABELS[e.level]}（{e.number}）")
    return list(by_item.values())


def _office_backlog(
    items: dict[int, Item],
    last_filed: dict[int, datetime],
    *,
    today: date,
    timezone: str,
    calendar: Any,
) -> list[Item]:
    """Completion reports waiting for the office's review at the moment (the same reports the
    `unreviewed` stall is about), longest wait first: the office's own figure, never a unit's."""
    waiting = []
    for item in items.values():
        filed = last_filed.get(item.checkin_id)
        if item.checkin_state != "submitted" or not item.completed or filed is None:
            continue
        item.waiting_days = calendar.working_days_between(local_day(filed, timezone), today)
        waiting.append(item)
    return sorted(waiting, key=lambda i: (-(i.waiting_days or 0), i.task_number, i.unit))


def _settle(
    items: dict[int, Item], *, today: date, calendar: Any, paused: set[int]
) -> dict[int, Item]:
    """Each item's due date in force, status and overdue days on `today`; the latest item per
    assignment. A suspended item's clock stops: it is neither missing nor overdue."""
    latest: dict[int, Item] = {}
    for item in sorted(items.values(), key=lambda i: i.round_id):
        moved = item.extended_to
        if moved is not None:
            item.due_in_force = max(item.due_on, moved)
        if item.filed_on is not None:
            item.status = "on_time" if item.filed_on <= item.due_on else "late"
        elif today > item.due_in_force and item.assignment_id not in paused:
            item.status = "missing"
        if (
            item.checkin_state in OWED
            and today > item.due_in_force
            and item.assignment_id not in paused
        ):
            item.overdue_days = calendar.working_days_between(item.due_in_force, today)
        latest[item.assignment_id] = item
    return latest


def _agenda(escalations: list[EscalationResult], items: dict[int, Item]) -> list[EscalationResult]:
    """Red escalations open at the moment, each with every problem its item's units raised."""
    problems_of: dict[int, list[str]] = defaultdict(list)
    for item in items.values():
        if item.problems:
            problems_of[item.assignment_id].append(item.problems)
    agenda = [e for e in escalations if e.level == 3 and e.resolved_on is None and e.against_unit]
    for e in agenda:
        e.problems = problems_of.get(e.assignment_id, [])
    return agenda


def _light_of(
    plan: Plan,
    a: Held,
    *,
    current: str,
    mine: list[Item],
    replayed: Replayed,
    open_then: set[int],
    open_red: set[int],
    paused: set[int],
    today: date,
    rules: Any,
    timezone: str,
) -> str:
    """An assignment's light: its inputs by the one rule (`models.lights.light_inputs`), then its
    colour."""
    return light_of(
        light_inputs(
            state=current,
            assignment_due_on=replayed.due_in_force.get(a.id, a.original_due_on),
            owed_due_on=[
                i.due_in_force for i in mine if i.checkin_state in OWED and i.round_id in open_then
            ],
            filings=[(replayed.last_filed.get(i.checkin_id), i.percent) for i in mine],
            plan_created_at=plan.created_at,
            deadline=a.task_deadline,
            red_escalation=a.id in open_red,
            timezone=timezone,
            suspended=a.id in paused,
        ),
        today=today,
        rules=rules,
    )


def _tally_assignments(
    plan: Plan,
    *,
    held: dict[int, Held],
    in_scope: set[int],
    replayed: Replayed,
    items: dict[int, Item],
    latest: dict[int, Item],
    open_then: set[int],
    open_red: set[int],
    paused: set[int],
    today: date,
    rules: Any,
    timezone: str,
) -> tuple[dict[int, TaskResult], dict[str, UnitResult]]:
    """Per task (its lines, done count and worst light) and per unit (assignments and done), by task
    and unit."""
    items_of: dict[int, list[Item]] = defaultdict(list)
    for each in items.values():
        items_of[each.assignment_id].append(each)
    tasks: dict[int, TaskResult] = {}
    units: dict[str, UnitResult] = {}
    for a_id in sorted(in_scope, key=lambda a: (held[a].task_number, held[a].unit)):
        a = held[a_id]
        current = replayed.state.get(a_id, State.ASSIGNED.value)
        item = latest.get(a_id)
        colour = _light_of(
            plan,
            a,
            current=current,
            mine=items_of.get(a_id, []),
            replayed=replayed,
            open_then=open_then,
            open_red=open_red,
            paused=paused,
            today=today,
            rules=rules,
            timezone=timezone,
        )
        task = tasks.setdefault(
            a.task_number,
            TaskResult(number=a.task_number, title=a.task_title, deadline=a.task_deadline),
        )
        task.lines.append(Line(a_id, a.unit, str(a.role), current, colour, item))
        task.done += current in DONE
        if ORDER[colour] > ORDER[task.light]:
            task.light = colour
        result = units.setdefault(a.unit, UnitResult(name=a.unit))
        result.assignments += 1
        result.done += current in DONE
    for task in tasks.values():
        task.lead_units = _lead_units(task)
    return tasks, units


def _lead_units(task: TaskResult) -> list[str]:
    """The units that lead the task, or the responsible ones where none leads."""
    return [line.unit for line in task.lines if line.role == AssignmentRole.LEAD] or [
        line.unit for line in task.lines if line.role == AssignmentRole.RESPONSIBLE
    ]


def _tally_units(
    units: dict[str, UnitResult], *, items: dict[int, Item], escalations: list[EscalationResult]
) -> None:
    """Each unit's filings by status, returns and escalations."""
    for item in items.values():
        result = units[item.unit]
        setattr(result, item.status, getattr(result, item.status) + 1)
        result.returns += item.returns
    for e in escalations:
        if e.against_unit:  # the office's delay in reviewing is not the unit's 督办
            units[e.unit].escalations += 1


def _headline(
    tasks: dict[int, TaskResult], *, items: dict[int, Item], escalations: list[EscalationResult]
) -> dict[str, Any]:
    """The figures at the top of the 通报 (and in the results-published notice)."""
    statuses = Counter(item.status for item in items.values())
    done = sum(task.done for task in tasks.values())
    total = sum(len(task.lines) for task in tasks.values())
    due = statuses["on_time"] + statuses["late"] + statuses["missing"]
    return {
        "tasks": len(tasks),
        "assignments": total,
        "checkins": len(items),
        "on_time": statuses["on_time"],
        "late": statuses["late"],
        "missing": statuses["missing"],
        "pending": statuses["pending"],
        "verified": done,
        "returned": sum(item.returns for item in items.values()),
        "overdue": sum(1 for item in items.values() if item.overdue_days is not None),
        "completion_rate": round(done / total, 4) if total else 0.0,
        "on_time_rate": round(statuses["on_time"] / due, 4) if due else None,
        **_escalation_counts(escalations),
        "task_lights": {c: sum(1 for t in tasks.values() if t.light == c) for c in ORDER},
    }


def _office_figures(backlog: list[Item], rules: Any) -> dict[str, Any]:
    """办公室待审核: how many completion reports wait for the office, the longest wait, and how
    many have waited past the office's own limit (`cycle.unreviewed_days`)."""
    return {
        "office_review": {
            "items": len(backlog),
            "longest_days": max((i.waiting_days or 0 for i in backlog), default=0),
            "past_limit": sum(1 for i in backlog if (i.waiting_days or 0) >= rules.unreviewed_days),
        }
    }


def _escalation_counts(escalations: list[EscalationResult]) -> dict[str, dict[str, int]]:
    """The units' escalated items by the highest level each reached (the office's own backlog is
    counted in `office_review`)."""
    levels = (1, 2, 3)
    escalations = [e for e in escalations if e.against_unit]
    return {
        "escalations": {
            str(level): sum(1 for e in escalations if e.level == level) for level in levels
        },
        "open_escalations": {
            str(level): sum(1 for e in escalations if e.level == level and e.resolved_on is None)
            for level in levels
        },
    }


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


def scoring_facts(
    items: Iterable[Item],
    escalations: Iterable[EscalationResult],
    directives: Iterable[DirectiveResult] = (),
) -> Iterator[Fact]:
    """What 考核 counts, from the replayed items and escalations.

    A report counts against its original due date; only an extension the office approved by the
    moment moves it (the item's due date in force). An escalated item counts once, at its highest
    level, and only when it is the unit's (the office's own backlog never is).
    """
    for item in items:
        if item.filed_on is not None:
            on_time = item.filed_on <= max(item.due_on, item.due_in_force)
            yield Fact(item.unit, item.role, "on_time" if on_time else "late")
        elif item.status == "missing":
            yield Fact(item.unit, item.role, "missing")
        if item.returns:
            yield Fact(item.unit, item.role, "returned", item.returns)
    for e in escalations:
        if e.against_unit:
            yield Fact(e.unit, e.role, f"escalated_{e.level}")
    yield from unresolved_directives(directives)


def unresolved_directives(directives: Iterable[DirectiveResult]) -> Iterator[Fact]:
    """领导批示 not answered by their deadline, one fact per unit's part (`directive_unresolved`):
    at the moment, past the deadline, no reply from that unit and the 批示 not closed. A reply that
    came late ends it from then on (the late reply's escalations stay counted as escalations)."""
    for d in directives:
        if d.unresolved:
            yield Fact(d.unit, d.role, "directive_unresolved")


def scoreboard(
    items: Iterable[Item],
    escalations: Iterable[EscalationResult],
    *,
    units: list[str],
    rules: Any = None,
    directives: Iterable[DirectiveResult] = (),
) -> Scoreboard:
    """The units' 考核 scores by `rules` (config [scoring]; the shipped defaults when None)."""
    if rules is None:
        from config.settings import ScoringRules

        rules = ScoringRules()
    return score_units(scoring_facts(items, escalations, directives), units=units, rules=rules)


def scores_payload(results: Results | Scores) -> dict[str, Any]:
    """The scores as `duban score --json` and GET /api/v1/plans/{key}/scores give them."""
    board = results.scores

    def unit(u: UnitScore) -> dict[str, Any]:
        return {
            "unit": u.unit,
            "rank": u.rank,
            "score": u.score,
            "raw": u.raw,
            "counts": u.counts,
            "points": u.points,
            "reasons": u.reasons,
            "deductions": u.deductions,
        }

    return {
        "plan": results.plan_key,
        "round": results.round_name,
        "as_of": results.as_of.isoformat(),
        "as_of_day": results.as_of_day.isoformat(),
        "units": [unit(u) for u in board.units],
        "red": [unit(u) for u in board.red],
        "black": [unit(u) for u in board.black],
    }

"""退办: a unit declines a wrongly assigned task within its 签收 window, and the office decides.

A unit that has not signed may, within `cycle.unsigned_days` working days of being given the
assignment (the same window after which an unsigned assignment is escalated), decline it with a
reason. The office then reassigns it (to another unit, or changes the unit's role) or rejects the
退办 with a reason, after which the unit must do the task and its window starts again. A `decline`
row is one request and its decision: the history stays. Its state changes only through
`DECLINE_MOVES`, guarded by named predicates (`DECLINE_GUARDS`); each move writes one audit event.

While a 退办 waits for the office, the assignment is not escalated for not signing and cannot be
signed (`models.lifecycle.NO_DECLINE_PENDING`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import String
from sqlalchemy.orm import validates
from sqlmodel import Field, Session, SQLModel, col, func, select

from models import audit
from models.archive import refuse_if_archived_assignment
from models.assignment import ROLE_ZH, Assignment, AssignmentRole
from models.clock import local_day, utc
from models.db import id_of
from models.errors import DubanError, NotFound, ReasonRequired
from models.lifecycle import OFFICE, Action, Actor, State, may_act
from models.outbox import enqueue_many
from models.plan import Plan, Task
from models.recipients import message, unit_contacts
from models.round import CheckIn, CheckInState, RoundState, SupervisionRound, owed
from models.rounds import item, round_payload
from models.unit import ContactRole, Unit, find_unit

if TYPE_CHECKING:  # the domain reads settings, never loads them
    from config.settings import CycleRules


class DeclineState(StrEnum):
    PENDING = "pending"  # 待办公室审核
    REASSIGNED = "reassigned"  # 已改派他单位
    ROLE_CHANGED = "role_changed"  # 已调整分工角色
    REJECTED = "rejected"  # 不予退办


class DeclineMove(StrEnum):
    DECLINE = "decline"  # the unit: 退办
    REASSIGN = "reassign"  # the office: 改派
    CHANGE_ROLE = "change_role"  # the office: 调整角色
    REJECT = "reject"  # the office: 不予退办


# The one table of a 退办's moves: (state, move) -> state; None is "no request yet".
DECLINE_MOVES: Final[dict[tuple[DeclineState | None, DeclineMove], DeclineState]] = {
    (None, DeclineMove.DECLINE): DeclineState.PENDING,
    (DeclineState.PENDING, DeclineMove.REASSIGN): DeclineState.REASSIGNED,
    (DeclineState.PENDING, DeclineMove.CHANGE_ROLE): DeclineState.ROLE_CHANGED,
    (DeclineState.PENDING, DeclineMove.REJECT): DeclineState.REJECTED,
}

DECLINE_STATE_LABELS: Final[dict[DeclineState, str]] = {
    DeclineState.PENDING: "待办公室审核",
    DeclineState.REASSIGNED: "已改派",
    DeclineState.ROLE_CHANGED: "已调整分工",
    DeclineState.REJECTED: "不予退办",
}
MOVE_LABELS: Final[dict[DeclineMove, str]] = {
    DeclineMove.DECLINE: "退办",
    DeclineMove.REASSIGN: "改派",
    DeclineMove.CHANGE_ROLE: "调整分工角色",
    DeclineMove.REJECT: "不予退办",
}
AUDIT_CODES: Final[dict[DeclineMove, str]] = {
    DeclineMove.DECLINE: "decline.request",
    DeclineMove.REASSIGN: "decline.reassign",
    DeclineMove.CHANGE_ROLE: "decline.change_role",
    DeclineMove.REJECT: "decline.reject",
}

_moving: ContextVar[bool] = ContextVar("decline_state_moving", default=False)


class Decline(SQLModel, table=True):
    """One 退办 request of one assignment, and the office's decision on it."""

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    role: str = Field(max_length=16, description="the unit's role when it declined")
    reason: str = Field(max_length=2000)
    requested_by: str = Field(max_length=200)
    requested_at: datetime
    state: DeclineState = Field(default=DeclineState.PENDING, sa_type=String(16), index=True)
    decided_by: str | None = Field(default=None, max_length=200)
    decided_at: datetime | None = None
    decision_reason: str | None = Field(default=None, max_length=2000)
    new_assignment_id: int | None = Field(default=None, foreign_key="assignment.id")
    new_role: str | None = Field(default=None, max_length=16)

    @validates("state")
    def _only_through_moves(self, key: str, value: Any) -> Any:
        if self.__dict__.get("state") is None and value == DeclineState.PENDING:
            return value
        if not _moving.get():
            raise AttributeError(f"decline #{self.id}: state changes only through DECLINE_MOVES")
        return value


@contextmanager
def _move_door() -> Iterator[None]:
    token = _moving.set(True)
    try:
        yield
    finally:
        _moving.reset(token)


class DeclineRefused(DubanError):
    zh = "{subject_zh}不能{move_zh}：{why_zh}"
    en = "{subject}: cannot {move}: {why}"
    exit_code = 4


class TooLong(DubanError):
    zh = "{what_zh}过长：{length} 个字符，最多 2000 个。"
    en = "{what} is too long: {length} characters, at most 2000"
    exit_code = 2


def _subject(session: Session, assignment: Assignment) -> dict[str, str]:
    task = session.get_one(Task, assignment.task_id)
    unit = session.get_one(Unit, assignment.unit_id)
    return {
        "subject": f"assignment #{assignment.id} (task {task.number}, {unit.name})",
        "subject_zh": f"任务分工 #{assignment.id}（任务{task.number}／{unit.name}）",
    }


# --- the window ---------------------------------------------------------------------------------


def window_start(session: Session, assignment: Assignment) -> datetime | None:
    """When the unit was given the assignment: a fresh start the office gave it (`sign_from`), or
    else the opening of the first round that asked it to report; None when no round has yet."""
    first = session.exec(
        select(func.min(SupervisionRound.opened_at))
        .join(CheckIn, col(CheckIn.round_id) == col(SupervisionRound.id))
        .where(CheckIn.assignment_id == assignment.id)
    ).one()
    starts = [utc(m) for m in (assignment.sign_from, first) if m is not None]
    return max(starts) if starts else None


def window_ends(start: datetime, rules: CycleRules, timezone: str) -> date:
    """The last day of the window: escalation for not signing fires `unsigned_days` working days
    after the start day (`models.escalations`), so the day before that is still within it."""
    calendar = rules.calendar
    return calendar.add_working_days(local_day(start, timezone), rules.unsigned_days - 1)


def within_window(start: datetime | None, now: datetime, rules: CycleRules, timezone: str) -> bool:
    if start is None:  # not yet told of it by any round: the window has not begun to run
        return True
    elapsed = rules.calendar.working_days_between(
        local_day(start, timezone), local_day(now, timezone)
    )
    return elapsed < rules.unsigned_days


# --- guards -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Facts:
    """What the decline guards read: the assignment, who acts, and what the database says."""

    assignment: Assignment
    actor: Actor
    window_open: bool
    declined_before: bool


@dataclass(frozen=True, slots=True)
class DeclineGuard:
    name: str
    holds: Callable[[Facts], bool]
    why: tuple[str, str]  # (Chinese, English)


NOT_WITHDRAWN: Final = DeclineGuard(
    "not_withdrawn", lambda f: f.assignment.withdrawn_at is None, ("该分工已撤销", "withdrawn")
)
PERMITTED: Final = DeclineGuard(
    "permitted",
    lambda f: may_act(f.actor, Action.SIGN, f.assignment.unit_id),
    ("当前用户无权为该单位退办", "this user may not decline for this unit"),
)
NOT_SIGNED: Final = DeclineGuard(
    "not_signed",
    lambda f: State(f.assignment.state) == State.ASSIGNED,
    ("已签收的任务不能退办", "it has been signed for already"),
)
NOT_ALREADY_DECLINED: Final = DeclineGuard(
    "not_already_declined",
    lambda f: not f.declined_before,
    (
        "本单位已就该任务提出过退办（待审核或已处理），不能再次退办",
        "it was declined before (pending or decided)",
    ),
)
WITHIN_WINDOW: Final = DeclineGuard(
    "within_window",
    lambda f: f.window_open,
    ("已超过签收期限，不能退办", "the signing window has passed"),
)
DECLINE_GUARDS: Final = (NOT_WITHDRAWN, PERMITTED, NOT_SIGNED, NOT_ALREADY_DECLINED, WITHIN_WINDOW)


def facts_of(
    session: Session,
    assignment: Assignment,
    actor: Actor,
    *,
    now: datetime,
    rules: CycleRules,
    timezone: str,
) -> Facts:
    declined = session.exec(
        select(func.count(col(Decline.id))).where(Decline.assignment_id == assignment.id)
    ).one()
    start = window_start(session, assignment)
    return Facts(assignment, actor, within_window(start, now, rules, timezone), declined > 0)


def decline_refusal(facts: Facts) -> DeclineGuard | None:
    """The first guard that refuses a 退办 now, or None when the unit may decline."""
    return next((g for g in DECLINE_GUARDS if not g.holds(facts)), None)


def may_decline(
    session: Session,
    assignment: Assignment,
    actor: Actor,
    *,
    now: datetime,
    rules: CycleRules,
    timezone: str,
) -> bool:
    """Whether the portal offers the 退办 form to this user now."""
    facts = facts_of(session, assignment, actor, now=now, rules=rules, timezone=timezone)
    return decline_refusal(facts) is None


def _move(decline: Decline, move: DeclineMove) -> DeclineState:
    target = DECLINE_MOVES.get((decline.state, move))
    if target is None:
        raise DeclineRefused(
            subject=f"decline #{decline.id}",
            subject_zh=f"退办申请 #{decline.id}",
            move=move.value,
            move_zh=MOVE_LABELS[move],
            why=f"it is {decline.state}",
            why_zh=f"该申请已{DECLINE_STATE_LABELS[DeclineState(decline.state)]}",
        )
    with _move_door():
        decline.state = target
    return target


def _reason(text: str | None, *, what: str, what_zh: str) -> str:
    reason = (text or "").strip()
    if not reason:
        raise ReasonRequired(action=what, action_zh=what_zh)
    if len(reason) > 2000:
        raise TooLong(what=f"the reason for {what}", what_zh=f"{what_zh}理由", length=len(reason))
    return reason


# --- the unit declines --------------------------------------------------------------------------


def decline(
    session: Session,
    *,
    assignment_id: int,
    reason: str | None,
    actor: Actor,
    now: datetime,
    rules: CycleRules,
    timezone: str,
) -> Decline:
    """退办: the unit declines its assignment, within its 签收 window, with a reason."""
    refuse_if_archived_assignment(session, assignment_id=assignment_id)  # read-only
    # The row lock makes two 退办 sent at once wait for each other: only one is written.
    session.exec(
        select(Assignment.id).where(Assignment.id == assignment_id).with_for_update()
    ).first()
    assignment = session.get(Assignment, assignment_id, populate_existing=True)
    if assignment is None:
        raise NotFound(kind="assignment", kind_zh="任务分工", key=f"#{assignment_id}")
    facts = facts_of(session, assignment, actor, now=now, rules=rules, timezone=timezone)
    guard = decline_refusal(facts)
    if guard is NOT_WITHDRAWN:
        raise NotFound(kind="assignment", kind_zh="任务分工", key=f"#{assignment_id}")
    if guard is not None and guard is not WITHIN_WINDOW and guard is not NOT_ALREADY_DECLINED:
        raise _refused(session, assignment, DeclineMove.DECLINE, guard.why)
    text = _reason(reason, what="decline", what_zh="退办")  # a missing reason is named first
    if guard is not None:
        raise _refused(session, assignment, DeclineMove.DECLINE, guard.why)
    row = Decline(
        assignment_id=id_of(assignment),
        unit_id=assignment.unit_id,
        role=str(assignment.role),
        reason=text,
        requested_by=actor.name,
        requested_at=utc(now),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        at=now,
        actor=actor,
        action=AUDIT_CODES[DeclineMove.DECLINE],
        object_type="decline",
        object_id=row.id,
        task_id=assignment.task_id,
        unit_id=assignment.unit_id,
        before={"declines": 0},
        after={"assignment": assignment.id, "state": str(row.state), "role": row.role},
        reason=text,
    )
    return row


def _refused(
    session: Session, assignment: Assignment, move: DeclineMove, why: tuple[str, str]
) -> DeclineRefused:
    return DeclineRefused(
        move=move.value,
        move_zh=MOVE_LABELS[move],
        why=why[1],
        why_zh=why[0],
        **_subject(session, assignment),
    )


# --- the office decides -------------------------------------------------------------------------


def pending_of(session: Session, assignment_id: int) -> Decline:
    """The 退办 of this assignment that waits for the office."""
    found = session.exec(
        select(Decline)
        .where(Decline.assignment_id == assignment_id, Decline.state == DeclineState.PENDING)
        .with_for_update()
    ).first()
    if found is None:
        raise NotFound(
            kind="pending decline", kind_zh="待审核的退办申请", key=f"任务分工 #{assignment_id}"
        )
    return found


@dataclass(frozen=True, slots=True)
class Decided:
    decline: Decline
    assignment: Assignment  # the assignment the task now has for this work: new, re-roled or as was
    notices: int


def decide(
    session: Session,
    *,
    assignment_id: int,
    actor: Actor,
    now: datetime,
    rules: CycleRules,
    timezone: str,
    reassign_to: str | None = None,
    role: AssignmentRole | str | None = None,
    reject: bool = False,
    reason: str | None = None,
) -> Decided:
    """The office's decision on a pending 退办: reassign to another unit (its role as given, else
    the declining unit's), change the unit's role, or reject with a reason. Each restarts the
    签收 window of whoever now holds the assignment."""
    refuse_if_archived_assignment(session, assignment_id=assignment_id)  # read-only
    assignment = session.get(Assignment, assignment_id, populate_existing=True)
    if assignment is None or assignment.withdrawn_at is not None:
        raise NotFound(kind="assignment", kind_zh="任务分工", key=f"#{assignment_id}")
    if actor.role not in OFFICE:
        from models.workflow import not_permitted

        raise not_permitted(
            session, assignment, actor, action="decide a decline", action_zh="审核退办"
        )
    row = pending_of(session, assignment_id)
    chosen = [reassign_to is not None, reject, role is not None and reassign_to is None]
    if sum(chosen) != 1:
        raise DeclineDecisionUnclear()
    new_role = AssignmentRole(role) if role is not None else None
    if reject:
        return _reject(session, row, assignment, actor=actor, now=now, reason=reason)
    note = (reason or "").strip() or None
    if reassign_to is not None:
        return _reassign(
            session,
            row,
            assignment,
            find_unit(session, reassign_to),
            new_role or AssignmentRole(assignment.role),
            actor=actor,
            now=now,
            rules=rules,
            timezone=timezone,
            note=note,
        )
    assert new_role is not None
    return _change_role(
        session,
        row,
        assignment,
        new_role,
        actor=actor,
        now=now,
        rules=rules,
        timezone=timezone,
        note=note,
    )


class DeclineDecisionUnclear(DubanError):
    zh = "请选择一种处理方式：改派他单位（可同时指定角色）、调整角色，或不予退办（须填写理由）。"
    en = "choose one decision: reassign (optionally with a role), change the role, or reject"
    exit_code = 2


def _decided(row: Decline, move: DeclineMove, actor: Actor, now: datetime, note: str | None) -> str:
    before = str(row.state)
    _move(row, move)
    row.decided_by, row.decided_at, row.decision_reason = actor.name, utc(now), note
    return before


def _reject(
    session: Session,
    row: Decline,
    assignment: Assignment,
    *,
    actor: Actor,
    now: datetime,
    reason: str | None,
) -> Decided:
    text = _reason(reason, what="reject a decline", what_zh="不予退办")
    before = _decided(row, DeclineMove.REJECT, actor, now, text)
    assignment.sign_from = utc(now)  # the unit must now sign: its window starts again
    session.add_all([row, assignment])
    _record(session, row, DeclineMove.REJECT, assignment, before, actor=actor, now=now)
    return Decided(row, assignment, 0)


def _change_role(
    session: Session,
    row: Decline,
    assignment: Assignment,
    role: AssignmentRole,
    *,
    actor: Actor,
    now: datetime,
    rules: CycleRules,
    timezone: str,
    note: str | None,
) -> Decided:
    if role == assignment.role:
        raise _refused(
            session,
            assignment,
            DeclineMove.CHANGE_ROLE,
            (f"该单位已是{ROLE_ZH[role]}单位", f"it is {role.value} already"),
        )
    before = _decided(row, DeclineMove.CHANGE_ROLE, actor, now, note)
    old_role = str(assignment.role)
    assignment.role, assignment.sign_from = role, utc(now)
    row.new_assignment_id, row.new_role = assignment.id, role.value
    session.add_all([row, assignment])
    session.flush()
    moved = _redate_owed(session, assignment, rules=rules, timezone=timezone, now=now)
    notices = _notify(session, assignment, row, now=now)
    _record(
        session,
        row,
        DeclineMove.CHANGE_ROLE,
        assignment,
        before,
        actor=actor,
        now=now,
        extra={"from_role": old_role, "to_role": role.value, "checkins_redated": moved},
    )
    return Decided(row, assignment, notices)


def _reassign(
    session: Session,
    row: Decline,
    assignment: Assignment,
    unit: Unit,
    role: AssignmentRole,
    *,
    actor: Actor,
    now: datetime,
    rules: CycleRules,
    timezone: str,
    note: str | None,
) -> Decided:
    held = session.exec(
        select(Assignment).where(
            Assignment.task_id == assignment.task_id, Assignment.unit_id == unit.id
        )
    ).first()
    if held is not None and (held.withdrawn_at is None or held.id == assignment.id):
        why = (
            ("不能改派给提出退办的单位本身", "it cannot go back to the declining unit")
            if held.id == assignment.id
            else (
                f"{unit.name}已承担该任务（{ROLE_ZH[AssignmentRole(held.role)]}），"
                "如需调整请改其角色",
                f"{unit.name} already holds this task",
            )
        )
        raise _refused(session, assignment, DeclineMove.REASSIGN, why)
    before = _decided(row, DeclineMove.REASSIGN, actor, now, note)
    at = utc(now)
    assignment.withdrawn_at = at  # the declining unit's row stays, with its history
    if held is not None:  # withdrawn earlier: the same row comes back, its history with it
        held.withdrawn_at, held.role, held.sign_from = None, role, at
        given = held
    else:
        given = Assignment(
            task_id=assignment.task_id,
            unit_id=id_of(unit),
            role=role,
            due_on=assignment.due_on,
            original_due_on=assignment.original_due_on,
            created_at=at,
            sign_from=at,
        )
    session.add_all([assignment, given])
    session.flush()
    row.new_assignment_id, row.new_role = given.id, role.value
    session.add(row)
    carried = _carry_checkins(session, assignment, given, rules=rules, timezone=timezone, now=now)
    notices = _notify(session, given, row, now=now)
    _record(
        session,
        row,
        DeclineMove.REASSIGN,
        given,
        before,
        actor=actor,
        now=now,
        extra={
            "from_assignment": assignment.id,
            "to_unit": unit.name,
            "to_role": role.value,
            "checkins": carried,
        },
    )
    return Decided(row, given, notices)


def _due_in(round_: SupervisionRound, role: str, rules: CycleRules, today: date) -> date:
    """A check-in's date by the lead/cooperating rule: cooperating units report a few working days
    before the round's date, never before today (as `models.rounds.open_round`)."""
    if role != AssignmentRole.COOPERATING:
        return round_.report_by
    early = rules.calendar.add_working_days(round_.report_by, -rules.cooperating_lead_days)
    return max(early, min(today, round_.report_by))


def _carry_checkins(
    session: Session,
    old: Assignment,
    new: Assignment,
    *,
    rules: CycleRules,
    timezone: str,
    now: datetime,
) -> int:
    """The new unit owes what the declining unit owed in each open round."""
    today = local_day(now, timezone)
    rounds = session.exec(
        select(SupervisionRound)
        .join(CheckIn, col(CheckIn.round_id) == col(SupervisionRound.id))
        .where(
            CheckIn.assignment_id == old.id,
            SupervisionRound.state == RoundState.OPEN,
            owed(),
        )
    ).all()
    have = set(session.exec(select(CheckIn.round_id).where(CheckIn.assignment_id == new.id)))
    made = 0
    for round_ in rounds:
        if round_.id in have:
            continue
        due = _due_in(round_, str(new.role), rules, today)
        session.add(
            CheckIn(
                round_id=id_of(round_),
                assignment_id=id_of(new),
                due_on=due,
                original_due_on=due,
                state=CheckInState.PENDING,
            )
        )
        made += 1
    session.flush()
    return made


def _redate_owed(
    session: Session, assignment: Assignment, *, rules: CycleRules, timezone: str, now: datetime
) -> int:
    """A role change re-applies the lead/cooperating rule to the unit's owed check-ins."""
    today = local_day(now, timezone)
    moved = 0
    for checkin, round_ in session.exec(
        select(CheckIn, SupervisionRound)
        .join(SupervisionRound, col(SupervisionRound.id) == col(CheckIn.round_id))
        .where(
            CheckIn.assignment_id == assignment.id,
            SupervisionRound.state == RoundState.OPEN,
            owed(),
        )
    ):
        due = _due_in(round_, str(assignment.role), rules, today)
        if due != checkin.due_on:
            checkin.due_on = checkin.original_due_on = due
            session.add(checkin)
            moved += 1
    return moved


def _notify(session: Session, given: Assignment, row: Decline, *, now: datetime) -> int:
    """The unit now holding the assignment hears of it as of a new assignment: one round_opened
    message per open round it owes in (none when no round is open: the next round tells it)."""
    liaison = unit_contacts(session, [given.unit_id], ContactRole.LIAISON).get(given.unit_id)
    if liaison is None:
        return 0
    task = session.get_one(Task, given.task_id)
    unit = session.get_one(Unit, given.unit_id)
    plan = session.get_one(Plan, task.plan_id)
    messages = []
    for checkin, round_ in session.exec(
        select(CheckIn, SupervisionRound)
        .join(SupervisionRound, col(SupervisionRound.id) == col(CheckIn.round_id))
        .where(
            CheckIn.assignment_id == given.id,
            SupervisionRound.state == RoundState.OPEN,
            owed(),
        )
    ):
        entry = item(
            task.number, task.title, str(given.role), checkin.due_on, id_of(checkin), id_of(given)
        )
        payload = {
            "round": round_payload(round_.name, round_.report_by),
            "plan": {"title": plan.title},
            "unit": unit.name,
            "items": [entry],
        }
        key = f"round_opened:r{round_.id}:u{unit.id}:a{given.id}:d{row.id}:liaison"
        messages.append(message("round_opened", key, liaison, payload))
    return enqueue_many(session, messages, now=now)


def _record(
    session: Session,
    row: Decline,
    move: DeclineMove,
    assignment: Assignment,
    before: str,
    *,
    actor: Actor,
    now: datetime,
    extra: dict[str, Any] | None = None,
) -> None:
    audit.record(
        session,
        at=now,
        actor=actor,
        action=AUDIT_CODES[move],
        object_type="decline",
        object_id=row.id,
        task_id=assignment.task_id,
        unit_id=row.unit_id,
        before={"state": before},
        after={"state": str(row.state), "assignment": assignment.id, **(extra or {})},
        reason=row.decision_reason,
    )


# --- reading ------------------------------------------------------------------------------------


def pending_ids(session: Session) -> set[int]:
    """The assignments whose 退办 waits for the office (not escalated for not signing)."""
    return set(
        session.exec(select(Decline.assignment_id).where(Decline.state == DeclineState.PENDING))
    )


def history_of(session: Session, assignment_id: int) -> list[Decline]:
    """The 退办 requests that concern this assignment: its own, and the one it was reassigned by."""
    return list(
        session.exec(
            select(Decline)
            .where(
                (col(Decline.assignment_id) == assignment_id)
                | (col(Decline.new_assignment_id) == assignment_id)
            )
            .order_by(col(Decline.id))
        )
    )


def listing() -> Any:
    """Every 退办 for the office, as a query to page: pending first, then the newest."""
    return (
        select(Decline, Task, Unit)
        .join(Assignment, col(Assignment.id) == col(Decline.assignment_id))
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .join(Unit, col(Unit.id) == col(Decline.unit_id))
        .order_by(col(Decline.state) != DeclineState.PENDING, col(Decline.id).desc())
    )

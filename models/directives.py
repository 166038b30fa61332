"""领导批示: a leader's instruction on a task or an assignment, tracked like the rest.

A leader (or the office on a leader's behalf, naming the leader) writes a 批示 on a task (every
unit with a live assignment on it is concerned) or on one assignment (its unit), with an optional
deadline. Each unit concerned gets a message at once and a `directive_unit` row: its own reply
and its own state. The 批示 itself is closed by the office or by its leader.

States change only through `DIRECTIVE_MOVES` (the 批示) and `REPLY_MOVES` (a unit's part), and
each move writes one audit event. A unit's part is overdue when the deadline has passed (the
office's local day is after it) with no reply and the 批示 still open: the ladder raises it
(`escalate_directives`) and the 通报 counts it (`directive_unresolved`, a deduction by default;
the default rules award no points for 批示, as the 基层减负 rules require).
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import String
from sqlalchemy.orm import validates
from sqlmodel import Field, Session, SQLModel, col, select

from models import audit
from models.archive import refuse_if_archived
from models.assignment import Assignment
from models.clock import local_day, utc
from models.db import id_of
from models.errors import DubanError, NotFound, ReasonRequired
from models.lifecycle import OFFICE, Actor, Role
from models.outbox import enqueue_many
from models.plan import Task
from models.recipients import message, unit_contacts
from models.unit import ContactRole, Unit

if TYPE_CHECKING:  # the domain reads settings, never loads them
    from config.settings import Settings

TEXT_LIMIT: Final = 2000


class DirectiveState(StrEnum):
    OPEN = "open"  # 办理中
    CLOSED = "closed"  # 已办结


class ReplyState(StrEnum):
    PENDING = "pending"  # 待回复
    REPLIED = "replied"  # 已回复


class DirectiveMove(StrEnum):
    CLOSE = "close"  # the office or the leader: 办结


class ReplyMove(StrEnum):
    REPLY = "reply"  # the unit (or the office on its behalf): 回复


# The two small tables of moves: (state, move) -> state.
DIRECTIVE_MOVES: Final[dict[tuple[DirectiveState, DirectiveMove], DirectiveState]] = {
    (DirectiveState.OPEN, DirectiveMove.CLOSE): DirectiveState.CLOSED,
}
REPLY_MOVES: Final[dict[tuple[ReplyState, ReplyMove], ReplyState]] = {
    (ReplyState.PENDING, ReplyMove.REPLY): ReplyState.REPLIED,
}

STATE_LABELS: Final[dict[str, str]] = {
    DirectiveState.OPEN: "办理中",
    DirectiveState.CLOSED: "已办结",
    ReplyState.PENDING: "待回复",
    ReplyState.REPLIED: "已回复",
    "overdue": "逾期未回复",
}

_moving: ContextVar[bool] = ContextVar("directive_state_moving", default=False)


@contextmanager
def _move_door() -> Iterator[None]:
    token = _moving.set(True)
    try:
        yield
    finally:
        _moving.reset(token)


def _guarded(row: Any, value: Any, first: str) -> Any:
    if row.__dict__.get("state") is None and value == first:
        return value
    if not _moving.get():
        raise AttributeError(f"{type(row).__name__} #{row.id}: state changes only through moves")
    return value


class Directive(SQLModel, table=True):
    """One 批示 on a task (assignment_id empty) or on one assignment."""

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    assignment_id: int | None = Field(default=None, foreign_key="assignment.id", index=True)
    leader: str = Field(max_length=200, index=True, description="whose 批示 it is")
    author: str = Field(max_length=200, description="who wrote it in: the leader or the office")
    text: str = Field(max_length=TEXT_LIMIT)
    deadline: date | None = None
    created_at: datetime
    state: DirectiveState = Field(default=DirectiveState.OPEN, sa_type=String(16), index=True)
    closed_by: str | None = Field(default=None, max_length=200)
    closed_at: datetime | None = None
    close_note: str | None = Field(default=None, max_length=TEXT_LIMIT)

    @validates("state")
    def _only_through_moves(self, key: str, value: Any) -> Any:
        return _guarded(self, value, DirectiveState.OPEN)


class DirectiveUnit(SQLModel, table=True):
    """A unit concerned by a 批示, and its reply."""

    __tablename__ = "directive_unit"

    id: int | None = Field(default=None, primary_key=True)
    directive_id: int = Field(foreign_key="directive.id", index=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    state: ReplyState = Field(default=ReplyState.PENDING, sa_type=String(16))
    reply: str | None = Field(default=None, max_length=TEXT_LIMIT)
    replied_by: str | None = Field(default=None, max_length=200)
    replied_at: datetime | None = None

    @validates("state")
    def _only_through_moves(self, key: str, value: Any) -> Any:
        return _guarded(self, value, ReplyState.PENDING)


class DirectiveRefused(DubanError):
    zh = "批示 #{id} 不能{move_zh}：{why_zh}"
    en = "directive #{id}: cannot {move}: {why}"
    exit_code = 4


class DirectiveNotPermitted(DubanError):
    zh = "{actor}无权{action_zh}：{why_zh}"
    en = "{actor} may not {action}: {why}"
    exit_code = 4


class DirectiveInvalid(DubanError):
    zh = "{detail_zh}"
    en = "{detail}"
    exit_code = 2


# --- who may do what ----------------------------------------------------------------------------


def may_write(actor: Actor) -> bool:
    """A leader writes their own 批示; the office writes one on a leader's behalf."""
    return actor.role == Role.LEADER or actor.role in OFFICE


def leader_names(session: Session, actor: Actor) -> set[str]:
    """The names a leader's 批示 carry: their user name and their display name (the office writes
    the latter on their behalf)."""
    from models.user import User

    if actor.role != Role.LEADER:
        return set()
    user = session.exec(select(User).where(User.username == actor.name)).first()
    return {actor.name} | ({user.display_name} if user is not None and user.display_name else set())


def leader_label(session: Session, actor: Actor) -> str:
    """How a leader's own 批示 names them: the display name, else the user name."""
    from models.user import User

    user = session.exec(select(User).where(User.username == actor.name)).first()
    return (user.display_name if user is not None else None) or actor.name


def may_close(actor: Actor, directive: Directive, leaders: AbstractSet[str] = frozenset()) -> bool:
    """The office, or the leader whose 批示 it is (`leaders`: their names, `leader_names`)."""
    return directive.state == DirectiveState.OPEN and (
        actor.role in OFFICE or (actor.role == Role.LEADER and directive.leader in leaders)
    )


def may_reply(actor: Actor, directive: Directive, part: DirectiveUnit) -> bool:
    return (
        directive.state == DirectiveState.OPEN
        and part.state == ReplyState.PENDING
        and (actor.role in OFFICE or (actor.role == Role.UNIT and actor.unit_id == part.unit_id))
    )


def is_overdue(directive: Directive, part: DirectiveUnit, today: date) -> bool:
    """A unit's part past the deadline (the office's local day is after it) with no reply, the
    批示 still open."""
    return (
        directive.state == DirectiveState.OPEN
        and part.state == ReplyState.PENDING
        and directive.deadline is not None
        and today > directive.deadline
    )


def _text(value: str | None, *, action: str, action_zh: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ReasonRequired(action=action, action_zh=action_zh)
    if len(text) > TEXT_LIMIT:
        raise DirectiveInvalid(
            detail=f"the text is too long: {len(text)} characters, at most {TEXT_LIMIT}",
            detail_zh=f"{action_zh}内容过长：{len(text)} 个字符，最多 {TEXT_LIMIT} 个。",
        )
    return text


# --- writing a 批示 ------------------------------------------------------------------------------


def add(
    session: Session,
    *,
    settings: Settings,
    actor: Actor,
    now: datetime,
    text: str | None,
    task_id: int | None = None,
    assignment_id: int | None = None,
    deadline: date | None = None,
    on_behalf_of: str | None = None,
) -> Directive:
    """Write a 批示 and tell each unit concerned at once; one audit event."""
    if not may_write(actor):
        raise DirectiveNotPermitted(
            actor=actor.name,
            action="write a directive",
            action_zh="填写批示",
            why="only a leader, or the office on a leader's behalf",
            why_zh="仅领导本人或办公室代领导可以填写批示",
        )
    leader = (
        leader_label(session, actor) if actor.role == Role.LEADER else (on_behalf_of or "").strip()
    )
    if not leader:
        raise DirectiveInvalid(
            detail="the office writes a directive on a leader's behalf: name the leader",
            detail_zh="办公室代领导填写批示，须注明批示领导。",
        )
    if len(leader) > 200:
        raise DirectiveInvalid(detail="the leader's name is too long", detail_zh="批示领导过长。")
    body = _text(text, action="directive", action_zh="批示")
    task, parts = _concerned(session, task_id=task_id, assignment_id=assignment_id)
    refuse_if_archived(session, plan_id=task.plan_id)
    today = local_day(now, settings.timezone)
    if deadline is not None and deadline < today:
        raise DirectiveInvalid(
            detail=f"the deadline {deadline} is before today {today}",
            detail_zh=f"办理期限 {deadline} 早于今天 {today}。",
        )
    row = Directive(
        task_id=id_of(task),
        assignment_id=assignment_id,
        leader=leader,
        author=actor.name,
        text=body,
        deadline=deadline,
        created_at=utc(now),
    )
    session.add(row)
    session.flush()
    for assignment in parts:
        session.add(
            DirectiveUnit(
                directive_id=id_of(row), assignment_id=id_of(assignment), unit_id=assignment.unit_id
            )
        )
    session.flush()
    _notify(session, row, task, parts)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="directive.add",
        object_type="directive",
        object_id=row.id,
        task_id=task.id,
        unit_id=parts[0].unit_id if assignment_id is not None else None,
        after={
            "leader": leader,
            "assignment": assignment_id,
            "deadline": deadline.isoformat() if deadline else None,
            "units": [a.unit_id for a in parts],
        },
        reason=body,
    )
    return row


def _concerned(
    session: Session, *, task_id: int | None, assignment_id: int | None
) -> tuple[Task, list[Assignment]]:
    """The task and the live assignments a 批示 concerns."""
    if (task_id is None) == (assignment_id is None):
        raise DirectiveInvalid(
            detail="name a task or an assignment, one of the two",
            detail_zh="请指定批示的任务或任务分工（二者选一）。",
        )
    if assignment_id is not None:
        assignment = session.get(Assignment, assignment_id)
        if assignment is None or assignment.withdrawn_at is not None:
            raise NotFound(kind="assignment", kind_zh="任务分工", key=f"#{assignment_id}")
        return session.get_one(Task, assignment.task_id), [assignment]
    task = session.get(Task, task_id)
    if task is None or task.withdrawn_at is not None:
        raise NotFound(kind="task", kind_zh="任务", key=f"#{task_id}")
    parts = list(
        session.exec(
            select(Assignment)
            .where(Assignment.task_id == task.id, col(Assignment.withdrawn_at).is_(None))
            .order_by(col(Assignment.id))
        )
    )
    if not parts:
        raise DirectiveInvalid(
            detail=f"task {task.number} has no unit to instruct",
            detail_zh=f"任务{task.number}尚无承办单位，无法批示。",
        )
    return task, parts


def _notify(session: Session, row: Directive, task: Task, parts: list[Assignment]) -> None:
    liaisons = unit_contacts(session, [a.unit_id for a in parts], ContactRole.LIAISON)
    names = dict(session.exec(select(Unit.id, Unit.name)).all())
    messages = [
        message(
            "directive",
            f"directive:{row.id}:u{a.unit_id}",
            liaisons[a.unit_id],
            {
                "unit": names[a.unit_id],
                "leader": row.leader,
                "text": row.text,
                "deadline": row.deadline.isoformat() if row.deadline else None,
                "item": {
                    "task_number": task.number,
                    "task_title": task.title,
                    "role": str(a.role),
                    "due_on": a.due_on.isoformat() if a.due_on else None,
                    "assignment_id": a.id,
                },
            },
        )
        for a in parts
        if a.unit_id in liaisons
    ]
    enqueue_many(session, messages, now=row.created_at)


# --- replying and closing -----------------------------------------------------------------------


def get(session: Session, directive_id: int) -> Directive:
    row = session.get(Directive, directive_id, populate_existing=True)
    if row is None:
        raise NotFound(kind="directive", kind_zh="批示", key=f"#{directive_id}")
    return row


def _part_of(
    session: Session, directive: Directive, actor: Actor, unit: str | None
) -> DirectiveUnit:
    parts = parts_of(session, id_of(directive))
    if actor.role == Role.UNIT:
        mine = [p for p in parts if p.unit_id == actor.unit_id]
    elif unit:
        found = session.exec(select(Unit.id).where(Unit.name == unit.strip())).first()
        mine = [p for p in parts if p.unit_id == found]
    elif len(parts) == 1:
        mine = parts
    else:
        raise DirectiveInvalid(
            detail="the directive concerns several units: name the one replying",
            detail_zh="该批示涉及多个单位，请指明回复的单位。",
        )
    if not mine:
        raise NotFound(
            kind="unit concerned by the directive",
            kind_zh="该批示涉及的单位",
            key=unit or actor.name,
        )
    return mine[0]


def reply(
    session: Session,
    *,
    directive_id: int,
    text: str | None,
    actor: Actor,
    now: datetime,
    unit: str | None = None,
) -> DirectiveUnit:
    """The unit's reply (the office may record it on the unit's behalf, naming the unit)."""
    directive = get(session, directive_id)
    refuse_if_archived(session, plan_id=session.get_one(Task, directive.task_id).plan_id)
    part = _part_of(session, directive, actor, unit)
    if not may_reply(actor, directive, part):
        why = (
            ("该批示已办结", "it is closed")
            if directive.state != DirectiveState.OPEN
            else ("本单位已回复", "this unit has replied")
            if part.state != ReplyState.PENDING
            else ("仅本单位或办公室可以回复", "only the unit or the office may reply")
        )
        raise DirectiveRefused(
            id=directive.id, move="reply", move_zh="回复", why=why[1], why_zh=why[0]
        )
    body = _text(text, action="reply", action_zh="批示回复")
    with _move_door():
        part.state = REPLY_MOVES[(ReplyState(part.state), ReplyMove.REPLY)]
    part.reply, part.replied_by, part.replied_at = body, actor.name, utc(now)
    session.add(part)
    _settle_ladder(
        session, directive, [part.assignment_id], actor=actor, now=now, why="单位已回复领导批示"
    )
    audit.record(
        session,
        at=now,
        actor=actor,
        action="directive.reply",
        object_type="directive",
        object_id=directive.id,
        task_id=directive.task_id,
        unit_id=part.unit_id,
        before={"state": ReplyState.PENDING.value},
        after={"state": ReplyState.REPLIED.value, "assignment": part.assignment_id},
        reason=body,
    )
    return part


def close(
    session: Session, *, directive_id: int, actor: Actor, now: datetime, note: str | None = None
) -> Directive:
    """办结: the office or the directive's leader closes it (a note is optional)."""
    directive = get(session, directive_id)
    refuse_if_archived(session, plan_id=session.get_one(Task, directive.task_id).plan_id)
    target = DIRECTIVE_MOVES.get((DirectiveState(directive.state), DirectiveMove.CLOSE))
    if target is None:
        raise DirectiveRefused(
            id=directive.id, move="close", move_zh="办结", why="it is closed", why_zh="该批示已办结"
        )
    if not may_close(actor, directive, leader_names(session, actor)):
        raise DirectiveNotPermitted(
            actor=actor.name,
            action="close the directive",
            action_zh="办结该批示",
            why="only the office or its leader",
            why_zh="仅办公室或批示领导可以办结",
        )
    words = (note or "").strip() or None
    if words is not None and len(words) > TEXT_LIMIT:
        _text(words, action="close", action_zh="办结说明")
    with _move_door():
        directive.state = target
    directive.closed_by, directive.closed_at, directive.close_note = actor.name, utc(now), words
    session.add(directive)
    pending = [
        p.assignment_id
        for p in parts_of(session, id_of(directive))
        if p.state == ReplyState.PENDING
    ]
    _settle_ladder(session, directive, pending, actor=actor, now=now, why="领导批示已办结")
    audit.record(
        session,
        at=now,
        actor=actor,
        action="directive.close",
        object_type="directive",
        object_id=directive.id,
        task_id=directive.task_id,
        before={"state": DirectiveState.OPEN.value},
        after={"state": DirectiveState.CLOSED.value},
        reason=words,
    )
    return directive


def _settle_ladder(
    session: Session,
    directive: Directive,
    assignment_ids: list[int],
    *,
    actor: Actor,
    now: datetime,
    why: str,
) -> None:
    """The reply (or the close) ends this 批示's escalations of the item, as a report ends a
    check-in's; another 批示 on the same item keeps its own (their stage keys name the 批示)."""
    from models.directive_ladder import stage_prefix
    from models.escalations import resolve

    for assignment_id in assignment_ids:
        resolve(
            session,
            assignment_id=assignment_id,
            stalls=frozenset({"directive"}),
            resolution=why,
            actor=actor,
            now=now,
            key_prefix=stage_prefix(id_of(directive), assignment_id),
        )


# --- reading ------------------------------------------------------------------------------------


def parts_of(session: Session, directive_id: int) -> list[DirectiveUnit]:
    return list(
        session.exec(
            select(DirectiveUnit)
            .where(DirectiveUnit.directive_id == directive_id)
            .order_by(col(DirectiveUnit.id))
        )
    )


@dataclass(frozen=True, slots=True)
class PartView:
    id: int
    unit: str
    unit_id: int
    assignment_id: int
    state: str  # pending, replied, overdue
    state_zh: str
    reply: str | None
    replied_by: str | None
    replied_at: datetime | None


@dataclass(frozen=True, slots=True)
class DirectiveView:
    id: int
    task_id: int
    task_number: int
    task_title: str
    assignment_id: int | None
    leader: str
    author: str
    text: str
    deadline: date | None
    created_at: datetime
    state: str
    state_zh: str
    closed_by: str | None
    closed_at: datetime | None
    close_note: str | None
    parts: tuple[PartView, ...]

    @property
    def replied(self) -> int:
        return sum(1 for p in self.parts if p.state == ReplyState.REPLIED)

    @property
    def overdue(self) -> int:
        return sum(1 for p in self.parts if p.state == "overdue")

    def payload(self) -> dict[str, Any]:
        """As the CLI's --json and the API give it."""
        return {
            "id": self.id,
            "task_number": self.task_number,
            "task_title": self.task_title,
            "assignment_id": self.assignment_id,
            "leader": self.leader,
            "author": self.author,
            "text": self.text,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "created_at": utc(self.created_at).isoformat(),
            "state": self.state,
            "state_zh": self.state_zh,
            "closed_at": utc(self.closed_at).isoformat() if self.closed_at else None,
            "close_note": self.close_note,
            "units": [
                {
                    "unit": p.unit,
                    "assignment_id": p.assignment_id,
                    "state": p.state,
                    "state_zh": p.state_zh,
                    "reply": p.reply,
                    "replied_at": utc(p.replied_at).isoformat() if p.replied_at else None,
                }
                for p in self.parts
            ],
        }


def views(
    session: Session,
    *,
    today: date,
    task_id: int | None = None,
    assignment_id: int | None = None,
    unit_id: int | None = None,
    leader: str | set[str] | None = None,
    open_only: bool = False,
) -> list[DirectiveView]:
    """The 批示 that match, newest first, each with its units' parts (as of `today`)."""
    rows = _matching(session, task_id=task_id, leader=leader, open_only=open_only)
    if not rows:
        return []
    names = dict(session.exec(select(Unit.id, Unit.name)).all())
    all_parts: dict[int, list[DirectiveUnit]] = {}
    for part in session.exec(
        select(DirectiveUnit)
        .where(col(DirectiveUnit.directive_id).in_([d.id for d, _ in rows]))
        .order_by(col(DirectiveUnit.id))
    ):
        all_parts.setdefault(part.directive_id, []).append(part)
    found = []
    for directive, task in rows:
        parts = all_parts.get(id_of(directive), [])
        if assignment_id is not None:
            parts = [p for p in parts if p.assignment_id == assignment_id]
        if unit_id is not None:
            parts = [p for p in parts if p.unit_id == unit_id]
        if (assignment_id is not None or unit_id is not None) and not parts:
            continue
        found.append(_view(directive, task, parts, names, today))
    return found


def _matching(
    session: Session, *, task_id: int | None, leader: str | set[str] | None, open_only: bool
) -> list[tuple[Directive, Task]]:
    query = select(Directive, Task).join(Task, col(Task.id) == col(Directive.task_id))
    if task_id is not None:
        query = query.where(Directive.task_id == task_id)
    if isinstance(leader, str):
        query = query.where(Directive.leader == leader)
    elif leader is not None:
        query = query.where(col(Directive.leader).in_(sorted(leader)))
    if open_only:
        query = query.where(Directive.state == DirectiveState.OPEN)
    return list(session.exec(query.order_by(col(Directive.id).desc())))


def _view(
    directive: Directive,
    task: Task,
    parts: list[DirectiveUnit],
    names: dict[int | None, str],
    today: date,
) -> DirectiveView:
    def state_of(p: DirectiveUnit) -> str:
        return "overdue" if is_overdue(directive, p, today) else str(p.state)

    return DirectiveView(
        id=id_of(directive),
        task_id=task.id or 0,
        task_number=task.number,
        task_title=task.title,
        assignment_id=directive.assignment_id,
        leader=directive.leader,
        author=directive.author,
        text=directive.text,
        deadline=directive.deadline,
        created_at=directive.created_at,
        state=str(directive.state),
        state_zh=STATE_LABELS[directive.state],
        closed_by=directive.closed_by,
        closed_at=directive.closed_at,
        close_note=directive.close_note,
        parts=tuple(
            PartView(
                id=id_of(p),
                unit=names.get(p.unit_id, str(p.unit_id)),
                unit_id=p.unit_id,
                assignment_id=p.assignment_id,
                state=state_of(p),
                state_zh=STATE_LABELS[state_of(p)],
                reply=p.reply,
                replied_by=p.replied_by,
                replied_at=p.replied_at,
            )
            for p in parts
        ),
    )


@dataclass(frozen=True, slots=True)
class Standing:
    """A unit's part of a 批示 as it stood at a moment (the 通报's replay)."""

    directive_id: int
    task_id: int
    assignment_id: int
    unit_id: int
    leader: str
    text: str
    deadline: date | None
    state: str  # pending, replied, overdue, closed
    reply: str | None
    written_at: datetime

    @property
    def state_zh(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def unresolved(self) -> bool:
        """Past its deadline with no reply and the 批示 still open: `directive_unresolved`."""
        return self.state == "overdue"


def standing_at(
    session: Session, *, assignment_ids: set[int], as_of: datetime, today: date
) -> list[Standing]:
    """The parts of the 批示 on these assignments written by `as_of`, each as it stood then. A
    reply and a close are each written once with their time, so the answer for a past moment is
    the one the office had then."""
    if not assignment_ids:
        return []
    moment = utc(as_of)
    rows = session.exec(
        select(Directive, DirectiveUnit)
        .join(DirectiveUnit, col(DirectiveUnit.directive_id) == col(Directive.id))
        .where(
            col(DirectiveUnit.assignment_id).in_(sorted(assignment_ids)),
            col(Directive.created_at) <= moment,
        )
        .order_by(col(Directive.id), col(DirectiveUnit.id))
    )
    found = []
    for d, p in rows:
        replied = p.replied_at is not None and utc(p.replied_at) <= moment
        if replied:
            state = ReplyState.REPLIED.value
        elif d.closed_at is not None and utc(d.closed_at) <= moment:
            state = DirectiveState.CLOSED.value
        elif d.deadline is not None and today > d.deadline:
            state = "overdue"
        else:
            state = ReplyState.PENDING.value
        found.append(
            Standing(
                id_of(d),
                d.task_id,
                p.assignment_id,
                p.unit_id,
                d.leader,
                d.text,
                d.deadline,
                state,
                p.reply if replied else None,
                utc(d.created_at),
            )
        )
    return found


def pending_for_unit(session: Session, unit_id: int) -> list[tuple[Directive, DirectiveUnit]]:
    """The open 批示 a unit has not answered: its inbox lists them as urgent."""
    return list(
        session.exec(
            select(Directive, DirectiveUnit)
            .join(DirectiveUnit, col(DirectiveUnit.directive_id) == col(Directive.id))
            .where(
                DirectiveUnit.unit_id == unit_id,
                DirectiveUnit.state == ReplyState.PENDING,
                Directive.state == DirectiveState.OPEN,
            )
            .order_by(col(Directive.id))
        )
    )

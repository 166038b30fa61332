"""Archiving a finished plan: the use case, the plan list, and the one read-only check.

An office archives a plan once every assignment is closed (销号) or withdrawn. From then on the
plan is read-only: every use case that writes to its assignments, rounds, check-ins or cadence
asks `refuse_if_archived` first (the lifecycle asks it too, through its `not_archived` guard), so
the refusal is the same Chinese sentence wherever it comes from. The plan leaves the dashboards
and the scheduled flows (`models.plan.live_plan`), and stays listed, with its trail and 通报.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func
from sqlmodel import Session, col, select

from models import audit
from models.assignment import Assignment
from models.clock import utc
from models.errors import DubanError, NotFound, NotPermitted
from models.lifecycle import OFFICE, ROLE_LABELS, Actor, State
from models.plan import Plan, Task
from models.round import RoundState, SupervisionRound


class PlanArchived(DubanError):
    """A write on an archived plan: the one refusal, whatever was attempted."""

    zh = "计划“{plan}”已归档，只读：不能再修改其任务分工、督导轮次、报送或报送周期。"
    en = (
        "plan {plan} is archived and read-only: its assignments, rounds, check-ins and cadence "
        "can no longer change"
    )
    exit_code = 5


class PlanItemsOpen(DubanError):
    zh = "计划“{plan}”还有 {count} 项任务分工未销号（也未撤销），不能归档。"
    en = "plan {plan} still has {count} assignments neither closed nor withdrawn; cannot archive"
    exit_code = 5


def _find(session: Session, key: str) -> Plan:
    plan = session.exec(select(Plan).where(Plan.key == key)).first()
    if plan is None:
        raise NotFound(kind="plan", kind_zh="计划", key=key)
    return plan


def refuse_if_archived(session: Session, *, plan_id: int) -> None:
    """Raise `PlanArchived` when the plan is archived: every write use case asks this first."""
    row = session.exec(select(Plan.key, Plan.archived_at).where(Plan.id == plan_id)).first()
    if row is not None and row[1] is not None:
        raise PlanArchived(plan=row[0])


def plan_of_assignment(session: Session, assignment_id: int) -> int | None:
    """The plan an assignment belongs to (None for an unknown id: the use case names it)."""
    return session.exec(
        select(Task.plan_id)
        .join(Assignment, col(Assignment.task_id) == col(Task.id))
        .where(Assignment.id == assignment_id)
    ).first()


def refuse_if_archived_assignment(session: Session, *, assignment_id: int) -> None:
    """`refuse_if_archived` for the plan of an assignment."""
    plan_id = plan_of_assignment(session, assignment_id)
    if plan_id is not None:
        refuse_if_archived(session, plan_id=plan_id)


def archived_assignments(session: Session, assignment_ids: list[int]) -> set[int]:
    """Those of these assignments whose plan is archived, in one query (the lifecycle's context)."""
    if not assignment_ids:
        return set()
    found = session.exec(
        select(col(Assignment.id))
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .join(Plan, col(Plan.id) == col(Task.plan_id))
        .where(col(Assignment.id).in_(assignment_ids), col(Plan.archived_at).is_not(None))
    )
    return {a_id for a_id in found if a_id is not None}


def _still_open() -> ColumnElement[bool]:
    """An assignment that blocks archiving: neither closed nor withdrawn (itself or its task)."""
    return (
        (col(Assignment.state) != State.CLOSED.value)
        & col(Assignment.withdrawn_at).is_(None)
        & col(Task.withdrawn_at).is_(None)
    )


def open_items(session: Session, plan_id: int) -> int:
    """How many of the plan's assignments are neither closed nor withdrawn."""
    return session.exec(
        select(func.count())
        .select_from(Assignment)
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .where(Task.plan_id == plan_id, _still_open())
    ).one()


def _off_the_desk(session: Session, plan_id: int) -> None:
    """The plan's escalated items leave the office's desk (it lists live plans' items alone)."""
    from models.escalation import Escalation
    from models.escalations import mark_items

    session.flush()  # the plan's archived_at, which `mark_items` reads
    marked = (
        select(Escalation.assignment_id)
        .join(Assignment, col(Assignment.id) == col(Escalation.assignment_id))
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .where(Task.plan_id == plan_id, col(Escalation.item_since).is_not(None))
        .distinct()
    )
    mark_items(session, session.exec(marked).all())


def archive_plan(session: Session, *, plan_key: str, actor: Actor, now: datetime) -> Plan:
    """The office archives a finished plan: read-only from now on. One audit event (plan.archive);
    a round still open is closed with it (nothing is left to file in it)."""
    plan = _find(session, plan_key)
    if actor.role not in OFFICE:
        raise NotPermitted(
            actor=actor.name,
            role=actor.role.value,
            role_zh=ROLE_LABELS[actor.role][0],
            action="archive",
            action_zh="归档",
            subject=f"plan {plan.key}",
            subject_zh=f"计划“{plan.key}”",
        )
    if plan.archived_at is not None:
        raise PlanArchived(plan=plan.key)
    count = open_items(session, plan.id or 0)
    if count:
        raise PlanItemsOpen(plan=plan.key, count=count)
    at = utc(now)
    still_open = session.exec(
        select(SupervisionRound).where(
            SupervisionRound.plan_id == plan.id, SupervisionRound.state == RoundState.OPEN
        )
    ).all()
    for round_ in still_open:
        round_.state, round_.closed_at = RoundState.CLOSED, at
        session.add(round_)
    plan.archived_at, plan.archived_by = at, actor.name
    session.add(plan)
    _off_the_desk(session, plan.id or 0)
    audit.record(
        session,
        at=at,
        actor=actor,
        action="plan.archive",
        object_type="plan",
        object_id=plan.key,
        before={"archived_at": None},
        after={
            "archived_at": at.isoformat(),
            "archived_by": actor.name,
            "rounds_closed": [r.name for r in still_open],
        },
    )
    return plan


@dataclass(frozen=True, slots=True)
class PlanRow:
    """One line of the plan list: what `duban plan list`, the API and the /plans page show."""

    key: str
    title: str
    archived_at: datetime | None
    archived_by: str | None
    tasks: int
    assignments: int
    closed: int
    withdrawn: int
    open: int
    rounds: int

    @property
    def state_zh(self) -> str:
        return "已归档" if self.archived_at is not None else "进行中"

    @property
    def archivable(self) -> bool:
        """Whether the office may archive it now (the /plans page shows 归档 only then)."""
        return self.archived_at is None and self.open == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "state": "archived" if self.archived_at is not None else "active",
            "state_zh": self.state_zh,
            "archived_at": self.archived_at.isoformat() if self.archived_at else None,
            "archived_by": self.archived_by,
            "tasks": self.tasks,
            "assignments": self.assignments,
            "closed": self.closed,
            "withdrawn": self.withdrawn,
            "open": self.open,
            "rounds": self.rounds,
            "archivable": self.archivable,
        }


def _counts(session: Session) -> dict[int, tuple[int, int, int, int, int]]:
    withdrawn = col(Assignment.withdrawn_at).is_not(None) | col(Task.withdrawn_at).is_not(None)
    query = (
        select(  # type: ignore[call-overload]
            Task.plan_id,
            func.count(func.distinct(Task.id)),
            func.count(col(Assignment.id)),
            func.sum(
                case((~withdrawn & (col(Assignment.state) == State.CLOSED.value), 1), else_=0)
            ),
            func.sum(case((withdrawn, 1), else_=0)),
            func.sum(case((_still_open(), 1), else_=0)),
        )
        .select_from(Task)
        .join(Assignment, col(Assignment.task_id) == col(Task.id), isouter=True)
        .group_by(Task.plan_id)
    )
    return {
        plan_id: (tasks, assignments, int(closed or 0), int(gone or 0), int(left or 0))
        for plan_id, tasks, assignments, closed, gone, left in session.exec(query)
    }


def plan_rows(session: Session, *, search: str | None = None) -> list[PlanRow]:
    """Every plan, archived ones included (they stay listed and searchable by key or title), with
    its counts: a few grouped queries."""
    plans = select(Plan).order_by(col(Plan.id))
    if search:
        plans = plans.where(col(Plan.key).contains(search) | col(Plan.title).contains(search))
    counts = _counts(session)
    rounds = dict(
        session.exec(
            select(SupervisionRound.plan_id, func.count()).group_by(col(SupervisionRound.plan_id))
        ).all()
    )
    rows = []
    for plan in session.exec(plans):
        tasks, assignments, closed, withdrawn, left = counts.get(plan.id or 0, (0, 0, 0, 0, 0))
        rows.append(
            PlanRow(
                key=plan.key,
                title=plan.title,
                archived_at=plan.archived_at,
                archived_by=plan.archived_by,
                tasks=tasks,
                assignments=assignments,
                closed=closed,
                withdrawn=withdrawn,
                open=left,
                rounds=rounds.get(plan.id or 0, 0),
            )
        )
    return rows

"""一键催办: the office presses 催办 on an assignment, a task or a unit, and each unit concerned
gets one digest at once (or at the next working-hours start), at most once per cooldown.

A `nudge` row is one 催办 of one unit, naming what was pressed (an assignment, a task, or neither
for the whole unit); the counts on the item and in the 通报 are counts of these rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, update
from sqlmodel import Field, Session, SQLModel, col, select

from models import audit
from models.archive import refuse_if_archived, refuse_if_archived_assignment
from models.assignment import Assignment
from models.calendar import in_working_hours
from models.clock import utc
from models.errors import DubanError, NotFound
from models.labels import local_time
from models.lifecycle import Actor
from models.notification import Notification
from models.outbox import enqueue_new
from models.plan import Task, in_live_plan
from models.recipients import message, unit_contacts
from models.rounds import OPEN_STATES
from models.suspensions import not_suspended
from models.unit import ContactRole, Unit

if TYPE_CHECKING:  # the domain reads settings, never loads them
    from config.settings import Settings


class Nudge(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    task_id: int | None = Field(default=None, foreign_key="task.id")
    assignment_id: int | None = Field(default=None, foreign_key="assignment.id")
    at: datetime
    actor: str = Field(max_length=200)
    dedup_key: str = Field(max_length=200)


class NudgeTooSoon(DubanError):
    """`unit` names every unit refused (、), `when` says when each was nudged last, `next` is the
    first moment the whole press is allowed again."""

    zh = "{when}，{hours} 小时内不再催办；下次可催办时间：{next}。"
    en = "{unit} nudged within {hours} hours; the next nudge is allowed from {next}"
    exit_code = 4


class NothingToNudge(DubanError):
    zh = "{what}没有未办结的任务，无需催办。"
    en = "{what}: nothing open to nudge"
    exit_code = 4


class NoLiaison(DubanError):
    zh = "{unit}没有可联系的联络员（通讯录中无邮箱或其他渠道），无法催办。"
    en = "{unit} has no reachable liaison"
    exit_code = 4


@dataclass(frozen=True)
class NudgeOffer:
    """What a 催办 button would reach in one unit, its cooldown aside (the pages offer the button
    only where the press could succeed)."""

    unit: str
    items: int
    reachable: bool  # the unit has a liaison to tell; without one the press is refused


@dataclass(frozen=True)
class NudgeSent:
    unit: str
    items: int
    sends_at: datetime  # now, or the next working-hours start


def next_sending_time(now: datetime, settings: Settings) -> datetime:
    """Now when messages may go out; else the start of the next working hours (UTC)."""
    if in_working_hours(now, settings) is None:
        return utc(now)
    zone = ZoneInfo(settings.timezone)
    local = utc(now).astimezone(zone)
    start = time.fromisoformat(settings.cycle.working_hours[0])
    day = local.date()
    if not (settings.working_calendar.is_working_day(day) and local.time() < start):
        day += timedelta(days=1)
        while not settings.working_calendar.is_working_day(day):
            day += timedelta(days=1)
    return datetime.combine(day, start, tzinfo=zone).astimezone(ZoneInfo("UTC"))


def nudge(
    session: Session,
    *,
    settings: Settings,
    now: datetime,
    actor: Actor,
    assignment_id: int | None = None,
    task_id: int | None = None,
    unit_id: int | None = None,
) -> list[NudgeSent]:
    """催办 what was pressed: one digest per unit concerned. Refused as a whole (nothing written)
    when a unit is within its cooldown, has nothing open, or has no liaison to tell."""
    if assignment_id is not None:
        refuse_if_archived_assignment(session, assignment_id=assignment_id)
    elif task_id is not None and (task := session.get(Task, task_id)) is not None:
        refuse_if_archived(session, plan_id=task.plan_id)
    query = (
        select(Assignment, Task, Unit)
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .where(*_open_and_live())
        .order_by(col(Unit.id), col(Task.number))
    )
    if assignment_id is not None:
        query = query.where(Assignment.id == assignment_id)
    if task_id is not None:
        query = query.where(Assignment.task_id == task_id)
    if unit_id is not None:
        query = query.where(Assignment.unit_id == unit_id)
    by_unit: dict[int, tuple[Unit, list[dict[str, Any]]]] = {}
    for assignment, task, unit in session.exec(query):
        entry = {
            "task_number": task.number,
            "task_title": task.title,
            "role": str(assignment.role),
            "due_on": assignment.due_on.isoformat() if assignment.due_on else None,
            "assignment_id": assignment.id,
        }
        by_unit.setdefault(unit.id or 0, (unit, []))[1].append(entry)
    if not by_unit:
        raise NothingToNudge(what=_target_words(session, assignment_id, task_id, unit_id))
    _refuse_within_cooldown(session, by_unit, settings=settings, now=now)
    liaisons = unit_contacts(session, by_unit, ContactRole.LIAISON)
    for uid, (unit, _) in by_unit.items():
        if uid not in liaisons:
            raise NoLiaison(unit=unit.name)
    sends_at = next_sending_time(now, settings)
    stamp = utc(now).strftime("%Y%m%dT%H%M%S")
    sent: list[NudgeSent] = []
    for uid, (unit, items) in by_unit.items():
        key = f"nudge:u{uid}:{stamp}"
        payload = {"unit": unit.name, "items": items}
        enqueue_new(session, [message("nudge", key, liaisons[uid], payload)], now=now)
        session.execute(  # outside working hours the row waits for the next start, as reminders do
            update(Notification)
            .where(col(Notification.dedup_key) == key)
            .values(next_attempt_at=sends_at)
        )
        session.add(
            Nudge(
                unit_id=uid,
                task_id=task_id,
                assignment_id=assignment_id,
                at=utc(now),
                actor=actor.name,
                dedup_key=key,
            )
        )
        audit.record(
            session,
            at=now,
            actor=actor,
            action="nudge.send",
            object_type="unit",
            object_id=uid,
            unit_id=uid,
            after={
                "items": len(items),
                "key": key,
                "task_id": task_id,
                "assignment_id": assignment_id,
            },
        )
        sent.append(NudgeSent(unit.name, len(items), sends_at))
    return sent


def _open_and_live() -> tuple[Any, ...]:
    """The items a 催办 concerns: open, not withdrawn, not suspended, in a plan not archived."""
    return (
        col(Assignment.withdrawn_at).is_(None),
        col(Assignment.state).in_(OPEN_STATES),
        in_live_plan(Task.plan_id),  # a unit's 催办 leaves out its archived plans
        not_suspended(),  # a suspended item is not nudged
    )


def nudge_offers(
    session: Session, *, task_id: int | None = None, unit_ids: list[int] | None = None
) -> dict[int, NudgeOffer]:
    """Per unit, what pressing 催办 on this task (or on each of these units) would reach, in one
    query: a unit absent has nothing open to nudge."""
    query = (
        select(Unit.id, Unit.name, func.count(col(Assignment.id)))
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .where(*_open_and_live())
        .group_by(col(Unit.id), col(Unit.name))
        .order_by(col(Unit.id))
    )
    if task_id is not None:
        query = query.where(Assignment.task_id == task_id)
    if unit_ids is not None:
        query = query.where(col(Assignment.unit_id).in_(unit_ids))
    counts = {uid: (name, int(n)) for uid, name, n in session.exec(query) if uid is not None}
    liaisons = unit_contacts(session, counts, ContactRole.LIAISON)
    return {uid: NudgeOffer(name, n, uid in liaisons) for uid, (name, n) in counts.items()}


def _refuse_within_cooldown(
    session: Session,
    by_unit: dict[int, tuple[Unit, list[dict[str, Any]]]],
    *,
    settings: Settings,
    now: datetime,
) -> None:
    hours = settings.cycle.nudge_cooldown_hours
    last = dict(
        session.exec(
            select(Nudge.unit_id, func.max(Nudge.at))
            .where(col(Nudge.unit_id).in_(list(by_unit)))
            .group_by(col(Nudge.unit_id))
        ).all()
    )
    # Every unit refused is named, those nudged at the same moment together.
    refused: dict[datetime, list[str]] = {}
    for uid, (unit, _) in by_unit.items():
        if uid in last and utc(now) < utc(last[uid]) + timedelta(hours=hours):
            refused.setdefault(utc(last[uid]), []).append(unit.name)
    if refused:
        zone = settings.timezone
        raise NudgeTooSoon(
            unit="、".join(name for names in refused.values() for name in names),
            when="，".join(
                f"{'、'.join(names)}已于 {local_time(at, zone)} 催办过"
                for at, names in sorted(refused.items())
            ),
            hours=hours,
            next=local_time(max(refused) + timedelta(hours=hours), zone),
        )


def _target_words(
    session: Session, assignment_id: int | None, task_id: int | None, unit_id: int | None
) -> str:
    if assignment_id is not None:
        return f"任务分工 #{assignment_id} "
    parts = []
    if task_id is not None:
        task = session.get(Task, task_id)
        if task is None:
            raise NotFound(kind="task", kind_zh="任务", key=str(task_id))
        parts.append(f"任务{task.number}")
    if unit_id is not None:
        unit = session.get(Unit, unit_id)
        parts.append(unit.name if unit else str(unit_id))
    return "／".join(parts) or "全部单位"


def counts_for(session: Session, assignment: Assignment) -> tuple[int, datetime | None]:
    """How often this item was nudged (pressed on it, on its task for its unit, or on its whole
    unit) and when last."""
    row = session.exec(
        select(func.count(col(Nudge.id)), func.max(Nudge.at)).where(
            Nudge.unit_id == assignment.unit_id,
            or_(
                col(Nudge.assignment_id) == assignment.id,
                (col(Nudge.assignment_id).is_(None)) & (col(Nudge.task_id) == assignment.task_id),
                (col(Nudge.assignment_id).is_(None)) & (col(Nudge.task_id).is_(None)),
            ),
        )
    ).one()
    return int(row[0]), row[1]


def counts_by_unit(session: Session, *, until: datetime) -> dict[int, int]:
    """催办 per unit up to `until`, for the 通报."""
    return dict(
        session.exec(
            select(Nudge.unit_id, func.count(col(Nudge.id)))
            .where(col(Nudge.at) <= utc(until))
            .group_by(col(Nudge.unit_id))
        ).all()
    )

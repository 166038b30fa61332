"""Stalled items and the escalation ladder (督办), resolutions, and the consultation agenda.

Stalled: a check-in overdue past the grace period; an assignment not signed
for; no activity for too long; returned too often; a completion report the
office has not reviewed. Each run raises each stalled item one level at
most (1 blue 提醒, 2 yellow 催办, 3 red: the coordination mechanism), each
level once per assignment and round (`stage_key` is unique), and only after
`escalation_step_days` at the level below. When the report arrives or an
extension is approved, the open escalations close with a record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from models import audit
from models.assignment import Assignment
from models.calendar import working_days_between
from models.clock import utc
from models.escalation import Escalation
from models.lifecycle import Actor, State
from models.outbox import enqueue_many
from models.plan import Task
from models.recipients import Recipient, message, unit_contacts
from models.round import CheckIn, CheckInState, RoundState, SupervisionRound
from models.rounds import item_payload
from models.unit import ContactRole, Unit

LEVEL_KIND = {1: "escalation_blue", 2: "escalation_yellow", 3: "escalation_red"}
STALL_REASONS = {
    "overdue": ("检查报送逾期超过宽限期", "the check-in is overdue beyond the grace period"),
    "unsigned": ("任务交办后长期未签收", "the assignment has not been signed for"),
    "idle": ("长期无工作进展", "no activity for a long time"),
    "returned": ("报送材料多次被退回", "the report was returned repeatedly"),
    "unreviewed": ("办结报告长期未审核", "the completion report has not been reviewed by the office"),
}
# Which stalls a unit's report ends, and which the office's review ends.
ENDED_BY_REPORT = frozenset({"overdue", "unsigned", "idle"})
ENDED_BY_REVIEW = frozenset({"unreviewed"})
ENDED_BY_VERIFY = frozenset({"returned", "unreviewed"})


@dataclass(frozen=True)
class Stall:
    assignment_id: int
    round_id: int
    stall: str


def local_day(moment: datetime, timezone: str) -> date:
    from zoneinfo import ZoneInfo

    return utc(moment).astimezone(ZoneInfo(timezone)).date()


def find_stalled(session: Session, *, today: date, rules: Any, timezone: str) -> list[Stall]:
    """Every stalled assignment in an open round, with the first reason that applies."""
    rows = session.exec(
        select(CheckIn, Assignment, SupervisionRound)
        .join(Assignment, col(Assignment.id) == col(CheckIn.assignment_id))
        .join(SupervisionRound, col(SupervisionRound.id) == col(CheckIn.round_id))
        .where(SupervisionRound.state == RoundState.OPEN, col(Assignment.withdrawn_at).is_(None),
               col(Assignment.state).not_in([State.VERIFIED.value, State.CLOSED.value]))
    )
    stalled = []
    for checkin, assignment, round_ in rows:
        reason = None
        owed = checkin.state in (CheckInState.PENDING, CheckInState.RETURNED)
        if owed and working_days_between(checkin.due_on, today) > rules.grace_days:
            reason = "overdue"
        elif (assignment.state == State.ASSIGNED
              and working_days_between(local_day(round_.opened_at, timezone), today) >= rules.unsigned_days):
            reason = "unsigned"
        elif (assignment.state == State.IN_PROGRESS and assignment.last_activity_at is not None
              and working_days_between(local_day(assignment.last_activity_at, timezone), today) >= rules.idle_days):
            reason = "idle"
        elif assignment.rework_count >= rules.returns_to_stall:
            reason = "returned"
        elif (checkin.state == CheckInState.SUBMITTED and checkin.completed and checkin.submitted_at is not None
              and working_days_between(local_day(checkin.submitted_at, timezone), today) >= rules.unreviewed_days):
            reason = "unreviewed"
        if reason:
            stalled.append(Stall(assignment.id, round_.id, reason))
    return stalled


def _next_number(session: Session, year: int) -> int:
    prefix = f"督〔{year}〕"
    used = session.exec(select(func.count()).select_from(Escalation)
                        .where(col(Escalation.number).startswith(prefix))).one()
    return used + 1


def escalate_stalled(session: Session, *, now: datetime, settings: Any, actor: Actor) -> dict[str, int]:
    """Raise each stalled item one level (at most), notify, and record; a rerun raises nothing new."""
    rules, timezone = settings.cycle, settings.timezone
    today = local_day(now, timezone)
    stalls = find_stalled(session, today=today, rules=rules, timezone=timezone)
    if not stalls:
        return {"stalled": 0, "raised": 0, "1": 0, "2": 0, "3": 0}
    open_escalations: dict[tuple[int, int | None], list[Escalation]] = {}
    for e in session.exec(select(Escalation).where(col(Escalation.resolved_at).is_(None))):
        open_escalations.setdefault((e.assignment_id, e.round_id), []).append(e)
    fired = set(session.exec(select(Escalation.stage_key)))
    raised: list[tuple[Escalation, Stall]] = []
    counts = {"stalled": len(stalls), "raised": 0, "1": 0, "2": 0, "3": 0}
    number = _next_number(session, today.year)
    for stall in stalls:
        held = open_escalations.get((stall.assignment_id, stall.round_id), [])
        top = max(held, key=lambda e: e.level, default=None)
        level = 1 if top is None else top.level + 1
        if level > 3:
            continue
        if top is not None and working_days_between(local_day(top.opened_at, timezone), today) < rules.escalation_step_days:
            continue
        key = f"a{stall.assignment_id}:r{stall.round_id}:l{level}"
        if key in fired:  # fired before and since resolved: each stage fires once per assignment and round
            continue
        zh, en = STALL_REASONS[stall.stall]
        escalation = Escalation(stage_key=key, assignment_id=stall.assignment_id, round_id=stall.round_id, level=level,
                                stall=stall.stall, reason=zh, number=f"督〔{today.year}〕{number:03d}号", opened_at=utc(now))
        number += 1
        session.add(escalation)
        raised.append((escalation, stall))
        counts["raised"] += 1
        counts[str(level)] += 1
    session.flush()
    messages = escalation_messages(session, [e for e, _ in raised], settings=settings, today=today)
    enqueue_many(session, messages, now=now)
    audit.record_many(session, [
        {"at": now, "actor": actor, "action": "escalation.raise", "object_type": "escalation", "object_id": e.id,
         "after": {"assignment": e.assignment_id, "round": e.round_id, "level": e.level, "stall": e.stall,
                   "number": e.number}, "reason": e.reason}
        for e, _ in raised])
    return counts


def escalation_messages(session: Session, escalations: list[Escalation], *, settings: Any, today: date) -> list[dict]:
    """Level 1 to the liaison and the head; level 2 to the head; level 3 to the office and the leading group.

    An unreviewed report is the office's own stall: it goes to the office's head.
    """
    if not escalations:
        return []
    rules = settings.cycle
    ids = [e.assignment_id for e in escalations]
    rows = {a.id: (a, t, u) for a, t, u in session.exec(
        select(Assignment, Task, Unit).join(Task, col(Task.id) == col(Assignment.task_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id)).where(col(Assignment.id).in_(ids)))}
    units = [u.id for _, _, u in rows.values()]
    liaisons = unit_contacts(session, units, ContactRole.LIAISON)
    heads = unit_contacts(session, units, ContactRole.HEAD)
    office = Recipient(None, "office", settings.office_name, rules.office_email)
    office_head = Recipient(None, "office_head", f"{settings.office_name}负责同志", rules.office_head_email)
    group = Recipient(None, "leading_group", "领导小组", rules.leading_group_email) if rules.leading_group_email else None
    out = []
    for e in escalations:
        assignment, task, unit = rows[e.assignment_id]
        checkin = session.exec(select(CheckIn).where(CheckIn.round_id == e.round_id,
                                                     CheckIn.assignment_id == e.assignment_id)).first()
        round_ = session.get(SupervisionRound, e.round_id)
        payload: dict[str, Any] = {
            "number": e.number, "unit": unit.name, "reason": e.reason, "opened_on": today.isoformat(),
            "round": {"name": round_.name, "report_by": round_.report_by.isoformat()},
            "item": item_payload(task, assignment, checkin),
        }
        if e.level == 2:
            from models.calendar import add_working_days

            payload["respond_by"] = add_working_days(today, rules.escalation_step_days).isoformat()
        if e.level == 3:
            payload["history"] = history(session, e.assignment_id, e.round_id)
            payload["problems"] = [checkin.problems] if checkin and checkin.problems else []
        if e.stall == "unreviewed":
            targets = [office_head]
        elif e.level == 1:
            targets = [r for r in (liaisons.get(unit.id), heads.get(unit.id)) if r]
        elif e.level == 2:
            targets = [r for r in (heads.get(unit.id),) if r]
        else:
            targets = [r for r in (office, group) if r]
        out.extend(message(LEVEL_KIND[e.level], f"escalation:{e.id}:{t.role}", t, payload) for t in targets)
    return out


def history(session: Session, assignment_id: int, round_id: int | None) -> list[dict[str, str]]:
    rows = session.exec(select(Escalation).where(Escalation.assignment_id == assignment_id,
                                                 Escalation.round_id == round_id).order_by(Escalation.level))
    labels = {1: "蓝色提醒", 2: "黄色催办", 3: "红色提请协调"}
    return [{"on": e.opened_at.date().isoformat(), "what": f"{labels[e.level]}（{e.number}）"} for e in rows]


def resolve(session: Session, *, assignment_id: int, stalls: frozenset[str], resolution: str, actor: Actor,
            now: datetime, round_id: int | None = None) -> int:
    """Close the open escalations of these kinds for an assignment, with a record of why."""
    query = select(Escalation).where(Escalation.assignment_id == assignment_id, col(Escalation.resolved_at).is_(None),
                                     col(Escalation.stall).in_(list(stalls)))
    if round_id is not None:
        query = query.where(Escalation.round_id == round_id)
    closed = list(session.exec(query))
    for e in closed:
        e.resolved_at, e.resolution = utc(now), resolution
        session.add(e)
    audit.record_many(session, [
        {"at": now, "actor": actor, "action": "escalation.resolve", "object_type": "escalation", "object_id": e.id,
         "before": {"level": e.level, "open": True}, "after": {"open": False}, "reason": resolution}
        for e in closed])
    return len(closed)


def agenda(session: Session) -> list[dict[str, Any]]:
    """Level-3 items for the next consultation (会商): each with its history and the problems the unit raised."""
    rows = session.exec(
        select(Escalation, Assignment, Task, Unit)
        .join(Assignment, col(Assignment.id) == col(Escalation.assignment_id))
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .where(Escalation.level == 3, col(Escalation.resolved_at).is_(None))
        .order_by(Escalation.opened_at)
    )
    items = []
    for e, assignment, task, unit in rows:
        problems = [p for p in session.exec(select(CheckIn.problems).where(
            CheckIn.assignment_id == assignment.id, col(CheckIn.problems).is_not(None)))]
        items.append({"number": e.number, "task_number": task.number, "task_title": task.title, "unit": unit.name,
                      "role": str(assignment.role), "state": str(assignment.state), "reason": e.reason,
                      "opened_at": e.opened_at.isoformat(), "history": history(session, e.assignment_id, e.round_id),
                      "problems": problems})
    return items

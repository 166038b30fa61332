"""The ladder for 领导批示: a unit's part past its deadline without a reply climbs the same levels
as a stalled check-in (1 blue 提醒, 2 yellow 催办, 3 red 会商), one level per run at most and only
after `escalation_step_days` at the level below, each level once (`stage_key` d<批示>:a<分工>:l<n>).

Its escalations are ordinary `escalation` rows (stall "directive", no round): the office's desk,
the agenda, the 通报 and the messages treat them as every other, and the unit's reply or the
批示's close resolves them (`models.directives`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from models.assignment import Assignment
from models.clock import local_day, utc
from models.directives import Directive, DirectiveState, DirectiveUnit, ReplyState
from models.escalation import Escalation
from models.lifecycle import Actor
from models.plan import Task, in_live_plan
from models.suspensions import not_suspended
from models.unit import Unit

STALL = "directive"
ROUND_NAME = "领导批示"


def stage_prefix(directive_id: int, assignment_id: int) -> str:
    return f"d{directive_id}:a{assignment_id}:l"


def _climbs(level: int, since: date | None, today: date, rules: Any) -> bool:
    """Whether a part at `level` goes one up today. Counted in working days, as a check-in's ladder
    is: the first level one working day past the deadline (a Friday deadline is raised on Monday,
    not on the Saturday nobody reads it), each next one `escalation_step_days` after the last."""
    if level >= 3 or since is None:
        return False
    needed = 1 if level == 0 else rules.escalation_step_days
    return bool(rules.calendar.working_days_between(since, today) >= needed)


def escalate_directives(
    session: Session, *, now: datetime, settings: Any, actor: Actor
) -> dict[str, int]:
    """Raise each overdue part one level (at most), notify and record; a rerun raises nothing."""
    from models.escalations import STALL_REASONS, Stall, record_raised

    rules, timezone = settings.cycle, settings.timezone
    today = local_day(now, timezone)
    overdue = list(
        session.exec(
            select(Directive, DirectiveUnit, Assignment, Task)
            .join(DirectiveUnit, col(DirectiveUnit.directive_id) == col(Directive.id))
            .join(Assignment, col(Assignment.id) == col(DirectiveUnit.assignment_id))
            .join(Task, col(Task.id) == col(Assignment.task_id))
            .where(
                Directive.state == DirectiveState.OPEN,
                DirectiveUnit.state == ReplyState.PENDING,
                col(Directive.deadline).is_not(None),
                col(Directive.deadline) < today,
                col(Assignment.withdrawn_at).is_(None),
                in_live_plan(Task.plan_id),
                not_suspended(),
            )
            .order_by(col(Directive.id), col(DirectiveUnit.id))
        )
    )
    counts = {"stalled": len(overdue), "raised": 0, "1": 0, "2": 0, "3": 0}
    if not overdue:
        return counts
    fired: dict[str, tuple[int, datetime]] = {}  # prefix -> highest level fired, when
    for key, level, opened in session.exec(
        select(Escalation.stage_key, Escalation.level, Escalation.opened_at).where(
            Escalation.stall == STALL
        )
    ):
        prefix = key.rsplit("l", 1)[0] + "l"
        if level > fired.get(prefix, (0, opened))[0]:
            fired[prefix] = (level, opened)
    names = dict(session.exec(select(Unit.id, Unit.name)).all())
    at = utc(now)
    rows: list[dict[str, Any]] = []
    stalls: list[Stall] = []
    for directive, part, assignment, task in overdue:
        prefix = stage_prefix(directive.id or 0, part.assignment_id)
        level, opened = fired.get(prefix, (0, at))
        since = directive.deadline if level == 0 else local_day(opened, timezone)
        if not _climbs(level, since, today, rules):
            continue
        rows.append(
            {
                "stage_key": f"{prefix}{level + 1}",
                "assignment_id": part.assignment_id,
                "round_id": None,
                "directive_id": directive.id,  # its own item, apart from another 批示's
                "level": level + 1,
                "stall": STALL,
                "reason": STALL_REASONS[STALL][0],
                "opened_at": at,
            }
        )
        item: dict[str, Any] = {
            "task_number": task.number,
            "task_title": task.title,
            "role": str(assignment.role),
            "due_on": directive.deadline.isoformat() if directive.deadline else None,
            "checkin_id": None,
            "assignment_id": part.assignment_id,
        }
        round_ = {"name": f"{ROUND_NAME}（{directive.leader}）", "report_by": str(item["due_on"])}
        stalls.append(
            Stall(part.assignment_id, 0, STALL, part.unit_id, item, round_, names[part.unit_id])
        )
        counts["raised"] += 1
        counts[str(level + 1)] += 1
    if not rows:
        return counts
    record_raised(session, rows, stalls, now=now, today=today, settings=settings, actor=actor)
    return counts

"""一键催办 in the portal: the office presses 催办 on an item, on a task (every unit with it open)
or on a unit (everything it has open), and is sent back to the same page with what happened.

The use case is models/nudges.py's `nudge`; the pages offer the button only where it could succeed
(`nudge_offers`), and a press within a unit's cooldown comes back as a notice naming the units and
the time the next press is allowed.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlmodel import Session

from models.clock import utc_now
from models.db import unit_of_work
from models.errors import DubanError, NotFound
from models.labels import local_time
from models.nudges import NudgeSent, NudgeTooSoon, nudge
from models.plan import Task
from models.unit import Unit
from web.auth import Principal
from web.bounds import Id
from web.deps import engine_of, form_of, office_only, record_conflict, settings_of
from web.escalation_view import desk_back
from web.flash import redirect_with
from web.routes.assignments import visible_assignment

router = APIRouter()


def sending_day(moment: datetime, timezone: str) -> str:
    """When a digest goes, as the notice says it: 12月3日 09:00 (the office's time)."""
    local = moment.astimezone(ZoneInfo(timezone))
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def live_task(session: Session, task_id: int) -> Task:
    """The task, unless unknown or withdrawn (404, as its page answers)."""
    task = session.get(Task, task_id)
    if task is None or task.withdrawn_at is not None:
        raise HTTPException(404, "没有这项任务（可能已撤回）")
    return task


def known_unit(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(kind="unit", kind_zh="单位", key=str(unit_id))
    return unit


@router.post("/assignments/{assignment_id}/nudge")
def nudge_assignment(request: Request, assignment_id: Id, me: Principal = Depends(office_only)):
    """一键催办 of this item. Pressed on the escalation desk (a `back` field) it returns to the desk
    with its filters, a refusal too (a notice saying when the next 催办 may go); pressed on the
    assignment page, a refusal is the error page saying when."""
    form = form_of(request, me)  # the CSRF check
    desk = None if form.get("back") is None else desk_back(form.get("back"))
    settings = settings_of(request)
    try:
        with unit_of_work(engine_of(request)) as session:
            visible_assignment(session, me, assignment_id)
            (sent,) = nudge(
                session,
                settings=settings,
                now=utc_now(),
                actor=me.actor,
                assignment_id=assignment_id,
            )
    except DubanError as refused:
        if desk is None or isinstance(refused, NotFound):
            raise
        record_conflict(request, refused.message("en"))
        return redirect_with(request, desk, f"未催办：{refused.message('zh')}")
    done = f"已催办：{sent.unit}，通知将于 {local_time(sent.sends_at, settings.timezone)} 发出"
    return redirect_with(request, desk or f"/assignments/{assignment_id}", done)


@router.post("/tasks/{task_id}/nudge")
def nudge_task(request: Request, task_id: Id, me: Principal = Depends(office_only)):
    """催办 every unit that has this task open; back to the task's page."""
    form_of(request, me)  # the CSRF check
    return _press(request, me, f"/leader/tasks/{task_id}", task_id=task_id)


@router.post("/units/{unit_id}/nudge")
def nudge_unit(request: Request, unit_id: Id, me: Principal = Depends(office_only)):
    """催办 one unit on everything it has open; back to the directory (or the unit's own page)."""
    form = form_of(request, me)  # the CSRF check
    back = str(form.get("back") or "")
    return _press(request, me, back if back.startswith("/units") else "/units", unit_id=unit_id)


def _press(
    request: Request,
    me: Principal,
    back: str,
    *,
    task_id: int | None = None,
    unit_id: int | None = None,
):
    settings = settings_of(request)
    try:
        with unit_of_work(engine_of(request)) as session:
            if task_id is not None:
                live_task(session, task_id)
            if unit_id is not None:
                known_unit(session, unit_id)
            sent: list[NudgeSent] = nudge(
                session,
                settings=settings,
                now=utc_now(),
                actor=me.actor,
                task_id=task_id,
                unit_id=unit_id,
            )
    except NudgeTooSoon as refused:
        # Refused as a whole, nothing written; on the trail as every refused change is.
        record_conflict(request, refused.message("en"))
        return redirect_with(request, back, f"未催办：{refused.message('zh')}")
    when = sending_day(sent[0].sends_at, settings.timezone)
    return redirect_with(request, back, f"已催办 {len(sent)} 个单位，催办通知将于 {when} 发出")

"""Assignments as a unit sees them (its inbox) and as the office sees one: act, ask for an
extension. Filing and evidence live in web/routes/filings.py.

Every route that takes an id checks that the caller may see that object:
a unit user asking for another unit's assignment, check-in or evidence gets
404, the same as for an id that does not exist, and the refusal is audited.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from models.assignment import Assignment
from models.clock import local_day, utc_now
from models.db import reading, unit_of_work
from models.errors import ReasonRequired
from models.extensions import ExtensionDateRefused, ExtensionPending, request_extension
from models.lifecycle import REVIEWED, Action, Role
from models.round import CheckIn
from models.unit import Unit
from models.urgency import URGENCY_LABELS, Urgency, unit_items
from models.workflow import take_action
from web.assignment_view import assignment_facts, lead_sees
from web.auth import Principal
from web.bounds import Id, Version, Word
from web.deps import (
    engine_of,
    form_of,
    office_only,
    office_or_unit,
    other_units,
    page,
    read_session,
    record_conflict,
    refuse,
    require,
    settings_of,
)
from web.errors import STATUS_BY_EXIT
from web.flash import redirect_with

router = APIRouter()
unit_only = require(Role.UNIT)

# The notice on the page after each button (web/flash.py).
DONE: dict[Action, str] = {
    Action.SIGN: "已签收",
    Action.PROGRESS: "已提交，待办公室审核",
    Action.REPORT: "已提交办结报告，待办公室审核",
    Action.VERIFY: "已核验通过",
    Action.RETURN: "已退回",
    Action.CLOSE: "已销号",
    Action.REOPEN: "已重新打开，恢复办理",
}


def visible_assignment(session: Session, me: Principal, assignment_id: int) -> Assignment:
    """The assignment, if this caller may see it; 404 otherwise (and a refusal on the trail)."""
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or assignment.withdrawn_at is not None:
        raise refuse(
            me,
            status=404,
            object_type="assignment",
            object_id=assignment_id,
            why="无此任务分工",
        )
    if me.role == Role.UNIT and assignment.unit_id != me.unit_id:
        raise refuse(
            me,
            status=404,
            object_type="assignment",
            object_id=assignment_id,
            why=other_units(session, assignment.unit_id, me.unit_id),
        )
    return assignment


def visible_checkin(session: Session, me: Principal, checkin_id: int) -> CheckIn:
    checkin = session.get(CheckIn, checkin_id)
    if checkin is None:
        raise refuse(me, status=404, object_type="checkin", object_id=checkin_id, why="无此报送")
    assignment = session.get(Assignment, checkin.assignment_id)
    if (
        me.role == Role.UNIT
        and assignment.unit_id != me.unit_id
        and not lead_sees(session, me, assignment)
    ):
        raise refuse(
            me,
            status=404,
            object_type="checkin",
            object_id=checkin_id,
            why=other_units(session, assignment.unit_id, me.unit_id),
        )
    return checkin


@router.get("/inbox")
def inbox(
    request: Request, me: Principal = Depends(unit_only), session: Session = Depends(read_session)
):
    """The liaison's home page: what to do next, most urgent first (models/urgency.py)."""
    settings = settings_of(request)
    today = local_day(utc_now(), settings.timezone)
    items = unit_items(
        session, unit_id=me.unit_id, today=today, rules=settings.cycle, timezone=settings.timezone
    )
    groups = [(u, [i for i in items if i.urgency == u]) for u in Urgency]
    unit = session.get(Unit, me.unit_id)
    from models.directives import views

    # 领导批示 the unit has not answered come first: the leader waits for the reply.
    asked = [
        v
        for v in views(session, today=today, unit_id=me.unit_id, open_only=True)
        if any(p.state != "replied" for p in v.parts)
    ]
    return page(
        request,
        "inbox.html.j2",
        me,
        directives=asked,
        items=items,
        groups=[(u, found) for u, found in groups if found],
        labels=URGENCY_LABELS,
        unit=unit,
        today=today,
    )


@router.get("/assignments/{assignment_id}")
def assignment_page(
    request: Request,
    assignment_id: Id,
    me: Principal = Depends(office_or_unit),
    session: Session = Depends(read_session),
    start: Literal["previous"] | None = Query(default=None, alias="from"),
):
    """`?from=previous` fills the filing form from the unit's previous period (沿用上期)."""
    assignment = visible_assignment(session, me, assignment_id)
    facts = assignment_facts(
        session, me, assignment, settings_of(request), from_previous=start == "previous"
    )
    return page(request, "assignment.html.j2", me, **facts)


@router.get("/checkins/{checkin_id}")
def checkin_link(
    request: Request,
    checkin_id: Id,
    me: Principal = Depends(office_or_unit),
    session: Session = Depends(read_session),
):
    """Messages enqueued before they linked to assignments named a check-in: on to its
    assignment."""
    checkin = visible_checkin(session, me, checkin_id)
    return RedirectResponse(f"/assignments/{checkin.assignment_id}", status_code=303)


@router.post("/assignments/{assignment_id}/act/{action}")
def act(
    request: Request,
    assignment_id: Id,
    action: Word,
    me: Principal = Depends(office_or_unit),
    version: Annotated[Version | None, Form()] = None,
):
    form = form_of(request, me)
    try:
        chosen = Action(action)
    except ValueError:
        raise HTTPException(404) from None
    with unit_of_work(engine_of(request)) as session:
        visible_assignment(session, me, assignment_id)
        # A bare verdict would leave the unit's check-in unreviewed.
        if chosen in REVIEWED and me.role != Role.UNIT:
            raise HTTPException(
                409, "核验和退回请在审核页进行 / verify and return on the review page"
            )
        take_action(
            session,
            assignment_id=assignment_id,
            action=chosen,
            actor=me.actor,
            now=utc_now(),
            reason=form.get("reason"),
            expected_version=version,
        )
    return redirect_with(request, f"/assignments/{assignment_id}", DONE[chosen])


@router.post("/assignments/{assignment_id}/extension")
def ask_extension(request: Request, assignment_id: Id, me: Principal = Depends(office_or_unit)):
    form = form_of(request, me)
    typed = {"until": str(form.get("until", "")), "reason": str(form.get("reason", ""))}
    settings = settings_of(request)
    try:
        until = date.fromisoformat(typed["until"])
    except ValueError:
        return _extension_refused(request, me, assignment_id, typed, DATE_FORMAT, status=400)
    try:
        with unit_of_work(engine_of(request)) as session:
            visible_assignment(session, me, assignment_id)
            request_extension(
                session,
                assignment_id=assignment_id,
                until=until,
                reason=typed["reason"],
                actor=me.actor,
                now=utc_now(),
                timezone=settings.timezone,
                max_days=settings.cycle.extension_max_days,
            )
    except (ExtensionDateRefused, ExtensionPending, ReasonRequired) as refused:
        status = STATUS_BY_EXIT.get(refused.exit_code, 400)
        if status == 409:  # the domain refused a change: on the trail, as the error handler does
            record_conflict(request, refused.message("en"))
        return _extension_refused(
            request, me, assignment_id, typed, refused.message("zh"), status=status
        )
    return redirect_with(
        request,
        f"/assignments/{assignment_id}",
        f"延期申请已提交（申请延至 {until}），待办公室审批",
    )


@router.post("/assignments/{assignment_id}/suspend")
def suspend_assignment(request: Request, assignment_id: Id, me: Principal = Depends(office_only)):
    """暂停 this item with the typed reason (models/suspensions.py)."""
    from models.suspensions import suspend

    form = form_of(request, me)  # the CSRF check
    with unit_of_work(engine_of(request)) as session:
        visible_assignment(session, me, assignment_id)
        suspend(
            session,
            assignment_id=assignment_id,
            reason=str(form.get("reason") or ""),
            actor=me.actor,
            now=utc_now(),
        )
    return redirect_with(request, f"/assignments/{assignment_id}", "已暂停，暂停期间停止计时")


@router.post("/assignments/{assignment_id}/resume")
def resume_assignment(request: Request, assignment_id: Id, me: Principal = Depends(office_only)):
    """恢复 this item; its due date moves by the suspended working days."""
    from models.suspensions import resume

    form_of(request, me)  # the CSRF check
    settings = settings_of(request)
    with unit_of_work(engine_of(request)) as session:
        visible_assignment(session, me, assignment_id)
        row = resume(
            session,
            assignment_id=assignment_id,
            actor=me.actor,
            now=utc_now(),
            timezone=settings.timezone,
            calendar=settings.working_calendar,
        )
        days, after = row.working_days, row.due_on_after
    moved = f"，截止日期顺延至 {after}" if after else ""
    return redirect_with(
        request, f"/assignments/{assignment_id}", f"已恢复计时，暂停 {days} 个工作日{moved}"
    )


DATE_FORMAT = "延期至日期应为 YYYY-MM-DD 格式的日期，请重新选择。"


def _extension_refused(
    request: Request, me: Principal, assignment_id: int, typed: dict[str, str], why: str, *, status
):
    """The assignment page again, the refusal above the form and what was typed still in it."""
    with reading(engine_of(request)) as session:
        assignment = visible_assignment(session, me, assignment_id)
        facts = assignment_facts(
            session, me, assignment, settings_of(request), extension_error=why, typed=typed
        )
        return page(request, "assignment.html.j2", me, status=status, **facts)

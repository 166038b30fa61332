"""Assignments as a unit sees them (its inbox) and as the office sees one: act, file, download
evidence.

Every route that takes an id checks that the caller may see that object:
a unit user asking for another unit's assignment, check-in or evidence gets
404, the same as for an id that does not exist, and the refusal is audited.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse
from sqlmodel import Session, col, select

from models.assignment import Assignment
from models.checkins import checkin_to_file, submit_checkin
from models.clock import local_day, utc_now
from models.db import unit_of_work
from models.evidence import Upload, described, path_of, store
from models.extensions import request_extension
from models.history import assignment_history
from models.lifecycle import (
    ACTION_LABELS,
    FILED,
    NEEDS_REASON,
    REVIEWED,
    Action,
    Role,
    available_actions,
    filing_moves,
    held_back,
)
from models.plan import Task
from models.round import CheckIn, SupervisionRound
from models.unit import Unit
from models.urgency import URGENCY_LABELS, Urgency, unit_items
from models.workflow import context_of, take_action
from web.auth import Principal
from web.bounds import FileName, Id, Percent, Version, Word
from web.deps import (
    engine_of,
    form_of,
    office_or_unit,
    page,
    read_session,
    refuse,
    require,
    settings_of,
)
from web.uploads import Refused, checked

router = APIRouter()
unit_only = require(Role.UNIT)


def visible_assignment(session: Session, me: Principal, assignment_id: int) -> Assignment:
    """The assignment, if this caller may see it; 404 otherwise (and a refusal on the trail)."""
    assignment = session.get(Assignment, assignment_id)
    if assignment is None or assignment.withdrawn_at is not None:
        raise refuse(
            me,
            status=404,
            object_type="assignment",
            object_id=assignment_id,
            why="no such assignment",
        )
    if me.role == Role.UNIT and assignment.unit_id != me.unit_id:
        raise refuse(
            me,
            status=404,
            object_type="assignment",
            object_id=assignment_id,
            why=f"belongs to unit {assignment.unit_id}, not {me.unit_id}",
        )
    return assignment


def visible_checkin(session: Session, me: Principal, checkin_id: int) -> CheckIn:
    checkin = session.get(CheckIn, checkin_id)
    if checkin is None:
        raise refuse(
            me, status=404, object_type="checkin", object_id=checkin_id, why="no such check-in"
        )
    assignment = session.get(Assignment, checkin.assignment_id)
    if me.role == Role.UNIT and assignment.unit_id != me.unit_id:
        raise refuse(
            me,
            status=404,
            object_type="checkin",
            object_id=checkin_id,
            why=f"belongs to unit {assignment.unit_id}, not {me.unit_id}",
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
    return page(
        request,
        "inbox.html.j2",
        me,
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
):
    assignment = visible_assignment(session, me, assignment_id)
    task = session.get(Task, assignment.task_id)
    unit = session.get(Unit, assignment.unit_id)
    checkins = session.exec(
        select(CheckIn, SupervisionRound)
        .join(SupervisionRound, col(SupervisionRound.id) == col(CheckIn.round_id))
        .where(CheckIn.assignment_id == assignment.id)
        .order_by(CheckIn.round_id)
    ).all()
    open_checkin = checkin_to_file(session, assignment.id)
    history = assignment_history(session, assignment, viewer=me.role)
    context = context_of(session, assignment)
    # A filing carries progress and completion, the review page the verdict: buttons for the rest.
    offered = available_actions(assignment, me.actor, context)
    buttons = [a for a in offered if a not in FILED | REVIEWED]
    held_by = held_back(assignment, me.actor, context)
    held = {a: guard.why(assignment, context)[1] for a, guard in held_by.items()}
    return page(
        request,
        "assignment.html.j2",
        me,
        assignment=assignment,
        task=task,
        unit=unit,
        checkins=checkins,
        open_checkin=open_checkin,
        history=history,
        buttons=buttons,
        reviewable=bool(REVIEWED & set(offered)),
        filing=filing_moves(assignment, me.actor, context),
        held=held,
        labels=ACTION_LABELS,
        needs_reason=NEEDS_REASON,
    )


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
    return RedirectResponse(f"/assignments/{assignment_id}", status_code=303)


@router.post("/assignments/{assignment_id}/checkins")
def file_checkin(
    request: Request,
    assignment_id: Id,
    me: Principal = Depends(office_or_unit),
    percent: Annotated[Percent | None, Form()] = None,
):
    form = form_of(request, me)
    uploads = []
    for upload in form.getlist("evidence"):
        if not getattr(upload, "filename", None):
            continue
        data = upload.file.read()
        try:
            uploads.append(Upload(upload.filename, data, checked(upload.filename, data)))
        except Refused as refused:
            raise HTTPException(
                415, f"“{refused.name}”：{refused.why_zh} / {refused.why}"
            ) from None
    settings = settings_of(request)
    with unit_of_work(engine_of(request)) as session:
        visible_assignment(session, me, assignment_id)
        checkin = checkin_to_file(session, assignment_id)
        if checkin is None:
            raise HTTPException(
                409, "本任务当前没有进行中的报送 / nothing is owed in an open round"
            )
        submit_checkin(
            session,
            round_id=checkin.round_id,
            assignment_id=assignment_id,
            actor=me.actor,
            now=utc_now(),
            text=str(form.get("text", "")).strip(),
            percent=percent,
            problems=str(form.get("problems", "")).strip() or None,
            evidence=described(uploads),
            completed=form.get("completed") == "on",
            evidence_quota_bytes=int(settings.evidence_quota_mb * 1024 * 1024),
        )
        store(settings.home / "evidence", uploads)  # only now: the filing was checked in full
    return RedirectResponse(f"/assignments/{assignment_id}", status_code=303)


@router.post("/assignments/{assignment_id}/extension")
def ask_extension(request: Request, assignment_id: Id, me: Principal = Depends(office_or_unit)):
    form = form_of(request, me)
    try:
        until = date.fromisoformat(str(form.get("until", "")))
    except ValueError:
        raise HTTPException(
            400, "延期至日期应为 YYYY-MM-DD / the date must be YYYY-MM-DD"
        ) from None
    with unit_of_work(engine_of(request)) as session:
        visible_assignment(session, me, assignment_id)
        settings = settings_of(request)
        request_extension(
            session,
            assignment_id=assignment_id,
            until=until,
            reason=str(form.get("reason", "")),
            actor=me.actor,
            now=utc_now(),
            timezone=settings.timezone,
            max_days=settings.cycle.extension_max_days,
        )
    return RedirectResponse(f"/assignments/{assignment_id}", status_code=303)


@router.get("/evidence/{checkin_id}/{sha256}")
def evidence(
    request: Request,
    checkin_id: Id,
    sha256: FileName,
    me: Principal = Depends(office_or_unit),
    session: Session = Depends(read_session),
):
    checkin = visible_checkin(session, me, checkin_id)
    entry = next((e for e in checkin.evidence if e.get("sha256") == sha256), None)
    if entry is None:
        raise refuse(
            me,
            status=404,
            object_type="evidence",
            object_id=f"{checkin_id}:{sha256[:16]}",
            why="not evidence of this check-in",
        )
    path = path_of(settings_of(request).home / "evidence", sha256)
    if not path.is_file():
        raise HTTPException(404)
    return FileResponse(
        path,
        media_type=entry.get("type", "application/octet-stream"),
        filename=entry["name"],
        content_disposition_type="attachment",
    )

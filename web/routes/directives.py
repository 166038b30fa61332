"""领导批示 in the portal: a leader (or the office, naming the leader) writes one on an assignment
page or on the leader's task page; a unit replies on its assignment page; the office or the
leader closes it; "我的批示" lists a leader's (the office sees all). The same use cases as
`duban directive` and /api/v1/directives (models/directives.py). A 批示 refused for what was typed
(no text, no leader named, a bad deadline) comes back on its page with the reason and the typed
values; any other refusal is the Chinese error page; nothing is written either way."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session

from models.clock import local_day, utc_now
from models.db import reading, unit_of_work
from models.directives import DirectiveInvalid, add, close, leader_names, reply, views
from models.errors import ReasonRequired
from models.lifecycle import OFFICE, Role
from web.assignment_view import assignment_facts
from web.auth import Principal
from web.bounds import Id
from web.deps import (
    engine_of,
    form_of,
    office_or_leader,
    page,
    read_session,
    require,
    settings_of,
)
from web.directive_view import closable, leader_choices, replies_for
from web.errors import STATUS_BY_EXIT
from web.flash import redirect_with
from web.routes.assignments import visible_assignment
from web.routes.leader import task_view

router = APIRouter()
office_unit_or_leader = require(*OFFICE, Role.UNIT, Role.LEADER)


def _deadline(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DirectiveInvalid(
            detail=f"the deadline {text!r} is not a date",
            detail_zh="办理期限应为日期，如 2022-10-14。",
        ) from None


TYPED = ("text", "deadline", "leader")
Refusal = tuple[DirectiveInvalid | ReasonRequired, dict[str, str]]


def _write(
    request: Request, me: Principal, *, task_id: int | None, assignment_id: int | None
) -> tuple[int | None, Refusal | None]:
    """The new 批示's id, or the refusal (its Chinese reason) with what was typed."""
    form = form_of(request, me)
    typed = {name: str(form.get(name, "")) for name in TYPED}
    settings = settings_of(request)
    try:
        with unit_of_work(engine_of(request)) as session:
            if assignment_id is not None:
                visible_assignment(session, me, assignment_id)
            row = add(
                session,
                settings=settings,
                actor=me.actor,
                now=utc_now(),
                text=typed["text"],
                task_id=task_id,
                assignment_id=assignment_id,
                deadline=_deadline(typed["deadline"]),
                on_behalf_of=typed["leader"] or None,
            )
            return row.id, None
    except (DirectiveInvalid, ReasonRequired) as refused:
        return None, (refused, typed)


def _refused(
    request: Request,
    me: Principal,
    refusal: Refusal,
    *,
    task_id: int | None = None,
    assignment_id: int | None = None,
):
    """The page the form was on again: the reason above the form, what was typed still in it."""
    refused, typed = refusal
    status = STATUS_BY_EXIT.get(refused.exit_code, 400)
    why = refused.message("zh")
    with reading(engine_of(request)) as session:
        if task_id is not None:
            return task_view(
                request,
                session,
                me,
                task_id,
                status=status,
                directive_error=why,
                directive_typed=typed,
            )
        assert assignment_id is not None  # one of the two, as `_write` was given
        assignment = visible_assignment(session, me, assignment_id)
        facts = assignment_facts(
            session,
            me,
            assignment,
            settings_of(request),
            directive_error=why,
            directive_typed=typed,
        )
        return page(request, "assignment.html.j2", me, status=status, **facts)


@router.post("/assignments/{assignment_id}/directives")
def write_on_assignment(
    request: Request, assignment_id: Id, me: Principal = Depends(office_or_leader)
):
    made, refusal = _write(request, me, task_id=None, assignment_id=assignment_id)
    if refusal is not None:
        return _refused(request, me, refusal, assignment_id=assignment_id)
    return redirect_with(
        request, f"/assignments/{assignment_id}#directive-{made}", "批示已登记，已通知承办单位"
    )


@router.post("/leader/tasks/{task_id}/directives")
def write_on_task(request: Request, task_id: Id, me: Principal = Depends(office_or_leader)):
    made, refusal = _write(request, me, task_id=task_id, assignment_id=None)
    if refusal is not None:
        return _refused(request, me, refusal, task_id=task_id)
    return redirect_with(
        request, f"/leader/tasks/{task_id}#directive-{made}", "批示已登记，已通知各承办单位"
    )


def _back(request: Request, form: object, fallback: str) -> str:
    """Back to the assignment page the form was on (a number only), else the list."""
    target = str(getattr(form, "get", lambda *_: "")("back", "") or "")
    return f"/assignments/{int(target)}" if target.isdigit() and len(target) < 10 else fallback


@router.post("/directives/{directive_id}/reply")
def reply_form(request: Request, directive_id: Id, me: Principal = Depends(office_unit_or_leader)):
    form = form_of(request, me)
    with unit_of_work(engine_of(request)) as session:
        unit = None
        if me.role in OFFICE:
            from models.unit import Unit

            part_unit = str(form.get("unit_id", ""))
            found = (
                session.get(Unit, int(part_unit))
                if part_unit.isdigit() and len(part_unit) < 10
                else None
            )
            unit = found.name if found else None
        part = reply(
            session,
            directive_id=directive_id,
            text=str(form.get("text", "")),
            actor=me.actor,
            now=utc_now(),
            unit=unit,
        )
        back = f"/assignments/{part.assignment_id}"
    return redirect_with(request, f"{back}#directive-{directive_id}", "已回复批示")


@router.post("/directives/{directive_id}/close")
def close_form(request: Request, directive_id: Id, me: Principal = Depends(office_or_leader)):
    form = form_of(request, me)
    with unit_of_work(engine_of(request)) as session:
        close(
            session,
            directive_id=directive_id,
            actor=me.actor,
            now=utc_now(),
            note=str(form.get("note", "")) or None,
        )
    return redirect_with(request, _back(request, form, "/leader/directives"), "批示已办结")


@router.get("/leader/directives")
def directives_page(
    request: Request,
    me: Principal = Depends(office_or_leader),
    session: Session = Depends(read_session),
):
    """我的批示: a leader's 批示 with each unit's reply; the office sees every 批示."""
    today = local_day(utc_now(), settings_of(request).timezone)
    mine = leader_names(session, me.actor) if me.role == Role.LEADER else None
    found = views(session, today=today, leader=mine)
    return page(
        request,
        "leader_directives.html.j2",
        me,
        directives=found,
        directive_replies={v.id: replies_for(me, v) for v in found},
        directive_closable={v.id: closable(session, me, v) for v in found},
        leader_choices=leader_choices(session),
    )

"""The office's pages: the verification queue's decisions, rounds, extensions, the escalation desk
(the long lists themselves, the dashboard among them: web/routes/office_lists.py)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from models.checkins import review_checkin
from models.clock import utc_now
from models.db import unit_of_work
from models.escalation_desk import (
    NoteKind,
    add_note,
    close_item,
    desk_count,
    desk_items,
    desk_units,
    office_backlog,
)
from models.escalations import LEVEL_LABELS, agenda, agenda_count
from models.extensions import decide_extension
from models.plan import Plan
from models.round import CheckIn, SupervisionRound
from models.rounds import close_round, open_round
from web.auth import Principal
from web.bounds import CountFilter, Id, SearchText, Word, number_in_form
from web.deps import (
    engine_of,
    form_of,
    office_only,
    page,
    read_session,
    settings_of,
)
from web.escalation_view import DESK_HEADERS, desk_back, desk_row
from web.flash import redirect_with
from web.lists import PAGE_SIZE, paging_of, xlsx_download

router = APIRouter()


@router.post("/review/{checkin_id}/{decision}")
def review(request: Request, checkin_id: Id, decision: Word, me: Principal = Depends(office_only)):
    form = form_of(request, me)
    if decision not in ("accept", "return"):
        raise HTTPException(404)
    revision = read_revision(form.get("revision"))
    with unit_of_work(engine_of(request)) as session:
        checkin = session.get(CheckIn, checkin_id)
        if checkin is None:
            raise HTTPException(404)
        review_checkin(
            session,
            round_id=checkin.round_id,
            assignment_id=checkin.assignment_id,
            accept=decision == "accept",
            actor=me.actor,
            now=utc_now(),
            revision=revision,
            reason=form.get("reason"),
        )
    return redirect_with(
        request, "/review", "已审核通过" if decision == "accept" else "已退回，单位将看到退回理由"
    )


def read_revision(value: object) -> int:
    """The filing the office read, as the review form (or an API call) names it; 400 when it names
    none."""
    revision = number_in_form(value)
    if revision is None:
        raise HTTPException(
            400,
            "审核须注明所审核的报送版本（revision），请刷新后重新审核 / "
            "the review must name the filing it read (revision)",
        )
    return revision


@router.post("/rounds")
def round_open(request: Request, me: Principal = Depends(office_only)):
    form = form_of(request, me)
    try:
        report_by = date.fromisoformat(str(form.get("report_by", "")))
    except ValueError:
        raise HTTPException(
            400, "报送截止日期应为 YYYY-MM-DD / report-by date must be YYYY-MM-DD"
        ) from None
    name = str(form.get("name", "")).strip()
    if not name:
        raise HTTPException(400, "请填写轮次名称 / the round needs a name")
    with unit_of_work(engine_of(request)) as session:
        result = open_round(
            session,
            plan_key=str(form.get("plan", "")),
            name=name,
            report_by=report_by,
            actor=me.actor,
            now=utc_now(),
            cooperating_lead_days=settings_of(request).cycle.cooperating_lead_days,
            timezone=settings_of(request).timezone,
            calendar=settings_of(request).working_calendar,
        )
        round_id = result.round.id
    # The page after says which units nobody could tell, read again from the round itself.
    return RedirectResponse(f"/rounds?opened={round_id}", status_code=303)


@router.post("/rounds/cadence")
def round_cadence(request: Request, me: Principal = Depends(office_only)):
    """Set a plan's reporting cadence (models/cadence.py); the scheduled flow opens its rounds."""
    from models.cadence import set_cadence

    form = form_of(request, me)
    cadence = str(form.get("cadence", ""))
    day_text = str(form.get("day", "")).strip()
    if cadence != "once" and not (day_text.isascii() and day_text.isdigit()):
        raise HTTPException(400, "请填写每期报送截止日（1–31 的数字）/ the due day must be 1–31")
    with unit_of_work(engine_of(request)) as session:
        after = set_cadence(
            session,
            plan_key=str(form.get("plan", "")),
            cadence=cadence,
            day=int(day_text) if day_text and cadence != "once" else None,
            adjust=str(form.get("adjust", "later")),
            start=None,
            until=None,
            task_numbers=None,
            actor=me.actor,
            now=utc_now(),
        )
    word = "已设定报送周期" if after["cadence"] != "once" else "已改为由办公室开启轮次"
    return redirect_with(request, "/rounds#cadence", word)


@router.post("/rounds/{round_id}/close")
def round_close(request: Request, round_id: Id, me: Principal = Depends(office_only)):
    form = form_of(request, me)
    with unit_of_work(engine_of(request)) as session:
        found = session.get(SupervisionRound, round_id)
        if found is None:
            raise HTTPException(404)
        close_round(
            session,
            plan_key=session.get(Plan, found.plan_id).key,
            name=found.name,
            actor=me.actor,
            now=utc_now(),
            confirmed=form.get("confirm") == "on",
        )
    return redirect_with(request, "/rounds", f"已关闭轮次“{found.name}”")


@router.post("/extensions/{request_id}/{decision}")
def extension_decide(
    request: Request, request_id: Id, decision: Word, me: Principal = Depends(office_only)
):
    form = form_of(request, me)
    if decision not in ("approve", "reject"):
        raise HTTPException(404)
    with unit_of_work(engine_of(request)) as session:
        decide_extension(
            session,
            request_id=request_id,
            approve=decision == "approve",
            actor=me.actor,
            now=utc_now(),
            reason=form.get("reason"),
        )
    return redirect_with(
        request, "/extensions", "已批准延期" if decision == "approve" else "已驳回延期申请"
    )


AGENDA_SHOWN = 50  # the desk lists the oldest 会商 items; /leader/agenda pages them all


@router.get("/escalations")
def escalations(
    request: Request,
    level: CountFilter = None,
    unit: SearchText | None = None,
    task: CountFilter = None,
    page_no: Id = 1,
    me: Principal = Depends(office_only),
    session: Session = Depends(read_session),
):
    timezone = settings_of(request).timezone
    filters = {"level": level, "unit": unit, "task": task}
    total = desk_count(session, filters)
    paging = paging_of(total, page_no, PAGE_SIZE, "/escalations", filters, "/escalations/export")
    chosen = desk_items(
        session, timezone, filters, offset=(paging.page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    return page(
        request,
        "escalations.html.j2",
        me,
        items=agenda(session, timezone, limit=AGENDA_SHOWN),  # the oldest; all on /leader/agenda
        agenda_total=agenda_count(session),
        open_ones=chosen,
        paging=paging,
        filters=filters,
        units=desk_units(session),
        levels=LEVEL_LABELS,
        office_backlog=office_backlog(session, timezone, limit=1000),
    )


@router.get("/escalations/export")
def escalations_export(
    request: Request,
    level: CountFilter = None,
    unit: SearchText | None = None,
    task: CountFilter = None,
    me: Principal = Depends(office_only),
    session: Session = Depends(read_session),
):
    timezone = settings_of(request).timezone
    filters = {"level": level, "unit": unit, "task": task}
    items = desk_items(session, timezone, filters)
    return xlsx_download("督办事项.xlsx", DESK_HEADERS, (desk_row(i) for i in items))


@router.post("/escalations/{escalation_id}/{what}")
def escalation_act(
    request: Request,
    escalation_id: Id,
    what: Word,
    me: Principal = Depends(office_only),
):
    """备注 / 会商结果 / 办结督办单 on one item; back to the list with what happened."""
    form = form_of(request, me)
    with unit_of_work(engine_of(request)) as session:
        if what == "close":
            close_item(
                session,
                reference=escalation_id,
                reason=form.get("reason"),
                actor=me.actor,
                now=utc_now(),
            )
            done = "已办结督办单"
        elif what in ("note", "consultation"):
            add_note(
                session,
                reference=escalation_id,
                text=form.get("note"),
                actor=me.actor,
                now=utc_now(),
                kind=NoteKind(what),
            )
            done = "已记录会商结果" if what == "consultation" else "已添加备注"
        else:
            raise HTTPException(404)
    return redirect_with(request, desk_back(form.get("back")), done)

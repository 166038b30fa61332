"""The office's pages: the dashboard (leaders read it too), the verification queue, rounds,
extensions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from sqlmodel import Session, col, select

from models.assignment import Assignment
from models.checkins import review_checkin
from models.clock import local_day, utc_now
from models.db import unit_of_work
from models.escalation import Escalation, ExtensionRequest, ExtensionState
from models.escalations import agenda
from models.extensions import decide_extension
from models.notification import Notification, NotificationStatus
from models.outbox import retry_dead
from models.plan import Plan, Task
from models.round import CheckIn, CheckInState, RoundState, SupervisionRound
from models.rounds import close_round, open_round
from models.status import rounds_overview
from models.unit import Unit
from web.auth import Principal
from web.bounds import Count, Id, SearchText, Word
from web.dashboard import overview
from web.deps import (
    engine_of,
    form_of,
    office_only,
    office_or_leader,
    page,
    read_session,
    settings_of,
)
from web.flash import redirect_with

router = APIRouter()


@router.get("/dashboard")
def dashboard(
    request: Request,
    page_no: Id = 1,
    task: Count | None = None,
    unit: SearchText | None = None,
    state: SearchText | None = None,
    light: SearchText | None = None,
    me: Principal = Depends(office_or_leader),
    session: Session = Depends(read_session),
):
    settings = settings_of(request)
    today = local_day(utc_now(), settings.timezone)
    view = overview(
        session,
        today=today,
        rules=settings.cycle,
        page=page_no,
        task=task,
        unit=unit or None,
        state=state or None,
        colour=light or None,
        timezone=settings.timezone,
        headlines=request.app.state.headlines,
    )
    counted_at = datetime.fromtimestamp(view.counted_at, ZoneInfo(settings.timezone)).strftime(
        "%H:%M:%S"
    )
    return page(
        request,
        "dashboard.html.j2",
        me,
        view=view,
        today=today,
        counted_at=counted_at,
        filters={"task": task, "unit": unit or "", "state": state or "", "light": light or ""},
    )


@router.get("/review")
def review_queue(
    request: Request, me: Principal = Depends(office_only), session: Session = Depends(read_session)
):
    rows = session.exec(
        select(CheckIn, Assignment, Task, Unit, SupervisionRound)
        .join(Assignment, col(Assignment.id) == col(CheckIn.assignment_id))
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .join(SupervisionRound, col(SupervisionRound.id) == col(CheckIn.round_id))
        .where(CheckIn.state == CheckInState.SUBMITTED, SupervisionRound.state == RoundState.OPEN)
        .order_by(CheckIn.submitted_at)
    ).all()
    return page(request, "review.html.j2", me, rows=rows)


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
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise HTTPException(
            400,
            "审核须注明所审核的报送版本（revision），请刷新后重新审核 / "
            "the review must name the filing it read (revision)",
        )
    return int(text)


@router.get("/rounds")
def rounds(
    request: Request, me: Principal = Depends(office_only), session: Session = Depends(read_session)
):
    plans = session.exec(select(Plan).order_by(Plan.id)).all()
    return page(request, "rounds.html.j2", me, rounds=rounds_overview(session), plans=plans)


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
        open_round(
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
    return redirect_with(request, "/rounds", f"已开启轮次“{name}”，已通知各单位")


@router.post("/rounds/{round_id}/close")
def round_close(request: Request, round_id: Id, me: Principal = Depends(office_only)):
    form_of(request, me)
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
        )
    return redirect_with(request, "/rounds", f"已关闭轮次“{found.name}”")


@router.get("/extensions")
def extensions(
    request: Request, me: Principal = Depends(office_only), session: Session = Depends(read_session)
):
    rows = session.exec(
        select(ExtensionRequest, Task, Unit)
        .join(Assignment, col(Assignment.id) == col(ExtensionRequest.assignment_id))
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .order_by(
            col(ExtensionRequest.state) != ExtensionState.PENDING, col(ExtensionRequest.id).desc()
        )
    ).all()
    return page(request, "extensions.html.j2", me, rows=rows)


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


@router.get("/escalations")
def escalations(
    request: Request, me: Principal = Depends(office_only), session: Session = Depends(read_session)
):
    open_ones = session.exec(
        select(Escalation, Task, Unit)
        .join(Assignment, col(Assignment.id) == col(Escalation.assignment_id))
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .where(col(Escalation.resolved_at).is_(None))
        .order_by(col(Escalation.level).desc(), Escalation.opened_at)
        .limit(1000)
    ).all()
    return page(request, "escalations.html.j2", me, items=agenda(session), open_ones=open_ones)


@router.get("/notifications")
def notifications(
    request: Request, me: Principal = Depends(office_only), session: Session = Depends(read_session)
):
    """Messages that failed: dead-lettered, or waiting to be tried again after an error."""
    rows = session.exec(
        select(Notification)
        .where(
            (Notification.status == NotificationStatus.DEAD)
            | (
                (Notification.status == NotificationStatus.PENDING)
                & col(Notification.last_error).is_not(None)
            )
        )
        .order_by(col(Notification.id).desc())
        .limit(500)
    ).all()
    return page(request, "notifications.html.j2", me, rows=rows)


@router.post("/notifications/retry")
def notifications_retry(
    request: Request,
    me: Principal = Depends(office_only),
    ids: Annotated[list[Id], Form(alias="id")] = [],  # noqa: B006 — copied per request
):
    form_of(request, me)
    with unit_of_work(engine_of(request)) as session:
        retry_dead(session, ids=ids or None, actor=me.actor, now=utc_now())
    return redirect_with(request, "/notifications", "已重新排队发送")

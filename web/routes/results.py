"""The 通报: the office compiles and publishes; leaders and units read what was published."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse
from markupsafe import Markup
from sqlmodel import Session, col, select

from models.clock import utc_now
from models.lifecycle import OFFICE, Role
from models.plan import Plan
from models.report_state import STATE_ZH, ReportState, state_of
from models.results import ResultsReport
from models.round import SupervisionRound
from web.auth import Principal
from web.bounds import FileName, Id
from web.deps import (
    engine_of,
    form_of,
    office_only,
    page,
    read_session,
    refuse,
    require,
    settings_of,
)
from web.flash import redirect_with
from web.lists import content_disposition
from web.report_preview import Previews

router = APIRouter()
readers = require(
    *OFFICE, Role.LEADER, Role.UNIT
)  # the 通报 goes to units and leaders; auditors read the trail only


def _visible(session: Session, me: Principal, report_id: int) -> ResultsReport:
    report = session.get(ResultsReport, report_id)
    # a withdrawn 通报 stays readable, marked 已撤回 with its reason: the units had it once
    if report is None or (me.role not in OFFICE and state_of(report) is ReportState.DRAFT):
        raise refuse(me, status=404, object_type="results", object_id=report_id, why="通报尚未发布")
    return report


@router.get("/reports")
def reports(
    request: Request, me: Principal = Depends(readers), session: Session = Depends(read_session)
):
    query = select(ResultsReport).order_by(col(ResultsReport.id).desc())
    if me.role not in OFFICE:
        query = query.where(col(ResultsReport.published_at).is_not(None))
    rounds = (
        session.exec(
            select(SupervisionRound, Plan)
            .join(Plan, col(Plan.id) == col(SupervisionRound.plan_id))
            .order_by(col(SupervisionRound.id))
        ).all()
        if me.role in OFFICE
        else []
    )
    found = session.exec(query).all()
    return page(
        request,
        "reports.html.j2",
        me,
        reports=[(r, STATE_ZH[state_of(r)]) for r in found],
        rounds=rounds,
    )


@router.post("/reports")
def compile_here(
    request: Request,
    me: Principal = Depends(office_only),
    round_id: Annotated[Id | None, Form()] = None,
):
    from reports.compile import FORMATS, compile_report_in_turns

    form = form_of(request, me)

    def find(session: Session) -> tuple[Plan, SupervisionRound]:
        round_ = session.get(SupervisionRound, round_id) if round_id else None
        if round_ is None:
            raise HTTPException(400, "请选择轮次 / choose a round")
        # the round's plan is there (foreign key)
        return session.get_one(Plan, round_.plan_id), round_

    now = utc_now()  # the replay reads without the write lock; only the record is a (short) write
    compiled = compile_report_in_turns(
        engine_of(request),
        find=find,
        as_of=now,
        formats=list(FORMATS),
        out_dir=settings_of(request).resolved_reports_dir,
        settings=settings_of(request),
        actor=me.actor,
        now=now,
        publish=form.get("publish") == "on",
    )
    report_id = compiled.report.id
    return RedirectResponse(f"/reports/{report_id}", status_code=303)


@router.get("/reports/{report_id}")
def report_page(
    request: Request,
    report_id: Id,
    me: Principal = Depends(readers),
    session: Session = Depends(read_session),
):
    report = _visible(session, me, report_id)
    return page(
        request,
        "report.html.j2",
        me,
        report=report,
        state=state_of(report),
        state_zh=STATE_ZH[state_of(report)],
        preview=_preview(report, request.app.state.previews),
        prefix=settings_of(request).report_doc_prefix,
    )


def _preview(report: ResultsReport, previews: Previews) -> Markup | None:
    """The HTML 通报's body in the page, within the page budget (web/report_preview.py); its own
    stylesheet stays behind (the portal's CSP). Read once per file, kept by the portal's
    `previews`."""
    html = next((f["name"] for f in report.files if f["format"] == "html"), None)
    path = Path(report.out_dir) / html if html else None
    if path is None or not path.is_file():
        return None
    return previews.of(path)


@router.post("/reports/{report_id}/publish")
def publish_here(request: Request, report_id: Id, me: Principal = Depends(office_only)):
    from reports.compile import publish_draft

    form = form_of(request, me)
    report = publish_draft(
        engine_of(request),
        report_id,
        settings=settings_of(request),
        actor=me.actor,
        now=utc_now(),
        doc_no=form.get("doc_no"),
    )
    return redirect_with(
        request,
        f"/reports/{report_id}",
        f"已发布：第 {report.issue_no} 期，{report.doc_no}，已通知各单位和领导。",
    )


@router.post("/reports/{report_id}/withdraw")
def withdraw_here(request: Request, report_id: Id, me: Principal = Depends(office_only)):
    from reports.compile import withdraw_published

    form = form_of(request, me)
    report = withdraw_published(
        engine_of(request), report_id, reason=form.get("reason"), actor=me.actor, now=utc_now()
    )
    return redirect_with(
        request, f"/reports/{report_id}", f"已撤回{report.doc_no}；期号和文号保留，不再使用。"
    )


@router.get("/reports/{report_id}/files/{name}")
def report_file(
    request: Request,
    report_id: Id,
    name: FileName,
    me: Principal = Depends(readers),
    session: Session = Depends(read_session),
):
    report = _visible(session, me, report_id)
    if name not in {f["name"] for f in report.files}:
        raise HTTPException(404)
    path = Path(report.out_dir) / name
    if not path.is_file():
        raise HTTPException(404)
    return FileResponse(path, headers={"Content-Disposition": content_disposition(name)})

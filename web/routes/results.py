"""The 通报: the office compiles and publishes; leaders and units read what was published."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse
from sqlmodel import Session, col, select

from models.clock import utc_now
from models.lifecycle import OFFICE, Role
from models.plan import Plan
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

router = APIRouter()
readers = require(
    *OFFICE, Role.LEADER, Role.UNIT
)  # the 通报 goes to units and leaders; auditors read the trail only


def _visible(session: Session, me: Principal, report_id: int) -> ResultsReport:
    report = session.get(ResultsReport, report_id)
    if report is None or (me.role not in OFFICE and report.published_at is None):
        raise refuse(
            me, status=404, object_type="results", object_id=report_id, why="not published"
        )
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
    return page(request, "reports.html.j2", me, reports=session.exec(query).all(), rounds=rounds)


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
    return page(request, "report.html.j2", me, report=_visible(session, me, report_id))


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
    return FileResponse(path, filename=name, content_disposition_type="attachment")

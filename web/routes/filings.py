"""Filings: a unit files, amends or withdraws a check-in; evidence is downloaded or previewed.

A refused filing shows the assignment page again with what was typed and the reason; a filing
posted after the session expired keeps its text server-side for that user and assignment
(`models.filings.FilingDraft`) and the login leads back to the form with it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlmodel import Session, select

from models.checkins import checkin_to_file, submit_checkin
from models.clock import utc_now
from models.db import reading, unit_of_work
from models.errors import DubanError, NotFound
from models.evidence import Upload, described, path_of, pdf_preview, store
from models.filings import CheckInVersion, drop_draft, save_draft, withdraw_filing
from models.labels import USER_ROLES, label
from models.lifecycle import OFFICE, Role
from models.round import CheckIn, CheckInState
from models.user import WebSession
from web.assignment_view import assignment_facts
from web.auth import Principal, digest, token_from
from web.bounds import FileName, Id, InputRefused, number_in_form
from web.deps import (
    SignInRequired,
    current,
    engine_of,
    form_of,
    office_or_unit,
    page,
    read_session,
    record_conflict,
    refuse,
    settings_of,
)
from web.filing_view import INLINE_IMAGES, preview_kind
from web.flash import redirect_with
from web.routes.assignments import visible_assignment, visible_checkin
from web.uploads import Refused, checked

router = APIRouter()
FILERS = frozenset({*OFFICE, Role.UNIT})
STATUS_BY_EXIT = {2: 400, 3: 404, 4: 409, 5: 409}


class FilingRefused(Exception):
    """A filing the portal or the domain refused: the form comes back with the text and this."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


async def filer(request: Request, assignment_id: Id) -> Principal:
    """The signed-in office or unit user; with no live session, what was typed is kept first."""
    principal = await run_in_threadpool(current, request)
    if principal is None:
        form = await request.form()
        await run_in_threadpool(keep_draft, request, assignment_id, form)
        raise SignInRequired()
    request.state.principal = principal
    if principal.role not in FILERS:
        raise refuse(
            principal,
            status=403,
            object_type="route",
            object_id=request.url.path,
            why=f"{label(USER_ROLES, principal.role)}无权报送",
        )
    return principal


def keep_draft(request: Request, assignment_id: int, form: Any) -> None:
    """Keep the text of a filing whose session has expired, for the user that session was, only
    when the form carries that session's CSRF token (a forged post keeps nothing)."""
    found = token_from(request)
    if found is None or found[1] != "browser":
        return
    with unit_of_work(engine_of(request)) as session:
        web_session = session.exec(
            select(WebSession).where(WebSession.token_hash == digest(found[0]))
        ).first()
        if (
            web_session is None
            or web_session.ended_at is not None
            or form.get("csrf") != web_session.csrf_token
        ):
            return
        values = typed_values(form)
        save_draft(
            session,
            user_id=web_session.user_id,
            assignment_id=assignment_id,
            text=values["text"][:20000] or None,
            percent=_percent_or_none(values["percent"]),
            problems=values["problems"][:20000] or None,
            completed=values["completed"],
            now=utc_now(),
        )


def typed_values(form: Any) -> dict[str, Any]:
    def text(name: str) -> str:
        value = form.get(name)
        return value.replace("\x00", "") if isinstance(value, str) else ""

    return {
        "text": text("text"),
        "percent": text("percent").strip(),
        "problems": text("problems"),
        "completed": form.get("completed") == "on",
    }


def _percent_or_none(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and int(text) <= 100 else None


def read_percent(text: str) -> int | None:
    if not text:
        return None
    value = _percent_or_none(text)
    if value is None:
        raise FilingRefused(422, "完成百分比应为 0 到 100 之间的整数")
    return value


@router.get("/assignments/{assignment_id}/checkins")
def back_to_form(assignment_id: Id) -> Response:
    """Where the login leads after a filing met an expired session: the form, with the kept text."""
    return RedirectResponse(f"/assignments/{assignment_id}", status_code=303)


@router.post("/assignments/{assignment_id}/checkins")
def file_checkin(request: Request, assignment_id: Id, me: Principal = Depends(filer)):
    try:
        form = form_of(request, me)
    except InputRefused as refused:  # too long, or a NUL: the text comes back with the reason
        return refused_page(request, me, assignment_id, request.state.typed, refused.detail, 422)
    try:
        notice = _file(request, me, assignment_id, form)
    except FilingRefused as refused:
        if refused.status == 409:
            record_conflict(request, refused.message)
        return refused_page(request, me, assignment_id, form, refused.message, refused.status)
    return redirect_with(request, f"/assignments/{assignment_id}", notice)


def filed_notice(filed: CheckIn, *, amended: bool) -> str:
    """What the next page says: a new filing, or which version was amended and what it became
    (the page numbers versions by revision, "第 2 次报送")."""
    if amended:
        kind = "（办结报告）" if filed.completed else ""
        return (
            f"已修改第{filed.revision - 1}次报送，作为第{filed.revision}次报送{kind}提交，"
            "待办公室审核"
        )
    return "已提交办结报告，待办公室审核" if filed.completed else "已提交，待办公室审核"


def _file(request: Request, me: Principal, assignment_id: int, form: Any) -> str:
    values = typed_values(form)
    percent = read_percent(values["percent"])
    uploads = []
    for upload in form.getlist("evidence"):
        if not getattr(upload, "filename", None):
            continue
        data = upload.file.read()
        try:
            uploads.append(Upload(upload.filename, data, checked(upload.filename, data)))
        except Refused as refused:
            raise FilingRefused(415, f"佐证材料“{refused.name}”：{refused.why_zh}") from None
    keep = set(form.getlist("keep")) if form.get("amending") == "1" else None
    settings = settings_of(request)
    try:
        with unit_of_work(engine_of(request)) as session:
            visible_assignment(session, me, assignment_id)
            checkin = checkin_to_file(session, assignment_id)
            if checkin is None:
                raise FilingRefused(409, "本任务当前没有进行中的报送，内容未保存")
            filed = submit_checkin(
                session,
                round_id=checkin.round_id,
                assignment_id=assignment_id,
                actor=me.actor,
                now=utc_now(),
                text=values["text"].strip(),
                percent=percent,
                problems=values["problems"].strip() or None,
                evidence=described(uploads),
                completed=values["completed"],
                evidence_quota_bytes=int(settings.evidence_quota_mb * 1024 * 1024),
                keep=keep,
            )
            drop_draft(session, user_id=me.user_id, assignment_id=assignment_id)
            store(settings.home / "evidence", uploads)  # only now: the filing was checked in full
            return filed_notice(filed, amended=amended_in(session, filed))
    except DubanError as error:
        if isinstance(error, NotFound):
            raise
        raise FilingRefused(STATUS_BY_EXIT.get(error.exit_code, 400), error.message("zh")) from None


def amended_in(session: Session, filed: CheckIn) -> bool:
    """The version just filed replaced an unreviewed one: the check-in was submitted before it
    (read from the version row, written under the row lock, not from an earlier read)."""
    version = session.exec(
        select(CheckInVersion).where(
            CheckInVersion.checkin_id == filed.id, CheckInVersion.revision == filed.revision
        )
    ).one()
    return version.prior_state == CheckInState.SUBMITTED.value


def refused_page(
    request: Request, me: Principal, assignment_id: int, form: Any, message: str, status: int
) -> Response:
    """The assignment page again, its form holding what was typed, the reason above it."""
    typed = typed_values(form) if form is not None else None
    with reading(engine_of(request)) as session:
        assignment = visible_assignment(session, me, assignment_id)
        view = assignment_facts(session, me, assignment, settings_of(request))
        view.update(form=typed or view["form"], form_source="typed", refusal=message)
        return page(request, "assignment.html.j2", me, status=status, **view)


@router.post("/assignments/{assignment_id}/withdraw")
def withdraw(request: Request, assignment_id: Id, me: Principal = Depends(office_or_unit)):
    form = form_of(request, me)
    revision = number_in_form(form.get("revision"))
    if revision is None:
        raise HTTPException(400, "撤回须注明报送版本，请刷新后重试")
    with unit_of_work(engine_of(request)) as session:
        visible_assignment(session, me, assignment_id)
        checkin = checkin_to_file(session, assignment_id)
        if checkin is None:
            raise HTTPException(409, "本任务当前没有可撤回的报送")
        withdraw_filing(
            session,
            round_id=checkin.round_id,
            assignment_id=assignment_id,
            actor=me.actor,
            now=utc_now(),
            revision=revision,
        )
    return redirect_with(request, f"/assignments/{assignment_id}", "已撤回该次报送")


def evidence_entry(
    session: Session, me: Principal, checkin_id: int, sha256: str
) -> tuple[Any, dict[str, Any]]:
    """The check-in and the file's entry, if it is evidence of this check-in now or in a kept
    version (the office opens a removed file from the list of changes); 404 otherwise."""
    checkin = visible_checkin(session, me, checkin_id)
    entry = next((e for e in checkin.evidence if e.get("sha256") == sha256), None)
    if entry is None:
        for version in session.exec(
            select(CheckInVersion).where(CheckInVersion.checkin_id == checkin_id)
        ):
            entry = next((e for e in version.evidence if e.get("sha256") == sha256), entry)
    if entry is None:
        raise refuse(
            me,
            status=404,
            object_type="evidence",
            object_id=f"{checkin_id}:{sha256[:16]}",
            why="不是本次报送的佐证材料",
        )
    return checkin, entry


@router.get("/evidence/{checkin_id}/{sha256}")
def evidence(
    request: Request,
    checkin_id: Id,
    sha256: FileName,
    me: Principal = Depends(office_or_unit),
    session: Session = Depends(read_session),
):
    _, entry = evidence_entry(session, me, checkin_id, sha256)
    path = path_of(settings_of(request).home / "evidence", sha256)
    if not path.is_file():
        raise HTTPException(404)
    return FileResponse(
        path,
        media_type=entry.get("type", "application/octet-stream"),
        filename=entry["name"],
        content_disposition_type="attachment",
    )


@router.get("/evidence/{checkin_id}/{sha256}/preview")
def evidence_preview(
    request: Request,
    checkin_id: Id,
    sha256: FileName,
    me: Principal = Depends(office_or_unit),
    session: Session = Depends(read_session),
):
    """An image as itself, a PDF as its first page in PNG: shown inline, only for types a browser
    renders without running anything (never SVG or HTML)."""
    _, entry = evidence_entry(session, me, checkin_id, sha256)
    folder = settings_of(request).home / "evidence"
    kind = preview_kind(entry)
    if kind == "image" and entry.get("type") in INLINE_IMAGES:
        path, media = path_of(folder, sha256), str(entry["type"])
    elif kind == "pdf":
        rendered = pdf_preview(folder, sha256)
        if rendered is None:
            raise HTTPException(404, "该 PDF 无法生成预览，请下载查看")
        path, media = rendered, "image/png"
    else:
        raise HTTPException(404, "该文件没有预览，请下载查看")
    if not path.is_file():
        raise HTTPException(404)
    return FileResponse(path, media_type=media, headers={"Content-Disposition": "inline"})

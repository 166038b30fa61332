"""The office's plan import by upload (a dry-run preview first, then apply) and the unit directory.

The uploaded notice is kept under $DUBAN_HOME/uploads by its SHA-256 between
the preview and the apply, so what is applied is exactly what was previewed.
It is deleted once applied; a preview nobody applied is deleted a day later.
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session, col, select

from models.clock import utc_now
from models.db import reading, unit_of_work
from models.unit import Contact, Unit, UnitAlias
from web.auth import Principal
from web.deps import engine_of, form_of, office_only, page, read_session, settings_of

router = APIRouter()
NOTICE_TYPES = ("txt", "md", "docx", "xlsx", "csv")
KEPT_FOR_S = 24 * 3600  # how long a preview can wait for its apply


def _prune(folder: Path) -> None:
    """Delete the notices of previews that were never applied."""
    for stale in folder.glob("*"):
        try:
            if time.time() - stale.stat().st_mtime > KEPT_FOR_S:
                stale.unlink()
        except FileNotFoundError:  # another worker pruned it first
            continue


def _kept(request: Request, sha: str, ext: str):  # noqa: ANN202
    if not re.fullmatch(r"[0-9a-f]{64}", sha) or ext not in NOTICE_TYPES:
        raise HTTPException(400, "无效的上传编号 / not an uploaded notice")
    path = settings_of(request).home / "uploads" / f"{sha}.{ext}"
    if not path.is_file():
        raise HTTPException(404, "上传的文件已不存在，请重新上传 / the upload is gone; upload it again")
    return path


@router.get("/import")
def import_form(request: Request, me: Principal = Depends(office_only)):  # noqa: ANN201
    return page(request, "import.html.j2", me, preview=None)


@router.post("/import")
def import_preview(request: Request, me: Principal = Depends(office_only)):  # noqa: ANN201
    from intake.plan_import import reconcile, resolve
    from intake.source import read_notice

    form = form_of(request, me)
    upload = form.get("notice")
    plan_key = str(form.get("plan_key", "")).strip()
    name = getattr(upload, "filename", "") or ""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in NOTICE_TYPES:
        raise HTTPException(415, f"“{name}”：通知应为 {', '.join(NOTICE_TYPES)} 文件 / a notice must be one of these types")
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", plan_key):
        raise HTTPException(400, "计划代号只能含字母、数字、-、_ / the plan key: letters, digits, - and _")
    data = upload.file.read()
    sha = hashlib.sha256(data).hexdigest()
    folder = settings_of(request).home / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    _prune(folder)
    path = folder / f"{sha}.{ext}"
    path.write_bytes(data)
    notice = read_notice(path)
    with reading(engine_of(request)) as session:
        resolved = resolve(session, notice)
        outcome = reconcile(session, plan_key, resolved, actor=me.actor, now=utc_now(), write=False)
    return page(request, "import.html.j2", me, preview={
        "name": name, "sha": sha, "ext": ext, "plan_key": plan_key, "document": resolved.as_json(),
        "warnings": resolved.warnings, "created": outcome.created, "changes": outcome.changes})


@router.post("/import/apply")
def import_apply(request: Request, me: Principal = Depends(office_only)):  # noqa: ANN201
    from intake.plan_import import reconcile, resolve
    from intake.source import read_notice

    form = form_of(request, me)
    path = _kept(request, str(form.get("sha", "")), str(form.get("ext", "")))
    plan_key = str(form.get("plan_key", "")).strip()
    notice = read_notice(path)
    with unit_of_work(engine_of(request)) as session:
        reconcile(session, plan_key, resolve(session, notice), actor=me.actor, now=utc_now(), write=True)
    path.unlink(missing_ok=True)  # applied: the plan and its audit trail now hold what it said
    return RedirectResponse("/dashboard", status_code=303)


@router.get("/units")
def units(request: Request, me: Principal = Depends(office_only), session: Session = Depends(read_session)):  # noqa: ANN201
    rows = session.exec(select(Unit).order_by(Unit.name)).all()
    aliases: dict[int, list[str]] = {}
    for alias in session.exec(select(UnitAlias)):
        aliases.setdefault(alias.unit_id, []).append(alias.alias)
    contacts: dict[int, list[Contact]] = {}
    for contact in session.exec(select(Contact).order_by(col(Contact.role))):
        contacts.setdefault(contact.unit_id, []).append(contact)
    return page(request, "units.html.j2", me, rows=rows, aliases=aliases, contacts=contacts)

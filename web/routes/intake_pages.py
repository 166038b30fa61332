"""The office's plan import by upload (a preview, corrections, then apply), 待分工 tasks, the unit
directory.

The uploaded notice is kept under $DUBAN_HOME/uploads by its SHA-256 between
the preview and the apply. The office corrects titles, deadlines and units in
the preview form and previews again; the page carries a seal (an HMAC of the
file, the plan key, the corrections and the list of changes), and an apply
whose recomputed seal differs is refused with the up-to-date preview, so what
is applied is exactly what was previewed. The notice is deleted once applied;
a preview nobody applied is deleted a day later.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import time
from pathlib import Path
from typing import Any

import anyio.from_thread
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from intake.source import NOTICE_TYPES  # every format the readers take
from models.clock import utc_now
from models.db import reading, unit_of_work
from web.auth import Principal
from web.bounds import Id
from web.deps import engine_of, form_of, office_only, page, read_session, settings_of
from web.flash import redirect_with

router = APIRouter()
KEPT_FOR_S = 24 * 3600  # how long a preview can wait for its apply


def _prune(folder: Path) -> None:
    """Delete the notices of previews that were never applied."""
    for stale in folder.glob("*"):
        try:
            if time.time() - stale.stat().st_mtime > KEPT_FOR_S:
                stale.unlink()
        except FileNotFoundError:  # another worker pruned it first
            continue


def _kept(request: Request, sha: str, ext: str):
    if not re.fullmatch(r"[0-9a-f]{64}", sha) or ext not in NOTICE_TYPES:
        raise HTTPException(400, "无效的上传编号")
    path = settings_of(request).home / "uploads" / f"{sha}.{ext}"
    if not path.is_file():
        raise HTTPException(404, "上传的文件已不存在（超过一天未导入会自动删除），请重新上传")
    return path


@router.get("/import")
def import_form(
    request: Request, me: Principal = Depends(office_only), session: Session = Depends(read_session)
):
    from intake.plan_import import pending_tasks

    return page(request, "import.html.j2", me, preview=None, pending=len(pending_tasks(session)))


def _preview(
    request: Request,
    me: Principal,
    *,
    path: Path,
    name: str,
    plan_key: str,
    form: Any = None,
    session: Session | None = None,
) -> dict[str, Any]:
    """Read the kept notice, apply the form's corrections, compare with the stored plan: what the
    page shows and the seal that binds an apply to exactly this (file, plan key, corrections and
    changes)."""
    from intake.corrections import corrections_from_form
    from intake.isolated import read_notice_isolated
    from intake.notice import ImportFailed
    from intake.plan_import import reconcile, resolve

    notice = read_notice_isolated(
        path
    )  # a capped worker process; the caller runs this off the loop
    corrections, problems = corrections_from_form(form, notice) if form is not None else ([], [])
    if problems:
        raise ImportFailed(problems, name)

    def compute(session: Session) -> dict[str, Any]:
        resolved = resolve(session, notice, corrections=corrections)
        outcome = reconcile(session, plan_key, resolved, actor=me.actor, now=utc_now(), write=False)
        return {
            "resolved": resolved,
            "outcome": outcome,
            "seal": _seal(
                request,
                sha=notice.source_sha256,
                ext=path.suffix[1:],
                plan_key=plan_key,
                resolved=resolved,
                outcome=outcome,
            ),
        }

    if session is not None:
        found = compute(session)
    else:
        with reading(engine_of(request)) as reader:
            found = compute(reader)
    resolved, outcome = found["resolved"], found["outcome"]
    document = resolved.as_json()
    for task in document[
        "tasks"
    ]:  # no units in the notice, but the office assigned them earlier: they stay
        task["kept"] = task["pending"] and task["number"] not in outcome.pending
        task["pending"] = task["number"] in outcome.pending
    return {
        "name": name,
        "sha": notice.source_sha256,
        "ext": path.suffix[1:],
        "plan_key": plan_key,
        "document": document,
        "warnings": resolved.warnings,
        "created": outcome.created,
        "changes": outcome.changes,
        "corrections": resolved.corrections,
        "pending": outcome.pending,
        "fields": _fields(resolved),
        "seal": found["seal"],
        "resolved": resolved,
        "outcome": outcome,
    }


def _seal(
    request: Request, *, sha: str, ext: str, plan_key: str, resolved: Any, outcome: Any
) -> str:
    """HMAC of what an apply would do: the same file, plan key, corrections and list of changes, or
    a refusal."""
    from models.audit import canonical_json

    body = canonical_json(
        {
            "sha": sha,
            "ext": ext,
            "plan_key": plan_key,
            "corrections": resolved.corrections,
            "changes": [c.basis() for c in outcome.changes],
            "pending": outcome.pending,
        }
    )
    secret = settings_of(request).secret_key.get_secret_value().encode()
    return hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()


def _fields(resolved: Any) -> dict[int, dict[str, str]]:
    """Each task's form fields as the preview shows them (after the corrections)."""
    from models.assignment import AssignmentRole

    fields: dict[int, dict[str, str]] = {}
    for task in resolved.notice.tasks:
        units = resolved.units[task.number]
        fields[task.number] = {
            "title": task.title,
            "deadline": task.deadline.isoformat() if task.deadline else "",
            **{
                role.value: "、".join(a.unit for a in units if a.role == role)
                for role in AssignmentRole
            },
        }
    return fields


def _form(request: Request, me: Principal) -> Any:
    # A province's notice has thousands of tasks, five fields each: above Starlette's default of
    # 1,000. Read on the event loop (Starlette keeps the parsed form); form_of then checks it from
    # this thread.
    anyio.from_thread.run(functools.partial(request.form, max_fields=50_000, max_files=1))
    return form_of(request, me)


@router.post("/import")
def import_preview(request: Request, me: Principal = Depends(office_only)):
    form = _form(request, me)
    upload = form.get("notice")
    plan_key = str(form.get("plan_key", "")).strip()
    name = getattr(upload, "filename", "") or ""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in NOTICE_TYPES:
        raise HTTPException(415, f"“{name}”：通知应为 {'、'.join(NOTICE_TYPES)} 文件")
    _check_key(plan_key)
    data = upload.file.read()
    sha = hashlib.sha256(data).hexdigest()
    folder = settings_of(request).home / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    _prune(folder)
    path = folder / f"{sha}.{ext}"
    path.write_bytes(data)
    preview = _preview(request, me, path=path, name=name, plan_key=plan_key)
    return page(request, "import.html.j2", me, preview=preview)


def _check_key(plan_key: str) -> None:
    from intake.plan_key import problem

    found = problem(plan_key)
    if found is not None:
        raise HTTPException(400, f"计划代号{found[0]}（可用中文，如“2022年未成年人保护”）")


def _posted(request: Request, form: Any) -> tuple[Path, str, str]:
    path = _kept(request, str(form.get("sha", "")), str(form.get("ext", "")))
    plan_key = str(form.get("plan_key", "")).strip()
    _check_key(plan_key)
    return path, plan_key, str(form.get("name", "")).strip()[:200] or path.name


@router.post("/import/revise")
def import_revise(request: Request, me: Principal = Depends(office_only)):
    """The preview again, with the office's corrections applied: nothing is written."""
    form = _form(request, me)
    path, plan_key, name = _posted(request, form)
    preview = _preview(request, me, path=path, name=name, plan_key=plan_key, form=form)
    return page(request, "import.html.j2", me, preview=preview, revised=True)


@router.post("/import/apply")
def import_apply(request: Request, me: Principal = Depends(office_only)):
    """Apply exactly what was previewed; anything else (another file, plan key, correction, or a
    plan changed since) is refused with the up-to-date preview and nothing is written."""
    form = _form(request, me)
    path, plan_key, name = _posted(request, form)
    sealed = str(form.get("seal", ""))

    def apply() -> tuple[dict[str, Any] | None, list[str]]:
        from intake.plan_import import reconcile
        from models import audit

        with unit_of_work(engine_of(request)) as session:
            audit.lock(
                session
            )  # another apply waits; the seal is checked against what this one writes over
            if not path.is_file():  # applied meanwhile by someone else, who removed the kept copy
                raise HTTPException(404, "上传的文件已不存在（可能已被他人导入），请重新上传")
            preview = _preview(
                request, me, path=path, name=name, plan_key=plan_key, form=form, session=session
            )
            if not hmac.compare_digest(preview["seal"], sealed):
                return preview, []
            outcome = reconcile(
                session, plan_key, preview["resolved"], actor=me.actor, now=utc_now(), write=True
            )
        return None, outcome.new_units

    mismatch, new_units = apply()
    if mismatch is not None:
        return page(request, "import.html.j2", me, preview=mismatch, mismatch=True, status=409)
    path.unlink(missing_ok=True)  # applied: the plan and its audit trail now hold what it said
    with reading(engine_of(request)) as session:
        from intake.plan_import import pending_tasks

        waiting = pending_tasks(session)
    target = "/import/pending" if waiting else "/dashboard"
    if new_units:
        from intake.plan_import import new_units_notice

        return redirect_with(request, target, new_units_notice(new_units))
    return RedirectResponse(target, status_code=303)


@router.get("/import/pending")
def pending_page(
    request: Request,
    me: Principal = Depends(office_only),
    session: Session = Depends(read_session),
    done: Id | None = None,
):
    """待分工: the tasks in force that no unit holds yet, each with a form to give it its units."""
    from intake.plan_import import pending_tasks

    return page(request, "pending.html.j2", me, rows=pending_tasks(session), done=done)


@router.post("/import/pending/{task_id}")
def assign_task(request: Request, task_id: Id, me: Principal = Depends(office_only)):
    from intake.corrections import units_from_fields
    from intake.plan_import import assign_pending
    from models.plan import Task

    form = form_of(request, me)
    units = units_from_fields(
        {name: str(form.get(name, "")) for name in ("lead", "responsible", "cooperating")}
    )

    def assign() -> int:
        with unit_of_work(engine_of(request)) as session:
            assign_pending(session, task_id=task_id, units=units, actor=me.actor, now=utc_now())
            return session.get(Task, task_id).number

    number = assign()
    return RedirectResponse(f"/import/pending?done={number}", status_code=303)

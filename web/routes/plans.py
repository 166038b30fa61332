"""The office's plan list (/plans): every plan, active and archived, with its counts, searchable by
key or title, and the 归档 button on a plan whose items are all closed or withdrawn (shown only
then: `PlanRow.archivable`, the rule `models.archive.archive_plan` enforces)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session

from models.archive import archive_plan, plan_rows
from models.clock import utc_now
from models.db import unit_of_work
from web.auth import Principal
from web.bounds import PlanKey, SearchText
from web.deps import engine_of, form_of, office_only, page, read_session
from web.flash import redirect_with

router = APIRouter()


@router.get("/plans")
def plans(
    request: Request,
    q: SearchText | None = None,
    me: Principal = Depends(office_only),
    session: Session = Depends(read_session),
):
    return page(
        request, "plans.html.j2", me, rows=plan_rows(session, search=q or None), search=q or ""
    )


@router.post("/plans/{key}/archive")
def plan_archive(
    request: Request,
    key: PlanKey,
    me: Principal = Depends(office_only),
):
    form_of(request, me)  # the CSRF check
    with unit_of_work(engine_of(request)) as session:
        plan = archive_plan(session, plan_key=key, actor=me.actor, now=utc_now())
        title = plan.title
    return redirect_with(
        request, "/plans", f"已归档“{title}”：此后只读，不再出现在总览和定时任务中"
    )

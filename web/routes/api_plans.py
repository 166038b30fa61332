"""Plans through the JSON API: the list (archived ones too, with their counts) and archiving a
finished plan (the office's alone). The same use cases as `duban plan list|archive` and the
/plans page."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from models.archive import archive_plan, plan_rows
from models.clock import utc_now
from models.db import reading, unit_of_work
from models.lifecycle import OFFICE, Role
from web.auth import Principal
from web.bounds import PlanKey, SearchText
from web.deps import engine_of, refuse
from web.routes.api import bearer

router = APIRouter(prefix="/api/v1", tags=["api"])


class PlanOut(BaseModel):
    key: str
    title: str
    state: str = Field(description="active or archived")
    state_zh: str = Field(description="进行中 / 已归档")
    archived_at: datetime | None
    archived_by: str | None
    tasks: int
    assignments: int
    closed: int
    withdrawn: int
    open: int = Field(description="assignments neither closed nor withdrawn: archiving needs 0")
    rounds: int
    archivable: bool


def _rows(request: Request, search: str | None) -> list[PlanOut]:
    with reading(engine_of(request)) as session:
        return [PlanOut(**r.as_dict()) for r in plan_rows(session, search=search)]


@router.get("/plans", response_model=list[PlanOut])
def list_plans(
    request: Request,
    search: SearchText | None = Query(default=None, description="key or title contains"),
    me: Principal = Depends(bearer),
) -> list[PlanOut]:
    if me.role == Role.UNIT:
        raise refuse(me, status=403, object_type="plan", object_id="*", why="单位无权查看通知列表")
    return _rows(request, search)


@router.post("/plans/{key}/archive", response_model=PlanOut)
def post_archive(request: Request, key: PlanKey, me: Principal = Depends(bearer)) -> PlanOut:
    if me.role not in OFFICE:
        raise refuse(me, status=403, object_type="plan", object_id=key, why="仅办公室可操作")
    with unit_of_work(engine_of(request)) as session:
        archive_plan(session, plan_key=key, actor=me.actor, now=utc_now())
    (row,) = [r for r in _rows(request, None) if r.key == key]
    return row

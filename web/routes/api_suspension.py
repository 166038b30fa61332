"""暂停 through the JSON API: POST /api/v1/assignments/{id}/suspension stops an item's clock (with
a reason), DELETE resumes it (its due date moves by the suspended working days), GET lists its
pauses. Suspending and resuming are the office's alone; the same use cases as `duban suspend` and
`duban resume`."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from models.clock import utc_now
from models.db import reading, unit_of_work
from models.lifecycle import OFFICE
from models.suspensions import Suspension, history, resume, suspend
from web.auth import Principal
from web.bounds import Id
from web.deps import engine_of, refuse, settings_of
from web.routes.api import _visible, bearer

router = APIRouter(prefix="/api/v1", tags=["api"])


class SuspendIn(BaseModel):
    reason: str = Field(max_length=500, description="why the clock stops (required)")


class SuspensionOut(BaseModel):
    assignment_id: int
    suspended_at: datetime
    suspended_by: str
    reason: str
    resumed_at: datetime | None
    resumed_by: str | None
    working_days: int | None = Field(description="working days suspended, once resumed")
    due_on_before: date | None
    due_on_after: date | None


def _out(row: Suspension) -> SuspensionOut:
    return SuspensionOut.model_validate(row, from_attributes=True)


def _office_only(me: Principal, assignment_id: int) -> None:
    if me.role not in OFFICE:
        raise refuse(
            me, status=403, object_type="assignment", object_id=assignment_id, why="仅办公室可操作"
        )


@router.get("/assignments/{assignment_id}/suspension", response_model=list[SuspensionOut])
def get_suspensions(
    request: Request, assignment_id: Id, me: Principal = Depends(bearer)
) -> list[SuspensionOut]:
    """The item's pauses, oldest first (the last one without resumed_at while it is paused)."""
    with reading(engine_of(request)) as session:
        _visible(session, me, assignment_id)
        return [_out(row) for row in history(session, assignment_id)]


@router.post(
    "/assignments/{assignment_id}/suspension", status_code=201, response_model=SuspensionOut
)
def post_suspension(
    request: Request, assignment_id: Id, body: SuspendIn, me: Principal = Depends(bearer)
) -> SuspensionOut:
    """暂停: 403 for a unit, 409 when already paused or handed in, 400 without a reason."""
    with unit_of_work(engine_of(request)) as session:
        _visible(session, me, assignment_id)
        _office_only(me, assignment_id)
        row = suspend(
            session, assignment_id=assignment_id, reason=body.reason, actor=me.actor, now=utc_now()
        )
        return _out(row)


@router.delete("/assignments/{assignment_id}/suspension", response_model=SuspensionOut)
def delete_suspension(
    request: Request, assignment_id: Id, me: Principal = Depends(bearer)
) -> SuspensionOut:
    """恢复: the due date moves by the suspended working days; 409 when it is not paused."""
    config = settings_of(request)
    with unit_of_work(engine_of(request)) as session:
        _visible(session, me, assignment_id)
        _office_only(me, assignment_id)
        row = resume(
            session,
            assignment_id=assignment_id,
            actor=me.actor,
            now=utc_now(),
            timezone=config.timezone,
            calendar=config.working_calendar,
        )
        return _out(row)

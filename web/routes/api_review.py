"""The office's review through the JSON API: read a check-in, then accept or return the filing it
read.

Separate from `web.routes.api` (tokens and the unit's filings) so that each
module keeps one job; the same domain use case as the portal and the CLI.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field
from sqlmodel import Session

from models.checkins import review_checkin
from models.clock import utc_now
from models.db import id_of, unit_of_work
from models.lifecycle import OFFICE, Role
from models.round import CheckIn
from web.auth import Principal
from web.deps import engine_of, read_session, refuse
from web.routes.api import bearer
from web.routes.assignments import visible_checkin

router = APIRouter(prefix="/api/v1", tags=["api"])
CheckInId = Path(ge=1, le=2_147_483_647, description="a check-in's id (a database integer)")


class FilingOut(BaseModel):
    id: int
    assignment_id: int
    round_id: int
    state: str
    revision: int = Field(description="第几次报送; a review names the one it read")
    text: str | None
    percent: int | None
    milestone: str | None
    problems: str | None
    completed: bool


class ReviewIn(BaseModel):
    decision: Literal["accept", "return"]
    revision: int = Field(
        ge=1, le=1_000_000_000, description="the filing the office read (FilingOut.revision)"
    )
    reason: str | None = Field(default=None, max_length=2_000, description="required to return")


def _out(checkin: CheckIn) -> FilingOut:
    return FilingOut(
        id=id_of(checkin),
        assignment_id=checkin.assignment_id,
        round_id=checkin.round_id,
        state=str(checkin.state),
        revision=checkin.revision,
        text=checkin.text,
        percent=checkin.percent,
        milestone=checkin.milestone,
        problems=checkin.problems,
        completed=checkin.completed,
    )


def _reader(me: Principal) -> Principal:
    if me.role not in (*OFFICE, Role.UNIT, Role.LEADER):
        raise refuse(
            me, status=403, object_type="route", object_id="/api/v1/checkins", why="该角色无权访问"
        )
    return me


@router.get("/checkins/{checkin_id}", response_model=FilingOut)
def get_checkin(
    checkin_id: int = CheckInId,
    me: Principal = Depends(bearer),
    session: Session = Depends(read_session),
) -> FilingOut:
    return _out(visible_checkin(session, _reader(me), checkin_id))


@router.post("/checkins/{checkin_id}/review", response_model=FilingOut)
def review(
    request: Request, body: ReviewIn, checkin_id: int = CheckInId, me: Principal = Depends(bearer)
) -> FilingOut:
    with unit_of_work(engine_of(request)) as session:
        checkin = visible_checkin(session, _reader(me), checkin_id)
        if me.role not in OFFICE:
            raise refuse(
                me,
                status=403,
                object_type="checkin",
                object_id=checkin_id,
                why="仅办公室可审核",
            )
        reviewed = review_checkin(
            session,
            round_id=checkin.round_id,
            assignment_id=checkin.assignment_id,
            accept=body.decision == "accept",
            actor=me.actor,
            now=utc_now(),
            revision=body.revision,
            reason=body.reason,
        )
        return _out(reviewed)

"""退办 through the JSON API: the unit declines its assignment within its 签收 window (POST
.../decline), the office decides (POST .../decline/decision). The same use cases as `duban
decline` and the portal's forms (models/declines.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, model_validator

from models.clock import utc_now
from models.db import unit_of_work
from models.declines import Decline, decide, decline
from models.lifecycle import OFFICE, Role
from web.auth import Principal
from web.bounds import Id
from web.deps import engine_of, refuse, settings_of
from web.routes.api import _visible, bearer

router = APIRouter(prefix="/api/v1", tags=["api"])
Reason = Field(min_length=1, max_length=2000, pattern=r"\S")


class DeclineIn(BaseModel):
    reason: str = Reason


class DecisionIn(BaseModel):
    """One decision: reassign (`reassign_to`, optionally with a `role`), change the role (`role`
    alone), or `reject` with a `reason`."""

    reassign_to: str | None = Field(default=None, min_length=1, max_length=200)
    role: Literal["lead", "responsible", "cooperating"] | None = None
    reject: bool = False
    reason: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def one_decision(self) -> Self:
        if self.reject and (self.reassign_to is not None or self.role is not None):
            raise ValueError("reject alone, or reassign / change the role")
        if not self.reject and self.reassign_to is None and self.role is None:
            raise ValueError("give reassign_to, role or reject")
        if self.reject and not (self.reason or "").strip():
            raise ValueError("a rejection needs a reason")
        return self


class DeclineOut(BaseModel):
    id: int
    assignment_id: int
    state: str
    reason: str
    requested_at: datetime
    decided_at: datetime | None
    decision_reason: str | None
    new_assignment_id: int | None = Field(description="who now holds the work, after a decision")
    new_role: str | None


def _out(row: Decline) -> DeclineOut:
    return DeclineOut(
        id=row.id or 0,
        assignment_id=row.assignment_id,
        state=str(row.state),
        reason=row.reason,
        requested_at=row.requested_at,
        decided_at=row.decided_at,
        decision_reason=row.decision_reason,
        new_assignment_id=row.new_assignment_id,
        new_role=row.new_role,
    )


@router.post("/assignments/{assignment_id}/decline", response_model=DeclineOut, status_code=201)
def post_decline(
    request: Request, assignment_id: Id, body: DeclineIn, me: Principal = Depends(bearer)
) -> DeclineOut:
    settings = settings_of(request)
    with unit_of_work(engine_of(request)) as session:
        _visible(session, me, assignment_id)
        if me.role not in (*OFFICE, Role.UNIT):
            raise refuse(
                me,
                status=403,
                object_type="assignment",
                object_id=assignment_id,
                why="只读角色不可修改",
            )
        row = decline(
            session,
            assignment_id=assignment_id,
            reason=body.reason,
            actor=me.actor,
            now=utc_now(),
            rules=settings.cycle,
            timezone=settings.timezone,
        )
        return _out(row)


@router.post("/assignments/{assignment_id}/decline/decision", response_model=DeclineOut)
def post_decision(
    request: Request, assignment_id: Id, body: DecisionIn, me: Principal = Depends(bearer)
) -> DeclineOut:
    settings = settings_of(request)
    with unit_of_work(engine_of(request)) as session:
        _visible(session, me, assignment_id)
        if me.role not in OFFICE:
            raise refuse(
                me,
                status=403,
                object_type="assignment",
                object_id=assignment_id,
                why="仅办公室可操作",
            )
        done = decide(
            session,
            assignment_id=assignment_id,
            actor=me.actor,
            now=utc_now(),
            rules=settings.cycle,
            timezone=settings.timezone,
            reassign_to=body.reassign_to,
            role=body.role,
            reject=body.reject,
            reason=body.reason,
        )
        return _out(done.decline)

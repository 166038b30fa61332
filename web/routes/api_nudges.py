"""一键催办 through the JSON API, the office's alone: POST /api/v1/nudges with exactly one of
{"task": id}, {"unit": id} or {"assignment": id}, and (as before) POST
/api/v1/assignments/{id}/nudges. 201 with what was sent, 409 within a unit's cooldown saying when
the next is allowed; the same use case as the portal's button and `duban nudge`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, Strict

from models.clock import utc_now
from models.db import unit_of_work
from models.lifecycle import OFFICE
from models.nudges import NudgeSent, nudge
from web.auth import Principal
from web.bounds import INT32_MAX, Id, InputRefused
from web.deps import engine_of, refuse, settings_of
from web.routes.api import _visible, bearer
from web.routes.nudges import known_unit, live_task

router = APIRouter(prefix="/api/v1", tags=["api"])

# An id in the body: a JSON number, never a string, a fraction or true.
BodyId = Annotated[int, Strict(), Field(ge=1, le=INT32_MAX)]
ONE_TARGET = (
    "请在 task（任务编号）、unit（单位编号）、assignment（任务分工编号）中指定且只指定一项 / "
    "name exactly one of task, unit, assignment"
)


class NudgeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: BodyId | None = Field(default=None, description="催办 every unit with this task open")
    unit: BodyId | None = Field(default=None, description="催办 this unit on all it has open")
    assignment: BodyId | None = Field(default=None, description="催办 this one item")


class NudgeOut(BaseModel):
    unit: str
    items: int = Field(description="the open items its digest lists")
    sends_at: datetime = Field(description="now, or the next working-hours start (UTC)")


class NudgesOut(BaseModel):
    sent: list[NudgeOut] = Field(description="one digest per unit")


def _out(sent: NudgeSent) -> NudgeOut:
    return NudgeOut(unit=sent.unit, items=sent.items, sends_at=sent.sends_at)


@router.post("/nudges", status_code=201, response_model=NudgesOut)
def post_nudges(request: Request, body: NudgeIn, me: Principal = Depends(bearer)) -> NudgesOut:
    """催办 a task, a unit or an item: 403 but for the office, 404 for an unknown id, 409 within
    the cooldown (or with nothing open), 422 unless exactly one is named."""
    if me.role not in OFFICE:
        raise refuse(
            me, status=403, object_type="route", object_id="/api/v1/nudges", why="该角色无权访问"
        )
    named = [v for v in (body.task, body.unit, body.assignment) if v is not None]
    if len(named) != 1:
        raise InputRefused(ONE_TARGET)
    with unit_of_work(engine_of(request)) as session:
        if body.task is not None:
            live_task(session, body.task)
        if body.unit is not None:
            known_unit(session, body.unit)
        if body.assignment is not None:
            _visible(session, me, body.assignment)
        sent = nudge(
            session,
            settings=settings_of(request),
            now=utc_now(),
            actor=me.actor,
            task_id=body.task,
            unit_id=body.unit,
            assignment_id=body.assignment,
        )
    return NudgesOut(sent=[_out(s) for s in sent])


@router.post("/assignments/{assignment_id}/nudges", status_code=201)
def post_nudge(request: Request, assignment_id: Id, me: Principal = Depends(bearer)) -> dict:
    """一键催办 of one item (models/nudges.py), the office's alone; within the cooldown a 409 says
    when."""
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
        (sent,) = nudge(
            session,
            settings=settings_of(request),
            now=utc_now(),
            actor=me.actor,
            assignment_id=assignment_id,
        )
    return {"unit": sent.unit, "items": sent.items, "sends_at": sent.sends_at.isoformat()}

"""领导批示 through the JSON API: the 批示 a caller may see (the office all, a leader theirs, a
unit its own parts); writing one (a leader, or the office on a leader's behalf); a unit's reply;
closing one. The same use cases as `duban directive` and the portal's forms
(models/directives.py)."""

from __future__ import annotations

from datetime import date
from typing import Self

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field, model_validator

from models.clock import local_day, utc_now
from models.db import reading, unit_of_work
from models.directives import TEXT_LIMIT, add, close, leader_names, reply, views
from models.lifecycle import OFFICE, Role
from web.auth import Principal
from web.bounds import Id
from web.deps import engine_of, refuse, settings_of
from web.routes.api import _visible, bearer

router = APIRouter(prefix="/api/v1", tags=["api"])
Text = Field(min_length=1, max_length=TEXT_LIMIT, pattern=r"\S")


class DirectiveIn(BaseModel):
    """On a task (`task_id`: every unit on it) or one assignment (`assignment_id`)."""

    text: str = Text
    task_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    assignment_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    deadline: date | None = None
    on_behalf_of: str | None = Field(default=None, min_length=1, max_length=200)

    @model_validator(mode="after")
    def one_target(self) -> Self:
        if (self.task_id is None) == (self.assignment_id is None):
            raise ValueError("give task_id or assignment_id, one of the two")
        return self


class ReplyIn(BaseModel):
    text: str = Text
    unit: str | None = Field(default=None, min_length=1, max_length=200)


class CloseIn(BaseModel):
    note: str | None = Field(default=None, max_length=TEXT_LIMIT)


def _writer(me: Principal, what: object) -> None:
    if me.role not in (*OFFICE, Role.LEADER):
        raise refuse(
            me, status=403, object_type="directive", object_id=what, why="只读角色不可修改"
        )


@router.get("/directives")
def list_directives(
    request: Request,
    open_only: bool = Query(default=False, alias="open"),
    task: Id | None = None,
    me: Principal = Depends(bearer),
) -> list[dict]:
    if me.role not in (*OFFICE, Role.LEADER, Role.UNIT):
        raise refuse(me, status=404, object_type="directive", object_id="list", why="无权查看")
    today = local_day(utc_now(), settings_of(request).timezone)
    with reading(engine_of(request)) as session:
        found = views(
            session,
            today=today,
            task_id=task,
            open_only=open_only,
            unit_id=me.unit_id if me.role == Role.UNIT else None,
            leader=leader_names(session, me.actor) if me.role == Role.LEADER else None,
        )
    return [v.payload() for v in found]


@router.post("/directives", status_code=201)
def post_directive(request: Request, body: DirectiveIn, me: Principal = Depends(bearer)) -> dict:
    _writer(me, body.assignment_id or body.task_id)
    settings = settings_of(request)
    with unit_of_work(engine_of(request)) as session:
        if body.assignment_id is not None:
            _visible(session, me, body.assignment_id)
        row = add(
            session,
            settings=settings,
            actor=me.actor,
            now=utc_now(),
            text=body.text,
            task_id=body.task_id,
            assignment_id=body.assignment_id,
            deadline=body.deadline,
            on_behalf_of=body.on_behalf_of,
        )
        today = local_day(utc_now(), settings.timezone)
        return next(v for v in views(session, today=today, task_id=row.task_id)).payload()


@router.post("/directives/{directive_id}/reply")
def post_reply(
    request: Request, directive_id: Id, body: ReplyIn, me: Principal = Depends(bearer)
) -> dict:
    if me.role not in (*OFFICE, Role.UNIT):
        raise refuse(
            me, status=403, object_type="directive", object_id=directive_id, why="无权操作该批示"
        )
    with unit_of_work(engine_of(request)) as session:
        part = reply(
            session,
            directive_id=directive_id,
            text=body.text,
            actor=me.actor,
            now=utc_now(),
            unit=body.unit if me.role in OFFICE else None,
        )
        return {
            "directive_id": directive_id,
            "assignment_id": part.assignment_id,
            "state": "replied",
        }


@router.post("/directives/{directive_id}/close")
def post_close(
    request: Request, directive_id: Id, body: CloseIn, me: Principal = Depends(bearer)
) -> dict:
    _writer(me, directive_id)
    with unit_of_work(engine_of(request)) as session:
        row = close(
            session, directive_id=directive_id, actor=me.actor, now=utc_now(), note=body.note
        )
        return {"id": row.id, "state": str(row.state)}

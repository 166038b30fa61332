"""A plan's reporting cadence through the JSON API: read it with its next periods, or set it (the
office's alone). The same use case as `duban round cadence` and the rounds page."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from models.cadence import cadence_words, set_cadence, upcoming
from models.clock import utc_now
from models.db import reading, unit_of_work
from models.lifecycle import OFFICE
from models.rounds import find_plan
from web.auth import Principal
from web.bounds import PlanKey
from web.deps import engine_of, refuse, settings_of
from web.routes.api import bearer

router = APIRouter(prefix="/api/v1", tags=["api"])


class CadenceIn(BaseModel):
    cadence: Literal["once", "monthly", "quarterly", "half_yearly"]
    day: int | None = Field(default=None, ge=1, le=31, description="due day of the period's month")
    adjust: Literal["none", "later", "earlier"] = "later"
    start: date | None = Field(default=None, description="no period due before this")
    until: date | None = Field(default=None, description="no period due after this")
    tasks: list[int] | None = Field(
        default=None, max_length=1000, description="set these tasks' own (sparser) cadence"
    )


class Period(BaseModel):
    name: str
    opens_on: date
    report_by: date


class CadenceOut(BaseModel):
    plan: str
    cadence: str | None
    words: str = Field(description="as the office says it: 每月25日前报送（遇节假日顺延…）")
    upcoming: list[Period]


def _out(request: Request, key: str) -> CadenceOut:
    with reading(engine_of(request)) as session:
        plan = find_plan(session, key)
        return CadenceOut(
            plan=plan.key,
            cadence=plan.cadence,
            words=cadence_words(plan),
            upcoming=[Period(**p) for p in upcoming(plan, utc_now(), settings_of(request))],
        )


@router.get("/plans/{key}/cadence", response_model=CadenceOut)
def get_cadence(request: Request, key: PlanKey, me: Principal = Depends(bearer)) -> CadenceOut:
    return _out(request, key)


@router.put("/plans/{key}/cadence", response_model=CadenceOut)
def put_cadence(
    request: Request, body: CadenceIn, key: PlanKey, me: Principal = Depends(bearer)
) -> CadenceOut:
    if me.role not in OFFICE:
        raise refuse(me, status=403, object_type="plan", object_id=key, why="仅办公室可操作")
    with unit_of_work(engine_of(request)) as session:
        set_cadence(
            session,
            plan_key=key,
            cadence=body.cadence,
            day=body.day,
            adjust=body.adjust,
            start=body.start,
            until=body.until,
            task_numbers=body.tasks,
            actor=me.actor,
            now=utc_now(),
        )
    return _out(request, key)

"""考核 scores through the JSON API: each unit's score, rank and the 红黑榜 for a plan or one of its
rounds, as of a moment (the same replay as the 通报 and `duban score`). The office and leaders read
them; a unit reads its score in the published 通报."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from models.clock import parse_moment, utc_now
from models.db import reading
from models.lifecycle import OFFICE, Role
from models.rounds import find_plan, find_round
from reports.compile import scores_as_of
from reports.results import end_of_day, scores_payload
from web.auth import Principal
from web.bounds import PlanKey, SearchText
from web.deps import engine_of, refuse, settings_of
from web.routes.api import bearer

router = APIRouter(prefix="/api/v1", tags=["api"])


class UnitScoreOut(BaseModel):
    unit: str
    rank: int = Field(description="1 is best; equal scores share a rank")
    score: float = Field(description="within the floor and the cap of config's [scoring]")
    raw: float = Field(description="before the floor and the cap")
    counts: dict[str, int] = Field(description="on_time, late, missing, returned, escalated_1..3")
    points: dict[str, float] = Field(description="each kind's points, weighted by role")
    reasons: str = Field(description="everything counted: 按时报送 1 次，逾期报送 2 次")
    deductions: str = Field(description="what lost points: 逾期报送 2 次，退回 1 次")


class ScoresOut(BaseModel):
    plan: str
    round: str | None
    as_of: datetime
    as_of_day: date
    units: list[UnitScoreOut] = Field(description="best first")
    red: list[UnitScoreOut] = Field(description="红榜: the best that lost nothing")
    black: list[UnitScoreOut] = Field(description="黑榜: the worst that lost points")


def moment_of(text: str | None, timezone: str, now: datetime) -> datetime:
    """`as_of` as the CLI reads it: a date is the end of that office day; a time without a zone
    is the office's."""
    if text is None:
        return now
    try:
        if len(text.strip()) == 10:
            return end_of_day(date.fromisoformat(text.strip()), timezone)
        return parse_moment(text, timezone=timezone)
    except (ValueError, OverflowError):
        raise HTTPException(
            400, "as_of 应为 YYYY-MM-DD 或 ISO 8601 时间 / as_of: YYYY-MM-DD or an ISO 8601 time"
        ) from None


@router.get("/plans/{key}/scores", response_model=ScoresOut)
def get_scores(
    request: Request,
    key: PlanKey,
    round_name: Annotated[
        SearchText | None, Query(alias="round", min_length=1, description="a round's name")
    ] = None,
    as_of: Annotated[
        SearchText | None,
        Query(max_length=40, description="YYYY-MM-DD (the end of that day) or an ISO 8601 time"),
    ] = None,
    me: Principal = Depends(bearer),
) -> ScoresOut:
    """Each unit's 考核 score, its rank (ties share one) and the 红黑榜 with their reasons."""
    if me.role not in (*OFFICE, Role.LEADER):
        raise refuse(me, status=403, object_type="plan", object_id=key, why="仅办公室和领导可查看")
    settings, now = settings_of(request), utc_now()
    cutoff = moment_of(as_of, settings.timezone, now)
    with reading(engine_of(request)) as session:
        plan = find_plan(session, key)
        round_ = find_round(session, plan, round_name) if round_name else None
        results = scores_as_of(
            session, plan=plan, round_=round_, as_of=cutoff, settings=settings, now=now
        )
    return ScoresOut.model_validate(scores_payload(results))

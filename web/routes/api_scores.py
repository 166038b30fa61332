"""考核 scores through the JSON API: each unit's score, rank and the 红黑榜 for a plan or one of its
rounds, as of a moment (the same replay as the 通报 and `duban score`). The office and leaders read
them; a unit reads its score in the published 通报."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request

from models.clock import parse_moment, utc_now
from models.db import reading
from models.lifecycle import OFFICE, Role
from models.rounds import find_plan, find_round
from reports.compile import scores_as_of
from reports.results import end_of_day, scores_payload
from web.auth import Principal
from web.deps import engine_of, refuse, settings_of
from web.routes.api import bearer

router = APIRouter(prefix="/api/v1", tags=["api"])
PlanKey = Path(
    min_length=1, max_length=100, description="the plan's key (`duban import --plan-key`)"
)


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


@router.get("/plans/{key}/scores")
def get_scores(
    request: Request,
    key: str = PlanKey,
    round_name: str | None = Query(
        default=None, alias="round", min_length=1, max_length=200, description="a round's name"
    ),
    as_of: str | None = Query(
        default=None, max_length=40, description="YYYY-MM-DD (end of that day) or an ISO time"
    ),
    me: Principal = Depends(bearer),
) -> dict[str, Any]:
    """Each unit's 考核 score, its rank (ties share one) and the 红黑榜 with their reasons."""
    if me.role not in (*OFFICE, Role.LEADER):
        raise refuse(me, status=403, object_type="plan", object_id=key, why="office and leaders")
    settings, now = settings_of(request), utc_now()
    cutoff = moment_of(as_of, settings.timezone, now)
    with reading(engine_of(request)) as session:
        plan = find_plan(session, key)
        round_ = find_round(session, plan, round_name) if round_name else None
        results = scores_as_of(
            session, plan=plan, round_=round_, as_of=cutoff, settings=settings, now=now
        )
    return scores_payload(results)

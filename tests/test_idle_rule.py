"""The idle stall (长期无工作进展) is going quiet after filing, never the wait for a due date.

tests/support/small_office.py's plan, a round opened Monday 5 September 2022 and due Friday 30th
(cooperating units Wednesday 28th). 市教育局, the lead on task 5, signs that Monday and files
nothing. Ten working days after its signing is Tuesday 20 September (Mid-Autumn, 10–12, is off):
under the old rule the ladder raised it as idle that day, ten days before anything was due. Its
check-in is owed, so only its date judges it: overdue past the two days' grace is Monday 10 October
(National Day 1–7 is off; Saturday 8 and Sunday 9 are make-up working days: 8th 1, 9th 2, 10th 3).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from config import Settings
from models.clock import local_day
from models.db import unit_of_work
from models.escalation import Escalation
from models.escalations import escalate_stalled
from models.lifecycle import SYSTEM_ACTOR
from models.workflow import sign
from tests.support.scenario import Scenario
from tests.support.small_office import at, open_september, with_contacts


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path)


def _ladder(engine: Engine, assignment_id: int, timezone: str) -> list[tuple[date, int, str]]:
    with Session(engine) as session:
        return [
            (local_day(e.opened_at, timezone), e.level, e.stall)
            for e in session.exec(
                select(Escalation)
                .where(Escalation.assignment_id == assignment_id)
                .order_by(col(Escalation.id))
            )
        ]


def test_a_unit_waiting_for_its_due_date_is_not_idle_and_is_raised_only_when_overdue(
    engine: Engine, settings: Settings
) -> None:
    plan: Scenario = with_contacts(engine)
    open_september(engine, report_by=date(2022, 9, 30))
    with unit_of_work(engine) as session:
        sign(
            session,
            assignment_id=plan.lead,
            actor=plan.unit_actor("市教育局"),
            now=at("2022-09-05", 11),
        )
    day = date(2022, 9, 6)
    while day <= date(2022, 10, 10):  # the ladder runs every day, as the schedule does
        with unit_of_work(engine) as session:
            escalate_stalled(
                session, now=at(day.isoformat()), settings=settings, actor=SYSTEM_ACTOR
            )
        if day == date(2022, 10, 9):
            assert _ladder(engine, plan.lead, settings.timezone) == [], "raised before overdue"
        day += timedelta(days=1)
    assert _ladder(engine, plan.lead, settings.timezone) == [(date(2022, 10, 10), 1, "overdue")]

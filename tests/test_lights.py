"""The dashboard's lights, page by page, on the seed round: paging and filtering lose and change
nothing.

`web.dashboard.overview` fetches only what one page of tasks needs (check-ins and escalations joined
by the page's task ids). Each page of five tasks must show what one page of every task shows, the
colour filter must keep exactly the cells of its colour, and the cells named below have colours
worked out by hand. The rule itself, colour by colour, is pinned by hand in
tests/test_lights_rules.py, on the dashboard and on `models.lights` alike.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from config import Settings
from models.assignment import Assignment
from models.checkins import submit_checkin
from models.db import unit_of_work
from models.plan import Task
from models.rounds import open_round
from tests.support.scenario import OFFICE
from tests.support.seed_round import assignment_of, at, escalate, liaison, seed
from web.dashboard import overview


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path)


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    return seed(engine)


def dashboard_cells(
    engine: Engine, today: date, rules: Settings, per_page: int = 5, **filters: object
) -> dict[int, str]:
    """assignment id -> colour, over every page of `per_page` tasks."""
    found: dict[int, str] = {}
    page, pages = 1, 1
    while page <= pages:
        with Session(engine) as session:
            view = overview(
                session, today=today, rules=rules, page=page, per_page=per_page, **filters
            )
        pages = view.pages
        for row in view.rows:
            for cell in row.cells:
                assert cell.assignment_id not in found, "an assignment on two pages"
                found[cell.assignment_id] = cell.light
        page += 1
    return found


def test_each_cell_on_each_page_has_the_light_of_its_assignment(
    seeded: Engine,  # fixtures from test_cycle
    settings: Settings,
) -> None:
    engine, rules = seeded, settings.cycle
    with unit_of_work(engine) as session:
        # The seed sets no deadlines; two tasks get one, so that the pace rule (序时进度) has work
        # to do.
        for number in (5, 11):
            session.exec(select(Task).where(Task.number == number)).one().deadline = date(
                2022, 12, 31
            )
    with unit_of_work(engine) as session:
        round_id = open_round(
            session,
            plan_key="2022",
            name="三季度",
            report_by=date(2022, 9, 30),
            actor=OFFICE,
            now=at("2022-09-19", 9),
            cooperating_lead_days=2,
        ).round.id
    market, health = (
        assignment_of(engine, 12, "市市场监管局"),
        assignment_of(engine, 11, "市卫生健康委"),
    )
    with unit_of_work(engine) as session:
        submit_checkin(
            session,
            round_id=round_id,
            assignment_id=market,
            actor=liaison(engine, "市市场监管局"),
            now=at("2022-09-26"),
            text="已完成",
            percent=100,
            completed=True,
        )
        submit_checkin(
            session,
            round_id=round_id,
            assignment_id=health,
            actor=liaison(engine, "市卫生健康委"),
            now=at("2022-09-19", 15),
            text="推进中",
            percent=40,
            completed=False,
        )

    with Session(engine) as session:
        partners = session.exec(
            select(Assignment.id).where(
                Assignment.task_id == session.get(Assignment, health).task_id,
                Assignment.id != health,
            )
        ).all()
    seen: Counter[str] = Counter()
    for day in ("2022-09-20", "2022-09-27", "2022-10-10", "2022-10-14"):
        if day >= "2022-10-10":
            escalate(engine, settings, at(day))
        today = date.fromisoformat(day)
        expected = dashboard_cells(engine, today, rules, per_page=100)  # all 16 tasks on one page
        shown = dashboard_cells(engine, today, rules)
        assert shown == expected, day
        seen.update(shown.values())
        assert shown[market] == "green"
        others = {c for a, c in shown.items() if a not in (market, health)}
        if (
            day == "2022-09-20"
        ):  # on pace at 40%; its unreported partners on the same task are behind it
            assert shown[health] == "green" and "yellow" in {shown[a] for a in partners}
        if (
            day == "2022-09-27"
        ):  # 3 working days to the 30th, 1 to the cooperating units' 28th: all yellow
            assert others == {"yellow"}
        if (
            day == "2022-10-10"
        ):  # past the 30th: every item still owed is red; 40% on 121 days is on pace
            assert others == {"red"} and shown[health] == "green"
        # Filtering by colour keeps exactly the cells of that colour.
        for colour in ("green", "yellow", "red"):
            assert dashboard_cells(engine, today, rules, colour=colour) == {
                a: c for a, c in expected.items() if c == colour
            }, (day, colour)
    assert set(seen) == {"green", "yellow", "red"}, seen


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_level_three_escalation_turns_a_cell_red_before_its_date(
    seeded: Engine,  # fixtures from test_cycle
    settings: Settings,
) -> None:
    """Red because the office has taken it to the leading group, not because it is late: the
    dashboard must find the escalation through the page's tasks."""
    engine = seeded
    with unit_of_work(engine) as session:
        open_round(
            session,
            plan_key="2022",
            name="三季度",
            report_by=date(2022, 9, 30),
            actor=OFFICE,
            now=at("2022-09-19", 9),
            cooperating_lead_days=2,
        )
    for day in ("2022-10-10", "2022-10-12", "2022-10-14"):
        escalate(engine, settings, at(day))
    tobacco = assignment_of(engine, 13, "市烟草专卖局")
    # Seen on the day the round opened, nothing is overdue; only the level-3 escalations are red.
    shown = dashboard_cells(engine, date(2022, 9, 19), settings.cycle)
    assert shown[tobacco] == "red"
    assert shown == dashboard_cells(engine, date(2022, 9, 19), settings.cycle, per_page=100)

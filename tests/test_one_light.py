"""One rule for a light: the dashboard, `duban status`'s lights, the API and the 通报 show the same
colours.

The data, with T the office's today (the API reads the real clock, so the story is told around it):

  the plan is created at 07:30 Beijing time on T-60, which is 23:30 UTC on T-61; the pace counts
  from T-60, the office's day. Task 5 is due T+40: at T the expected pace is 60/100 = 60%, yellow
  below 60% - 10% = 50%. Task 12 has no deadline, so no pace.
  Round 1 opens T-20, due T-12; round 2 opens T-5, due T+30 (cooperating units two working days
  earlier).

  市公安局 (task 5)  round 1: 80% at T-15; round 2: 40% at T-2, a correction downwards
                     -> yellow: the latest filing's 40% is behind 50% (the highest, 80%, would be
                        green)
  市检察院 (task 5)  round 1: 50% at T-15; owes round 2 (due about T+26)
                     -> green: 50% is not behind 50% (counting from the UTC date T-61 it would be
                        61/101 = 60.4%, threshold 50.4%, and yellow)
  市教育局 (task 5)  round 1: 65% at T-15; its own due date moved to T+2
                     -> yellow: due within 3 working days
  市市场监管局 (12)  round 1: filed at T-15, returned by the office at T-13, so owed again, due T-12
                     -> red: overdue (a returned check-in is owed like one never filed)

  Task 5 is yellow (the worst of yellow, green, yellow), task 12 red.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from config import Settings
from models.assignment import Assignment
from models.checkins import review_checkin, submit_checkin
from models.clock import local_day, utc_now
from models.db import reading, unit_of_work
from models.lights import light_inputs, lights
from models.plan import Plan, Task
from models.rounds import open_round
from models.unit import Unit
from models.users import add_user
from reports.results import compute
from tests.support import scenario
from tests.support.portal import PASSWORD, running
from tests.support.scenario import OFFICE
from web.dashboard import overview

BEIJING = ZoneInfo("Asia/Shanghai")
EXPECTED = {"市公安局": "yellow", "市检察院": "green", "市教育局": "yellow", "市市场监管局": "red"}
EXPECTED_TASKS = {5: "yellow", 12: "red"}


def beijing(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BEIJING)


def play(engine: Engine, settings: Settings, today: date) -> scenario.Scenario:
    created = beijing(today - timedelta(days=60), 7, 30)
    assert created.astimezone(ZoneInfo("UTC")).date() == today - timedelta(
        days=61
    )  # the UTC date is the day before
    s = scenario.build(engine, created)
    deadline = today + timedelta(days=40)
    with unit_of_work(engine) as session:
        session.get(Task, s.task5_id).deadline = deadline
        for a_id in (s.police, s.procuratorate, s.lead):
            assignment = session.get(Assignment, a_id)
            assignment.due_on = assignment.original_due_on = deadline
        lead = session.get(Assignment, s.lead)
        lead.due_on = lead.original_due_on = today + timedelta(days=2)
        add_user(
            session,
            username="office",
            role="office_admin",
            password=PASSWORD,
            unit_name=None,
            actor=OFFICE,
            now=created,
        )
    rounds = {}
    for name, opened, due in (("第一轮", -20, -12), ("第二轮", -5, 30)):
        with unit_of_work(engine) as session:
            rounds[name] = open_round(
                session,
                plan_key="2022",
                name=name,
                report_by=today + timedelta(days=due),
                actor=OFFICE,
                now=beijing(today + timedelta(days=opened), 9),
                cooperating_lead_days=2,
                calendar=settings.working_calendar,
            ).round.id

    def file(
        unit: str, assignment_id: int, round_name: str, day: int, percent: int, hour: int = 10
    ) -> None:
        with unit_of_work(engine) as session:
            submit_checkin(
                session,
                round_id=rounds[round_name],
                assignment_id=assignment_id,
                actor=s.unit_actor(unit),
                now=beijing(today + timedelta(days=day), hour),
                text="推进中",
                percent=percent,
            )

    file("市公安局", s.police, "第一轮", -15, 80)
    file("市公安局", s.police, "第二轮", -2, 40)
    file("市检察院", s.procuratorate, "第一轮", -15, 50, hour=11)
    file("市教育局", s.lead, "第一轮", -15, 65, hour=12)
    file("市市场监管局", s.market, "第一轮", -15, 30, hour=14)
    with unit_of_work(engine) as session:
        review_checkin(
            session,
            round_id=rounds["第一轮"],
            assignment_id=s.market,
            accept=False,
            actor=OFFICE,
            now=beijing(today - timedelta(days=13), 10),
            revision=1,
            reason="材料不全",
        )
    return s


def by_unit(engine: Engine, colours: dict[int, str]) -> dict[str, str]:
    with reading(engine) as session:
        names = dict(
            session.exec(
                select(Assignment.id, Unit.name).join(Unit, col(Unit.id) == col(Assignment.unit_id))
            ).all()
        )
    return {names[a]: c for a, c in colours.items()}


def test_the_dashboard_the_lights_the_api_and_the_report_agree(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path, database_url=database_url, dev_mode=True)
    now = utc_now()
    today = local_day(now, settings.timezone)
    s = play(engine, settings, today)
    rules, timezone = settings.cycle, settings.timezone

    with Session(engine) as session:
        found = lights(session, today=today, rules=rules, timezone=timezone)
        view = overview(session, today=today, rules=rules, timezone=timezone)
        plan = session.get(Plan, s.plan_id)
        report = compute(
            session,
            plan=plan,
            round_=None,
            as_of=now,
            timezone=timezone,
            rules=rules,
            issuer=plan.issuer,
        )
    assert by_unit(engine, found["assignments"]) == EXPECTED
    assert found["tasks"] == {s.task5_id: EXPECTED_TASKS[5], s.task12_id: EXPECTED_TASKS[12]}
    assert (
        by_unit(engine, {c.assignment_id: c.light for row in view.rows for c in row.cells})
        == EXPECTED
    )
    assert {line.unit: line.light for task in report.tasks for line in task.lines} == EXPECTED
    assert {task.number: task.light for task in report.tasks} == EXPECTED_TASKS

    with running(settings, engine) as portal, portal.client() as client:
        issued = client.post(
            "/api/v1/auth/token", data={"username": "office", "password": PASSWORD}
        )
        assert issued.status_code == 200, issued.text
        headers = {"authorization": f"Bearer {issued.json()['access_token']}"}
        listed = client.get("/api/v1/assignments", headers=headers).json()
        one = client.get(f"/api/v1/assignments/{s.police}", headers=headers).json()
    assert {a["unit"]: a["light"] for a in listed} == EXPECTED
    assert one["light"] == "yellow"


@pytest.mark.parametrize(("hour", "minute"), [(23, 30), (7, 30), (0, 5)])
def test_the_pace_starts_on_the_office_day_the_plan_was_created(hour: int, minute: int) -> None:
    """23:30 Beijing is 15:30 UTC the same day; 07:30 and 00:05 Beijing are the UTC day before. Each
    starts on 1 September, the day the office created the plan."""
    created = beijing(date(2022, 9, 1), hour, minute)
    inputs = light_inputs(
        state="in_progress",
        assignment_due_on=None,
        owed_due_on=(),
        filings=(),
        plan_created_at=created.astimezone(ZoneInfo("UTC")),
        deadline=None,
        red_escalation=False,
        timezone="Asia/Shanghai",
    )
    assert inputs.started_on == date(2022, 9, 1)


def test_the_percent_is_the_latest_filing_that_gave_one() -> None:
    """80% on 1 September, 40% on 5 September, a text-only filing on 9 September: 40%."""
    utc = ZoneInfo("UTC")
    filings = [
        (datetime(2022, 9, 5, 2, tzinfo=utc), 40),
        (datetime(2022, 9, 1, 2, tzinfo=utc), 80),
        (datetime(2022, 9, 9, 2, tzinfo=utc), None),
        (None, 90),
    ]  # never filed: no moment, not counted
    inputs = light_inputs(
        state="in_progress",
        assignment_due_on=date(2022, 12, 1),
        owed_due_on=(date(2022, 10, 1), None, date(2022, 9, 30)),
        filings=filings,
        plan_created_at=None,
        deadline=None,
        red_escalation=False,
        timezone="Asia/Shanghai",
    )
    assert inputs.percent == 40
    assert inputs.due_on == date(2022, 9, 30)  # the earliest of its own and the owed check-ins'

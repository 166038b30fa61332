"""Traffic lights on a small plan, every colour worked out by hand, on `models.lights` and the
dashboard alike.

The plan (tests/support/scenario.py) is created on Monday 5 September 2022: task 5 (due Saturday 31
December 2022, 117 days later) led by 市教育局 with 市公安局 and 市检察院 cooperating; task 12 (no
deadline) for 市市场监管局 alone. Rules: yellow within 3 working days of the due date or more than
0.1 behind the expected pace (days since the plan began over days to the deadline); red after the
due date or at level 3. The Mid-Autumn holiday is Saturday 10 to Monday 12 September 2022.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from config import Settings
from models.checkins import submit_checkin
from models.db import unit_of_work
from models.escalation import Escalation
from models.lights import counts, latest_percent, light, lights
from models.plan import Task
from models.rounds import open_round
from tests.support.scenario import OFFICE, Scenario, build
from web.dashboard import overview

NOW = datetime(2022, 9, 5, 1, 30, tzinfo=UTC)  # Monday 09:30 in Beijing


@pytest.fixture
def rules(tmp_path: Path):  # the settings' cycle rules
    return Settings(home=tmp_path).cycle


@pytest.fixture
def plan(engine: Engine) -> Scenario:
    return build(engine, NOW)


def open_round_due(engine: Engine, report_by: date) -> int:
    """A round opened on Monday 5 September; cooperating units are due two working days earlier."""
    with unit_of_work(engine) as session:
        return open_round(
            session,
            plan_key="2022",
            name="九月督导",
            report_by=report_by,
            actor=OFFICE,
            now=NOW,
            cooperating_lead_days=2,
        ).round.id


def file(
    engine: Engine,
    plan: Scenario,
    round_id: int,
    assignment_id: int,
    unit: str,
    *,
    percent: int,
    completed: bool = False,
) -> None:
    with unit_of_work(engine) as session:
        submit_checkin(
            session,
            round_id=round_id,
            assignment_id=assignment_id,
            actor=plan.unit_actor(unit),
            now=NOW,
            text="推进中",
            percent=percent,
            completed=completed,
        )


def red_flag(
    engine: Engine,
    assignment_id: int,
    round_id: int | None,
    *,
    level: int = 3,
    resolved: bool = False,
) -> None:
    """An escalation row as `escalate_stalled` writes it."""
    with unit_of_work(engine) as session:
        session.add(
            Escalation(
                stage_key=f"a{assignment_id}:r{round_id}:l{level}",
                assignment_id=assignment_id,
                round_id=round_id,
                level=level,
                stall="overdue",
                reason="检查报送逾期超过宽限期",
                number=f"督〔2022〕{assignment_id:02d}{level}号",
                opened_at=NOW,
                resolved_at=NOW if resolved else None,
            )
        )


def seen(engine: Engine, plan: Scenario, today: date, rules) -> dict[str, object]:
    """The lights of the four assignments, the two tasks and the four units; the dashboard must show
    the same."""
    with Session(engine) as session:
        found = lights(session, today=today, rules=rules)
        view = overview(session, today=today, rules=rules, page=1, per_page=50)
    cells = {cell.assignment_id: cell.light for row in view.rows for cell in row.cells}
    names = {
        plan.lead: "lead",
        plan.police: "police",
        plan.procuratorate: "procuratorate",
        plan.market: "market",
    }
    assignments = {names[a]: c for a, c in found["assignments"].items()}
    assert {names[a]: c for a, c in cells.items()} == assignments, (
        "the dashboard disagrees with models.lights"
    )
    units = {name: found["units"].get(unit_id) for name, unit_id in plan.units.items()}
    return {
        "assignments": assignments,
        "task5": found["tasks"].get(plan.task5_id),
        "task12": found["tasks"].get(plan.task12_id),
        "units": units,
        "counts": counts(found),
    }


def test_cooperating_units_due_two_working_days_earlier_turn_yellow_first(
    engine: Engine, plan: Scenario, rules
) -> None:
    """Round due Friday 9 September: the lead and 市市场监管局 owe it then, the cooperating units
    Wednesday 7th. Monday 5th: 4 working days left for the lead (6th to 9th), 2 for the cooperating
    units."""
    open_round_due(engine, date(2022, 9, 9))
    found = seen(engine, plan, date(2022, 9, 5), rules)
    assert found["assignments"] == {
        "lead": "green",
        "police": "yellow",
        "procuratorate": "yellow",
        "market": "green",
    }
    assert found["task5"] == "yellow" and found["task12"] == "green"
    assert found["units"] == {
        "市教育局": "green",
        "市公安局": "yellow",
        "市检察院": "yellow",
        "市市场监管局": "green",
    }
    assert found["counts"]["assignments"] == {"green": 2, "yellow": 2, "red": 0, "grey": 0}
    assert found["counts"]["tasks"] == {"green": 1, "yellow": 1, "red": 0, "grey": 0}


def test_three_working_days_before_the_due_date_is_inside_the_warning_window(
    engine: Engine, plan: Scenario, rules
) -> None:
    open_round_due(engine, date(2022, 9, 9))
    # Tuesday 6th: 3 working days to the 9th (7th, 8th, 9th): yellow; 1 to the cooperating units'
    # 7th.
    assert seen(engine, plan, date(2022, 9, 6), rules)["assignments"] == {
        "lead": "yellow",
        "police": "yellow",
        "procuratorate": "yellow",
        "market": "yellow",
    }


def test_the_due_day_itself_is_yellow_and_the_day_after_red(
    engine: Engine, plan: Scenario, rules
) -> None:
    open_round_due(engine, date(2022, 9, 9))
    assert seen(engine, plan, date(2022, 9, 7), rules)["assignments"] == {
        "lead": "yellow",
        "police": "yellow",
        "procuratorate": "yellow",
        "market": "yellow",
    }
    found = seen(engine, plan, date(2022, 9, 8), rules)
    assert found["assignments"] == {
        "lead": "yellow",
        "police": "red",
        "procuratorate": "red",
        "market": "yellow",
    }
    assert found["task5"] == "red" and found["task12"] == "yellow"


def test_the_earlier_of_the_assignment_and_the_check_in_due_date_counts(
    engine: Engine, plan: Scenario, rules
) -> None:
    """Task 5's assignments are due 31 December; the round asks for the 9th: on the 13th they are
    late."""
    open_round_due(engine, date(2022, 9, 9))
    assert seen(engine, plan, date(2022, 9, 13), rules)["assignments"] == {
        "lead": "red",
        "police": "red",
        "procuratorate": "red",
        "market": "red",
    }


def test_a_task_and_a_unit_show_the_worst_light_of_their_assignments(
    engine: Engine, plan: Scenario, rules
) -> None:
    round_id = open_round_due(engine, date(2022, 9, 9))
    file(
        engine, plan, round_id, plan.procuratorate, "市检察院", percent=50
    )  # filed: owes nothing, on pace
    # Tuesday 6th: the lead is yellow (3 days), 市公安局 yellow (1 day), 市检察院 green.
    found = seen(engine, plan, date(2022, 9, 6), rules)
    assert found["assignments"]["procuratorate"] == "green" and found["task5"] == "yellow"
    file(engine, plan, round_id, plan.police, "市公安局", percent=50)
    found = seen(engine, plan, date(2022, 9, 6), rules)  # yellow, green, green: still yellow
    assert found["assignments"] == {
        "lead": "yellow",
        "police": "green",
        "procuratorate": "green",
        "market": "yellow",
    }
    assert found["task5"] == "yellow"
    red_flag(engine, plan.lead, round_id)  # red, green, green: red
    found = seen(engine, plan, date(2022, 9, 6), rules)
    assert (
        found["assignments"]["lead"] == "red"
        and found["task5"] == "red"
        and found["units"]["市教育局"] == "red"
    )


def test_red_then_yellow_then_green_on_one_task_is_red(
    engine: Engine, plan: Scenario, rules
) -> None:
    round_id = open_round_due(engine, date(2022, 9, 9))
    file(engine, plan, round_id, plan.procuratorate, "市检察院", percent=50)
    red_flag(engine, plan.lead, round_id)
    # Monday 5th: lead red (level 3), 市公安局 yellow (2 days to the 7th), 市检察院 green.
    found = seen(engine, plan, date(2022, 9, 5), rules)
    assert found["assignments"] == {
        "lead": "red",
        "police": "yellow",
        "procuratorate": "green",
        "market": "green",
    }
    assert found["task5"] == "red" and found["task12"] == "green"
    assert found["counts"]["assignments"] == {"green": 2, "yellow": 1, "red": 1, "grey": 0}


def test_only_an_open_level_three_escalation_turns_a_light_red(
    engine: Engine, plan: Scenario, rules
) -> None:
    red_flag(engine, plan.market, None, level=2)
    red_flag(engine, plan.police, None, resolved=True)
    red_flag(engine, plan.procuratorate, None)
    assert seen(engine, plan, date(2022, 9, 5), rules)["assignments"] == {
        "lead": "green",
        "police": "green",
        "procuratorate": "red",
        "market": "green",
    }


def test_behind_the_expected_pace_by_more_than_the_tolerance_is_yellow(
    engine: Engine, plan: Scenario, rules
) -> None:
    """No round: only the pace. Task 5 runs 117 days; 11 days in (16 September) 0% is 0.094 behind,
    within 0.1: green; 12 days in (17th) 0.103 behind: yellow. Task 12 has no deadline, so no
    pace."""
    assert seen(engine, plan, date(2022, 9, 6), rules)["assignments"] == {
        "lead": "green",
        "police": "green",
        "procuratorate": "green",
        "market": "green",
    }
    assert seen(engine, plan, date(2022, 9, 16), rules)["assignments"] == {
        "lead": "green",
        "police": "green",
        "procuratorate": "green",
        "market": "green",
    }
    found = seen(engine, plan, date(2022, 9, 17), rules)
    assert found["assignments"] == {
        "lead": "yellow",
        "police": "yellow",
        "procuratorate": "yellow",
        "market": "green",
    }
    assert found["task5"] == "yellow" and found["task12"] == "green"


def test_a_filed_percent_counts_against_the_pace(engine: Engine, plan: Scenario, rules) -> None:
    """Round due 30 December. 3 November is 59 days in: expected 0.504, yellow below 0.404."""
    round_id = open_round_due(engine, date(2022, 12, 30))
    file(engine, plan, round_id, plan.police, "市公安局", percent=41)
    file(engine, plan, round_id, plan.procuratorate, "市检察院", percent=40)
    assert seen(engine, plan, date(2022, 11, 3), rules)["assignments"] == {
        "lead": "yellow",
        "police": "green",
        "procuratorate": "yellow",
        "market": "green",
    }


def test_a_unit_that_has_handed_in_is_green_even_past_the_date(
    engine: Engine, plan: Scenario, rules
) -> None:
    round_id = open_round_due(engine, date(2022, 9, 9))
    file(engine, plan, round_id, plan.police, "市公安局", percent=100, completed=True)
    found = seen(engine, plan, date(2023, 1, 3), rules)  # after task 5's deadline
    assert found["assignments"] == {
        "lead": "red",
        "police": "green",
        "procuratorate": "red",
        "market": "red",
    }


def test_exactly_the_tolerance_behind_the_pace_is_still_green(
    engine: Engine, tmp_path: Path
) -> None:
    """A plan begun Thursday 22 September, 100 days before task 5's deadline; 50 days in (11
    November) the expected pace is 0.5, and 0.4 is exactly the tolerance of 0.1 behind it: green;
    0.39 is yellow."""
    begun = datetime(2022, 9, 22, 1, 30, tzinfo=UTC)
    plan = build(engine, begun)
    with unit_of_work(engine) as session:
        round_id = open_round(
            session,
            plan_key="2022",
            name="年底督导",
            report_by=date(2022, 12, 30),
            actor=OFFICE,
            now=begun,
            cooperating_lead_days=2,
        ).round.id
    for assignment_id, unit, percent in (
        (plan.police, "市公安局", 40),
        (plan.procuratorate, "市检察院", 39),
    ):
        with unit_of_work(engine) as session:
            submit_checkin(
                session,
                round_id=round_id,
                assignment_id=assignment_id,
                actor=plan.unit_actor(unit),
                now=begun,
                text="推进中",
                percent=percent,
            )
    with Session(engine) as session:
        found = lights(session, today=date(2022, 11, 11), rules=Settings(home=tmp_path).cycle)[
            "assignments"
        ]
    assert (found[plan.police], found[plan.procuratorate], found[plan.lead]) == (
        "green",
        "yellow",
        "yellow",
    )


def test_a_suspended_item_is_grey_and_below_every_colour_of_its_task(
    engine: Engine, plan: Scenario, rules
) -> None:
    """Tuesday 6 September, no round open: every item is on pace, green. 市检察院 and 市市场监管局
    suspended: theirs are grey; task 5 keeps the green of its two others, and task 12, whose only
    item is suspended, is grey."""
    from models.suspensions import suspend

    for assignment_id in (plan.procuratorate, plan.market):
        with unit_of_work(engine) as session:
            suspend(session, assignment_id=assignment_id, reason="机构改革", actor=OFFICE, now=NOW)
    found = seen(engine, plan, date(2022, 9, 6), rules)
    assert found["assignments"] == {
        "lead": "green",
        "police": "green",
        "procuratorate": "grey",
        "market": "grey",
    }
    assert (found["task5"], found["task12"]) == ("green", "grey")
    assert (found["units"]["市检察院"], found["units"]["市市场监管局"]) == ("grey", "grey")


def test_a_withdrawn_task_has_no_light(engine: Engine, plan: Scenario, rules) -> None:
    # A re-import that drops task 12 leaves it so: withdrawn, its rows kept for the record.
    with unit_of_work(engine) as session:
        task = session.get(Task, plan.task12_id)
        task.withdrawn_at = NOW
        session.add(task)
    with Session(engine) as session:
        found = lights(session, today=date(2022, 9, 6), rules=rules)
    assert plan.task12_id not in found["tasks"] and plan.market not in found["assignments"]
    assert found["tasks"][plan.task5_id] == "green"


def test_the_latest_filing_gives_the_percent_whatever_order_the_rows_come_in() -> None:
    monday, tuesday = (datetime(2022, 9, d, 2, tzinfo=UTC) for d in (5, 6))
    assert latest_percent([(tuesday, 40), (monday, 60)]) == 40  # a correction downwards counts
    assert latest_percent([(monday, 60), (tuesday, None), (None, 90)]) == 60  # no percent given
    assert latest_percent([]) is None


def test_at_the_deadline_without_tolerance_99_percent_is_behind_and_100_on_pace(rules) -> None:
    """Begun 1 September, deadline 11 September, looked at on the 11th: the expected pace is 1."""
    strict = rules.model_copy(update={"pace_tolerance": 0.0})
    at_deadline = {
        "state": "in_progress",
        "due_on": None,
        "today": date(2022, 9, 11),
        "red_escalation": False,
        "started_on": date(2022, 9, 1),
        "deadline": date(2022, 9, 11),
        "rules": strict,
    }
    assert light(percent=99, **at_deadline) == "yellow"
    assert light(percent=100, **at_deadline) == "green"


def test_a_plan_due_the_day_it_began_has_no_pace_to_keep(rules) -> None:
    # Deadline and start on the same day: no span to spread the work over (and no division by 0).
    # The day after, the pace says nothing; lateness is the due date's to say.
    assert (
        light(
            state="in_progress",
            due_on=None,
            today=date(2022, 9, 7),
            red_escalation=False,
            percent=0,
            started_on=date(2022, 9, 6),
            deadline=date(2022, 9, 6),
            rules=rules,
        )
        == "green"
    )

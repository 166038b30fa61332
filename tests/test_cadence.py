"""Reporting cadence: the check-ins schedule themselves (models/cadence.py).

Every date below was worked out by hand from the State Council's 2024 arrangement: Spring
Festival 10–17 February off with Sunday 4 and Sunday 18 February worked; Labour Day 1–5 May off
with Sunday 28 April and Saturday 11 May worked; National Day 1–7 October off with Sunday 29
September and Saturday 12 October worked.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import col, func, select

from config import Settings
from models.assignment import Assignment
from models.audit import verify_chain
from models.cadence import (
    Adjust,
    BadCadence,
    Cadence,
    Period,
    Schedule,
    open_due_rounds,
    set_cadence,
)
from models.calendar import STATUTORY
from models.checkins import review_checkin, submit_checkin
from models.db import reading, unit_of_work
from models.lifecycle import SYSTEM_ACTOR, State
from models.round import CheckIn, SupervisionRound
from models.rounds import open_round
from tests.support.cli import duban
from tests.support.hostile import STORABLE
from tests.support.scenario import OFFICE
from tests.support.seed_round import assignment_of, at, liaison, seed

ROOT = Path(__file__).parent.parent

# 25th of each month in 2024, moved to the next working day when it is a rest day: 25 February is
# a Sunday (→ Monday 26th), 25 May a Saturday (→ 27th), 25 August a Sunday (→ 26th).
DUE_2024 = [
    date(2024, 1, 25),
    date(2024, 2, 26),
    date(2024, 3, 25),
    date(2024, 4, 25),
    date(2024, 5, 27),
    date(2024, 6, 25),
    date(2024, 7, 25),
    date(2024, 8, 26),
    date(2024, 9, 25),
    date(2024, 10, 25),
    date(2024, 11, 25),
    date(2024, 12, 25),
]


def test_due_days_move_off_rest_days_as_the_statutory_calendar_says() -> None:
    monthly = Schedule(Cadence.MONTHLY, 25, Adjust.LATER)
    assert [monthly.due_on(Period(Cadence.MONTHLY, 2024, m), STATUTORY) for m in range(1, 13)] == (
        DUE_2024
    )
    earlier = Schedule(Cadence.MONTHLY, 25, Adjust.EARLIER)
    # Sunday 25 February → Friday 23rd; Saturday 25 May → Friday 24th.
    assert earlier.due_on(Period(Cadence.MONTHLY, 2024, 2), STATUTORY) == date(2024, 2, 23)
    assert earlier.due_on(Period(Cadence.MONTHLY, 2024, 5), STATUTORY) == date(2024, 5, 24)
    kept = Schedule(Cadence.MONTHLY, 25, Adjust.NONE)
    assert kept.due_on(Period(Cadence.MONTHLY, 2024, 2), STATUTORY) == date(2024, 2, 25)
    # The 10th of February falls in the Spring Festival: the next working day is the make-up
    # Sunday, 18 February. The 1st of October: Tuesday 8 October. The 5th of May (a Sunday off):
    # Monday 6 May.
    tenth = Schedule(Cadence.MONTHLY, 10, Adjust.LATER)
    assert tenth.due_on(Period(Cadence.MONTHLY, 2024, 2), STATUTORY) == date(2024, 2, 18)
    first = Schedule(Cadence.MONTHLY, 1, Adjust.LATER)
    assert first.due_on(Period(Cadence.MONTHLY, 2024, 10), STATUTORY) == date(2024, 10, 8)
    assert Schedule(Cadence.MONTHLY, 5).due_on(Period(Cadence.MONTHLY, 2024, 5), STATUTORY) == (
        date(2024, 5, 6)
    )
    # Day 31 in a 30-day month is its last day: Tuesday 30 April; in February 2024, Thursday 29th.
    last = Schedule(Cadence.MONTHLY, 31, Adjust.LATER)
    assert last.due_on(Period(Cadence.MONTHLY, 2024, 4), STATUTORY) == date(2024, 4, 30)
    assert last.due_on(Period(Cadence.MONTHLY, 2024, 2), STATUTORY) == date(2024, 2, 29)


def test_rounds_open_ten_working_days_before_they_fall_due() -> None:
    monthly = Schedule(Cadence.MONTHLY, 25, Adjust.LATER)

    def opens(month: int) -> date:
        return monthly.opens_on(Period(Cadence.MONTHLY, 2024, month), STATUTORY, 10)

    # Thursday 25 January, counted back over weekdays: 24, 23, 22, 19, 18, 17, 16, 15, 12, 11.
    assert opens(1) == date(2024, 1, 11)
    # Monday 26 February: 23, 22, 21, 20, 19, Sunday 18 (worked), then over the Spring Festival
    # to 9, 8, 7, 6.
    assert opens(2) == date(2024, 2, 6)
    # Friday 25 October: 24, 23, 22, 21, 18, 17, 16, 15, 14, and the worked Saturday 12th.
    assert opens(10) == date(2024, 10, 12)


def test_periods_are_named_as_an_office_names_them() -> None:
    assert Period(Cadence.MONTHLY, 2024, 3).name == "2024年3月进展"
    assert Period(Cadence.QUARTERLY, 2024, 3).name == "2024年第一季度进展"
    assert Period(Cadence.QUARTERLY, 2024, 12).name == "2024年第四季度进展"
    assert Period(Cadence.HALF_YEARLY, 2024, 6).name == "2024年上半年进展"
    assert Period(Cadence.HALF_YEARLY, 2024, 12).name == "2024年下半年进展"


def _set(engine: Engine, cadence: str, **options) -> None:
    with unit_of_work(engine) as session:
        set_cadence(
            session,
            plan_key="2022",
            cadence=cadence,
            day=options.get("day"),
            adjust=options.get("adjust", "later"),
            start=options.get("start"),
            until=options.get("until"),
            task_numbers=options.get("tasks"),
            actor=OFFICE,
            now=at("2023-12-20"),
        )


def _checkins(engine: Engine, name: str) -> int:
    with reading(engine) as session:
        return session.exec(
            select(func.count())
            .select_from(CheckIn)
            .join(SupervisionRound, col(SupervisionRound.id) == col(CheckIn.round_id))
            .where(SupervisionRound.name == name)
        ).one()


def test_a_year_on_a_simulated_clock_opens_each_month_once_and_drops_what_is_done(
    engine: Engine, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path)
    seed(engine)  # 16 tasks, 98 assignments
    _set(engine, "monthly", day=25, start=date(2024, 1, 1))
    _set(engine, "quarterly", tasks=[4])  # task 4's six units report in March, June, …

    opened: dict[str, tuple[date, date]] = {}  # name → (the day it opened, its report-by date)
    day = date(2024, 1, 1)
    while day <= date(2024, 12, 31):
        for hour in (8, 9):  # the scheduler fires twice (a restart): the second finds it open
            moment = datetime(
                day.year, day.month, day.day, hour, 45, tzinfo=at("2024-01-01").tzinfo
            )
            with unit_of_work(engine) as session:
                for period in open_due_rounds(
                    session, now=moment, settings=settings, actor=SYSTEM_ACTOR
                ):
                    if period.created:
                        assert period.name not in opened, f"{period.name} opened twice"
                        opened[period.name] = (day, period.report_by)
        if day == date(2024, 1, 15):
            _finish_task_1_for_the_civil_affairs_bureau(engine)
        if day == date(2024, 3, 1):  # the office still opens an extra round by hand
            with unit_of_work(engine) as session:
                open_round(
                    session,
                    plan_key="2022",
                    name="春节后专项督查",
                    report_by=date(2024, 3, 8),
                    actor=OFFICE,
                    now=at("2024-03-01"),
                    cooperating_lead_days=2,
                    calendar=STATUTORY,
                )
        day += timedelta(days=1)

    assert list(opened) == [f"2024年{m}月进展" for m in range(1, 13)]
    assert [due for _, due in opened.values()] == DUE_2024
    assert opened["2024年1月进展"][0] == date(2024, 1, 11)
    assert opened["2024年2月进展"][0] == date(2024, 2, 6)
    assert opened["2024年10月进展"][0] == date(2024, 10, 12)  # the worked Saturday
    # January: 98 less task 4's six (quarterly). February: 市民政局 finished task 1 in January
    # (reported and verified), so 91. March, a quarter's month: task 4 is back, 97.
    assert _checkins(engine, "2024年1月进展") == 92
    assert _checkins(engine, "2024年2月进展") == 91
    assert _checkins(engine, "2024年3月进展") == 97
    assert _checkins(engine, "2024年4月进展") == 91
    assert _checkins(engine, "春节后专项督查") == 97
    with reading(engine) as session:
        opens = session.exec(
            select(func.count())
            .select_from(SupervisionRound)
            .where(SupervisionRound.name.like("2024年%"))
        ).one()
        assert opens == 12
        assert verify_chain(session).ok


def _finish_task_1_for_the_civil_affairs_bureau(engine: Engine) -> None:
    bureau = assignment_of(engine, 1, "市民政局")
    with unit_of_work(engine) as session:
        round_id = session.exec(
            select(SupervisionRound.id).where(SupervisionRound.name == "2024年1月进展")
        ).one()
        submit_checkin(
            session,
            round_id=round_id,
            assignment_id=bureau,
            actor=liaison(engine, "市民政局"),
            now=at("2024-01-15"),
            text="协调机制已建立",
            percent=100,
            completed=True,
        )
    with unit_of_work(engine) as session:
        review_checkin(
            session,
            round_id=round_id,
            assignment_id=bureau,
            accept=True,
            actor=OFFICE,
            now=at("2024-01-15", 15),
            revision=1,
        )
    with reading(engine) as session:
        assert session.get(Assignment, bureau).state in (State.REPORTED, State.VERIFIED)


def test_no_round_opens_before_the_plan_says_or_after_its_until(
    engine: Engine, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path)
    seed(engine)
    _set(engine, "monthly", day=25, start=date(2024, 2, 1), until=date(2024, 2, 29))
    with unit_of_work(engine) as session:
        # 11 January would open January's round, which is before the plan's first period.
        assert (
            open_due_rounds(session, now=at("2024-01-11"), settings=settings, actor=SYSTEM_ACTOR)
            == []
        )
        assert [
            p.name
            for p in open_due_rounds(
                session, now=at("2024-02-20"), settings=settings, actor=SYSTEM_ACTOR
            )
        ] == ["2024年2月进展"]
        assert (
            open_due_rounds(session, now=at("2024-03-20"), settings=settings, actor=SYSTEM_ACTOR)
            == []
        )
    # A round the office closed early stays closed: the next run does not open it again.
    with unit_of_work(engine) as session:
        from models.rounds import close_round

        close_round(
            session,
            plan_key="2022",
            name="2024年2月进展",
            actor=OFFICE,
            now=at("2024-02-21"),
            confirmed=True,
        )
    with unit_of_work(engine) as session:
        (again,) = open_due_rounds(
            session, now=at("2024-02-22"), settings=settings, actor=SYSTEM_ACTOR
        )
        assert again.created is False


def test_a_bad_cadence_is_refused_with_what_is_wrong(engine: Engine) -> None:
    seed(engine)
    for cadence, options, words in (
        ("weekly", {}, "周期“weekly”不是"),
        ("monthly", {"day": 0}, "报送日应为 1 至 31 日"),
        ("monthly", {"day": 32}, "报送日应为 1 至 31 日"),
        ("monthly", {}, "报送日应为 1 至 31 日"),
        ("monthly", {"day": 25, "adjust": "sideways"}, "节假日调整“sideways”"),
        (
            "monthly",
            {"day": 25, "start": date(2024, 5, 1), "until": date(2024, 4, 1)},
            "早于开始日期",
        ),
        ("quarterly", {"tasks": [99]}, "没有任务 99"),
    ):
        with pytest.raises(BadCadence) as refused:
            _set(engine, cadence, **options)
        assert words in refused.value.message("zh")
    with reading(engine) as session:  # nothing was written
        from models.plan import Plan

        assert session.exec(select(Plan.cadence)).all() == [None]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the domain runs on both above
def test_the_command_line_sets_shows_and_opens_the_cadence(
    database_url: str, tmp_path: Path
) -> None:
    def run(*args: str, code: int = 0) -> str:
        result = duban(*args, home=tmp_path, url=database_url)
        assert result.returncode == code, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        return result.stdout + result.stderr

    run("units", "import", str(ROOT / "config/units/rugao.yaml"))
    run("import", str(ROOT / "tests/fixtures/seed-notice.txt"), "--plan-key", "2022")
    shown = run("round", "cadence", "monthly", "--day", "25", "--now", "2024-01-02")
    assert "每月25日前报送（遇节假日顺延至下一个工作日）" in shown
    assert "2024年2月进展：2024-02-06 开启，2024-02-26 截止" in shown
    assert "今天没有到期开启的轮次" in run("round", "open-due", "--now", "2024-01-10T09:00")
    assert "2024年1月进展：已开启，2024-01-25 截止，报送事项 98 项，通知 49 条" in run(
        "round", "open-due", "--now", "2024-01-11T09:00"
    )
    assert "已开启过，未做改动" in run("round", "open-due", "--now", "2024-01-12T09:00")
    refused = run("round", "cadence", "monthly", "--day", "40", code=2)
    assert "报送日应为 1 至 31 日（收到 40）" in refused
    for hostile in STORABLE[:3]:
        said = run("round", "cadence", "monthly", "--day", "25", "--plan", hostile, code=3)
        assert "计划" in said and "Traceback" not in said

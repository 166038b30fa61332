"""暂停 (issue 17 item 10): the office suspends an assignment with a reason; its clock stops (no
reminders, no escalation, no 催办, a grey light, counted in the 通报) and on resume its due dates
move later by the working days it was suspended, on the statutory calendar.

The worked case, by hand, on the 2024 calendar: National Day is off 1–7 October; Sunday 29
September and Saturday 12 October are make-up working days (调休上班).

  suspended Friday 2024-09-27, resumed Monday 2024-10-14: the clock stood still on the working days
  from the 27th up to, not including, the 14th: 27 (Fri), 29 (Sun, make-up), 30 (Mon), 8, 9, 10,
  11 (Tue–Fri), 12 (Sat, make-up) = 8 working days.
  A check-in due Wednesday 2024-10-09 moves 8 working days later: 10 (1), 11 (2), 12 (3, the make-up
  Saturday), 14 (4), 15 (5), 16 (6), 17 (7), 18 (8) = Friday 2024-10-18.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from config import Settings
from models.assignment import Assignment
from models.audit import AuditEvent
from models.calendar import STATUTORY
from models.db import reading, unit_of_work
from models.errors import NotPermitted, ReasonRequired
from models.escalation import Escalation
from models.escalations import escalate_stalled
from models.labels import AUDIT_ACTIONS
from models.lifecycle import SYSTEM_ACTOR
from models.lights import lights
from models.nudges import NothingToNudge, nudge
from models.plan import Plan
from models.reminders import send_reminders
from models.round import CheckIn, SupervisionRound
from models.rounds import open_round
from models.suspensions import (
    TRANSITIONS,
    Pause,
    PauseAction,
    PauseRefused,
    resume,
    suspend,
    suspended_working_days,
)
from models.workflow import sign
from reports.results import compute, end_of_day
from tests.support.scenario import OFFICE, Scenario
from tests.support.small_office import at, outbox, with_contacts

REASON = "等待省级政策出台"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, office_name="市未保办")


@pytest.fixture
def october(engine: Engine) -> tuple[Scenario, int]:
    """The small office with a round opened Monday 2024-09-23, due Wednesday 2024-10-09;
    市市场监管局 (task 12, responsible) signs the same day."""
    plan = with_contacts(engine)
    with unit_of_work(engine) as session:
        round_id = open_round(
            session,
            plan_key="2022",
            name="十月督导",
            report_by=date(2024, 10, 9),
            actor=OFFICE,
            now=at("2024-09-23"),
            cooperating_lead_days=2,
        ).round.id
        sign(
            session,
            assignment_id=plan.market,
            actor=plan.unit_actor("市市场监管局"),
            now=at("2024-09-23", 11),
        )
    return plan, round_id


def test_the_pause_table_has_one_way_in_and_one_way_out() -> None:
    assert TRANSITIONS == {
        (Pause.RUNNING, PauseAction.SUSPEND): Pause.SUSPENDED,
        (Pause.SUSPENDED, PauseAction.RESUME): Pause.RUNNING,
    }


def test_suspended_across_national_day_2024_is_eight_working_days_and_the_9th_moves_to_the_18th():
    assert suspended_working_days(date(2024, 9, 27), date(2024, 10, 14), STATUTORY) == 8
    assert STATUTORY.add_working_days(date(2024, 10, 9), 8) == date(2024, 10, 18)
    # Resumed the day it was suspended: no working day passed.
    assert suspended_working_days(date(2024, 9, 27), date(2024, 9, 27), STATUTORY) == 0
    # Suspended on a holiday, resumed the next working day: 1–7 October are all days off.
    assert suspended_working_days(date(2024, 10, 1), date(2024, 10, 8), STATUTORY) == 0


def _market_days(engine: Engine, plan: Scenario) -> list[str]:
    """The days a reminder digest listed 市市场监管局's item."""
    return sorted(
        row.dedup_key.rsplit(":", 1)[-1]
        for row in outbox(engine, "reminder", "overdue")
        if any(i["assignment_id"] == plan.market for i in row.payload["items"])
    )


def test_a_suspended_item_gets_no_reminder_or_escalation_and_resumes_eight_working_days_later(
    engine: Engine, settings: Settings, october: tuple[Scenario, int]
) -> None:
    plan, round_id = october
    with unit_of_work(engine) as session:
        suspend(
            session, assignment_id=plan.market, reason=REASON, actor=OFFICE, now=at("2024-09-27", 9)
        )
    # Every day at 10:00 the ladders run, as the schedule does, from the 27th to the 18th; the
    # office resumes the item on Monday 14 October at 09:00, before that day's run.
    for day in range(27, 31):
        _run_ladders(engine, settings, f"2024-09-{day:02d}")
    for day in range(1, 19):
        if day == 14:
            with unit_of_work(engine) as session:
                resumed = resume(
                    session,
                    assignment_id=plan.market,
                    actor=OFFICE,
                    now=at("2024-10-14", 9),
                    timezone=settings.timezone,
                    calendar=settings.working_calendar,
                )
            assert resumed.working_days == 8
        _run_ladders(engine, settings, f"2024-10-{day:02d}")
    # Had it run on, the ladder would have reminded it on 29 Sep (T-3: 30, 8, 9), 8 Oct (T-1),
    # 9 Oct (due) and 11 Oct (2 working days overdue), and raised it (idle since 23 Sep: 10 working
    # days on 11 Oct). Suspended, nothing until the resume; then the ladder of the new due date,
    # 18 Oct: T-3 on the 15th (16, 17, 18), T-1 on the 17th, due on the 18th.
    assert _market_days(engine, plan) == ["2024-10-15", "2024-10-17", "2024-10-18"]
    with reading(engine) as session:
        assert (
            session.exec(select(Escalation).where(Escalation.assignment_id == plan.market)).all()
            == []
        )
        checkin = session.exec(
            select(CheckIn).where(
                CheckIn.assignment_id == plan.market, CheckIn.round_id == round_id
            )
        ).one()
        assert checkin.due_on == date(2024, 10, 18)
        # Task 12 has no deadline of its own: only the check-in moved.
        assert session.get_one(Assignment, plan.market).due_on is None
        # The other units' clocks ran: 市教育局 (cooperating on 12, due 30 Sep) was reminded.
        assert outbox(engine, "reminder", "overdue") != []


def _run_ladders(engine: Engine, settings: Settings, day: str) -> None:
    with unit_of_work(engine) as session:
        send_reminders(session, now=at(day), settings=settings, actor=SYSTEM_ACTOR)
    with unit_of_work(engine) as session:
        escalate_stalled(session, now=at(day), settings=settings, actor=SYSTEM_ACTOR)


def test_a_suspended_item_is_grey_not_nudged_and_counted_in_the_report_not_as_missing(
    engine: Engine, settings: Settings, october: tuple[Scenario, int]
) -> None:
    plan, round_id = october
    with unit_of_work(engine) as session:
        suspend(
            session, assignment_id=plan.market, reason=REASON, actor=OFFICE, now=at("2024-09-27", 9)
        )
    with reading(engine) as session:
        found = lights(session, today=date(2024, 10, 10), rules=settings.cycle)
        assert found["assignments"][plan.market] == "grey"
        # Task 12's other item (市教育局, cooperating, due 30 Sep, nothing filed) is red: the task's
        # light is the worst of the running ones.
        assert found["tasks"][plan.task12_id] == "red"
    with unit_of_work(engine) as session, pytest.raises(NothingToNudge) as refused:
        nudge(
            session,
            settings=settings,
            now=at("2024-10-10"),
            actor=OFFICE,
            assignment_id=plan.market,
        )
    assert "没有未办结的任务，无需催办" in refused.value.message()

    # The 通报 of Thursday 10 October: the item was due on the 9th and is unfiled, but its clock
    # stands still: 暂停中 1, grey, neither missing nor overdue.
    report = _results(engine, settings, round_id, "2024-10-10")
    assert report.headline["suspended"] == 1
    line = _line(report, "市市场监管局")
    assert line.light == "grey"
    assert line.latest.status == "pending" and line.latest.overdue_days is None
    assert "市市场监管局" not in {i.unit for i in report.overdue}
    with unit_of_work(engine) as session:
        resume(
            session,
            assignment_id=plan.market,
            actor=OFFICE,
            now=at("2024-10-14", 9),
            timezone=settings.timezone,
            calendar=settings.working_calendar,
        )
    # The 通报 of the 15th: no longer paused; due in force the 18th, so still pending, not missing.
    later = _results(engine, settings, round_id, "2024-10-15")
    assert later.headline["suspended"] == 0
    assert _line(later, "市市场监管局").latest.due_in_force == date(2024, 10, 18)
    assert _line(later, "市市场监管局").latest.status == "pending"
    # Replayed as of the 10th again, the paused item is still counted: the history rows say so.
    assert _results(engine, settings, round_id, "2024-10-10").headline["suspended"] == 1


def _results(engine: Engine, settings: Settings, round_id: int, day: str):
    with reading(engine) as session:
        round_ = session.get_one(SupervisionRound, round_id)
        return compute(
            session,
            plan=session.get_one(Plan, round_.plan_id),
            round_=round_,
            as_of=end_of_day(date.fromisoformat(day), settings.timezone),
            timezone=settings.timezone,
            rules=settings.cycle,
            issuer=settings.office_name,
        )


def _line(report, unit: str):
    return next(line for t in report.tasks for line in t.lines if line.unit == unit)


def test_a_second_suspend_and_a_resume_of_a_running_item_are_refused_in_chinese_and_change_nothing(
    engine: Engine, settings: Settings, october: tuple[Scenario, int]
) -> None:
    plan, _ = october

    def resume_now(session: Session) -> None:
        resume(
            session,
            assignment_id=plan.market,
            actor=OFFICE,
            now=at("2024-09-26"),
            timezone=settings.timezone,
            calendar=settings.working_calendar,
        )

    with unit_of_work(engine) as session, pytest.raises(PauseRefused) as running:
        resume_now(session)
    subject = f"任务分工 #{plan.market}（任务12／市市场监管局）"
    assert running.value.message() == f"{subject}未暂停，不能恢复。"
    with unit_of_work(engine) as session, pytest.raises(ReasonRequired) as blank:
        suspend(session, assignment_id=plan.market, reason="  ", actor=OFFICE, now=at("2024-09-26"))
    assert blank.value.message() == "“暂停”必须填写理由。"
    unit = plan.unit_actor("市市场监管局")
    with unit_of_work(engine) as session, pytest.raises(NotPermitted):
        suspend(session, assignment_id=plan.market, reason=REASON, actor=unit, now=at("2024-09-26"))
    with unit_of_work(engine) as session:
        suspend(
            session, assignment_id=plan.market, reason=REASON, actor=OFFICE, now=at("2024-09-26")
        )
    with unit_of_work(engine) as session, pytest.raises(PauseRefused) as twice:
        suspend(
            session, assignment_id=plan.market, reason="再次", actor=OFFICE, now=at("2024-09-27")
        )
    assert twice.value.message() == f"{subject}已暂停，不能暂停。"
    with unit_of_work(engine) as session:
        resume_now(session)
    with reading(engine) as session:
        events = session.exec(
            select(AuditEvent.action, AuditEvent.reason)
            .where(col(AuditEvent.action).startswith("suspension."))
            .order_by(col(AuditEvent.seq))
        ).all()
    # One event each for the suspend and the resume; the refusals wrote nothing.
    assert events == [("suspension.suspend", REASON), ("suspension.resume", REASON)]
    assert (AUDIT_ACTIONS["suspension.suspend"], AUDIT_ACTIONS["suspension.resume"]) == (
        "暂停计时",
        "恢复计时",
    )

"""A whole supervision round over the seed notice, on a simulated clock.

Round "2022年第三季度督导" opens Monday 19 September 2022 and is due Friday
30 September; cooperating units are due two working days earlier
(Wednesday 28th). National Day: 1-7 October off, Saturday 8 and Sunday 9
October are make-up working days.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from config import Settings
from models.assignment import Assignment
from models.audit import verify_chain
from models.checkins import review_checkin, submit_checkin
from models.db import reading, unit_of_work
from models.errors import GuardFailed
from models.escalation import Escalation
from models.escalations import agenda
from models.extensions import decide_extension, request_extension
from models.lifecycle import SYSTEM_ACTOR, State
from models.notification import Notification
from models.reminders import send_reminders
from models.round import CheckIn
from models.rounds import open_round
from models.status import status
from models.workflow import close
from tests.support.scenario import OFFICE
from tests.support.seed_round import assignment_of, at, escalate, liaison, seed


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path)


@pytest.fixture
def seeded(engine: Engine) -> Engine:
    return seed(engine)


def digests(engine: Engine, day: str) -> dict[str, tuple[str, int]]:
    """unit -> (kind, items) of the reminder digests enqueued for that day."""
    with reading(engine) as session:
        rows = session.exec(
            select(Notification).where(
                col(Notification.dedup_key).startswith("digest:"),
                col(Notification.dedup_key).endswith(day),
            )
        ).all()
    return {n.payload["unit"]: (n.kind, len(n.payload["items"])) for n in rows}


def remind(engine: Engine, settings: Settings, moment: datetime):
    with unit_of_work(engine) as session:
        return send_reminders(session, now=moment, settings=settings, actor=SYSTEM_ACTOR)


def test_a_whole_round_on_a_simulated_clock(seeded: Engine, settings: Settings) -> None:
    engine = seeded
    with unit_of_work(engine) as session:
        opened = open_round(
            session,
            plan_key="2022",
            name="2022年第三季度督导",
            report_by=date(2022, 9, 30),
            actor=OFFICE,
            now=at("2022-09-19", 9),
            cooperating_lead_days=2,
        )
        round_id = opened.round.id
    assert (opened.created, opened.checkins, opened.notices) == (True, 98, 49)
    with unit_of_work(engine) as session:
        again = open_round(
            session,
            plan_key="2022",
            name="2022年第三季度督导",
            report_by=date(2022, 9, 30),
            actor=OFFICE,
            now=at("2022-09-19", 11),
            cooperating_lead_days=2,
        )
    assert not again.created
    with reading(engine) as session:
        dues = Counter(session.exec(select(CheckIn.due_on)).all())
    assert dues == {date(2022, 9, 30): 98 - 36, date(2022, 9, 28): 36}  # 36 cooperating assignments

    # Friday 23rd: T-3 for the 22 units that cooperate somewhere (due Wednesday 28th).
    run = remind(engine, settings, at("2022-09-23"))
    assert (run.units, run.enqueued) == (22, 22)
    sent = digests(engine, "2022-09-23")
    assert sent["市公安局"] == ("reminder", 8)  # the digest lists all 8 of its pending items
    assert "市烟草专卖局" not in sent  # leads task 13 only: nothing due in three working days
    assert remind(engine, settings, at("2022-09-23", 15)).enqueued == 0  # once a day
    assert remind(engine, settings, at("2022-09-24")).skipped  # Saturday

    # 市市场监管局 reports all three of its items; the office returns one, then accepts it.
    market = liaison(engine, "市市场监管局")
    with unit_of_work(engine) as session:
        for task in (12, 6, 13):
            submit_checkin(
                session,
                round_id=round_id,
                assignment_id=assignment_of(engine, task, "市市场监管局"),
                actor=market,
                now=at("2022-09-26"),
                text="已完成",
                percent=100,
                completed=True,
            )
    with unit_of_work(engine) as session:
        review_checkin(
            session,
            round_id=round_id,
            assignment_id=assignment_of(engine, 12, "市市场监管局"),
            accept=False,
            actor=OFFICE,
            now=at("2022-09-26", 15),
            revision=1,
            reason="缺少抽检报告",
        )
    with reading(engine) as session:
        returned = session.get(Assignment, assignment_of(engine, 12, "市市场监管局"))
        assert (returned.state, returned.rework_count) == (State.IN_PROGRESS, 1)
        assert (
            session.exec(select(Notification).where(Notification.kind == "report_returned"))
            .one()
            .payload["reason"]
            == "缺少抽检报告"
        )

    # Tuesday 27th: T-3 for leads, T-1 for cooperating units: all 49 units (市市场监管局 owes the
    # returned task).
    run = remind(engine, settings, at("2022-09-27"))
    assert run.enqueued == 49
    assert digests(engine, "2022-09-27")["市市场监管局"] == (
        "reminder",
        1,
    )  # only the returned task 12 is owed

    with unit_of_work(engine) as session:
        submit_checkin(
            session,
            round_id=round_id,
            assignment_id=assignment_of(engine, 12, "市市场监管局"),
            actor=market,
            now=at("2022-09-27", 14),
            text="补充抽检报告",
            percent=100,
            completed=True,
        )
    with unit_of_work(engine) as session:
        review_checkin(
            session,
            round_id=round_id,
            assignment_id=assignment_of(engine, 12, "市市场监管局"),
            accept=True,
            actor=OFFICE,
            now=at("2022-09-27", 16),
            revision=2,
        )
        close(
            session,
            assignment_id=assignment_of(engine, 12, "市市场监管局"),
            actor=OFFICE,
            now=at("2022-09-27", 16),
        )

    # The lead unit cannot report before its cooperating units; the message names them.
    with pytest.raises(GuardFailed) as refused, unit_of_work(engine) as session:
        submit_checkin(
            session,
            round_id=round_id,
            assignment_id=assignment_of(engine, 5, "市教育局"),
            actor=liaison(engine, "市教育局"),
            now=at("2022-09-28"),
            text="完成",
            completed=True,
        )
    assert "市公安局" in refused.value.message("zh") and "市委政法委" in refused.value.message("zh")

    # An extension for 市卫生健康委's lead task 11, approved: its check-in moves to 31 October.
    with unit_of_work(engine) as session:
        request = request_extension(
            session,
            assignment_id=assignment_of(engine, 11, "市卫生健康委"),
            until=date(2022, 10, 31),
            reason="疫情防控任务繁重",
            actor=liaison(engine, "市卫生健康委"),
            now=at("2022-09-28"),
            timezone="Asia/Shanghai",
            max_days=366,
        )
        request_id = request.id
    with unit_of_work(engine) as session:
        decide_extension(
            session, request_id=request_id, approve=True, actor=OFFICE, now=at("2022-09-28", 15)
        )
    with reading(engine) as session:
        health = session.get(Assignment, assignment_of(engine, 11, "市卫生健康委"))
        assert (health.due_on, health.original_due_on) == (
            date(2022, 10, 31),
            None,
        )  # the notice set no deadline
        assert session.exec(
            select(CheckIn.due_on).where(CheckIn.assignment_id == health.id)
        ).one() == date(2022, 10, 31)

    # Thursday 29th: T-1 for the 37 units leading or responsible that still owe (not 市市场监管局,
    # not 市卫健委's postponed lead task); cooperating items are one day overdue, not a reminder
    # day.
    assert remind(engine, settings, at("2022-09-29")).enqueued == 37
    # Friday 30th, the due day: overdue digests (2 working days) for cooperating units, due-day
    # reminders for the rest.
    remind(engine, settings, at("2022-09-30"))
    kinds = Counter(kind for kind, _ in digests(engine, "2022-09-30").values())
    assert kinds == {"overdue": 21, "reminder": 27}

    # National Day: nothing; Saturday 8 October is a make-up working day.
    assert remind(engine, settings, at("2022-10-03")).skipped
    assert (
        remind(engine, settings, at("2022-10-08")).enqueued == 0
    )  # leads 1, cooperating 3 working days overdue
    assert (
        remind(engine, settings, at("2022-10-09")).enqueued == 48
    )  # 2 and 4: every second working day

    # A silent unit climbs the ladder: 市烟草专卖局 leads task 13 and never answers.
    tobacco = assignment_of(engine, 13, "市烟草专卖局")
    levels = {}
    for day in ("2022-10-10", "2022-10-11", "2022-10-12", "2022-10-13", "2022-10-14", "2022-10-17"):
        escalate(engine, settings, at(day))
        with reading(engine) as session:
            levels[day] = max(
                session.exec(select(Escalation.level).where(Escalation.assignment_id == tobacco)),
                default=0,
            )
    assert levels == {
        "2022-10-10": 1,
        "2022-10-11": 1,
        "2022-10-12": 2,
        "2022-10-13": 2,
        "2022-10-14": 3,
        "2022-10-17": 3,
    }
    with reading(engine) as session:
        notices = session.exec(
            select(Notification.kind, Notification.recipient_email).where(
                col(Notification.dedup_key).startswith("escalation:"),
                Notification.unit_id == session.get(Assignment, tobacco).unit_id,
            )
        ).all()
    assert sorted(notices) == [
        ("escalation_blue", "ycj.head@rugao.example.org"),
        ("escalation_blue", "ycj.liaison@rugao.example.org"),
        ("escalation_yellow", "ycj.head@rugao.example.org"),
    ]
    items = [i for i in _agenda(engine) if i["unit"] == "市烟草专卖局"]
    assert len(items) == 1 and [h["what"][:4] for h in items[0]["history"]] == [
        "蓝色提醒",
        "黄色催办",
        "红色提请",
    ]
    with reading(engine) as session:
        assert not session.exec(
            select(Escalation).where(
                Escalation.assignment_id == assignment_of(engine, 12, "市市场监管局")
            )
        ).all()  # reported in time, closed
        # Postponed, so never overdue; but 市卫健委 never signed for it, and that stalls on its own.
        assert set(
            session.exec(select(Escalation.stall).where(Escalation.assignment_id == health.id))
        ) == {"unsigned"}

    # The report arrives: its escalations close with a record; a rerun raises nothing new.
    with unit_of_work(engine) as session:
        submit_checkin(
            session,
            round_id=round_id,
            assignment_id=tobacco,
            actor=liaison(engine, "市烟草专卖局"),
            now=at("2022-10-18"),
            text="专项行动已开展",
            percent=60,
            problems="需市公安局联合执法",
        )
    with reading(engine) as session:
        closed = session.exec(select(Escalation).where(Escalation.assignment_id == tobacco)).all()
        assert all(e.resolved_at is not None and "reported" in e.resolution for e in closed)
    escalate(engine, settings, at("2022-10-18", 11))
    assert escalate(engine, settings, at("2022-10-18", 12))["raised"] == 0

    with reading(engine) as session:
        figures = status(session, today=date(2022, 10, 18), rules=settings.cycle)
        assert figures["assignments"]["by_state"]["closed"] == 1
        assert (
            figures["checkins"]["submitted"] == 3
        )  # two cooperating reports of 市市场监管局, tobacco's progress
        assert figures["checkins"]["accepted"] == 1
        assert figures["lights"]["tasks"]["red"] >= 1 and figures["lights"]["tasks"]["green"] >= 1
        assert verify_chain(session).ok


def _agenda(engine: Engine) -> list[dict]:
    with reading(engine) as session:
        return agenda(session)


def test_a_round_due_soon_never_makes_cooperating_units_overdue_on_the_day_it_opens(
    seeded: Engine, settings: Settings
) -> None:
    """Due the next working day: two working days earlier would be before the opening, so the
    cooperating units' date is the opening day itself; nothing is overdue or stalled that day."""
    with unit_of_work(seeded) as session:
        open_round(
            session,
            plan_key="2022",
            name="专项",
            report_by=date(2022, 9, 20),
            actor=OFFICE,
            now=at("2022-09-19", 9),
            cooperating_lead_days=2,
        )
    with reading(seeded) as session:
        dues = Counter(session.exec(select(CheckIn.due_on)).all())
    assert dues == {date(2022, 9, 20): 98 - 36, date(2022, 9, 19): 36}
    assert escalate(seeded, settings, at("2022-09-19", 17))["stalled"] == 0


def test_a_round_whose_date_has_passed_is_refused_and_leaves_nothing(seeded: Engine) -> None:
    from models.errors import ReportDateTooEarly
    from models.round import SupervisionRound

    with pytest.raises(ReportDateTooEarly) as refused, unit_of_work(seeded) as session:
        open_round(
            session,
            plan_key="2022",
            name="补报",
            report_by=date(2022, 9, 16),
            actor=OFFICE,
            now=at("2022-09-19", 9),
            cooperating_lead_days=2,
        )
    assert refused.value.message("en") == (
        "the report-by date 2022-09-16 is before the opening day 2022-09-19: "
        "choose that day or later"
    )
    with reading(seeded) as session:
        assert (
            session.exec(select(SupervisionRound)).all() == []
            and session.exec(select(CheckIn)).all() == []
        )

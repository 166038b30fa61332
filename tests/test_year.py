"""A year of supervision on a simulated clock (issue 17's cycle, issue 19's budget), over the seed:
16 tasks, 98 assignments, 49 units with a liaison and a head each.

The plan reports monthly by the 25th (遇节假日顺延). Every day of 2024, on the office's clock, the
scheduled jobs run in their order: the cadence opens what is due (08:45), the dispatcher sends
(08:50, 11:00, 16:00), the reminder ladder runs (10:00), then escalation (10:30). Units file on the
20th of each month (or the next working day) except the laggards: 市市场监管局 never files and 市
司法局 files a week late. The office accepts what was filed two working days later, closes each
month's round five days after its due day, and presses 催办 on 市市场监管局 twice, the second time
within the cooldown (refused).

`make test` runs January and February (the Spring Festival moves February's days); the whole year
is `make slow`.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from config import Settings
from models.assignment import Assignment
from models.budget import attach
from models.cadence import open_due_rounds, set_cadence
from models.calendar import STATUTORY
from models.checkins import review_checkin, submit_checkin
from models.db import reading, unit_of_work
from models.escalations import escalate_stalled
from models.lifecycle import SYSTEM_ACTOR, Actor, Role
from models.notification import Notification, NotificationStatus
from models.nudges import NudgeTooSoon, nudge
from models.reminders import send_reminders
from models.round import CheckIn, CheckInState, RoundState, SupervisionRound
from models.rounds import close_round
from models.unit import Unit
from notifications.dispatch import dispatch
from tests.support.channel import ListChannel
from tests.support.scenario import OFFICE
from tests.support.seed_round import seed

CST = ZoneInfo("Asia/Shanghai")
NEVER, LATE = "市市场监管局", "市司法局"
BUDGET = 1  # the seed gives a person at most 2 messages a day: 1 makes those days merge


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), CST)


# 催办 pressed twice, 23 hours apart: within the 24-hour cooldown, so the second is refused.
NUDGES = {
    date(2024, 2, 27): datetime(2024, 2, 27, 10, 45, tzinfo=CST),
    date(2024, 2, 28): datetime(2024, 2, 28, 9, 45, tzinfo=CST),
}


def _filing_day(day: date) -> bool:
    """The 20th, or the first working day after it when it is a rest day."""
    first = date(day.year, day.month, 20)
    while not STATUTORY.is_working_day(first):
        first += timedelta(days=1)
    return day == first


def _units(session: Session) -> dict[int, str]:
    return {u.id: u.name for u in session.exec(select(Unit))}


def _file(engine: Engine, day: date, *, late: bool) -> None:
    """Each unit files progress on what it owes in open rounds (the laggard a week later)."""
    with unit_of_work(engine) as session:
        names = _units(session)
        owed = session.exec(
            select(CheckIn, Assignment)
            .join(Assignment, col(Assignment.id) == col(CheckIn.assignment_id))
            .join(SupervisionRound, col(SupervisionRound.id) == col(CheckIn.round_id))
            .where(
                SupervisionRound.state == RoundState.OPEN,
                col(CheckIn.state).in_([CheckInState.PENDING, CheckInState.RETURNED]),
            )
        ).all()
        for checkin, assignment in owed:
            name = names[assignment.unit_id]
            if name == NEVER or (name == LATE) != late:
                continue
            submit_checkin(
                session,
                round_id=checkin.round_id,
                assignment_id=checkin.assignment_id,
                actor=Actor(name=f"liaison:{name}", role=Role.UNIT, unit_id=assignment.unit_id),
                now=at(day, 14),
                text=f"{day.month}月工作推进中",
                percent=min(100, 8 * day.month),
            )


def _review(engine: Engine, day: date) -> None:
    """The office accepts every filing submitted two working days ago or earlier."""
    cutoff = at(STATUTORY.add_working_days(day, -2), 23, 59)
    with unit_of_work(engine) as session:
        waiting = session.exec(
            select(CheckIn).where(
                CheckIn.state == CheckInState.SUBMITTED, col(CheckIn.submitted_at) <= cutoff
            )
        ).all()
        for checkin in waiting:
            review_checkin(
                session,
                round_id=checkin.round_id,
                assignment_id=checkin.assignment_id,
                accept=True,
                actor=OFFICE,
                now=at(day, 9),
                revision=checkin.revision,
            )


def _close_rounds(engine: Engine, day: date) -> None:
    with unit_of_work(engine) as session:
        for round_ in session.exec(
            select(SupervisionRound).where(SupervisionRound.state == RoundState.OPEN)
        ).all():
            if day >= round_.report_by + timedelta(days=5):
                close_round(
                    session,
                    plan_key="2022",
                    name=round_.name,
                    actor=OFFICE,
                    now=at(day, 17),
                    confirmed=True,
                )


def run_year(engine: Engine, settings: Settings, last: date) -> dict[str, object]:
    seed(engine)
    with unit_of_work(engine) as session:
        set_cadence(
            session,
            plan_key="2022",
            cadence="monthly",
            day=25,
            adjust="later",
            start=date(2024, 1, 1),
            until=None,
            task_numbers=None,
            actor=OFFICE,
            now=at(date(2023, 12, 28), 10),
        )
    channel = ListChannel(settings)
    opened: dict[str, date] = {}
    nudges: list[str] = []

    def send(moment: datetime) -> None:
        dispatch(engine, channel, settings, now=lambda: moment)

    day = date(2024, 1, 1)
    while day <= last:
        with unit_of_work(engine) as session:
            for period in open_due_rounds(
                session, now=at(day, 8, 45), settings=settings, actor=SYSTEM_ACTOR
            ):
                if period.created:
                    opened[period.name] = day
        send(at(day, 8, 50))
        _review(engine, day)
        with unit_of_work(engine) as session:
            send_reminders(session, now=at(day, 10), settings=settings, actor=SYSTEM_ACTOR)
        with unit_of_work(engine) as session:
            escalate_stalled(session, now=at(day, 10, 30), settings=settings, actor=SYSTEM_ACTOR)
        if _filing_day(day):
            _file(engine, day, late=False)
        if _filing_day(day - timedelta(days=7)):
            _file(engine, day, late=True)
        if day in NUDGES:
            nudges.append(_nudge(engine, settings, NUDGES[day]))
        send(at(day, 11))
        send(at(day, 16))
        _close_rounds(engine, day)
        day += timedelta(days=1)
    send(at(STATUTORY.add_working_days(last, 1), 9))  # what was carried to the next working day
    return {"opened": opened, "nudges": nudges}


def _nudge(engine: Engine, settings: Settings, moment: datetime) -> str:
    with unit_of_work(engine) as session:
        unit_id = session.exec(select(Unit.id).where(Unit.name == NEVER)).one()
        try:
            nudge(session, settings=settings, now=moment, actor=OFFICE, unit_id=unit_id)
        except NudgeTooSoon as refused:
            return refused.message("zh")
    return "sent"


@pytest.mark.parametrize(
    ("backend", "last"),
    [
        pytest.param("sqlite", date(2024, 2, 29), id="january-february"),
        pytest.param("sqlite", date(2024, 12, 31), id="whole-year", marks=pytest.mark.slow),
    ],
    indirect=["backend"],
)
def test_a_year_of_monthly_rounds_keeps_everyone_within_the_budget_and_loses_nothing(
    engine: Engine, tmp_path: Path, last: date
) -> None:
    settings = Settings(
        home=tmp_path, portal_url="http://127.0.0.1:8000", notify={"max_per_person_per_day": BUDGET}
    )
    budgeted = attach(engine, settings)
    ran = run_year(budgeted, settings, last)

    # The cadence opened each month's round once, 10 working days before its due day (the
    # dates worked out by hand in tests/test_cadence.py).
    months = last.month
    assert list(ran["opened"]) == [f"2024年{m}月进展" for m in range(1, months + 1)]
    assert ran["opened"]["2024年1月进展"] == date(2024, 1, 11)
    assert ran["opened"]["2024年2月进展"] == date(2024, 2, 6)
    if months == 12:
        assert ran["opened"]["2024年10月进展"] == date(2024, 10, 12)
    assert ran["nudges"][0] == "sent" and "小时内不再催办" in ran["nudges"][1]

    with reading(engine) as session:
        sent = session.exec(select(Notification).order_by(col(Notification.id))).all()
        names = _units(session)
        never_id = next(i for i, n in names.items() if n == NEVER)
    by_id = {r.id: r for r in sent}
    # No person received more than the budget on any office day.
    per_day = Counter(
        (r.recipient_email, r.sent_at.astimezone(CST).date())
        for r in sent
        if r.status == NotificationStatus.SENT and r.sent_at
    )
    assert per_day and max(per_day.values()) <= BUDGET, per_day.most_common(3)
    # Nothing due was dropped: every row was sent, or merged into one that was.
    for row in sent:
        if row.status == NotificationStatus.MERGED:
            assert by_id[row.merged_into].status == NotificationStatus.SENT, row.dedup_key
        else:
            assert row.status == NotificationStatus.SENT, (row.dedup_key, row.status)
    # The budget did bite: the laggard's liaison had more than it could be sent one by one.
    assert any(r.status == NotificationStatus.MERGED for r in sent)
    # 市市场监管局 never filed: in every month its liaison heard of what it owed (the round notice
    # and the overdue reminders, sent or carried in a digest).
    liaison = next(
        r.recipient_email
        for r in sent
        if r.unit_id == never_id and r.recipient_email and "liaison" in r.recipient_email
    )
    kinds_by_month: dict[int, set[str]] = {}
    for row in sent:
        if row.recipient_email != liaison or row.status != NotificationStatus.SENT:
            continue
        for part in row.payload["parts"] if row.kind == "combined" else [row.__dict__]:
            kinds_by_month.setdefault(row.sent_at.astimezone(CST).month, set()).add(part["kind"])
    for month in range(1, months + 1):
        assert {"round_opened", "overdue"} <= kinds_by_month.get(month, set()) | (
            kinds_by_month.get(month + 1, set()) if month < months else set()
        ), (month, kinds_by_month.get(month))

"""A year of supervision on a simulated clock (issue 17's cycle, issue 19's budget), over the seed:
16 tasks, 98 assignments, 49 units with a liaison and a head each.

The plan reports monthly by the 25th (遇节假日顺延). Every day of 2024, on the office's clock, the
scheduled jobs run in their order: the cadence opens what is due (08:45), the dispatcher sends
(08:50, 11:00, 16:00), the reminder ladder runs (10:00), then escalation (10:30). Units sign
(签收) the day a round tells them of an item (13:30) and file on the 20th of each month (or the
next working day, 14:00), except:

- 市市场监管局 never signs and never files;
- 市司法局 files each item three working days after its due date (after that morning's ladder);
- 市体育局 declines (退办) task 6 on 12 January; the office reassigns it to 市关工委 on the 15th;
- 市烟草专卖局's February filing is returned once (22 February) and filed again the next day;
- 市慈善总会's task 3 is suspended (暂停) on 7 February and resumed on the 27th; it files on
  1 March;
- the office presses 催办 on 市市场监管局 twice, the second time within the cooldown (refused).

The office accepts what was filed two working days later and closes each month's round five days
after its due day. At the end of each quarter the test takes the 考核 scores and the 红黑榜, and
they must equal the figures worked out by hand below (`QUARTERS`).

`make test` runs January to March (the Spring Festival moves February's days; Q1's scores); the
whole year, with every quarter's scores, is `make slow`.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from config import Settings
from models.assignment import Assignment
from models.audit import AuditEvent
from models.budget import attach
from models.cadence import open_due_rounds, set_cadence
from models.calendar import STATUTORY
from models.checkins import review_checkin, submit_checkin
from models.db import reading, unit_of_work
from models.declines import decide, decline
from models.escalation import Escalation
from models.escalations import escalate_stalled
from models.lifecycle import SYSTEM_ACTOR, Actor, Role, State
from models.notification import Notification, NotificationStatus
from models.nudges import Nudge, NudgeTooSoon, nudge
from models.plan import Plan, Task
from models.reminders import send_reminders
from models.round import OWED, CheckIn, CheckInState, RoundState, SupervisionRound
from models.rounds import close_round
from models.scoring import Scoreboard
from models.suspensions import not_suspended, resume, suspend
from models.unit import Unit
from models.workflow import sign
from notifications.dispatch import dispatch
from reports.compile import scores_as_of
from reports.results import end_of_day
from tests.support.channel import ListChannel
from tests.support.cli import duban
from tests.support.scenario import OFFICE
from tests.support.seed_round import seed

CST = ZoneInfo("Asia/Shanghai")
NEVER, LATE = "市市场监管局", "市司法局"
DECLINER, TAKER = "市体育局", "市关工委"  # task 6, cooperating
RETURNED = "市烟草专卖局"  # task 13, lead
PAUSED = "市慈善总会"  # task 3, responsible
BUDGET = 1  # the seed gives a person at most 2 messages a day: 1 makes those days merge


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), CST)


# 催办 pressed twice, 23 hours apart: within the 24-hour cooldown, so the second is refused. The
# first goes out on a day the liaison's overdue reminder went out that morning (10:00): with the
# budget of one message a day, the two are sent as one digest.
NUDGES = {
    date(2024, 2, 28): datetime(2024, 2, 28, 10, 45, tzinfo=CST),
    date(2024, 2, 29): datetime(2024, 2, 29, 9, 45, tzinfo=CST),
}
# 退办 on Friday 12 January, the day after January's round opened (within the three working days'
# window); the office reassigns it on Monday 15th, keeping the role.
DECLINED_ON, REASSIGNED_ON = date(2024, 1, 12), date(2024, 1, 15)
DECLINE_REASON = "不属于本单位职责，建议由市关工委配合"
# 暂停 from Wednesday 7 February, the day after February's round opened, to Tuesday 27 February.
# The working days paused, counting the day it stopped and not the day it restarted (2024's
# Spring Festival: 10–17 February off; Sunday 18 February a make-up working day):
#   7, 8, 9 | (10–17 off) | 18, 19, 20, 21, 22, 23 | 26                      = 10 working days
# Its February check-in was due Monday 26 February (the 25th is a Sunday: 顺延); ten working days
# later:
#   27, 28, 29 February, 1, 4, 5, 6, 7, 8, 11 March                         -> Monday 11 March
SUSPENDED_ON, RESUMED_ON, PAUSED_FILES_ON = date(2024, 2, 7), date(2024, 2, 27), date(2024, 3, 1)
PAUSED_DUE_BEFORE, PAUSED_DUE_AFTER = date(2024, 2, 26), date(2024, 3, 11)
# 市烟草专卖局 filed on 20 February; the office returns it on the 22nd (its review day) and it files
# again on Friday the 23rd.
RETURNED_ON, REFILED_ON = date(2024, 2, 22), date(2024, 2, 23)


def _filing_day(day: date) -> bool:
    """The 20th, or the first working day after it when it is a rest day."""
    first = date(day.year, day.month, 20)
    while not STATUTORY.is_working_day(first):
        first += timedelta(days=1)
    return day == first


def _units(session: Session) -> dict[int, str]:
    return {u.id: u.name for u in session.exec(select(Unit))}


def _liaison(unit_id: int, name: str) -> Actor:
    return Actor(name=f"liaison:{name}", role=Role.UNIT, unit_id=unit_id)


def _owed(session: Session) -> list[tuple[CheckIn, Assignment]]:
    """What the units owe in open rounds, on assignments that are theirs and running."""
    return list(
        session.exec(
            select(CheckIn, Assignment)
            .join(Assignment, col(Assignment.id) == col(CheckIn.assignment_id))
            .join(SupervisionRound, col(SupervisionRound.id) == col(CheckIn.round_id))
            .where(
                SupervisionRound.state == RoundState.OPEN,
                col(CheckIn.state).in_(list(OWED)),
                col(Assignment.withdrawn_at).is_(None),
                not_suspended(),  # a unit whose item is paused waits for the policy
            )
        ).all()
    )


def _file_one(session: Session, checkin: CheckIn, assignment: Assignment, name: str, day: date):
    submit_checkin(
        session,
        round_id=checkin.round_id,
        assignment_id=checkin.assignment_id,
        actor=_liaison(assignment.unit_id, name),
        now=at(day, 14),
        text=f"{day.month}月工作推进中",
        percent=min(100, 8 * day.month),
    )


def _file(engine: Engine, day: date) -> None:
    """On the filing day every unit files what it owes; 市司法局 each item three working days after
    its due date; 市市场监管局 never."""
    with unit_of_work(engine) as session:
        names = _units(session)
        for checkin, assignment in _owed(session):
            name = names[assignment.unit_id]
            if name == NEVER:
                continue
            late = STATUTORY.add_working_days(checkin.due_on, 3) == day
            if (name == LATE and late) or (name != LATE and _filing_day(day)):
                _file_one(session, checkin, assignment, name, day)


def _file_unit(engine: Engine, day: date, unit: str) -> None:
    """One unit files what it owes (the paused unit after its resume, a returned filing again)."""
    with unit_of_work(engine) as session:
        names = _units(session)
        for checkin, assignment in _owed(session):
            if names[assignment.unit_id] == unit:
                _file_one(session, checkin, assignment, unit, day)


def _sign(engine: Engine, day: date) -> None:
    """Units sign what a round has told them of, the same day; 市市场监管局 never signs, and
    市体育局 declines instead."""
    with unit_of_work(engine) as session:
        names = _units(session)
        told = select(CheckIn.assignment_id).join(
            SupervisionRound, col(SupervisionRound.id) == col(CheckIn.round_id)
        )
        for assignment in session.exec(
            select(Assignment).where(
                Assignment.state == State.ASSIGNED,
                col(Assignment.withdrawn_at).is_(None),
                col(Assignment.id).in_(told.where(SupervisionRound.state == RoundState.OPEN)),
            )
        ).all():
            name = names[assignment.unit_id]
            if name not in (NEVER, DECLINER):
                sign(
                    session,
                    assignment_id=assignment.id or 0,
                    actor=_liaison(assignment.unit_id, name),
                    now=at(day, 13, 30),
                )


def _review(engine: Engine, day: date) -> None:
    """The office accepts every filing submitted two working days ago or earlier; 市烟草专卖局's
    first February filing it returns."""
    cutoff = at(STATUTORY.add_working_days(day, -2), 23, 59)
    with unit_of_work(engine) as session:
        names = _units(session)
        waiting = session.exec(
            select(CheckIn, Assignment)
            .join(Assignment, col(Assignment.id) == col(CheckIn.assignment_id))
            .where(CheckIn.state == CheckInState.SUBMITTED, col(CheckIn.submitted_at) <= cutoff)
        ).all()
        for checkin, assignment in waiting:
            accept = not (day == RETURNED_ON and names[assignment.unit_id] == RETURNED)
            review_checkin(
                session,
                round_id=checkin.round_id,
                assignment_id=checkin.assignment_id,
                accept=accept,
                actor=OFFICE,
                now=at(day, 9),
                revision=checkin.revision,
                reason=None if accept else "缺少佐证材料，请补充后重新报送",
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


def _assignment_of(session: Session, task: int, unit: str) -> Assignment:
    return session.exec(
        select(Assignment)
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .where(Task.number == task, Unit.name == unit, col(Assignment.withdrawn_at).is_(None))
    ).one()


def _decline_and_reassign(engine: Engine, settings: Settings, day: date) -> None:
    """退办 by 市体育局 (task 6), then the office's 改派 to 市关工委, each by the domain's moves."""
    with unit_of_work(engine) as session:
        declined = _assignment_of(session, 6, DECLINER)
        if day == DECLINED_ON:
            decline(
                session,
                assignment_id=declined.id or 0,
                reason=DECLINE_REASON,
                actor=_liaison(declined.unit_id, DECLINER),
                now=at(day, 9, 15),
                rules=settings.cycle,
                timezone=settings.timezone,
            )
        else:
            decide(
                session,
                assignment_id=declined.id or 0,
                actor=OFFICE,
                now=at(day, 9, 15),
                rules=settings.cycle,
                timezone=settings.timezone,
                reassign_to=TAKER,
            )


def _pause(engine: Engine, settings: Settings, day: date) -> None:
    with unit_of_work(engine) as session:
        paused = _assignment_of(session, 3, PAUSED).id or 0
        if day == SUSPENDED_ON:
            suspend(
                session,
                assignment_id=paused,
                reason="待省级配套政策出台",
                actor=OFFICE,
                now=at(day, 9, 30),
            )
        else:
            resume(
                session,
                assignment_id=paused,
                actor=OFFICE,
                now=at(day, 9, 30),
                timezone=settings.timezone,
                calendar=settings.working_calendar,
            )


# 领导批示: on Monday 4 March (09:40, before the ladder) a leader writes one on 市总工会's task 3
# (负责, weight 1), to be answered by Friday 8 March. The unit answers on Thursday 14 March (14:30),
# late. Past the deadline from Saturday 9; the ladder runs on working days, one level per run and
# `escalation_step_days` (2 working days) at each level before the next:
#   Monday 11 March     level 1 (蓝色提醒)
#   Wednesday 13 March  level 2 (黄色催办)
#   Thursday 14 March   the reply (after that morning's ladder), before level 3 (due Friday)
DIRECTED = "市总工会"  # task 3, responsible
DIRECTIVE_ON, DIRECTIVE_DUE, DIRECTIVE_REPLIED = (
    date(2024, 3, 4),
    date(2024, 3, 8),
    date(2024, 3, 14),
)
DIRECTIVE_LEVELS = {date(2024, 3, 11): 1, date(2024, 3, 13): 2}
LEADER = Actor(name="leader", role=Role.LEADER)


def _directives(engine: Engine, settings: Settings, day: date) -> None:
    """The leader's 批示 on 市总工会's task 3, and the unit's late reply, by the domain's moves."""
    from models.directives import Directive, add, reply

    with unit_of_work(engine) as session:
        target = _assignment_of(session, 3, DIRECTED)
        if day == DIRECTIVE_ON:
            add(
                session,
                settings=settings,
                actor=LEADER,
                now=at(day, 9, 40),
                text="请市总工会抓紧落实职工子女关爱服务，按期报告进展",
                assignment_id=target.id,
                deadline=DIRECTIVE_DUE,
            )
        elif day == DIRECTIVE_REPLIED:
            directive = session.exec(select(Directive)).one()
            reply(
                session,
                directive_id=directive.id or 0,
                text="已部署落实，详见本月报送",
                actor=_liaison(target.unit_id, DIRECTED),
                now=at(day, 14, 30),
            )


QUARTER_ENDS = (date(2024, 3, 31), date(2024, 6, 30), date(2024, 9, 30), date(2024, 12, 31))


def _score(engine: Engine, settings: Settings, day: date) -> Scoreboard:
    """The plan's 考核 as it stood at the end of `day` (what `duban score --plan` gives)."""
    moment = end_of_day(day, settings.timezone)
    with reading(engine) as session:
        plan = session.exec(select(Plan).where(Plan.key == "2022")).one()
        return scores_as_of(
            session, plan=plan, round_=None, as_of=moment, settings=settings, now=moment
        ).scores


def _ladders(engine: Engine, settings: Settings, day: date) -> None:
    with unit_of_work(engine) as session:
        send_reminders(session, now=at(day, 10), settings=settings, actor=SYSTEM_ACTOR)
    with unit_of_work(engine) as session:
        escalate_stalled(session, now=at(day, 10, 30), settings=settings, actor=SYSTEM_ACTOR)


def run_year(engine: Engine, settings: Settings, last: date) -> dict[str, Any]:
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
    boards: dict[date, Scoreboard] = {}

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
        if day in (DECLINED_ON, REASSIGNED_ON):
            _decline_and_reassign(engine, settings, day)
        if day in (SUSPENDED_ON, RESUMED_ON):
            _pause(engine, settings, day)
        if day == DIRECTIVE_ON:  # 09:40, before the ladder
            _directives(engine, settings, day)
        _ladders(engine, settings, day)
        if day in NUDGES:
            nudges.append(_nudge(engine, settings, NUDGES[day]))
        _sign(engine, day)
        _file(engine, day)
        if day in (PAUSED_FILES_ON, REFILED_ON):
            _file_unit(engine, day, PAUSED if day == PAUSED_FILES_ON else RETURNED)
        if day == DIRECTIVE_REPLIED:  # 14:30, after the day's filings
            _directives(engine, settings, day)
        send(at(day, 11))
        send(at(day, 16))
        _close_rounds(engine, day)
        if day in QUARTER_ENDS:
            boards[day] = _score(engine, settings, day)
        day += timedelta(days=1)
    send(at(STATUTORY.add_working_days(last, 1), 9))  # what was carried to the next working day
    return {"opened": opened, "nudges": nudges, "boards": boards}


def _nudge(engine: Engine, settings: Settings, moment: datetime) -> str:
    with unit_of_work(engine) as session:
        unit_id = session.exec(select(Unit.id).where(Unit.name == NEVER)).one()
        try:
            nudge(session, settings=settings, now=moment, actor=OFFICE, unit_id=unit_id)
        except NudgeTooSoon as refused:
            return refused.message("zh")
    return "sent"


# 考核 at the end of each quarter, by hand, from the shipped rules (config/defaults.toml [scoring]):
# base 100; on time 0, late -2, missing -5, returned -1, blue -1, yellow -3, red -5, each times
# the role's weight (牵头 1.5, 负责 1, 配合 0.5); the total held within [0, 100]; an escalated item
# counted once, at its highest level. The scope is the plan as of the quarter's last day: every
# round opened by then (3, 6, 9, 12). The roles come from the seed notice:
#
#   市市场监管局  task 6 配合 0.5, task 12 负责 1, task 13 配合 0.5          weights sum 2
#                never signs, never files. Each round: 未报送 on each item, and each climbs the
#                unsigned ladder (blue 3 working days after the round opens, yellow 2 later, red
#                2 later: 7 working days, before even the cooperating date, 8 days after opening)
#                per round  -5 x 2 (missing) - 5 x 2 (red)                 = -20
#   市司法局      task 7 配合 0.5, task 15 牵头 1.5, task 16 牵头 1.5        weights sum 3.5
#                files each item 3 working days after its date: late, and overdue past the 2 days'
#                grace that morning (blue), closed by the filing that afternoon before any yellow
#                per round  -2 x 3.5 (late) - 1 x 3.5 (blue)               = -10.5
#   市烟草专卖局  task 13 牵头 1.5: one return in February (its first filing, 20 Feb, was on time)
#                once       -1 x 1.5                                        = -1.5
#   市慈善总会    task 3 负责 1: February's filing on 1 March is after its original date (26 Feb)
#                but before the date the resume moved it to (11 March): on time, 0 (it would be
#                -2 against the original date)
#   市关工委      task 3 负责, and task 6 配合 from 15 January (the 改派): on time, 0
#   市总工会      task 3 负责 1: every filing on time; the 批示 of 4 March answered late, after it
#                reached level 2 (yellow) on 13 March: counted once, at its highest level
#                once       -3 x 1                                          = -3
#                (answered by 31 March, so no `directive_unresolved` at any quarter's end)
#   市体育局      its only assignment (task 6) was withdrawn by the 改派: not scored at all
#   the other 43 units: every item on time, 0
#
#   quarter      rounds   市市场监管局            市司法局                  市烟草专卖局  市总工会
#   Q1 (31 Mar)  3        100 - 3 x 20 = 40       100 - 3 x 10.5 = 68.5     98.5          97
#   Q2 (30 Jun)  6        100 - 120 = -20 -> 0    100 - 63 = 37             98.5          97
#   Q3 (30 Sep)  9        100 - 180 = -80 -> 0    100 - 94.5 = 5.5          98.5          97
#   Q4 (31 Dec)  12       100 - 240 = -140 -> 0   100 - 126 = -26 -> 0      98.5          97
#
# 48 units are scored (49 less 市体育局); the 44 that lost nothing share rank 1 at 100 and are the
# whole 红榜 (a tie at the last place is listed whole); 市烟草专卖局 is 45th, 市总工会 46th, then
# 市司法局 and 市市场监管局 (47th and 48th; in Q4 both at the floor, tied 47th, 市司法局 first by
# name). The 黑榜 (worst first, three places) is the three that lost most: 市烟草专卖局 is 4th.
SCORES: dict[date, dict[str, tuple[float, int]]] = {
    date(2024, 3, 31): {
        RETURNED: (98.5, 45),
        DIRECTED: (97, 46),
        LATE: (68.5, 47),
        NEVER: (40, 48),
    },
    date(2024, 6, 30): {RETURNED: (98.5, 45), DIRECTED: (97, 46), LATE: (37, 47), NEVER: (0, 48)},
    date(2024, 9, 30): {RETURNED: (98.5, 45), DIRECTED: (97, 46), LATE: (5.5, 47), NEVER: (0, 48)},
    date(2024, 12, 31): {RETURNED: (98.5, 45), DIRECTED: (97, 46), LATE: (0, 47), NEVER: (0, 47)},
}
BLACK: dict[date, list[str]] = {
    date(2024, 3, 31): [NEVER, LATE, DIRECTED],
    date(2024, 6, 30): [NEVER, LATE, DIRECTED],
    date(2024, 9, 30): [NEVER, LATE, DIRECTED],
    date(2024, 12, 31): [LATE, NEVER, DIRECTED],
}


def _counts(rounds: int) -> dict[str, dict[str, int]]:
    """What each named unit's score counts after `rounds` monthly rounds (the table above)."""
    return {
        NEVER: {"missing": 3 * rounds, "escalated_3": 3 * rounds},
        LATE: {"late": 3 * rounds, "escalated_1": 3 * rounds},
        RETURNED: {"on_time": rounds, "returned": 1},
        PAUSED: {"on_time": rounds},
        TAKER: {"on_time": 2 * rounds},
        DIRECTED: {"on_time": rounds, "escalated_2": 1},
    }


def _assert_quarter(board: Scoreboard, quarter_end: date, scored: set[str]) -> None:
    rounds = 3 * ((quarter_end.month - 1) // 3 + 1)
    expected = SCORES[quarter_end]
    assert {u.unit for u in board.units} == scored
    figures = {u.unit: (u.score, u.rank) for u in board.units}
    assert {n: f for n, f in figures.items() if n in expected} == expected, quarter_end
    assert {n: f for n, f in figures.items() if n not in expected} == {
        n: (100, 1) for n in scored - set(expected)
    }, quarter_end
    for unit, counts in _counts(rounds).items():
        assert board.of(unit).counts == counts, (quarter_end, unit)
    assert [u.unit for u in board.black] == BLACK[quarter_end]
    assert sorted(u.unit for u in board.red) == sorted(scored - set(expected))
    # The reasons the 黑榜 prints, in the office's words.
    assert board.of(NEVER).deductions == f"未报送 {3 * rounds} 次，红色督办 {3 * rounds} 项"
    assert board.of(LATE).deductions == f"逾期报送 {3 * rounds} 次，蓝色督办 {3 * rounds} 项"
    assert board.of(RETURNED).deductions == "退回 1 次"
    assert board.of(DIRECTED).deductions == "黄色督办 1 项"


@pytest.mark.parametrize(
    ("backend", "last"),
    [
        pytest.param("sqlite", date(2024, 3, 31), id="first-quarter"),
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

    _assert_nudges(engine, ran["nudges"])
    _assert_decline(engine, sent)
    _assert_pause(engine, sent)
    _assert_directive(engine, sent)

    # 考核 and the 红黑榜 at the end of each quarter run, as worked out by hand above.
    with reading(engine) as session:
        scored = {names[a.unit_id] for a in session.exec(select(Assignment))} - {DECLINER}
    assert len(scored) == 48
    quarters = [q for q in QUARTER_ENDS if q <= last]
    assert list(ran["boards"]) == quarters
    for quarter_end in quarters:
        _assert_quarter(ran["boards"][quarter_end], quarter_end, scored)
        # Reproducible from the trail: the same figures as of that day, taken at the end.
        assert _score(engine, settings, quarter_end) == ran["boards"][quarter_end]
    _assert_score_command(engine, tmp_path)


def _assert_nudges(engine: Engine, nudges: list[str]) -> None:
    """The first 催办 went out; the second, 23 hours later, was refused and wrote nothing."""
    assert nudges[0] == "sent"
    assert "24 小时内不再催办" in nudges[1] and "2024-02-29 10:45" in nudges[1], nudges[1]
    with reading(engine) as session:
        rows = session.exec(select(Nudge)).all()
        events = session.exec(select(AuditEvent).where(AuditEvent.action == "nudge.send")).all()
    assert len(rows) == len(events) == 1
    assert rows[0].at.replace(tzinfo=None) == datetime(2024, 2, 28, 2, 45)  # 10:45 Beijing, in UTC


def _assert_directive(engine: Engine, sent: list[Notification]) -> None:
    """The 批示: 市总工会 was told at once; its part climbed to blue on 11 March and yellow on the
    13th (never red), and the late reply of the 14th resolved both."""
    from models.directives import DirectiveUnit

    with reading(engine) as session:
        target = _assignment_of(session, 3, DIRECTED)
        ladder = session.exec(
            select(Escalation)
            .where(Escalation.assignment_id == target.id, Escalation.stall == "directive")
            .order_by(col(Escalation.level))
        ).all()
        part = session.exec(select(DirectiveUnit)).one()
    assert {e.opened_at.astimezone(CST).date(): e.level for e in ladder} == DIRECTIVE_LEVELS
    assert {e.resolved_at.astimezone(CST).date() for e in ladder if e.resolved_at} == {
        DIRECTIVE_REPLIED
    }
    assert part.replied_at is not None
    assert part.replied_at.astimezone(CST).date() == DIRECTIVE_REPLIED
    told = [r for r in sent if r.kind == "directive" and r.unit_id == target.unit_id]
    assert len(told) == 1 and told[0].created_at.astimezone(CST).date() == DIRECTIVE_ON


def _assert_decline(engine: Engine, sent: list[Notification]) -> None:
    """退办 and 改派: the declining unit's row stays, withdrawn, with its history; 市关工委 holds
    task 6 as a cooperating unit, was told of it, signed it and filed on time."""
    with reading(engine) as session:
        rows = session.exec(
            select(Assignment, Unit)
            .join(Unit, col(Unit.id) == col(Assignment.unit_id))
            .join(Task, col(Task.id) == col(Assignment.task_id))
            .where(Task.number == 6, col(Unit.name).in_([DECLINER, TAKER]))
        ).all()
        by_unit = {u.name: a for a, u in rows}
        actions = [
            e.action
            for e in session.exec(
                select(AuditEvent)
                .where(col(AuditEvent.action).like("decline.%"))
                .order_by(col(AuditEvent.seq))
            )
        ]
        taker_checkin = session.exec(
            select(CheckIn)
            .join(SupervisionRound, col(SupervisionRound.id) == col(CheckIn.round_id))
            .where(
                CheckIn.assignment_id == by_unit[TAKER].id,
                SupervisionRound.name == "2024年1月进展",
            )
        ).one()
    assert actions == ["decline.request", "decline.reassign"]
    assert by_unit[DECLINER].withdrawn_at is not None
    assert by_unit[DECLINER].state == State.ASSIGNED  # it never signed
    assert (by_unit[TAKER].role, by_unit[TAKER].withdrawn_at) == ("cooperating", None)
    # January's round was due Thursday 25 January; a cooperating unit two working days earlier,
    # Tuesday 23rd (the reassignment on the 15th is before that). It filed on Monday 22nd.
    assert taker_checkin.due_on == date(2024, 1, 23)
    assert taker_checkin.submitted_at is not None
    assert taker_checkin.submitted_at.replace(tzinfo=None).date() == date(2024, 1, 22)
    told = [
        r
        for r in sent
        if r.kind == "round_opened" and r.dedup_key.endswith(":liaison") and ":d" in r.dedup_key
    ]
    assert len(told) == 1 and told[0].payload["unit"] == TAKER


def _assert_pause(engine: Engine, sent: list[Notification]) -> None:
    """暂停 for 10 working days: no reminder and no escalation while the clock stopped; on resume
    its owed check-in moved from 26 February to 11 March (worked out at SUSPENDED_ON above)."""
    with reading(engine) as session:
        paused = _assignment_of(session, 3, PAUSED)
        resumed = session.exec(
            select(AuditEvent).where(AuditEvent.action == "suspension.resume")
        ).one()
        february = session.exec(
            select(CheckIn)
            .join(SupervisionRound, col(SupervisionRound.id) == col(CheckIn.round_id))
            .where(CheckIn.assignment_id == paused.id, SupervisionRound.name == "2024年2月进展")
        ).one()
        escalated = session.exec(
            select(Escalation).where(Escalation.assignment_id == paused.id)
        ).all()
        never_12 = _assignment_of(session, 12, NEVER).id
    after = orjson.loads(resumed.after) if isinstance(resumed.after, str | bytes) else resumed.after
    assert after["working_days"] == 10
    assert after["checkin_due_on"] == PAUSED_DUE_AFTER.isoformat()
    assert (february.original_due_on, february.due_on) == (PAUSED_DUE_BEFORE, PAUSED_DUE_AFTER)
    assert february.submitted_at is not None
    assert february.submitted_at.replace(tzinfo=None).date() == PAUSED_FILES_ON
    assert escalated == []

    def reminded(assignment_id: int | None) -> list[date]:
        """The office days a reminder named this assignment (queued, whether sent or merged)."""
        return sorted(
            {
                r.created_at.astimezone(CST).date()
                if r.created_at.tzinfo
                else r.created_at.replace(tzinfo=ZoneInfo("UTC")).astimezone(CST).date()
                for r in sent
                if r.kind in ("reminder", "overdue")  # a merged row keeps its own payload
                and any(i.get("assignment_id") == assignment_id for i in r.payload.get("items", []))
            }
        )

    stopped, restarted = SUSPENDED_ON, RESUMED_ON
    assert not [d for d in reminded(paused.id) if stopped <= d < restarted]
    # The others' clocks ran: 市市场监管局's task 12, due the same Monday 26 February, was reminded
    # at T-3 (Wednesday 21st: 22, 23, 26), T-1 (Friday 23rd) and on the day (in the digest of its
    # overdue cooperating items).
    assert {date(2024, 2, 21), date(2024, 2, 23), date(2024, 2, 26)} <= set(reminded(never_12))


def _assert_score_command(engine: Engine, home: Path) -> None:
    """`duban score --plan --as-of` (the office's command) gives Q1's hand-worked figures too."""
    result = duban(
        "score",
        "--plan",
        "2022",
        "--as-of",
        "2024-03-31",
        "--now",
        "2024-04-01T09:00",
        "--json",
        home=home,
        url=engine.url.render_as_string(hide_password=False),
    )
    assert result.returncode == 0, result.stderr
    payload = orjson.loads(result.stdout)
    figures = {u["unit"]: (u["score"], u["rank"]) for u in payload["units"]}
    assert {n: figures[n] for n in SCORES[date(2024, 3, 31)]} == SCORES[date(2024, 3, 31)]
    assert [u["unit"] for u in payload["black"]] == BLACK[date(2024, 3, 31)]
    assert len(payload["red"]) == 44

"""Reporting cadence (报送周期): the check-ins schedule themselves.

A plan carries a cadence (每月N日前 / each quarter / each half-year / once) and a
task may carry a sparser one. Each period falls due on day N of its month
(quarters report in their last month, half-years in June and December),
moved off a rest day when the office says so (遇节假日顺延 or 提前). The
scheduled `open_round` flow calls `open_due_rounds` every day: a period's
round opens `cycle.cadence_open_days` working days before it falls due, or
on the first run after that if the scheduler was down, and never after its
due day. Opening is idempotent by the round's name (2024年3月进展), so a
rerun or a restart never opens a period twice, and a period the office
closed early stays closed. Tasks whose assignments are all reported,
verified or closed have nothing open, so they drop out of later periods by
themselves (`models.rounds.open_round` takes open assignments only).
"""

from __future__ import annotations

import calendar as months
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from models import audit
from models.archive import refuse_if_archived
from models.calendar import WorkingCalendar
from models.clock import local_day
from models.db import id_of, take_turn
from models.errors import DubanError
from models.lifecycle import Actor
from models.plan import Plan, Task, live_plan


class Cadence(StrEnum):
    ONCE = "once"  # no period of its own: the office opens its rounds by hand
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"


class Adjust(StrEnum):
    NONE = "none"
    LATER = "later"  # 遇节假日顺延
    EARLIER = "earlier"  # 遇节假日提前


# The months in which a period falls due: a task's cadence is sparser than its plan's when its
# months are a subset (a quarterly task in a monthly plan reports in March, June, …).
MONTHS: dict[Cadence, frozenset[int]] = {
    Cadence.ONCE: frozenset(),
    Cadence.MONTHLY: frozenset(range(1, 13)),
    Cadence.QUARTERLY: frozenset({3, 6, 9, 12}),
    Cadence.HALF_YEARLY: frozenset({6, 12}),
}
QUARTERS = "一二三四"


class BadCadence(DubanError):
    zh = "报送周期设置有误：{problem}"
    en = "bad reporting cadence: {problem_en}"
    exit_code = 2


@dataclass(frozen=True)
class Period:
    """One reporting period of a cadence: the year and the month it falls due in."""

    cadence: Cadence
    year: int
    month: int

    @property
    def name(self) -> str:
        """The round's name, as an office writes it: 2024年3月进展, 2024年第一季度进展,
        2024年上半年进展."""
        if self.cadence == Cadence.QUARTERLY:
            return f"{self.year}年第{QUARTERS[(self.month - 1) // 3]}季度进展"
        if self.cadence == Cadence.HALF_YEARLY:
            return f"{self.year}年{'上' if self.month <= 6 else '下'}半年进展"
        return f"{self.year}年{self.month}月进展"


@dataclass(frozen=True)
class Schedule:
    """A plan's cadence as stored (`Plan.cadence*`), checked."""

    cadence: Cadence
    day: int
    adjust: Adjust = Adjust.LATER
    start: date | None = None
    until: date | None = None

    @classmethod
    def of(cls, plan: Plan) -> Schedule | None:
        if not plan.cadence or plan.cadence == Cadence.ONCE:
            return None
        return cls(
            cadence=Cadence(plan.cadence),
            day=plan.cadence_day or 31,  # set_cadence always stores one; 31 is the month's last
            adjust=Adjust(plan.cadence_adjust or Adjust.LATER),
            start=plan.cadence_from,
            until=plan.cadence_until,
        )

    def due_on(self, period: Period, calendar: WorkingCalendar) -> date:
        """Day N of the period's month (the month's last day when it is shorter: 31 → 30 April),
        moved to a working day when `adjust` says so."""
        last = months.monthrange(period.year, period.month)[1]
        day = date(period.year, period.month, min(self.day, last))
        if self.adjust == Adjust.NONE or calendar.is_working_day(day):
            return day
        return calendar.add_working_days(day, 1 if self.adjust == Adjust.LATER else -1)

    def opens_on(self, period: Period, calendar: WorkingCalendar, open_days: int) -> date:
        """The day a period's round opens: `open_days` working days before it falls due."""
        return calendar.add_working_days(self.due_on(period, calendar), -open_days)

    def periods_around(self, today: date) -> Iterator[Period]:
        """The periods falling due this month and the next two (a round opens up to
        `open_days` working days early, which can reach back into the month before)."""
        year, month = today.year, today.month
        for _ in range(3):
            if month in MONTHS[self.cadence]:
                yield Period(self.cadence, year, month)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def due_now(self, today: date, calendar: WorkingCalendar, open_days: int) -> list[Period]:
        """The periods whose round should be open today: opened on or before today, not yet due
        past today, and within the plan's from/until."""
        found = []
        for period in self.periods_around(today):
            due = self.due_on(period, calendar)
            if (self.start and due < self.start) or (self.until and due > self.until):
                continue
            if self.opens_on(period, calendar, open_days) <= today <= due:
                found.append(period)
        return found


def in_period(task_cadence: str | None, plan_cadence: Cadence, period: Period) -> bool:
    """Whether a task reports in this period: on its plan's cadence, or on its own sparser one."""
    own = Cadence(task_cadence) if task_cadence else plan_cadence
    return period.month in MONTHS[own] and period.month in MONTHS[plan_cadence]


def set_cadence(
    session: Session,
    *,
    plan_key: str,
    cadence: str,
    day: int | None,
    adjust: str,
    start: date | None,
    until: date | None,
    task_numbers: list[int] | None,
    actor: Actor,
    now: datetime,
) -> dict[str, Any]:
    """Set a plan's cadence, or (with `task_numbers`) those tasks' own. One audit event."""
    from models.rounds import find_plan

    checked = _checked(cadence, day, adjust, start, until, for_tasks=bool(task_numbers))
    plan = find_plan(session, plan_key)
    refuse_if_archived(session, plan_id=plan.id or 0)
    before: dict[str, Any]
    if task_numbers:
        tasks = _tasks(session, plan, task_numbers)
        before = {"tasks": {str(t.number): t.cadence for t in tasks}}
        for task in tasks:
            task.cadence = None if checked["cadence"] == plan.cadence else checked["cadence"]
            session.add(task)
        after: dict[str, Any] = {"tasks": {str(t.number): t.cadence for t in tasks}}
    else:
        before = describe(plan)
        plan.cadence = checked["cadence"]
        plan.cadence_day = checked["day"]
        plan.cadence_adjust = checked["adjust"]
        plan.cadence_from, plan.cadence_until = start, until
        session.add(plan)
        after = describe(plan)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="plan.cadence",
        object_type="plan",
        object_id=plan.key,
        before=before,
        after=after,
    )
    return after


def describe(plan: Plan) -> dict[str, Any]:
    return {
        "cadence": plan.cadence,
        "day": plan.cadence_day,
        "adjust": plan.cadence_adjust,
        "from": plan.cadence_from,
        "until": plan.cadence_until,
    }


def cadence_words(plan: Plan) -> str:
    """The cadence as the office says it: 每月25日前报送（遇节假日顺延至下一个工作日）."""
    from models.labels import CADENCE_ADJUSTS, label

    schedule = Schedule.of(plan)
    if schedule is None:
        return "未设定（由办公室开启轮次）"
    month = {
        Cadence.MONTHLY: "每月",
        Cadence.QUARTERLY: "每季度末月",
        Cadence.HALF_YEARLY: "每年6月、12月",
    }
    words = f"{month[schedule.cadence]}{schedule.day}日前报送"
    if schedule.adjust != Adjust.NONE:
        words += f"（{label(CADENCE_ADJUSTS, schedule.adjust)}）"
    return words


def _checked(
    cadence: str,
    day: int | None,
    adjust: str,
    start: date | None,
    until: date | None,
    *,
    for_tasks: bool,
) -> dict[str, Any]:
    names = "、".join(c.value for c in Cadence)
    if cadence not in {c.value for c in Cadence}:
        raise BadCadence(
            problem=f"周期“{cadence}”不是 {names} 之一",
            problem_en=f"'{cadence}' is not one of {names}",
        )
    if adjust not in {a.value for a in Adjust}:
        raise BadCadence(
            problem=f"节假日调整“{adjust}”不是 none、later、earlier 之一",
            problem_en=f"adjust '{adjust}' is not none, later or earlier",
        )
    if for_tasks:
        return {"cadence": cadence, "day": None, "adjust": None}
    if cadence == Cadence.ONCE:
        return {"cadence": cadence, "day": None, "adjust": None}
    if day is None or not 1 <= day <= 31:
        raise BadCadence(
            problem=f"报送日应为 1 至 31 日（收到 {day}）",
            problem_en=f"the day must be 1 to 31 (got {day})",
        )
    if start and until and until < start:
        raise BadCadence(
            problem=f"结束日期 {until} 早于开始日期 {start}",
            problem_en=f"until {until} is before from {start}",
        )
    return {"cadence": cadence, "day": day, "adjust": adjust}


def _tasks(session: Session, plan: Plan, numbers: list[int]) -> list[Task]:
    tasks = list(
        session.exec(select(Task).where(Task.plan_id == plan.id, col(Task.number).in_(numbers)))
    )
    missing = sorted(set(numbers) - {t.number for t in tasks})
    if missing:
        raise BadCadence(
            problem=f"计划“{plan.key}”中没有任务 {'、'.join(map(str, missing))}",
            problem_en=f"the plan '{plan.key}' has no task {', '.join(map(str, missing))}",
        )
    return tasks


@dataclass
class PeriodOpened:
    plan: str
    name: str
    report_by: date
    created: bool
    checkins: int = 0
    notices: int = 0
    skipped: str | None = None  # why nothing opened (nothing left open in the period)


def open_due_rounds(
    session: Session, *, now: datetime, settings: Any, actor: Actor
) -> list[PeriodOpened]:
    """Open every plan's rounds that its cadence says are due today (idempotent by round name)."""
    from models.rounds import EmptyScope, open_round

    today = local_day(now, settings.timezone)
    calendar = settings.working_calendar
    take_turn(session, "round.open")
    done = []
    plans = session.exec(
        select(Plan).where(col(Plan.cadence).is_not(None), live_plan()).order_by(col(Plan.id))
    )
    for plan in list(plans):
        schedule = Schedule.of(plan)
        if schedule is None:
            continue
        for period in schedule.due_now(today, calendar, settings.cycle.cadence_open_days):
            report_by = schedule.due_on(period, calendar)
            numbers = _period_tasks(session, plan, schedule.cadence, period)
            if numbers == []:
                done.append(
                    PeriodOpened(plan.key, period.name, report_by, False, skipped="本期无任务")
                )
                continue
            try:
                opened = open_round(
                    session,
                    plan_key=plan.key,
                    name=period.name,
                    report_by=report_by,
                    actor=actor,
                    now=now,
                    cooperating_lead_days=settings.cycle.cooperating_lead_days,
                    task_numbers=numbers,
                    timezone=settings.timezone,
                    calendar=calendar,
                    allow_holiday=True,
                )
            except EmptyScope:  # everything is reported or verified: the period has no round
                done.append(
                    PeriodOpened(plan.key, period.name, report_by, False, skipped="无待报送事项")
                )
                continue
            done.append(
                PeriodOpened(
                    plan.key,
                    period.name,
                    report_by,
                    opened.created,
                    opened.checkins,
                    opened.notices,
                )
            )
    return done


def _period_tasks(
    session: Session, plan: Plan, cadence: Cadence, period: Period
) -> list[int] | None:
    """The task numbers reporting in this period; None when every task does (the whole plan)."""
    rows = session.exec(
        select(Task.number, Task.cadence).where(
            Task.plan_id == id_of(plan), col(Task.withdrawn_at).is_(None)
        )
    ).all()
    if all(own is None for _, own in rows):
        return None
    return sorted(number for number, own in rows if in_period(own, cadence, period))


def upcoming(plan: Plan, now: datetime, settings: Any, count: int = 3) -> list[dict[str, Any]]:
    """The next periods of a plan's cadence from today: name, opening day, due day."""
    schedule = Schedule.of(plan)
    if schedule is None:
        return []
    today = local_day(now, settings.timezone)
    calendar, found = settings.working_calendar, []
    year, month = today.year, today.month
    for _ in range(24):  # two years ahead is more than any half-yearly cadence needs for `count`
        if month in MONTHS[schedule.cadence]:
            period = Period(schedule.cadence, year, month)
            due = schedule.due_on(period, calendar)
            if due >= today and not (schedule.until and due > schedule.until):
                if not (schedule.start and due < schedule.start):
                    opens = schedule.opens_on(period, calendar, settings.cycle.cadence_open_days)
                    found.append(
                        {
                            "name": period.name,
                            "opens_on": opens.isoformat(),
                            "report_by": due.isoformat(),
                        }
                    )
        if len(found) == count:
            break
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found

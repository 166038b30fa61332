"""Working days on the Chinese statutory calendar, make-up working days (调休) included.

Deadlines and both ladders (reminders, escalations) count working days. The
`chinese_calendar` package knows each year's official arrangement once the
State Council publishes it and a release carries it. Until then the office
can enter the arrangement itself (`[calendar.2027]` in duban.toml; see
config/defaults.toml): for a year it lists, its holidays and make-up days
are the whole truth. For a year neither knows, Monday to Friday stand in
and `beyond_table` says so, so the caller can warn.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import chinese_calendar

from models.clock import local_time

if TYPE_CHECKING:  # the domain reads settings, never loads them
    pass


class WorkingCalendar:
    """Which days are working days: the office's entered years (`[calendar.YYYY]`), else the
    package's table, else Monday to Friday. Immutable once made; the settings own one
    (`Settings.working_calendar`), so what counts as a working day never depends on who configured
    the process last."""

    def __init__(self, entered: dict[int, dict[date, bool]] | None = None) -> None:
        self._entered = {year: dict(days) for year, days in (entered or {}).items()}
        # Per calendar, not per process: reports and lights ask about the same few due dates for
        # 100,000 items.
        self._known = lru_cache(maxsize=4096)(self._look_up)
        self.working_days_between = lru_cache(maxsize=65536)(self._between)

    def __reduce__(self) -> tuple[type[WorkingCalendar], tuple[dict[int, dict[date, bool]]]]:
        # Settings travel to child processes (bench, flows): a calendar is its entries, and its
        # caches are made again on arrival.
        return WorkingCalendar, (self._entered,)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WorkingCalendar) and other._entered == self._entered

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._entered)))

    def __repr__(self) -> str:
        return f"WorkingCalendar(entered years {sorted(self._entered)})"

    def _look_up(self, day: date) -> bool | None:
        if day.year in self._entered:
            return self._entered[day.year].get(day, day.weekday() < 5)
        try:
            workday: bool = chinese_calendar.is_workday(day)  # the library is untyped
        except NotImplementedError:
            return None
        return workday

    def beyond_table(self, day: date) -> bool:
        """True when the official calendar for this day's year is not known (weekdays assumed)."""
        return self._known(day) is None

    def is_working_day(self, day: date) -> bool:
        known = self._known(day)
        return day.weekday() < 5 if known is None else known

    def add_working_days(self, day: date, count: int) -> date:
        """The working day `count` working days after (or, negative, before) `day`."""
        step = 1 if count >= 0 else -1
        remaining = abs(count)
        while remaining:
            day += timedelta(days=step)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def _between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`; negative when `end` is earlier."""
        if end == start:
            return 0
        sign = 1 if end > start else -1
        low, high = (start, end) if sign > 0 else (end, start)
        count = sum(
            1
            for n in range(1, (high - low).days + 1)
            if self.is_working_day(low + timedelta(days=n))
        )
        return sign * count

    def in_working_hours(
        self, now: datetime, *, timezone: str, working_hours: tuple[str, str]
    ) -> str | None:
        """None when messages may go out now; else the reason they may not."""
        local = local_time(now, timezone)
        if not self.is_working_day(local.date()):
            return f"{local.date()} 不是工作日 / not a working day"
        start, end = (time.fromisoformat(t) for t in working_hours)
        if not start <= local.time() <= end:
            return f"{local:%H:%M} 不在工作时间 {start:%H:%M}–{end:%H:%M} / outside working hours"
        return None


STATUTORY = (
    WorkingCalendar()
)  # the package's table alone: what an office that entered nothing counts

# The statutory calendar's arithmetic, for code and tests that have no office settings at hand.
beyond_table = STATUTORY.beyond_table
is_working_day = STATUTORY.is_working_day
add_working_days = STATUTORY.add_working_days
working_days_between = STATUTORY.working_days_between


def in_working_hours(now: datetime, settings: Any) -> str | None:
    """None when messages may go out now (the settings' own calendar and hours); else the reason
    they may not."""
    reason: str | None = settings.working_calendar.in_working_hours(
        now, timezone=settings.timezone, working_hours=settings.cycle.working_hours
    )
    return reason

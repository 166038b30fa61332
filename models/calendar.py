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
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo
from functools import lru_cache

import chinese_calendar

from models.clock import utc

if TYPE_CHECKING:  # the domain reads settings, never loads them
    from config.settings import Settings


# The office's own entries: year -> {day: is a working day}. Set once per process from the settings.
_entered: dict[int, dict[date, bool]] = {}


def enter_arrangements(years: dict[int, dict[date, bool]]) -> None:
    """Use the office's arrangements for these years instead of the package's (and instead of
    nothing)."""
    if years == _entered:
        return
    _entered.clear()
    _entered.update(years)
    _known.cache_clear()
    working_days_between.cache_clear()


@lru_cache(maxsize=4096)
def _known(day: date) -> bool | None:
    if day.year in _entered:
        return _entered[day.year].get(day, day.weekday() < 5)
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


def beyond_table(day: date) -> bool:
    """True when the official calendar for this day's year is not known (weekdays assumed)."""
    return _known(day) is None


def is_working_day(day: date) -> bool:
    known = _known(day)
    return day.weekday() < 5 if known is None else known


def add_working_days(day: date, count: int) -> date:
    """The working day `count` working days after (or, negative, before) `day`."""
    step = 1 if count >= 0 else -1
    remaining = abs(count)
    while remaining:
        day += timedelta(days=step)
        if is_working_day(day):
            remaining -= 1
    return day


@lru_cache(maxsize=65536)  # reports and lights ask about the same few due dates for 100,000 items
def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end`; negative when `end` is earlier."""
    if end == start:
        return 0
    sign = 1 if end > start else -1
    low, high = (start, end) if sign > 0 else (end, start)
    count = sum(1 for n in range(1, (high - low).days + 1) if is_working_day(low + timedelta(days=n)))
    return sign * count


def in_working_hours(now: datetime, settings: Settings) -> str | None:
    """None when messages may go out now; else the reason they may not."""
    local = utc(now).astimezone(ZoneInfo(settings.timezone))
    if not is_working_day(local.date()):
        return f"{local.date()} 不是工作日 / not a working day"
    start, end = (time.fromisoformat(t) for t in settings.cycle.working_hours)
    if not start <= local.time() <= end:
        return f"{local:%H:%M} 不在工作时间 {start:%H:%M}–{end:%H:%M} / outside working hours"
    return None

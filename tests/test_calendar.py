"""Working-day arithmetic on the statutory calendar, make-up working days included."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from config import Settings
from models.calendar import (
    STATUTORY,
    add_working_days,
    beyond_table,
    is_working_day,
    working_days_between,
)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2024, 2, 4), True),  # Sunday, make-up working day before the Spring Festival
        (date(2024, 2, 9), True),  # Friday before it
        (date(2024, 2, 12), False),  # Monday inside the holiday
        (date(2024, 2, 18), True),  # Sunday, make-up working day after it
        (date(2024, 9, 29), True),  # Sunday, make-up working day before National Day
        (date(2024, 10, 4), False),  # Friday inside National Day
        (date(2024, 10, 12), True),  # Saturday, make-up working day after it
        (date(2024, 10, 13), False),  # an ordinary Sunday
    ],
)
def test_make_up_days_work_and_holidays_do_not(day: date, working: bool) -> None:
    assert is_working_day(day) is working


def test_counting_across_the_2024_spring_festival() -> None:
    assert add_working_days(date(2024, 2, 8), 1) == date(2024, 2, 9)
    assert add_working_days(date(2024, 2, 9), 1) == date(
        2024, 2, 18
    )  # the whole holiday is skipped
    assert add_working_days(date(2024, 2, 19), -2) == date(2024, 2, 9)
    assert working_days_between(date(2024, 2, 8), date(2024, 2, 19)) == 3  # 9th, 18th, 19th
    assert working_days_between(date(2024, 2, 19), date(2024, 2, 8)) == -3


def test_counting_across_the_2024_national_day() -> None:
    assert add_working_days(date(2024, 9, 27), 1) == date(2024, 9, 29)
    assert add_working_days(date(2024, 9, 30), 1) == date(2024, 10, 8)
    assert (
        working_days_between(date(2024, 9, 30), date(2024, 10, 12)) == 5
    )  # 8th to 11th, and Saturday 12th


def test_beyond_the_official_table_weekdays_stand_in() -> None:
    far = date(2031, 1, 6)  # a Monday in a year no calendar has yet
    assert beyond_table(far) and not beyond_table(date(2024, 1, 2))
    assert is_working_day(far) and not is_working_day(date(2031, 1, 4))
    assert add_working_days(date(2031, 1, 3), 1) == far


def test_a_year_the_office_enters_is_counted_from_its_entries() -> None:
    """A fictional arrangement for 2031, a year no release knows: a Monday-to-Wednesday holiday, and
    the Saturday before it worked."""
    settings = Settings(
        calendar={2031: {"holidays": ["2031-01-06/2031-01-08"], "workdays": ["2031-01-04"]}}
    )
    calendar = settings.working_calendar
    assert not calendar.beyond_table(date(2031, 1, 6)) and calendar.beyond_table(date(2032, 1, 5))
    assert [calendar.is_working_day(date(2031, 1, d)) for d in range(3, 11)] == [
        True,
        True,
        False,
        False,
        False,
        False,
        True,
        True,
    ]  # Fri, Sat (make-up), Sun, Mon-Wed off, Thu, Fri
    assert calendar.add_working_days(date(2031, 1, 3), 2) == date(2031, 1, 9)
    assert (
        calendar.working_days_between(date(2031, 1, 2), date(2031, 1, 10)) == 4
    )  # 3rd, 4th, 9th, 10th
    assert settings.cycle.calendar is calendar  # what the rules (lights, ladders) count in


def test_two_settings_in_one_process_each_count_with_their_own_entries() -> None:
    """No process-wide calendar: making a second settings object (a test, another app) changes
    nothing for the first, in either order, and the statutory calendar stays the package's."""
    entered = Settings(
        calendar={2031: {"holidays": ["2031-01-06/2031-01-08"], "workdays": ["2031-01-04"]}}
    )
    plain = Settings()
    monday = date(2031, 1, 6)
    assert not entered.working_calendar.is_working_day(monday)
    assert plain.working_calendar.is_working_day(monday) and plain.working_calendar.beyond_table(
        monday
    )
    Settings(calendar={2031: {"workdays": ["2031-01-05"]}})  # made last: neither of the two notices
    assert not entered.working_calendar.is_working_day(monday)
    assert not entered.working_calendar.is_working_day(
        date(2031, 1, 5)
    )  # a Sunday, not listed there
    assert is_working_day(monday) and beyond_table(monday) and STATUTORY.is_working_day(monday)
    assert (
        working_days_between(date(2031, 1, 2), date(2031, 1, 10)) == 6
    )  # Mon-Fri alone: 3rd, 6th-10th


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"holidays": ["2031-02-30"]}, "[calendar.2031] holidays: '2031-02-30' is not a date"),
        (
            {"workdays": ["2030-12-28"]},
            "[calendar.2031] workdays: '2030-12-28' must lie within 2031",
        ),
        ({"holidays": ["2031-01-08/2031-01-06"]}, "must lie within 2031, first day first"),
        (
            {"holidays": ["2031-01-06/2031-01-08"], "workdays": ["2031-01-07"]},
            "[calendar.2031]: 2031-01-07 is listed both as a holiday and as a working day",
        ),
    ],
)
def test_a_wrong_entry_is_refused_with_where_it_is(
    entry: dict[str, list[str]], problem: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(calendar={2031: entry})
    assert problem in str(refused.value)


def test_the_cli_reads_the_entries_from_duban_toml(tmp_path: Path) -> None:
    from tests.support.cli import duban

    (tmp_path / "duban.toml").write_text(
        '[calendar.2031]\nholidays = ["2031-01-06/2031-01-08"]\n', encoding="utf-8"
    )
    assert duban("init", home=tmp_path).returncode == 0
    resting = duban("remind", "--now", "2031-01-06T10:00:00+08:00", home=tmp_path)
    assert resting.returncode == 0 and "2031-01-06 不是工作日" in resting.stdout + resting.stderr
    (tmp_path / "duban.toml").write_text(
        '[calendar.2031]\nholidays = ["2031-1-6"]\n', encoding="utf-8"
    )
    refused = duban("status", home=tmp_path)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "[calendar.2031] holidays: '2031-1-6' is not a date" in refused.stderr

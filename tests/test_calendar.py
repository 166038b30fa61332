"""Working-day arithmetic on the statutory calendar, make-up working days included."""

from __future__ import annotations

from datetime import date

import pytest

from models.calendar import add_working_days, beyond_table, is_working_day, working_days_between


@pytest.mark.parametrize(("day", "working"), [
    (date(2024, 2, 4), True),     # Sunday, make-up working day before the Spring Festival
    (date(2024, 2, 9), True),     # Friday before it
    (date(2024, 2, 12), False),   # Monday inside the holiday
    (date(2024, 2, 18), True),    # Sunday, make-up working day after it
    (date(2024, 9, 29), True),    # Sunday, make-up working day before National Day
    (date(2024, 10, 4), False),   # Friday inside National Day
    (date(2024, 10, 12), True),   # Saturday, make-up working day after it
    (date(2024, 10, 13), False),  # an ordinary Sunday
])
def test_make_up_days_work_and_holidays_do_not(day: date, working: bool) -> None:
    assert is_working_day(day) is working


def test_counting_across_the_2024_spring_festival() -> None:
    assert add_working_days(date(2024, 2, 8), 1) == date(2024, 2, 9)
    assert add_working_days(date(2024, 2, 9), 1) == date(2024, 2, 18)  # the whole holiday is skipped
    assert add_working_days(date(2024, 2, 19), -2) == date(2024, 2, 9)
    assert working_days_between(date(2024, 2, 8), date(2024, 2, 19)) == 3  # 9th, 18th, 19th
    assert working_days_between(date(2024, 2, 19), date(2024, 2, 8)) == -3


def test_counting_across_the_2024_national_day() -> None:
    assert add_working_days(date(2024, 9, 27), 1) == date(2024, 9, 29)
    assert add_working_days(date(2024, 9, 30), 1) == date(2024, 10, 8)
    assert working_days_between(date(2024, 9, 30), date(2024, 10, 12)) == 5  # 8th to 11th, and Saturday 12th


def test_beyond_the_official_table_weekdays_stand_in() -> None:
    far = date(2031, 1, 6)  # a Monday in a year no calendar has yet
    assert beyond_table(far) and not beyond_table(date(2024, 1, 2))
    assert is_working_day(far) and not is_working_day(date(2031, 1, 4))
    assert add_working_days(date(2031, 1, 3), 1) == far

"""The working-day rules at their edges, each date worked out by hand from a wall calendar.

2031 is a year no release of `chinese_calendar` knows: 1 January 2031 is a Wednesday, so Friday 3,
Saturday 4, Sunday 5, Monday 6 ... Friday 10, Saturday 11, Sunday 12, Monday 13 January. 2022:
Monday 5 September, the Mid-Autumn holiday on Monday 12 September, Saturday 3 September an ordinary
day off.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from config import Settings
from models.calendar import add_working_days, in_working_hours, is_working_day, working_days_between


def office_2031():
    """The office's own 2031: Monday 6 to Wednesday 8 January off, Saturday 4 January worked."""
    settings = Settings(
        calendar={2031: {"holidays": ["2031-01-06/2031-01-08"], "workdays": ["2031-01-04"]}}
    )
    return settings.working_calendar


def test_in_a_year_the_office_enters_saturdays_and_sundays_it_does_not_list_stay_days_off() -> None:
    office = office_2031()
    assert office.is_working_day(date(2031, 1, 10))  # an unlisted Friday works
    assert not office.is_working_day(date(2031, 1, 11))  # an unlisted Saturday rests
    assert not office.is_working_day(date(2031, 1, 12))  # an unlisted Sunday rests
    assert (
        office.working_days_between(date(2031, 1, 9), date(2031, 1, 13)) == 2
    )  # Friday 10th and Monday 13th
    assert office.is_working_day(date(2031, 1, 4))  # the Saturday it listed as worked


def test_in_a_year_nobody_knows_monday_to_friday_work_and_the_weekend_rests() -> None:
    assert [is_working_day(date(2031, 1, d)) for d in (10, 11, 12, 13)] == [
        True,
        False,
        False,
        True,
    ]
    assert (
        working_days_between(date(2031, 1, 6), date(2031, 1, 13)) == 5
    )  # Tuesday to Friday, and Monday 13th


def test_the_office_calendar_counts_its_own_year_while_the_statutory_one_keeps_weekdays() -> None:
    assert (
        working_days_between(date(2031, 1, 5), date(2031, 1, 8)) == 3
    )  # weekdays stand in: Monday to Wednesday
    office = office_2031()
    assert (
        office.working_days_between(date(2031, 1, 5), date(2031, 1, 8)) == 0
    )  # all three are its holiday
    assert not office.is_working_day(date(2031, 1, 6))
    assert (
        working_days_between(date(2031, 1, 5), date(2031, 1, 8)) == 3
    )  # the statutory calendar is untouched


def test_a_day_is_no_working_days_from_itself() -> None:
    assert working_days_between(date(2022, 9, 5), date(2022, 9, 5)) == 0  # a working Monday
    assert working_days_between(date(2022, 9, 12), date(2022, 9, 12)) == 0  # the Mid-Autumn holiday


def test_one_working_day_back_from_a_monday_is_the_friday_before() -> None:
    assert add_working_days(date(2031, 1, 13), -1) == date(2031, 1, 10)
    assert add_working_days(date(2022, 9, 13), -1) == date(
        2022, 9, 9
    )  # over the Mid-Autumn weekend and holiday
    assert add_working_days(date(2022, 9, 13), 0) == date(2022, 9, 13)


@pytest.mark.parametrize(
    ("moment", "reason"),
    [
        (
            datetime(2022, 9, 5, 0, 30, tzinfo=UTC),
            None,
        ),  # 08:30 in Beijing, the first minute allowed
        (
            datetime(2022, 9, 5, 9, 30, tzinfo=UTC),
            None,
        ),  # 17:30 in Beijing, the last minute allowed
        (
            datetime(2022, 9, 5, 0, 29, tzinfo=UTC),
            "08:29 不在工作时间 08:30–17:30 / outside working hours",
        ),
        (
            datetime(2022, 9, 5, 9, 31, tzinfo=UTC),
            "17:31 不在工作时间 08:30–17:30 / outside working hours",
        ),
        (
            datetime(2022, 9, 3, 2, 0, tzinfo=UTC),
            "2022-09-03 不是工作日 / not a working day",
        ),  # Saturday
        (
            datetime(2022, 9, 12, 2, 0, tzinfo=UTC),
            "2022-09-12 不是工作日 / not a working day",
        ),  # Mid-Autumn
        # Sunday in UTC is Monday 01:00 in Beijing: refused for the hour, not the day
        (
            datetime(2022, 9, 4, 17, 0, tzinfo=UTC),
            "01:00 不在工作时间 08:30–17:30 / outside working hours",
        ),
    ],
)
def test_messages_go_out_on_working_days_in_working_hours_of_the_offices_clock(
    moment: datetime, reason: str | None, tmp_path: Path
) -> None:
    assert in_working_hours(moment, Settings(home=tmp_path)) == reason


def test_a_calendar_travels_to_a_child_process_as_its_entries_and_answers_the_same_there() -> None:
    # Settings are pickled to flow and bench processes; the caches cannot travel, the entries must.
    import pickle

    office = office_2031()
    arrived = pickle.loads(pickle.dumps(office))
    assert arrived == office and hash(arrived) == hash(office)
    assert arrived.is_working_day(date(2031, 1, 4))  # the Saturday the office works
    assert not arrived.is_working_day(date(2031, 1, 6))  # the Monday it rests
    assert arrived != Settings().working_calendar  # an office that entered nothing counts weekdays
    assert arrived != "2031"
    assert repr(arrived) == "WorkingCalendar(entered years [2031])"

"""The rule for what a liaison does first (models/urgency.py), worked out by hand on dates of
December 2026: Wednesday the 2nd is "today", Sunday the 6th ends its week."""

from __future__ import annotations

from datetime import date

from models.urgency import Urgency, urgency_of, week_end

TODAY = date(2026, 12, 2)  # a Wednesday


def rank(state: str = "in_progress", due_on: date | None = None, **flags: bool) -> Urgency:
    return urgency_of(
        state=state,
        due_on=due_on,
        today=TODAY,
        returned=flags.get("returned", False),
        escalated=flags.get("escalated", False),
    )


def test_the_week_ends_on_the_sunday_of_today_s_week() -> None:
    assert week_end(date(2026, 11, 30)) == date(2026, 12, 6)  # Monday
    assert week_end(TODAY) == date(2026, 12, 6)
    assert week_end(date(2026, 12, 6)) == date(2026, 12, 6)  # Sunday itself


def test_an_item_due_yesterday_is_overdue_even_when_returned_and_escalated() -> None:
    assert rank(due_on=date(2026, 12, 1), returned=True, escalated=True) == Urgency.OVERDUE


def test_an_item_due_today_or_on_sunday_is_due_this_week_not_overdue() -> None:
    assert rank(due_on=TODAY) == Urgency.DUE_THIS_WEEK
    assert rank(due_on=date(2026, 12, 6)) == Urgency.DUE_THIS_WEEK


def test_an_item_due_next_monday_counts_by_what_else_holds() -> None:
    monday = date(2026, 12, 7)
    assert rank(due_on=monday) == Urgency.IN_HAND
    assert rank(due_on=monday, returned=True) == Urgency.RETURNED
    assert rank(due_on=monday, escalated=True) == Urgency.ESCALATED
    assert rank(due_on=monday, returned=True, escalated=True) == Urgency.RETURNED
    assert rank("assigned", monday) == Urgency.TO_SIGN
    assert rank("assigned", monday, escalated=True) == Urgency.ESCALATED


def test_an_item_without_a_due_date_is_never_overdue() -> None:
    assert rank("assigned") == Urgency.TO_SIGN
    assert rank() == Urgency.IN_HAND


def test_a_handed_in_item_waits_on_the_office_and_is_never_pressing_for_the_unit() -> None:
    for state in ("reported", "verified", "closed"):
        assert rank(state, date(2026, 11, 1), escalated=True) == Urgency.HANDED_IN


def test_the_home_page_order_is_overdue_due_returned_escalated_to_sign() -> None:
    assert sorted(Urgency)[:5] == [
        Urgency.OVERDUE,
        Urgency.DUE_THIS_WEEK,
        Urgency.RETURNED,
        Urgency.ESCALATED,
        Urgency.TO_SIGN,
    ]

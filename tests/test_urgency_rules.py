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


# On a real database: the seed's small office, round 九月督导 due Friday 30 September 2022.
# September 2022 by hand: Mid-Autumn Festival Saturday 10 – Monday 12 (the 12th is a holiday),
# so from Tuesday 6 September the working days up to the 30th are 7–9 (3), 13–16 (4), 19–23 (5)
# and 26–30 (5): 17; a cooperating unit, due two working days earlier (the 28th), has 15.


def _items(session, plan, unit: str, day: date) -> dict:
    """What `unit`'s home page lists on `day`, by assignment id."""
    from config import Settings
    from models.urgency import unit_items

    found = unit_items(
        session,
        unit_id=plan.units[unit],
        today=day,
        rules=Settings().cycle,
        timezone="Asia/Shanghai",
    )
    return {i.assignment.id: i for i in found}


def test_a_unit_s_items_carry_their_rank_due_date_and_working_days_left(engine) -> None:
    from models.checkins import review_checkin
    from models.db import reading, unit_of_work
    from tests.support.scenario import OFFICE
    from tests.support.small_office import at, files_completion, open_september, with_contacts

    plan = with_contacts(engine)
    round_id = open_september(engine, report_by=date(2022, 9, 30))
    revision = files_completion(engine, plan, round_id, "已完成抽检")
    with unit_of_work(engine) as session:
        review_checkin(
            session,
            round_id=round_id,
            assignment_id=plan.market,
            accept=False,
            actor=OFFICE,
            now=at("2022-09-05", 15),
            revision=revision,
            reason="佐证材料不全",
        )
    with reading(engine) as session:

        def items(unit: str, day: date):
            return _items(session, plan, unit, day)

        market = items("市市场监管局", date(2022, 9, 6))[plan.market]
        assert market.urgency == Urgency.RETURNED and market.checkin.review_reason == "佐证材料不全"
        assert (market.due_on, market.days_left) == (date(2022, 9, 30), 17)
        police = items("市公安局", date(2022, 9, 6))[plan.police]
        assert (police.urgency, police.due_on, police.days_left) == (
            Urgency.TO_SIGN,
            date(2022, 9, 28),
            15,
        )
        # The week of Monday 26 September: due on the 28th, two working days left on Monday.
        police = items("市公安局", date(2022, 9, 26))[plan.police]
        assert (police.urgency, police.days_left, police.light) == (
            Urgency.DUE_THIS_WEEK,
            2,
            "yellow",
        )
        # Thursday 29th: a working day past the 28th, red.
        police = items("市公安局", date(2022, 9, 29))[plan.police]
        assert (police.urgency, police.days_left, police.light) == (Urgency.OVERDUE, -1, "red")
        lead = items("市教育局", date(2022, 9, 29))
        assert [i.urgency for i in lead.values()] == sorted(i.urgency for i in lead.values())


def test_a_filed_item_keeps_its_round_s_due_date_without_days_left(engine) -> None:
    """市市场监管局 files on Monday 5 September for the round due Friday 30th: until the office
    reviews it, its home page still shows the due date (30 September) and no days left, since
    nothing is owed (a new user's finding: the deadline vanished once filed)."""
    from models.db import reading
    from tests.support.small_office import files_completion, open_september, with_contacts

    plan = with_contacts(engine)
    round_id = open_september(engine, report_by=date(2022, 9, 30))
    files_completion(engine, plan, round_id, "已完成抽检")
    with reading(engine) as session:
        market = _items(session, plan, "市市场监管局", date(2022, 9, 6))[plan.market]
    assert market.urgency == Urgency.HANDED_IN
    assert (market.due_on, market.days_left) == (date(2022, 9, 30), None)

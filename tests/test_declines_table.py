"""The 退办 table on its own, no database: every (state, move) pair, and the guards' order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.assignment import Assignment
from models.declines import (
    DECLINE_GUARDS,
    DECLINE_MOVES,
    Decline,
    DeclineMove,
    DeclineRefused,
    DeclineState,
    Facts,
    _move,
    decline_refusal,
)
from models.lifecycle import Actor, Role

STATES: list[DeclineState | None] = [None, *DeclineState]
UNIT = Actor("edu", Role.UNIT, unit_id=7)


def _row(state: DeclineState) -> Decline:
    row = Decline(
        assignment_id=1,
        unit_id=7,
        role="lead",
        reason="不属于本单位职责",
        requested_by="edu",
        requested_at=datetime(2022, 9, 8, 2, tzinfo=UTC),
    )
    for move in {  # reach the state through the table itself
        DeclineState.PENDING: [],
        DeclineState.REASSIGNED: [DeclineMove.REASSIGN],
        DeclineState.ROLE_CHANGED: [DeclineMove.CHANGE_ROLE],
        DeclineState.REJECTED: [DeclineMove.REJECT],
    }[state]:
        _move(row, move)
    return row


@pytest.mark.parametrize("state", list(DeclineState))
@pytest.mark.parametrize("move", [m for m in DeclineMove if m != DeclineMove.DECLINE])
def test_every_decision_is_in_the_table_from_pending_and_from_nowhere_else(
    state: DeclineState, move: DeclineMove
) -> None:
    row = _row(state)
    expected = DECLINE_MOVES.get((state, move))
    if expected is None:
        with pytest.raises(DeclineRefused):
            _move(row, move)
        assert row.state == state  # nothing changed
    else:
        assert _move(row, move) == expected == row.state


def test_a_decline_starts_pending_and_its_state_is_never_assigned_directly() -> None:
    assert DECLINE_MOVES[(None, DeclineMove.DECLINE)] == DeclineState.PENDING
    assert [s for s in STATES if (s, DeclineMove.DECLINE) in DECLINE_MOVES] == [None]
    row = _row(DeclineState.PENDING)
    with pytest.raises(AttributeError):
        row.state = DeclineState.REJECTED


def _facts(*, state: str = "assigned", window: bool = True, before: bool = False, actor=UNIT):
    a = Assignment(task_id=1, unit_id=7, role="lead", created_at=datetime(2022, 9, 1, tzinfo=UTC))
    if state != "assigned":
        from models.assignment import lifecycle_move

        with lifecycle_move():
            a.state = state
    return Facts(a, actor, window, before)


def test_the_guards_say_which_rule_refuses_first() -> None:
    assert [g.name for g in DECLINE_GUARDS] == [
        "not_withdrawn",
        "permitted",
        "not_signed",
        "not_already_declined",
        "within_window",
    ]
    assert decline_refusal(_facts()) is None
    other_unit = Actor("police", Role.UNIT, unit_id=8)
    assert decline_refusal(_facts(actor=other_unit)).name == "permitted"
    leader = Actor("leader", Role.LEADER)
    assert decline_refusal(_facts(actor=leader)).name == "permitted"
    assert decline_refusal(_facts(actor=Actor("office", Role.OFFICE_STAFF))) is None
    assert decline_refusal(_facts(state="in_progress")).name == "not_signed"
    assert decline_refusal(_facts(before=True, window=False)).name == "not_already_declined"
    assert decline_refusal(_facts(window=False)).name == "within_window"


def test_the_window_counts_make_up_working_days_over_national_day(engine) -> None:
    """The round opens on Friday 2022-09-30. National Day runs 10-01..10-07 (rest days) and
    Saturday 10-08 and Sunday 10-09 are 调休 make-up working days: 10-08 is 1, 10-09 is 2, Monday
    10-10 is 3 working days on. So the unit may still decline on Sunday the 9th, not on the 10th."""
    from datetime import date

    from sqlmodel import col, select

    from config import Settings
    from models.db import unit_of_work
    from models.declines import decline
    from models.plan import Task
    from models.rounds import open_round
    from models.unit import Unit
    from tests.support.portal import seed
    from tests.support.scenario import OFFICE

    seed(engine)
    rules = Settings().cycle
    with unit_of_work(engine) as session:
        open_round(
            session,
            plan_key="2022",
            name="第四季度",
            report_by=date(2022, 10, 31),
            actor=OFFICE,
            now=datetime(2022, 9, 30, 2, tzinfo=UTC),  # 10:00 Beijing
            cooperating_lead_days=2,
        )

    def assignment_of(number: int, unit: str) -> int:
        with unit_of_work(engine) as session:
            return session.exec(
                select(Assignment.id)
                .join(Task, col(Task.id) == col(Assignment.task_id))
                .join(Unit, col(Unit.id) == col(Assignment.unit_id))
                .where(Task.number == number, Unit.name == unit)
            ).one()

    def declining(assignment_id: int, unit_id: int, at: datetime) -> None:
        with unit_of_work(engine) as session:
            decline(
                session,
                assignment_id=assignment_id,
                reason="不属于本单位职责",
                actor=Actor("liaison", Role.UNIT, unit_id=unit_id),
                now=at,
                rules=rules,
                timezone="Asia/Shanghai",
            )

    market = assignment_of(12, "市市场监管局")
    edu = assignment_of(5, "市教育局")
    with unit_of_work(engine) as session:
        market_unit = session.get_one(Assignment, market).unit_id
        edu_unit = session.get_one(Assignment, edu).unit_id
    declining(market, market_unit, datetime(2022, 10, 9, 8, tzinfo=UTC))  # Sunday 16:00, 2 days
    with pytest.raises(DeclineRefused) as refused:
        declining(edu, edu_unit, datetime(2022, 10, 10, 1, tzinfo=UTC))  # Monday 09:00, 3 days
    assert "已超过签收期限" in refused.value.message("zh")

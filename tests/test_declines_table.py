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

"""The transition table, pair by pair, and who may act: no database needed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import product

import pytest

from models.lifecycle import (
    TRANSITIONS,
    Action,
    Actor,
    Context,
    Role,
    State,
    available_actions,
    filing_moves,
    held_back,
    may_act,
    next_state,
)

# Written out again by hand on purpose: a change to the table must be a change here too.
EXPECTED = {
    (State.ASSIGNED, Action.SIGN): State.IN_PROGRESS,
    (State.ASSIGNED, Action.PROGRESS): State.IN_PROGRESS,
    (State.IN_PROGRESS, Action.PROGRESS): State.IN_PROGRESS,
    (State.IN_PROGRESS, Action.REPORT): State.REPORTED,
    (State.REPORTED, Action.VERIFY): State.VERIFIED,
    (State.REPORTED, Action.RETURN): State.IN_PROGRESS,
    (State.VERIFIED, Action.CLOSE): State.CLOSED,
    (State.CLOSED, Action.REOPEN): State.IN_PROGRESS,
}


@pytest.mark.parametrize(("state", "action"), list(product(State, Action)), ids=lambda v: str(v))
def test_every_state_and_action_pair_leads_where_the_design_says(
    state: State, action: Action
) -> None:
    assert next_state(state, action) == EXPECTED.get((state, action))


def test_the_table_has_no_move_the_design_lacks() -> None:
    assert TRANSITIONS == EXPECTED


def test_closed_can_only_be_reopened() -> None:
    assert [a for a in Action if next_state(State.CLOSED, a)] == [Action.REOPEN]


@dataclass
class Row:
    state: str
    unit_id: int
    role: str = "responsible"
    withdrawn_at: datetime | None = None


OPEN = Context(filing_open=True)  # a check-in awaits a filing in an open round


UNIT_ACTIONS = {Action.SIGN, Action.PROGRESS, Action.REPORT}
OFFICE_ACTIONS = {Action.VERIFY, Action.RETURN, Action.CLOSE, Action.REOPEN}


@pytest.mark.parametrize("action", list(Action), ids=str)
@pytest.mark.parametrize("role", list(Role), ids=str)
def test_who_may_take_each_action(role: Role, action: Action) -> None:
    own = Actor(name="x", role=role, unit_id=7)
    allowed = may_act(own, action, unit_id=7)
    if role in (Role.OFFICE_ADMIN, Role.OFFICE_STAFF):
        assert allowed
    elif role == Role.UNIT:
        assert allowed == (action in UNIT_ACTIONS)
    else:
        assert not allowed


@pytest.mark.parametrize("action", sorted(UNIT_ACTIONS), ids=str)
def test_a_unit_may_not_act_on_another_units_assignment(action: Action) -> None:
    assert not may_act(Actor(name="x", role=Role.UNIT, unit_id=8), action, unit_id=7)


def test_available_actions_offer_only_legal_buttons() -> None:
    liaison = Actor(name="liaison", role=Role.UNIT, unit_id=7)
    clerk = Actor(name="clerk", role=Role.OFFICE_STAFF)
    leader = Actor(name="leader", role=Role.LEADER)
    assert available_actions(Row("assigned", 7), liaison, OPEN) == [Action.SIGN, Action.PROGRESS]
    assert available_actions(Row("assigned", 8), liaison, OPEN) == []
    assert available_actions(Row("in_progress", 7), liaison, OPEN) == [
        Action.PROGRESS,
        Action.REPORT,
    ]
    assert available_actions(Row("reported", 7), liaison, OPEN) == []
    assert available_actions(Row("reported", 7), clerk, OPEN) == [Action.VERIFY, Action.RETURN]
    assert available_actions(Row("verified", 7), clerk, OPEN) == [Action.CLOSE]
    assert available_actions(Row("closed", 7), clerk, OPEN) == [Action.REOPEN]
    assert all(available_actions(Row(s.value, 7), leader, OPEN) == [] for s in State)


def test_progress_and_completion_are_offered_only_while_a_check_in_awaits_a_filing() -> None:
    liaison = Actor(name="liaison", role=Role.UNIT, unit_id=7)
    assert available_actions(Row("assigned", 7), liaison, Context()) == [Action.SIGN]
    assert available_actions(Row("in_progress", 7), liaison, Context()) == []
    assert filing_moves(Row("in_progress", 7), liaison, Context()) == []
    held = held_back(Row("in_progress", 7), liaison, Context())
    assert list(held) == [Action.PROGRESS, Action.REPORT]
    assert (
        held[Action.REPORT].why(Row("in_progress", 7), Context())[1] == "当前没有待报送的督导轮次"
    )


def test_a_move_that_is_not_the_users_is_not_said_to_be_held_back() -> None:
    liaison = Actor(name="liaison", role=Role.UNIT, unit_id=7)
    assert held_back(Row("reported", 7), liaison, OPEN) == {}  # verifying is the office's
    assert held_back(Row("in_progress", 8), liaison, Context()) == {}  # another unit's assignment
    gone = datetime(2022, 9, 1, tzinfo=UTC)
    assert held_back(Row("in_progress", 7, withdrawn_at=gone), liaison, Context()) == {}


def test_nothing_is_offered_on_a_withdrawn_assignment() -> None:
    clerk = Actor(name="clerk", role=Role.OFFICE_STAFF)
    gone = datetime(2022, 9, 1, tzinfo=UTC)
    assert all(
        available_actions(Row(s.value, 7, withdrawn_at=gone), clerk, OPEN) == [] for s in State
    )


def test_a_lead_unit_is_offered_its_report_only_when_every_cooperating_unit_has_handed_in() -> None:
    liaison = Actor(name="liaison", role=Role.UNIT, unit_id=7)
    lead = Row("in_progress", 7, role="lead")
    waiting = Context(
        filing_open=True,
        cooperating=(("市公安局", State.REPORTED), ("市教育局", State.IN_PROGRESS)),
    )
    assert available_actions(lead, liaison, waiting) == [Action.PROGRESS]
    assert (
        held_back(lead, liaison, waiting)[Action.REPORT].why(lead, waiting)[1]
        == "配合单位尚未报结：市教育局"
    )
    for handed_in in ("reported", "verified", "closed"):
        done = Context(
            filing_open=True,
            cooperating=(("市公安局", State(handed_in)), ("市教育局", State(handed_in))),
        )
        assert available_actions(lead, liaison, done) == [Action.PROGRESS, Action.REPORT], handed_in
        assert held_back(lead, liaison, done) == {}
    # A responsible unit does not wait for anyone.
    assert available_actions(Row("in_progress", 7), liaison, waiting) == [
        Action.PROGRESS,
        Action.REPORT,
    ]


def test_a_filing_from_assigned_may_be_the_completion_report_unless_a_rule_holds_it_back() -> None:
    liaison = Actor(name="liaison", role=Role.UNIT, unit_id=7)
    assert filing_moves(Row("assigned", 7, role="lead"), liaison, OPEN) == [
        Action.PROGRESS,
        Action.REPORT,
    ]
    waiting = Context(filing_open=True, cooperating=(("市公安局", State.ASSIGNED),))
    assert filing_moves(Row("assigned", 7, role="lead"), liaison, waiting) == [Action.PROGRESS]
    assert list(held_back(Row("assigned", 7, role="lead"), liaison, waiting)) == [Action.REPORT]

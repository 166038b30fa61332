"""The transition table, pair by pair, and who may act: no database needed."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product

import pytest

from models.lifecycle import (
    TRANSITIONS,
    Action,
    Actor,
    Role,
    State,
    available_actions,
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
def test_every_state_and_action_pair_leads_where_the_design_says(state: State, action: Action) -> None:
    assert next_state(state, action) == EXPECTED.get((state, action))


def test_the_table_has_no_move_the_design_lacks() -> None:
    assert TRANSITIONS == EXPECTED


def test_closed_can_only_be_reopened() -> None:
    assert [a for a in Action if next_state(State.CLOSED, a)] == [Action.REOPEN]


@dataclass
class Row:
    state: str
    unit_id: int


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
    assert available_actions(Row("assigned", 7), liaison) == [Action.SIGN, Action.PROGRESS]
    assert available_actions(Row("assigned", 8), liaison) == []
    assert available_actions(Row("in_progress", 7), liaison) == [Action.PROGRESS, Action.REPORT]
    assert available_actions(Row("reported", 7), liaison) == []
    assert available_actions(Row("reported", 7), clerk) == [Action.VERIFY, Action.RETURN]
    assert available_actions(Row("verified", 7), clerk) == [Action.CLOSE]
    assert available_actions(Row("closed", 7), clerk) == [Action.REOPEN]
    assert all(available_actions(Row(s.value, 7), leader) == [] for s in State)

"""Random sequences of actions by random actors, checked after every step (Hypothesis).

The model is the transition table itself plus who may act; the system under
test is the real use cases on a real database.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import Engine

from models import workflow
from models.assignment import Assignment
from models.audit import verify_chain
from models.db import reading, unit_of_work
from models.errors import ConcurrentChange, GuardFailed, NotPermitted, ReasonRequired, TransitionNotAllowed
from models.lifecycle import FILED, NEEDS_REASON, Action, Actor, Role, State, may_act, next_state
from tests.support import scenario

ACTORS = st.sampled_from(["clerk", "market", "police", "leader"])
REASONS = st.sampled_from([None, "", "材料不全，请补充"])


def run_machine(engine: Engine, now: datetime) -> None:
    plan = scenario.build(engine, now)
    actors = {
        "clerk": scenario.OFFICE,
        "market": plan.unit_actor("市市场监管局"),
        "police": plan.unit_actor("市公安局"),
        "leader": Actor(name="leader", role=Role.LEADER),
    }
    # Task 12's only unit has no cooperating units, so no guard applies: the table alone decides.
    target = plan.market

    class Lifecycle(RuleBasedStateMachine):
        @initialize()
        def start(self) -> None:
            with reading(engine) as session:
                row = session.get(Assignment, target)
            self.state, self.version = State(row.state), row.version
            self.clock = now
            self.closed_without_reopen = self.state == State.CLOSED

        @rule(action=st.sampled_from(list(Action)), who=ACTORS, reason=REASONS, stale=st.booleans(),
              filed=st.booleans())
        def act(self, action: Action, who: str, reason: str | None, stale: bool, filed: bool) -> None:
            actor = actors[who]
            self.clock += timedelta(minutes=7)
            expected = next_state(self.state, action)
            allowed = (
                expected is not None
                and may_act(actor, action, plan.units["市市场监管局"])
                and not (action in NEEDS_REASON and not (reason or "").strip())
                and not (action in FILED and not filed)  # progress and completion come only with a filing
                and not stale
            )
            try:
                with unit_of_work(engine) as session:
                    filing = (scenario.filing(session, target, completed=action == Action.REPORT, now=self.clock)
                              if filed else None)
                    workflow.take_action(session, assignment_id=target, action=action, actor=actor, now=self.clock,
                                         reason=reason, expected_version=self.version - 1 if stale else self.version,
                                         filing=filing)
            except (TransitionNotAllowed, NotPermitted, ReasonRequired, GuardFailed) as refused:
                assert not allowed, f"{action} by {who} refused: {refused}"
                self._check_unchanged()
                return
            except ConcurrentChange:
                assert stale, "refused as changed by someone else, but nobody else changed it"
                self._check_unchanged()
                return
            assert allowed, f"{action} by {who} from {self.state} should have been refused"
            self.state, self.version = expected, self.version + 1
            if self.state == State.CLOSED:
                self.closed_without_reopen = True
            if action == Action.REOPEN:
                self.closed_without_reopen = False

        def _check_unchanged(self) -> None:
            with reading(engine) as session:
                row = session.get(Assignment, target)
            assert (row.state, row.version) == (self.state, self.version)

        @invariant()
        def database_agrees(self) -> None:
            if not hasattr(self, "state"):
                return
            with reading(engine) as session:
                row = session.get(Assignment, target)
                assert State(row.state) in State
                assert (row.state, row.version) == (self.state, self.version)
                if self.closed_without_reopen:
                    assert row.state == State.CLOSED
                report = verify_chain(session)
                assert report.ok, report.message("en")

    Lifecycle.TestCase.settings = settings(
        max_examples=25, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    Lifecycle.TestCase().runTest()


def test_random_action_sequences_keep_the_lifecycle_consistent(engine: Engine, now: datetime) -> None:
    """State valid, version +1 per accepted action, closed stays closed until reopened, chain
    intact."""
    run_machine(engine, now)


@pytest.fixture(autouse=True)
def _quiet_hypothesis_db(tmp_path, monkeypatch) -> None:
    # Hypothesis' example database would otherwise land in the checkout.
    monkeypatch.chdir(tmp_path)

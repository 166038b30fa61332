"""Random sequences of actions by random actors, checked after every step (Hypothesis).

The model is written out here by hand (moves, who may take them, which need a
reason or a filing), apart from `models.lifecycle`, so that a move or a rule
dropped there is a difference here; the system under test is the real use
cases on a real database.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import Engine
from sqlmodel import col, select

from models import workflow
from models.assignment import Assignment
from models.audit import AuditEvent, verify_chain
from models.db import reading, unit_of_work
from models.errors import (
    ConcurrentChange,
    GuardFailed,
    NotPermitted,
    ReasonRequired,
    TransitionNotAllowed,
)
from models.lifecycle import Action, Actor, Role, State
from tests.support import scenario

ACTORS = st.sampled_from(["clerk", "market", "police", "leader"])
REASONS = st.sampled_from([None, "", "   ", "材料不全，请补充"])

# The design's lifecycle, by hand (DESIGN.md, README): (state, action) -> state.
MOVES = {
    ("assigned", "sign"): "in_progress",
    ("assigned", "progress"): "in_progress",
    ("in_progress", "progress"): "in_progress",
    ("in_progress", "report"): "reported",
    ("reported", "verify"): "verified",
    ("reported", "return"): "in_progress",
    ("verified", "close"): "closed",
    ("closed", "reopen"): "in_progress",
}
# Who may take what on 市市场监管局's assignment: the office anything, the unit its own moves,
# another unit and a leader nothing.
MAY = {
    "clerk": {"sign", "progress", "report", "verify", "return", "close", "reopen"},
    "market": {"sign", "progress", "report"},
    "police": set(),
    "leader": set(),
}
NEED_A_REASON = {"return", "reopen"}
NEED_A_FILING = {"progress", "report"}  # a check-in carries them, never a bare press


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
            # Examples share the database: each goes on from its last action, as time never runs
            # backwards.
            self.clock = max(now, row.last_activity_at or now)
            self.closed_without_reopen = self.state == State.CLOSED
            self.accepted = 0
            self.moves_before = len(self._moves())

        @rule(
            action=st.sampled_from(list(Action)),
            who=ACTORS,
            reason=REASONS,
            stale=st.booleans(),
            filed=st.booleans(),
        )
        def act(
            self, action: Action, who: str, reason: str | None, stale: bool, filed: bool
        ) -> None:
            actor = actors[who]
            self.clock += timedelta(minutes=7)
            expected = MOVES.get((self.state.value, action.value))
            allowed = (
                expected is not None
                and action.value in MAY[who]
                and not (action.value in NEED_A_REASON and not (reason or "").strip())
                and not (action.value in NEED_A_FILING and not filed)
                and not stale
            )
            try:
                with unit_of_work(engine) as session:
                    filing = (
                        scenario.filing(
                            session, target, completed=action == Action.REPORT, now=self.clock
                        )
                        if filed
                        else None
                    )
                    workflow.take_action(
                        session,
                        assignment_id=target,
                        action=action,
                        actor=actor,
                        now=self.clock,
                        reason=reason,
                        expected_version=self.version - 1 if stale else self.version,
                        filing=filing,
                    )
            except (TransitionNotAllowed, NotPermitted, ReasonRequired, GuardFailed) as refused:
                assert not allowed, f"{action} by {who} refused: {refused}"
                self._check_unchanged()
                return
            except ConcurrentChange:
                assert stale, "refused as changed by someone else, but nobody else changed it"
                self._check_unchanged()
                return
            assert allowed, f"{action} by {who} from {self.state} should have been refused"
            self.state, self.version = State(expected), self.version + 1
            self.accepted += 1
            if self.state == State.CLOSED:
                self.closed_without_reopen = True
            if action == Action.REOPEN:
                self.closed_without_reopen = False

        def _moves(self) -> list[AuditEvent]:
            """The lifecycle's audit events of the target, oldest first (its creation included)."""
            with reading(engine) as session:
                return list(
                    session.exec(
                        select(AuditEvent)
                        .where(
                            AuditEvent.object_type == "assignment",
                            AuditEvent.object_id == str(target),
                            col(AuditEvent.action).startswith("assignment."),
                        )
                        .order_by(col(AuditEvent.seq))
                    )
                )

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
                assert (row.state, row.version) == (self.state, self.version)
                # One audit event per accepted action, the last one saying where the row now is.
                moves = self._moves()
                assert len(moves) == self.moves_before + self.accepted
                if self.accepted:
                    assert json.loads(moves[-1].after)["state"] == row.state
                if self.closed_without_reopen:
                    assert row.state == State.CLOSED
                report = verify_chain(session)
                assert report.ok, report.message("en")

    Lifecycle.TestCase.settings = settings(
        max_examples=25,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    Lifecycle.TestCase().runTest()


def test_random_action_sequences_keep_the_lifecycle_consistent(
    engine: Engine, now: datetime
) -> None:
    """State valid, version +1 per accepted action, closed stays closed until reopened, chain
    intact."""
    run_machine(engine, now)


@pytest.fixture(autouse=True)
def _quiet_hypothesis_db(tmp_path, monkeypatch) -> None:
    # Hypothesis' example database would otherwise land in the checkout.
    monkeypatch.chdir(tmp_path)

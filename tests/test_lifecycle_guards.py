"""What is offered is what is allowed: `available_actions` against `take_action`, over random states
(Hypothesis).

The states are set as rows on a real database (the lead's state and role, withdrawn or not, the
cooperating units' states and roles, the round and the check-in), then every action is tried by
every kind of actor through the real use case and rolled back. No rule is written out here: the
offer is compared with what the use case does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, update
from sqlmodel import Session, select

from models import workflow
from models.assignment import Assignment
from models.checkins import submit_checkin
from models.db import reading, unit_of_work
from models.errors import DubanError, FilingRequired, GuardFailed, ReasonRequired
from models.lifecycle import Action, Actor, Role, State, available_actions
from models.round import CheckIn, CheckInState, RoundState, SupervisionRound
from tests.support import scenario

BY_FILING = {
    Action.PROGRESS: False,
    Action.REPORT: True,
}  # filed as progress, or as the completion report
FILINGS = ["none", "pending", "progress", "completion", "returned", "accepted"]
ROLES = ["lead", "responsible", "cooperating"]


@dataclass(frozen=True)
class Case:
    state: State
    role: str
    withdrawn: bool
    others: tuple[
        tuple[State, str, bool], ...
    ]  # the task's two other units: state, role, withdrawn
    filing: str
    round_open: bool
    who: str
    reason: str | None


OTHER = st.tuples(
    st.sampled_from(list(State)), st.sampled_from(["cooperating", "responsible"]), st.booleans()
)
CASES = st.builds(
    Case,
    state=st.sampled_from(list(State)),
    role=st.sampled_from(ROLES),
    withdrawn=st.booleans(),
    others=st.tuples(OTHER, OTHER),
    filing=st.sampled_from(FILINGS),
    round_open=st.booleans(),
    who=st.sampled_from(["clerk", "admin", "own", "other", "leader", "auditor", "system"]),
    reason=st.sampled_from([None, "", "   ", "材料不全，请补充"]),
)


class Bench:
    """Task 5 of the scenario (市教育局 and two more units) and one round, rearranged for each
    case."""

    def __init__(self, engine: Engine, now: datetime) -> None:
        self.engine, self.now = engine, now
        self.plan = scenario.build(engine, now)
        with unit_of_work(engine) as session:
            round_ = SupervisionRound(
                plan_id=self.plan.plan_id,
                name="性质测试",
                report_by=now.date(),
                opened_at=now,
                opened_by=scenario.OFFICE.name,
            )
            session.add(round_)
            session.flush()
            self.round_id = round_.id
        self.actors = {
            "clerk": scenario.OFFICE,
            "admin": Actor(name="admin", role=Role.OFFICE_ADMIN),
            "own": self.plan.unit_actor("市教育局"),
            "other": self.plan.unit_actor("市公安局"),
            "leader": Actor(name="leader", role=Role.LEADER),
            "auditor": Actor(name="auditor", role=Role.AUDITOR),
            "system": Actor(name="system", role=Role.SYSTEM),
        }

    def arrange(self, case: Case, filing: str | None = None) -> None:
        filing = filing or case.filing
        gone = self.now - timedelta(days=1)
        with unit_of_work(self.engine) as session:
            rows = [
                (self.plan.lead, case.state, case.role, case.withdrawn),
                *(
                    (aid, s, r, w)
                    for aid, (s, r, w) in zip(
                        (self.plan.police, self.plan.procuratorate), case.others, strict=True
                    )
                ),
            ]
            for assignment_id, state, role, withdrawn in rows:
                session.execute(
                    update(Assignment)
                    .where(Assignment.id == assignment_id)
                    .values(state=state.value, role=role, withdrawn_at=gone if withdrawn else None)
                )
            session.execute(
                update(SupervisionRound)
                .where(SupervisionRound.id == self.round_id)
                .values(state=RoundState.OPEN if case.round_open else RoundState.CLOSED)
            )
            session.execute(delete(CheckIn).where(CheckIn.assignment_id == self.plan.lead))
            if filing != "none":
                state = {
                    "pending": CheckInState.PENDING,
                    "progress": CheckInState.SUBMITTED,
                    "completion": CheckInState.SUBMITTED,
                    "returned": CheckInState.RETURNED,
                    "accepted": CheckInState.ACCEPTED,
                }[filing]
                session.add(
                    CheckIn(
                        round_id=self.round_id,
                        assignment_id=self.plan.lead,
                        due_on=self.now.date(),
                        state=state,
                        completed=filing == "completion",
                        revision=1,
                        submitted_at=None if filing == "pending" else self.now,
                    )
                )

    def offered(self, case: Case) -> list[Action]:
        with reading(self.engine) as session:
            assignment = session.get(Assignment, self.plan.lead)
            return available_actions(
                assignment, self.actors[case.who], workflow.context_of(session, assignment)
            )

    def attempt(self, case: Case, action: Action, reason: str | None) -> DubanError | None:
        """Take the action through the use case, with the check-in on file as its filing; undo it
        after."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            filing = session.exec(
                select(CheckIn).where(CheckIn.assignment_id == self.plan.lead)
            ).first()
            try:
                workflow.take_action(
                    session,
                    assignment_id=self.plan.lead,
                    action=action,
                    actor=self.actors[case.who],
                    now=self.now + timedelta(days=1),
                    reason=reason,
                    filing=filing,
                )
            except DubanError as refused:
                return refused
            finally:
                session.rollback()
        return None

    def file(self, case: Case, *, completed: bool) -> DubanError | None:
        """File a check-in the way the portal's form does (`submit_checkin`, which moves the
        assignment); undo it."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            try:
                submit_checkin(
                    session,
                    round_id=self.round_id,
                    assignment_id=self.plan.lead,
                    actor=self.actors[case.who],
                    now=self.now + timedelta(days=1),
                    text="已完成",
                    completed=completed,
                )
            except DubanError as refused:
                return refused
            finally:
                session.rollback()
        return None


@pytest.fixture
def bench(engine: Engine, now: datetime) -> Bench:
    return Bench(engine, now)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=CASES)
def test_every_action_offered_is_accepted_and_every_action_accepted_was_offered(
    bench: Bench, case: Case
) -> None:
    bench.arrange(case)
    offered = bench.offered(case)
    for action in Action:
        bench.arrange(case)
        refused = bench.attempt(case, action, case.reason)
        if refused is None:
            assert action in offered, f"{action} accepted but not offered in {case}"
        elif action in offered:
            # Offered, so only what this request failed to bring may refuse it: a reason, a filing.
            assert isinstance(refused, (ReasonRequired, FilingRequired)), (
                f"{action} offered but refused: {refused}"
            )
        if action in offered:
            # With what the portal asks for, an offered action goes through: progress and completion
            # by filing the check-in (the use case that carries them), the others with a reason.
            bench.arrange(case)
            if action in BY_FILING:
                refused = bench.file(case, completed=BY_FILING[action])
            else:
                refused = bench.attempt(case, action, "材料不全，请补充")
            assert refused is None, (
                f"{action} offered but refused with what the form asks for: {refused}"
            )


def test_a_lead_unit_waiting_for_a_cooperating_unit_is_not_offered_its_report_and_is_told_why(
    bench: Bench,
) -> None:
    """The example the API got wrong: a lead unit told it may report when the guard then refuses."""
    waiting = Case(
        state=State.IN_PROGRESS,
        role="lead",
        withdrawn=False,
        others=((State.REPORTED, "cooperating", False), (State.IN_PROGRESS, "cooperating", False)),
        filing="completion",
        round_open=True,
        who="own",
        reason=None,
    )
    bench.arrange(waiting)
    assert bench.offered(waiting) == [Action.PROGRESS]
    refused = bench.attempt(waiting, Action.REPORT, None)
    assert isinstance(refused, GuardFailed) and "配合单位尚未报结：市检察院" in refused.message(
        "zh"
    )


def test_after_accepted_progress_in_an_open_round_the_unit_may_still_file_progress_or_completion(
    bench: Bench,
) -> None:
    # Issue 16 (no dead ends): the office accepting a progress report does not end the unit's
    # filing in that round; it may report again or report completion.
    accepted = Case(
        state=State.IN_PROGRESS,
        role="responsible",
        withdrawn=False,
        others=((State.ASSIGNED, "cooperating", False), (State.ASSIGNED, "cooperating", False)),
        filing="accepted",
        round_open=True,
        who="own",
        reason=None,
    )
    bench.arrange(accepted)
    assert bench.offered(accepted) == [Action.PROGRESS, Action.REPORT]
    assert bench.file(accepted, completed=False) is None


@pytest.mark.parametrize(("filing", "round_open"), [("pending", False), ("none", True)])
def test_progress_is_not_offered_when_the_round_closed_or_nothing_is_owed_in_it(
    bench: Bench, filing: str, round_open: bool
) -> None:
    done = Case(
        state=State.IN_PROGRESS,
        role="responsible",
        withdrawn=False,
        others=((State.ASSIGNED, "cooperating", False), (State.ASSIGNED, "cooperating", False)),
        filing=filing,
        round_open=round_open,
        who="own",
        reason=None,
    )
    bench.arrange(done)
    assert bench.offered(done) == []
    assert bench.file(done, completed=False) is not None


@pytest.mark.parametrize("handed_in", [State.REPORTED, State.VERIFIED, State.CLOSED])
def test_a_cooperating_unit_that_has_reported_verified_or_closed_no_longer_holds_its_lead_back(
    bench: Bench, handed_in: State
) -> None:
    done = Case(
        state=State.IN_PROGRESS,
        role="lead",
        withdrawn=False,
        others=((handed_in, "cooperating", False), (handed_in, "cooperating", False)),
        filing="completion",
        round_open=True,
        who="own",
        reason=None,
    )
    bench.arrange(done)
    assert bench.offered(done) == [Action.PROGRESS, Action.REPORT]
    assert bench.attempt(done, Action.REPORT, None) is None


def test_a_withdrawn_cooperating_unit_does_not_hold_its_lead_back(bench: Bench) -> None:
    """A re-import that dropped a cooperating unit leaves nobody the lead could wait for."""
    dropped = Case(
        state=State.IN_PROGRESS,
        role="lead",
        withdrawn=False,
        others=((State.ASSIGNED, "cooperating", True), (State.CLOSED, "cooperating", False)),
        filing="completion",
        round_open=True,
        who="own",
        reason=None,
    )
    bench.arrange(dropped)
    assert bench.offered(dropped) == [Action.PROGRESS, Action.REPORT]
    assert bench.attempt(dropped, Action.REPORT, None) is None


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_reopening_a_closed_assignment_without_a_reason_is_refused_and_changes_nothing(
    bench: Bench, reason: str | None
) -> None:
    closed = Case(
        state=State.CLOSED,
        role="responsible",
        withdrawn=False,
        others=((State.CLOSED, "cooperating", False), (State.CLOSED, "cooperating", False)),
        filing="accepted",
        round_open=True,
        who="clerk",
        reason=reason,
    )
    bench.arrange(closed)
    assert bench.offered(closed) == [Action.REOPEN]  # offered: the form then asks for the reason
    assert isinstance(bench.attempt(closed, Action.REOPEN, reason), ReasonRequired)
    with reading(bench.engine) as session:
        row = session.get(Assignment, bench.plan.lead)
        assert (row.state, row.version) == (State.CLOSED, 1)
    assert bench.attempt(closed, Action.REOPEN, "核查发现台账缺失") is None


@pytest.fixture(autouse=True)
def _quiet_hypothesis_db(tmp_path, monkeypatch) -> None:
    # Hypothesis' example database would otherwise land in the checkout.
    monkeypatch.chdir(tmp_path)

"""The lifecycle use cases on a real database: what changes, what is refused, what is recorded."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from models import workflow
from models.assignment import Assignment, DirectStateWrite
from models.audit import AuditEvent, verify_chain
from models.db import reading, unit_of_work
from models.errors import GuardFailed, NotFound, NotPermitted, ReasonRequired, TransitionNotAllowed
from models.lifecycle import FILED, Action, State
from tests.support import scenario
from tests.support.scenario import OFFICE, Scenario


@pytest.fixture
def plan(engine: Engine, now: datetime) -> Scenario:
    return scenario.build(engine, now)


def load(engine: Engine, assignment_id: int) -> Assignment:
    with reading(engine) as session:
        return session.get(Assignment, assignment_id)


def event_count(engine: Engine) -> int:
    with reading(engine) as session:
        return session.exec(select(func.count()).select_from(AuditEvent)).one()


def act(
    engine: Engine, action: Action, assignment_id: int, actor, now: datetime, **kw
) -> AuditEvent:
    """One action in its own transaction; a progress or completion move comes with its filing."""
    with unit_of_work(engine) as session:
        if action in FILED and "filing" not in kw:
            kw["filing"] = scenario.filing(
                session, assignment_id, completed=action == Action.REPORT, now=now
            )
        return workflow.take_action(
            session, assignment_id=assignment_id, action=action, actor=actor, now=now, **kw
        )


def test_a_whole_cycle_moves_through_every_state_with_one_event_each(
    engine: Engine, plan: Scenario, now: datetime
) -> None:
    market = plan.unit_actor("市市场监管局")
    steps = [
        (workflow.sign, market, State.IN_PROGRESS, {}),
        (workflow.record_progress, market, State.IN_PROGRESS, {}),
        (workflow.report_completion, market, State.REPORTED, {}),
        (workflow.return_report, OFFICE, State.IN_PROGRESS, {"reason": "缺少佐证材料"}),
        (workflow.report_completion, market, State.REPORTED, {}),
        (workflow.verify, OFFICE, State.VERIFIED, {}),
        (workflow.close, OFFICE, State.CLOSED, {}),
        (workflow.reopen, OFFICE, State.IN_PROGRESS, {"reason": "复查发现问题反弹"}),
    ]
    for step, (use_case, actor, expected, extra) in enumerate(steps, start=1):
        before = event_count(engine)
        with unit_of_work(engine) as session:
            if use_case in (workflow.record_progress, workflow.report_completion):
                extra = {
                    "filing": scenario.filing(
                        session,
                        plan.market,
                        now=now,
                        completed=use_case == workflow.report_completion,
                    )
                }
            event = use_case(
                session,
                assignment_id=plan.market,
                actor=actor,
                now=now + timedelta(hours=step),
                **extra,
            )
        row = load(engine, plan.market)
        assert row.state == expected
        assert row.version == 1 + step
        assert event_count(engine) == before + 1
        assert event.actor == actor.name and event.object_id == str(plan.market)
        assert event.reason == extra.get("reason")
        extra.pop("filing", None)
    row = load(engine, plan.market)
    assert row.rework_count == 1
    assert row.signed_at == now + timedelta(hours=1)
    assert row.closed_at is None and row.reported_at is None  # reopened: back to work
    with reading(engine) as session:
        assert verify_chain(session).ok


@pytest.mark.parametrize(
    ("action", "state_zh", "action_zh"),
    [
        (Action.VERIFY, "已交办", "核验通过"),
        (Action.CLOSE, "已交办", "销号"),
        (Action.REPORT, "已交办", "报送办结"),
    ],
)
def test_an_illegal_action_names_assignment_state_and_action_and_changes_nothing(
    engine: Engine, plan: Scenario, now: datetime, action: Action, state_zh: str, action_zh: str
) -> None:
    before = event_count(engine)
    with pytest.raises(TransitionNotAllowed) as refused:
        act(engine, action, plan.market, OFFICE, now)
    zh, en = refused.value.message("zh"), refused.value.message("en")
    assert f"#{plan.market}" in zh and "市市场监管局" in zh and state_zh in zh and action_zh in zh
    assert f"#{plan.market}" in en and "assigned" in en and action.value in en
    row = load(engine, plan.market)
    assert (row.state, row.version) == (State.ASSIGNED, 1)
    assert event_count(engine) == before


def test_a_unit_cannot_act_on_another_units_assignment(
    engine: Engine, plan: Scenario, now: datetime
) -> None:
    with pytest.raises(NotPermitted) as refused:
        act(engine, Action.SIGN, plan.market, plan.unit_actor("市公安局"), now)
    assert "市市场监管局" in refused.value.message("zh")
    assert load(engine, plan.market).state == State.ASSIGNED


def test_a_unit_cannot_verify_its_own_report(engine: Engine, plan: Scenario, now: datetime) -> None:
    market = plan.unit_actor("市市场监管局")
    act(engine, Action.SIGN, plan.market, market, now)
    act(engine, Action.REPORT, plan.market, market, now)
    with pytest.raises(NotPermitted):
        act(engine, Action.VERIFY, plan.market, market, now)
    assert load(engine, plan.market).state == State.REPORTED


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_returning_a_report_needs_a_reason(
    engine: Engine, plan: Scenario, now: datetime, reason: str | None
) -> None:
    market = plan.unit_actor("市市场监管局")
    act(engine, Action.SIGN, plan.market, market, now)
    act(engine, Action.REPORT, plan.market, market, now)
    with pytest.raises(ReasonRequired, match="return"):
        act(engine, Action.RETURN, plan.market, OFFICE, now, reason=reason)
    row = load(engine, plan.market)
    assert (row.state, row.rework_count) == (State.REPORTED, 0)


def test_lead_unit_cannot_report_before_cooperating_units(
    engine: Engine, plan: Scenario, now: datetime
) -> None:
    lead = plan.unit_actor("市教育局")
    act(engine, Action.SIGN, plan.lead, lead, now)
    act(engine, Action.SIGN, plan.police, plan.unit_actor("市公安局"), now)
    act(engine, Action.REPORT, plan.police, plan.unit_actor("市公安局"), now)
    with pytest.raises(GuardFailed) as refused:
        act(engine, Action.REPORT, plan.lead, lead, now)
    assert "市检察院" in refused.value.message("zh") and "市公安局" not in refused.value.message(
        "zh"
    )
    assert load(engine, plan.lead).state == State.IN_PROGRESS

    procuratorate = plan.unit_actor("市检察院")
    act(engine, Action.PROGRESS, plan.procuratorate, procuratorate, now)
    act(engine, Action.REPORT, plan.procuratorate, procuratorate, now)
    act(engine, Action.REPORT, plan.lead, lead, now)
    assert load(engine, plan.lead).state == State.REPORTED


def test_the_office_may_record_a_units_action_on_its_behalf(
    engine: Engine, plan: Scenario, now: datetime
) -> None:
    event = act(engine, Action.SIGN, plan.market, OFFICE, now)
    assert event.actor == "clerk" and event.unit_id == plan.units["市市场监管局"]
    assert load(engine, plan.market).state == State.IN_PROGRESS


def test_state_cannot_be_assigned_directly(engine: Engine, plan: Scenario) -> None:
    with unit_of_work(engine) as session:
        row = session.get(Assignment, plan.market)
        with pytest.raises(DirectStateWrite):
            row.state = State.CLOSED
    assert load(engine, plan.market).state == State.ASSIGNED


def test_an_unknown_assignment_is_named(engine: Engine, plan: Scenario, now: datetime) -> None:
    with pytest.raises(NotFound, match="#9999"):
        act(engine, Action.SIGN, 9999, OFFICE, now)

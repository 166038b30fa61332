"""The audit trail: one event per change, a hash chain that names the first tampered record."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from models import workflow
from models.audit import AuditFilter, export, verify_chain
from models.db import reading, unit_of_work
from models.lifecycle import Action
from tests.support import scenario
from tests.support.scenario import OFFICE, Scenario


@pytest.fixture
def plan(engine: Engine, now: datetime) -> Scenario:
    built = scenario.build(engine, now)
    market = built.unit_actor("市市场监管局")
    for hour, (action, actor, reason) in enumerate(
        [
            (Action.SIGN, market, None),
            (Action.REPORT, market, None),
            (Action.RETURN, OFFICE, "请补充抽检数据"),
            (Action.REPORT, market, None),
            (Action.VERIFY, OFFICE, None),
        ],
        start=1,
    ):
        with unit_of_work(engine) as session:
            filing = (
                scenario.filing(session, built.market, completed=True, now=now)
                if action == Action.REPORT
                else None
            )
            workflow.take_action(
                session,
                assignment_id=built.market,
                action=action,
                actor=actor,
                now=now + timedelta(hours=hour),
                reason=reason,
                filing=filing,
            )
    return built


def verify(engine: Engine, anchor: str | None = None):
    with reading(engine) as session:
        return verify_chain(session, anchor=anchor)


def tamper(engine: Engine, *statements: str) -> None:
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def test_an_untouched_chain_verifies_and_reports_its_head(engine: Engine, plan: Scenario) -> None:
    report = verify(engine)
    # plan + 2 tasks + 4 units + 4 assignments + 5 actions
    assert report.ok and report.events == 16 and report.head_seq == 16
    assert len(report.head_hash) == 64
    assert verify(engine, anchor=f"{report.head_seq}:{report.head_hash}").ok


def test_a_changed_record_is_named(engine: Engine, plan: Scenario) -> None:
    tamper(engine, "UPDATE audit_event SET reason = '材料齐全' WHERE seq = 14")
    report = verify(engine)
    assert not report.ok and report.first_bad_seq == 14
    assert "altered" in report.message("en") and "第 14 条" in report.message("zh")


def test_a_deleted_record_is_named(engine: Engine, plan: Scenario) -> None:
    tamper(engine, "DELETE FROM audit_event WHERE seq = 9")
    report = verify(engine)
    assert not report.ok and report.first_bad_seq == 9
    assert "missing" in report.message("en")


def test_an_inserted_record_is_named(engine: Engine, plan: Scenario) -> None:
    # A forged event appended after the head, copying the last one's hash as its predecessor.
    tamper(
        engine,
        """
        INSERT INTO audit_event (seq, at, actor, action, object_type, object_id, task_id, unit_id,
                                 before, after, reason, outcome, prev_hash, hash)
        SELECT seq + 1, at, 'clerk', 'assignment.close', object_type, object_id, task_id, unit_id,
               after, '{"state":"closed"}', NULL, 'ok', hash, hash
        FROM audit_event WHERE seq = 16
    """,
    )
    report = verify(engine)
    assert not report.ok and report.first_bad_seq == 17


def test_two_swapped_records_are_named(engine: Engine, plan: Scenario) -> None:
    # Swap the contents of records 12 and 13, keeping their sequence numbers.
    tamper(
        engine,
        "UPDATE audit_event SET seq = -12 WHERE seq = 12",
        "UPDATE audit_event SET seq = 12 WHERE seq = 13",
        "UPDATE audit_event SET seq = 13 WHERE seq = -12",
    )
    report = verify(engine)
    assert not report.ok and report.first_bad_seq == 12


def test_a_truncated_tail_is_named(engine: Engine, plan: Scenario) -> None:
    tamper(engine, "DELETE FROM audit_event WHERE seq >= 15")
    report = verify(engine)
    assert not report.ok and report.first_bad_seq == 15
    assert "truncated" in report.message("en")


def test_a_rewritten_chain_is_caught_by_the_anchor_kept_outside(
    engine: Engine, plan: Scenario
) -> None:
    """An attacker who recomputes every hash after a change fools the walk, not the anchor."""
    from sqlmodel import select

    from models.audit import AuditEvent, AuditHead, event_hash

    anchor = verify(engine)
    with unit_of_work(engine) as session:
        events = session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()
        prev = "0" * 64
        for event in events:
            if event.seq == 14:
                event.reason = "核验通过（改）"
            event.prev_hash = prev
            event.hash = event_hash(event)
            prev = event.hash
        head = session.get(AuditHead, 1)
        head.hash = prev
    assert verify(engine).ok  # consistent by itself...
    report = verify(engine, anchor=f"{anchor.head_seq}:{anchor.head_hash}")
    assert not report.ok and report.first_bad_seq == 16  # ...but not with what was kept outside


def test_every_action_writes_exactly_one_event_with_before_and_after(
    engine: Engine, plan: Scenario
) -> None:
    with reading(engine) as session:
        from models.audit import events

        rows = list(
            events(session, AuditFilter(action="assignment.", unit_id=plan.units["市市场监管局"]))
        )
    assert [r.action for r in rows] == [
        "assignment.create",
        "assignment.sign",
        "assignment.report",
        "assignment.return",
        "assignment.report",
        "assignment.verify",
    ]
    returned = rows[3]
    assert json.loads(returned.before)["state"] == "reported"
    assert json.loads(returned.after) == {"state": "in_progress", "version": 4, "rework_count": 1}
    assert returned.reason == "请补充抽检数据" and returned.actor == "clerk"


def test_show_filters_by_task_unit_actor_action_and_time(
    engine: Engine, plan: Scenario, now: datetime
) -> None:
    from models.audit import events

    def seqs(**criteria) -> list[int]:
        with reading(engine) as session:
            return [e.seq for e in events(session, AuditFilter(**criteria))]

    assert len(seqs(task_id=plan.task5_id)) == 4  # the task and its three assignments
    assert len(seqs(unit_id=plan.units["市市场监管局"])) == 7  # unit, assignment, five actions
    assert len(seqs(actor="clerk", action="assignment.")) == 6  # four creations, return, verify
    assert len(seqs(action="assignment.report")) == 2
    assert len(seqs(since=now + timedelta(hours=2), until=now + timedelta(hours=4))) == 2


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_keeps_every_field_and_chinese_text(
    engine: Engine, plan: Scenario, fmt: str
) -> None:
    stream = io.StringIO()
    with reading(engine) as session:
        count = export(session, AuditFilter(), fmt, stream)
    assert count == 16
    if fmt == "jsonl":
        rows = [json.loads(line) for line in stream.getvalue().splitlines()]
    else:
        rows = list(csv.DictReader(io.StringIO(stream.getvalue())))
    assert len(rows) == 16
    assert {
        "seq",
        "at",
        "actor",
        "action",
        "before",
        "after",
        "reason",
        "prev_hash",
        "hash",
    } <= set(rows[0])
    assert any(r["reason"] == "请补充抽检数据" for r in rows)
    assert str(rows[-1]["hash"]) == verify(engine).head_hash

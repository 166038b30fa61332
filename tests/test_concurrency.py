"""Optimistic locking and SQLite's writers, with real threads and processes on a real database."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from models import workflow
from models.assignment import Assignment
from models.audit import verify_chain
from models.db import make_engine, reading, unit_of_work
from models.errors import ConcurrentChange, DubanError
from models.lifecycle import FILED, Action, Actor, Role, State
from tests.support import scenario
from tests.support.scenario import OFFICE, Scenario


@pytest.fixture
def plan(engine: Engine, now: datetime) -> Scenario:
    return scenario.build(engine, now)


def race(engine: Engine, attempts_per_thread: list[list]) -> Counter:
    """One thread per list of attempts, all starting together; count how each attempt ended."""
    outcome: Counter = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(len(attempts_per_thread))
    threads = [
        threading.Thread(target=_attempt, args=(engine, a, barrier, outcome, lock))
        for a in attempts_per_thread
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome


def _attempt(
    engine: Engine,
    attempts: list,
    barrier: threading.Barrier,
    outcome: Counter,
    lock: threading.Lock,
) -> None:
    for assignment_id, action, actor, now, kw in attempts:
        barrier.wait()
        try:
            with unit_of_work(engine) as session:
                if action in FILED:
                    kw = {
                        **kw,
                        "filing": scenario.filing(
                            session, assignment_id, now=now, completed=action == Action.REPORT
                        ),
                    }
                workflow.take_action(
                    session, assignment_id=assignment_id, action=action, actor=actor, now=now, **kw
                )
            result = "won"
        except ConcurrentChange:
            result = "reload"
        except OperationalError as error:  # "database is locked" must never get here
            result = f"db error: {error.orig}"
        except DubanError as error:
            result = type(error).__name__
        with lock:
            outcome[result] += 1


@pytest.mark.parametrize("writers", [2, 6])
def test_of_concurrent_changes_seen_at_one_version_exactly_one_wins(
    engine: Engine, plan: Scenario, now: datetime, writers: int
) -> None:
    """Everyone saw version 1 and tries to sign; one wins, the others are told to reload."""
    outcome = race(
        engine, [[(plan.market, Action.SIGN, OFFICE, now, {"expected_version": 1})]] * writers
    )
    assert outcome == Counter({"won": 1, "reload": writers - 1})
    with reading(engine) as session:
        row = session.get(Assignment, plan.market)
        assert (row.state, row.version) == (State.IN_PROGRESS, 2)
        assert verify_chain(session).ok


def test_two_different_office_decisions_on_one_report_cannot_both_land(
    engine: Engine, plan: Scenario, now: datetime
) -> None:
    """Verify and return race on the same report; exactly one decision is applied."""
    market = plan.unit_actor("市市场监管局")
    for action in (Action.SIGN, Action.REPORT):
        with unit_of_work(engine) as session:
            filing = (
                scenario.filing(session, plan.market, completed=True, now=now)
                if action in FILED
                else None
            )
            workflow.take_action(
                session,
                assignment_id=plan.market,
                action=action,
                actor=market,
                now=now,
                filing=filing,
            )
    outcome = race(
        engine,
        [
            [(plan.market, Action.VERIFY, OFFICE, now, {"expected_version": 3})],
            [
                (
                    plan.market,
                    Action.RETURN,
                    OFFICE,
                    now,
                    {"expected_version": 3, "reason": "材料不全"},
                )
            ],
        ],
    )
    assert outcome == Counter({"won": 1, "reload": 1})
    with reading(engine) as session:
        row = session.get(Assignment, plan.market)
        assert row.version == 4
        assert row.state in (State.VERIFIED, State.IN_PROGRESS)


def test_many_writers_on_different_assignments_all_succeed_without_locked_errors(
    engine: Engine, plan: Scenario, now: datetime
) -> None:
    """Four threads hammering progress reports, one assignment each: every one lands, none sees
    'database is locked'."""
    rounds = 25
    ids = [plan.market, plan.police, plan.procuratorate, plan.lead]
    with unit_of_work(
        engine
    ) as session:  # the round the filings belong to, before the threads start
        for i in ids:
            scenario.filing(session, i, completed=False, now=now)
    outcome = race(engine, [[(i, Action.PROGRESS, OFFICE, now, {})] * rounds for i in ids])
    assert outcome == Counter({"won": len(ids) * rounds})
    with reading(engine) as session:
        assert [session.get(Assignment, i).version for i in ids] == [1 + rounds] * len(ids)
        report = verify_chain(session)
        assert report.ok and report.events >= len(ids) * rounds


def _process_writer(url: str, assignment_id: int, count: int, queue: multiprocessing.Queue) -> None:
    engine = make_engine(url)
    actor = Actor(name="clerk", role=Role.OFFICE_STAFF)
    now = datetime.fromisoformat("2022-09-05T09:00:00+08:00")
    errors = []
    for _ in range(count):
        try:
            with unit_of_work(engine) as session:
                filing = scenario.filing(session, assignment_id, completed=False, now=now)
                workflow.record_progress(
                    session, assignment_id=assignment_id, actor=actor, now=now, filing=filing
                )
        except Exception as error:  # noqa: BLE001 — reported to the parent
            errors.append(f"{type(error).__name__}: {error}")
    queue.put(errors)


def test_writers_in_separate_processes_wait_for_each_other(
    engine: Engine, plan: Scenario, database_url: str
) -> None:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    ids = [plan.market, plan.police, plan.procuratorate]
    with unit_of_work(
        engine
    ) as session:  # the round the filings belong to, before the processes start
        scenario.filing(
            session,
            plan.market,
            completed=False,
            now=datetime.fromisoformat("2022-09-05T09:00:00+08:00"),
        )
    processes = [
        context.Process(target=_process_writer, args=(database_url, i, 10, queue)) for i in ids
    ]
    for process in processes:
        process.start()
    errors = [queue.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert errors == [[], [], []]
    with reading(engine) as session:
        assert [session.get(Assignment, i).version for i in ids] == [11, 11, 11]
        assert verify_chain(session).ok


def _take_numbers(url: str, transactions: int, queue: multiprocessing.Queue) -> None:
    from models.escalations import take_numbers

    engine = make_engine(url)
    taken: list[int] = []
    for _ in range(transactions):
        with unit_of_work(engine) as session:
            first = take_numbers(session, 2022, 3)
            taken.extend(range(first, first + 3))
    queue.put(taken)


def test_escalation_numbers_taken_by_processes_at_once_are_unique_and_without_gaps(
    engine: Engine, database_url: str
) -> None:
    """Three processes, ten transactions each, three 督办单 numbers a transaction: 1 to 90, each
    once."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [
        context.Process(target=_take_numbers, args=(database_url, 10, queue)) for _ in range(3)
    ]
    for process in processes:
        process.start()
    taken = [queue.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert sorted(n for batch in taken for n in batch) == list(range(1, 91))


def test_numbers_taken_by_a_transaction_that_rolls_back_are_given_out_again(engine: Engine) -> None:
    from models.escalations import take_numbers

    with unit_of_work(engine) as session:
        assert take_numbers(session, 2022, 2) == 1
    with pytest.raises(RuntimeError), unit_of_work(engine) as session:
        assert take_numbers(session, 2022, 5) == 3
        raise RuntimeError("the run failed after numbering")
    with unit_of_work(engine) as session:
        assert take_numbers(session, 2022, 1) == 3
        assert take_numbers(session, 2023, 1) == 1  # every year starts at 1


def _row_at_0006(connection: Any, table_name: str, /, **given: Any) -> int:
    """One row of table `name` as the database has it now; a required column not given gets a
    plain value of its type."""
    import sqlalchemy as sa

    table = sa.Table(table_name, sa.MetaData(), autoload_with=connection)
    values = dict(given)
    for column in table.columns:
        if column.name in values or column.primary_key or column.nullable:
            continue
        if column.server_default is not None:
            continue
        kind = column.type.python_type if hasattr(column.type, "python_type") else str
        values[column.name] = {
            int: 0,
            bool: False,
            str: f"{table_name}-{column.name}",
            dict: {},
            list: [],
        }.get(kind, datetime(2022, 9, 1, tzinfo=UTC) if kind is datetime else date(2022, 9, 1))
    return int(connection.execute(table.insert().values(**values)).inserted_primary_key[0])


def test_a_database_upgraded_to_counted_numbers_goes_on_after_the_highest_number_of_each_year(
    empty_database_url: str, now: datetime
) -> None:
    """Migration 0007 seeds each year's counter from the 督办单 numbers already given out."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from models.escalations import take_numbers
    from models.schema import MIGRATIONS, upgrade

    engine = make_engine(empty_database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
    # The ORM models are today's schema, not 0006's: the rows an escalation needs are written
    # with the columns 0006 has (reflected), each required one filled with a plain value.
    with engine.begin() as connection:
        unit = _row_at_0006(connection, "unit", name="市教育局", created_at=now)
        plan_id = _row_at_0006(connection, "plan", key="p", title="计划", created_at=now)
        task = _row_at_0006(connection, "task", plan_id=plan_id, number=1, title="任务")
        assignment = _row_at_0006(
            connection, "assignment", task_id=task, unit_id=unit, role="lead", state="assigned"
        )
    given = [
        ("督〔2021〕010号", assignment),
        ("督〔2022〕001号", assignment),
        ("督〔2022〕002号", assignment),
        ("督〔2022〕012号", assignment),
    ]  # 003-011 were given to escalations since deleted by hand
    with engine.begin() as connection:
        for n, (number, assignment_id) in enumerate(given):
            connection.execute(
                text(
                    "INSERT INTO escalation (stage_key, assignment_id, level, stall, reason, "
                    "number, opened_at) VALUES (:key, :a, 1, 'overdue', '逾期', :number, :at)"
                ),
                {"key": f"k{n}", "a": assignment_id, "number": number, "at": now},
            )
    upgrade(engine)
    with unit_of_work(engine) as session:
        assert take_numbers(session, 2022, 1) == 13
        assert take_numbers(session, 2021, 1) == 11
        assert take_numbers(session, 2023, 1) == 1
    engine.dispose()

"""kill -9 of `duban dispatch` against a real SMTP sink: slow relays, relays that hang up after
DATA, fleets.

The delivery promise under test (README, "Messages"): nothing lost; a message sent at most once
more for each kill (the one the relay had accepted when the kill came, before its mark was
committed) and for each reply lost after DATA (maybe sent, resent after the backoff); nothing
corrupted; no traceback. The quick version runs by default; `make reliability` runs the full one.
The quick run tries PostgreSQL in one scenario, the full run every scenario on both databases.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.reliability import table
from tests.reliability.dispatching import (
    Fleet,
    Outcome,
    count,
    drain,
    enqueue,
    environment,
    kill_after_some,
    settings_for,
    wait_for_deliveries,
)
from tests.support.smtp import MailServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # aiosmtpd on Python 3.11


@pytest.fixture
def sink() -> MailServer:
    server = MailServer().start()
    yield server
    server.stop()


def _quick_on_sqlite_only(backend: str) -> None:
    if backend == "postgresql" and not table.full():
        pytest.skip(
            "quick run: PostgreSQL runs the kill -9 scenario only (make reliability runs all)"
        )


def _fresh_run(sink: MailServer, **settings: float) -> None:
    with sink.lock:
        sink.received.clear()
    sink.data_delay_s = settings.get("data_delay_s", 0.0)
    sink.drop_after_data = int(settings.get("drop_after_data", 0))
    sink.dropped.clear()


def _record(scenario: str, backend: str, outcome: Outcome, *, allowed_extra: int = 0) -> None:
    table.record(
        f"{scenario} [{backend}]",
        lost=outcome.lost,
        duplicated=outcome.duplicated,
        corrupted=outcome.corrupted,
        tracebacks=outcome.tracebacks,
        kills=outcome.kills,
        note="; ".join(outcome.problems)[:300] or None,
    )
    assert (outcome.lost, outcome.corrupted, outcome.tracebacks) == (0, 0, 0), outcome.problems
    assert outcome.duplicated <= outcome.kills + allowed_extra, outcome


def test_repeated_kill_9_of_dispatch_loses_nothing_and_repeats_at_most_one_per_kill(
    backend: str, database_url: str, engine: Engine, tmp_path: Path, sink: MailServer
) -> None:
    rng = random.Random(18)
    values = settings_for(tmp_path, database_url, sink, lease_s=2, batch=10)
    env = environment(values)
    for run in range(table.runs(quick=1, full_runs=10)):
        _fresh_run(sink, data_delay_s=0.02)
        keys: set[str] = set()
        outcome = Outcome()
        fleet = Fleet(env, outcome)
        for kill in range(table.runs(quick=2, full_runs=5)):
            keys |= enqueue(engine, count=15, start=run * 1000 + kill * 100)  # work for every kill
            kill_after_some(fleet, sink, fleet.start(), rng)
        sink.data_delay_s = 0
        drain(fleet, engine, keys, values)
        _record("kill -9 dispatch", backend, count(engine, sink, keys, outcome))


def test_dispatchers_on_a_relay_slower_than_the_lease_send_each_message_once(
    backend: str, database_url: str, engine: Engine, tmp_path: Path, sink: MailServer
) -> None:
    # A batch of 8 at 0.4 s a message takes 3.2 s; a claim lasts 2 s. The second dispatcher starts
    # when the first one's unrenewed claims would have run out; in the runs with a kill the first
    # is then killed, and the second takes its rows over once the lease has passed.
    _quick_on_sqlite_only(backend)
    rng = random.Random(1)
    values = settings_for(tmp_path, database_url, sink, lease_s=2, batch=8)
    env = environment(values)
    for run in range(table.runs(quick=1, full_runs=8)):
        _fresh_run(sink, data_delay_s=0.4)
        keys = enqueue(engine, count=8, start=run * 1000)
        outcome = Outcome()
        fleet = Fleet(env, outcome)
        first = fleet.start()
        wait_for_deliveries(sink, 1, processes=[first])
        time.sleep(2.3)
        second = fleet.start()
        if run % 2 == 0:
            kill_after_some(fleet, sink, first, rng, most=2)
        fleet.finish_all()
        sink.data_delay_s = 0
        drain(fleet, engine, keys, values)
        _record(
            "relay slower than the lease, 2 dispatchers",
            backend,
            count(engine, sink, keys, outcome),
        )
        assert second.returncode is not None


def test_a_relay_that_hangs_up_after_data_costs_at_most_one_more_copy_per_drop(
    backend: str, database_url: str, engine: Engine, tmp_path: Path, sink: MailServer
) -> None:
    _quick_on_sqlite_only(backend)
    rng = random.Random(3)
    values = settings_for(tmp_path, database_url, sink, lease_s=2, batch=10)
    env = environment(values)
    for run in range(table.runs(quick=1, full_runs=8)):
        _fresh_run(sink, data_delay_s=0.02, drop_after_data=2)
        keys: set[str] = set()
        outcome = Outcome()
        fleet = Fleet(env, outcome)
        for kill in range(table.runs(quick=1, full_runs=4)):
            keys |= enqueue(engine, count=20, start=run * 1000 + kill * 100)
            kill_after_some(fleet, sink, fleet.start(), rng)
        sink.data_delay_s = 0
        drain(fleet, engine, keys, values)
        outcome.dropped = len(sink.dropped)
        count(engine, sink, keys, outcome)
        outcome.problems.append(f"{outcome.dropped} replies dropped after DATA")
        _record("relay hangs up after DATA", backend, outcome, allowed_extra=outcome.dropped)


@pytest.mark.parametrize("dispatchers", [2, 3])
def test_concurrent_dispatchers_killed_at_random_lose_nothing(
    dispatchers: int,
    backend: str,
    database_url: str,
    engine: Engine,
    tmp_path: Path,
    sink: MailServer,
) -> None:
    _quick_on_sqlite_only(backend)
    rng = random.Random(dispatchers)
    values = settings_for(tmp_path, database_url, sink, lease_s=3, batch=5)
    env = environment(values)
    for run in range(table.runs(quick=1, full_runs=6)):
        _fresh_run(sink, data_delay_s=0.03)
        keys: set[str] = set()
        outcome = Outcome()
        fleet = Fleet(env, outcome)
        for kill in range(table.runs(quick=1, full_runs=4)):
            keys |= enqueue(engine, count=40, start=run * 1000 + kill * 100)
            processes = [fleet.start() for _ in range(dispatchers)]
            kill_after_some(fleet, sink, rng.choice(processes), rng)
            fleet.finish_all()
        sink.data_delay_s = 0
        drain(fleet, engine, keys, values)
        _record(
            f"{dispatchers} concurrent dispatchers, kill -9",
            backend,
            count(engine, sink, keys, outcome),
        )

"""Two runs of the same command at the same instant, on SQLite and PostgreSQL (issue 18, defect 4).

Each scenario starts two real `duban` processes released together at a barrier
(tests/support/together.py). Both must end with exit 0 and no traceback, the second having waited
for the first and found the work done; the database must hold what one run alone leaves behind.
Every run is one row of the reliability table: lost (rows a single run would have made that are
missing), duplicated (rows beyond that), corrupted (an audit chain that does not verify),
tracebacks (a process that crashed or printed one).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, create_engine, text

from models.audit import verify_chain
from models.db import make_engine, reading
from tests.reliability.table import record, runs
from tests.support.together import Finished, run_together
from tests.test_cli import duban

ROOT = Path(__file__).resolve().parent.parent.parent
DIRECTORY = ROOT / "config/units/rugao.yaml"
NOTICE = ROOT / "tests/fixtures/seed-notice.txt"
OPENED = "2022-09-19T09:00:00+08:00"
PAIRS = runs(quick=1, full_runs=6)

# Worked out from the files, not from a run: the directory lists 50 units; the seed notice issues
# 16 key tasks; the round over all of them owes 98 check-ins (tests/test_cycle_cli.py counts them
# the same way), one notice per unit with something owed.
DIRECTORY_UNITS = len(yaml.safe_load(DIRECTORY.read_text(encoding="utf-8"))["units"])
SEED_TASKS = 16
ROUND_CHECKINS = 98


def _run(*args: str, home: Path, url: str) -> str:
    result = duban(*args, home=home, url=url)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stdout + result.stderr
    return result.stdout


def _crashes(finished: list[Finished]) -> int:
    return sum(1 for f in finished if f.returncode != 0 or f.traceback)


def _scalar(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar() or 0)


def _chain_ok(url: str) -> bool:
    engine = make_engine(url)
    try:
        with reading(engine) as session:
            return verify_chain(session).ok
    finally:
        engine.dispose()


@pytest.fixture
def fresh(database_url: str, tmp_path: Path) -> tuple[Path, str]:
    return tmp_path, database_url


def _engine(url: str) -> Engine:
    return create_engine(url) if not url.startswith("sqlite") else make_engine(url)


@pytest.mark.parametrize("attempt", range(PAIRS))
def test_two_directory_imports_at_once_both_end_cleanly_and_create_each_unit_once(
        fresh: tuple[Path, str], backend: str, attempt: int) -> None:
    home, url = fresh
    finished = run_together([["units", "import", str(DIRECTORY)]] * 2, home=home, url=url)
    engine = _engine(url)
    units = _scalar(engine, "SELECT count(*) FROM unit")
    created = _scalar(engine, "SELECT count(*) FROM audit_event WHERE action = 'unit.create'")
    engine.dispose()
    crashes = _crashes(finished)
    record(f"concurrent units import ({backend})", tracebacks=crashes,
                 lost=max(0, DIRECTORY_UNITS - units), duplicated=max(0, created - DIRECTORY_UNITS),
                 corrupted=0 if _chain_ok(url) else 1)
    assert (units, created) == (DIRECTORY_UNITS, DIRECTORY_UNITS), [f.stderr for f in finished]
    assert crashes == 0, [f.stderr[-2000:] for f in finished]


@pytest.mark.parametrize("attempt", range(PAIRS))
def test_two_notice_imports_at_once_both_end_cleanly_and_make_one_plan(
        fresh: tuple[Path, str], backend: str, attempt: int) -> None:
    home, url = fresh
    _run("units", "import", str(DIRECTORY), home=home, url=url)
    finished = run_together([["import", str(NOTICE), "--plan-key", "2022"]] * 2, home=home, url=url)
    engine = _engine(url)
    plans = _scalar(engine, "SELECT count(*) FROM plan")
    tasks = _scalar(engine, "SELECT count(*) FROM task")
    imports = _scalar(engine, "SELECT count(*) FROM audit_event WHERE action = 'plan.import'")
    engine.dispose()
    crashes = _crashes(finished)
    record(f"concurrent import ({backend})", tracebacks=crashes,
                 lost=max(0, SEED_TASKS - tasks), duplicated=max(0, tasks - SEED_TASKS) + max(0, plans - 1),
                 corrupted=0 if _chain_ok(url) else 1)
    assert (plans, tasks, imports) == (1, SEED_TASKS, 1)
    assert crashes == 0, [f.stderr[-2000:] for f in finished]


def _plan_imported(home: Path, url: str) -> None:
    _run("units", "import", str(DIRECTORY), home=home, url=url)
    _run("import", str(NOTICE), "--plan-key", "2022", home=home, url=url)


@pytest.mark.parametrize("attempt", range(PAIRS))
def test_two_openings_of_one_round_at_once_open_it_once_and_the_second_says_so(
        fresh: tuple[Path, str], backend: str, attempt: int) -> None:
    home, url = fresh
    _plan_imported(home, url)
    finished = run_together([["round", "open", "--name", "第三季度", "--due", "2022-09-30", "--now", OPENED]] * 2,
                            home=home, url=url)
    engine = _engine(url)
    rounds = _scalar(engine, "SELECT count(*) FROM supervision_round")
    checkins = _scalar(engine, "SELECT count(*) FROM check_in")
    engine.dispose()
    crashes = _crashes(finished)
    record(f"concurrent round open ({backend})", tracebacks=crashes,
                 lost=max(0, ROUND_CHECKINS - checkins),
                 duplicated=max(0, checkins - ROUND_CHECKINS) + max(0, rounds - 1),
                 corrupted=0 if _chain_ok(url) else 1)
    assert crashes == 0, [f.stderr[-2000:] for f in finished]
    assert (rounds, checkins) == (1, ROUND_CHECKINS)
    said = sorted("已开启过" in f.stdout for f in finished)
    assert said == [False, True], [f.stdout for f in finished]  # one opened it, the other found it open


@pytest.mark.parametrize("attempt", range(PAIRS))
def test_two_escalation_runs_at_once_raise_each_stage_once_with_distinct_consecutive_numbers(
        fresh: tuple[Path, str], backend: str, attempt: int) -> None:
    home, url = fresh
    _plan_imported(home, url)
    _run("round", "open", "--name", "第三季度", "--due", "2022-09-30", "--now", OPENED, home=home, url=url)
    finished = run_together([["escalate", "--now", "2022-10-12T10:00:00+08:00"]] * 2, home=home, url=url)
    engine = _engine(url)
    with engine.connect() as connection:
        numbers = [n for (n,) in connection.execute(text("SELECT number FROM escalation"))]
        keys = [k for (k,) in connection.execute(text("SELECT stage_key FROM escalation"))]
    engine.dispose()
    raised = [int(f.stdout.split("本次升级 ")[1].split(" 项")[0]) for f in finished if "本次升级" in f.stdout]
    duplicated_numbers = sum(n - 1 for n in Counter(numbers).values() if n > 1)
    crashes = _crashes(finished)
    record(f"concurrent escalate ({backend})", tracebacks=crashes,
                 duplicated=duplicated_numbers + sum(n - 1 for n in Counter(keys).values() if n > 1),
                 corrupted=0 if _chain_ok(url) else 1)
    assert crashes == 0, [f.stderr[-2000:] for f in finished]
    assert numbers, "the round is overdue past its grace period: something must stall"
    # One run raised everything, the other found every stage fired: nothing is raised twice.
    assert sorted(raised) == [0, len(numbers)]
    # Numbers come from one locked counter per year: 督〔2022〕001号 up, without a gap.
    assert sorted(numbers) == [f"督〔2022〕{n:03d}号" for n in range(1, len(numbers) + 1)]

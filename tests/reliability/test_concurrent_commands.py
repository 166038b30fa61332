"""Two runs of the same command at the same instant, on SQLite and PostgreSQL (issue 18, defect 4).

Each scenario starts two real `duban` processes released together at a barrier
(tests/support/together.py). Both must end with exit 0 and no traceback, the second having waited
for the first and found the work done; the database must hold what one run alone leaves behind.
Every run is one row of the reliability table: lost (rows a single run would have made that are
missing), duplicated (rows beyond that), corrupted (an audit chain that does not verify),
tracebacks (a process that crashed or printed one).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, create_engine, text

from models.audit import verify_chain
from models.db import make_engine, reading
from tests.reliability.table import full, record, runs
from tests.support.cli import DUBAN, duban
from tests.support.together import AtTheBarrier, Finished, environment, run_together

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
    assert result.returncode == 0 and "Traceback" not in result.stderr, (
        result.stdout + result.stderr
    )
    return result.stdout


def _crashes(finished: list[Finished]) -> int:
    """Processes that printed a traceback or ended with a non-zero exit (both a failure here: the
    second run must wait and succeed)."""
    return sum(1 for f in finished if f.returncode != 0 or f.traceback)


def _scalar(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar() or 0)


def _engine(url: str) -> Engine:
    return create_engine(url) if not url.startswith("sqlite") else make_engine(url)


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


_TEMPLATES: dict[
    tuple[str, str], str
] = {}  # (backend, stage) -> a SQLite file or a PostgreSQL database name


def _populate(url: str, stage: str, home: Path) -> None:
    """The directory ("units"), the seed notice too ("imported"), and the round opened ("opened"),
    in-process: three CLI start-ups per test would cost more than the scenario itself."""
    from config import Settings
    from intake.directory import read_directory, sync_directory
    from intake.plan_import import reconcile, resolve
    from intake.source import read_notice
    from models.clock import parse_moment
    from models.db import unit_of_work
    from models.rounds import open_round
    from tests.support.scenario import OFFICE

    settings = Settings(home=home)
    engine = make_engine(url)
    moment = parse_moment(OPENED, timezone="Asia/Shanghai")
    with unit_of_work(engine) as session:
        sync_directory(session, read_directory(DIRECTORY), actor=OFFICE, now=moment)
    if stage in ("imported", "opened"):
        with unit_of_work(engine) as session:
            reconcile(
                session,
                "2022",
                resolve(session, read_notice(NOTICE)),
                actor=OFFICE,
                now=moment,
                write=True,
            )
    if stage == "opened":
        with unit_of_work(engine) as session:
            open_round(
                session,
                plan_key="2022",
                name="第三季度",
                report_by=date(2022, 9, 30),
                actor=OFFICE,
                now=moment,
                cooperating_lead_days=settings.cycle.cooperating_lead_days,
                timezone=settings.timezone,
            )
    engine.dispose()


def _from_template(
    request: pytest.FixtureRequest, backend: str, stage: str, tmp_path: Path
) -> Iterator[str]:
    from tests.conftest import _autocommit, _postgres_database

    if backend == "sqlite":
        if (backend, stage) not in _TEMPLATES:
            folder = request.getfixturevalue("tmp_path_factory").mktemp(f"reliability-{stage}")
            shutil.copyfile(request.getfixturevalue("sqlite_template"), folder / "duban.db")
            _populate(f"sqlite:///{folder / 'duban.db'}", stage, folder)
            _TEMPLATES[(backend, stage)] = str(folder / "duban.db")
        shutil.copyfile(_TEMPLATES[(backend, stage)], tmp_path / "duban.db")
        yield f"sqlite:///{tmp_path / 'duban.db'}"
        return
    server = request.getfixturevalue("postgres_template").rsplit("/", 1)[0]
    name = f"duban_reliability_{stage}"
    if (backend, stage) not in _TEMPLATES:
        admin = _autocommit(f"{server}/postgres")
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            connection.execute(text(f"CREATE DATABASE {name} TEMPLATE duban_template"))
        admin.dispose()
        _populate(f"{server}/{name}", stage, tmp_path)
        _TEMPLATES[(backend, stage)] = name
    yield from _postgres_database(f"{server}/postgres", template=name)


@pytest.fixture
def directory(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> Iterator[tuple[Path, str]]:
    """The unit directory imported."""
    for url in _from_template(request, backend, "units", tmp_path):
        yield tmp_path, url


@pytest.fixture
def imported(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> Iterator[tuple[Path, str]]:
    """The directory and the seed notice imported."""
    for url in _from_template(request, backend, "imported", tmp_path):
        yield tmp_path, url


@pytest.fixture
def opened(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> Iterator[tuple[Path, str]]:
    """The directory and the seed notice imported, and the round 第三季度 opened on 19 September."""
    for url in _from_template(request, backend, "opened", tmp_path):
        yield tmp_path, url


@pytest.mark.parametrize("attempt", range(PAIRS))
def test_two_directory_imports_at_once_both_end_cleanly_and_create_each_unit_once(
    fresh: tuple[Path, str], backend: str, attempt: int
) -> None:
    home, url = fresh
    finished = run_together([["units", "import", str(DIRECTORY)]] * 2, home=home, url=url)
    engine = _engine(url)
    units = _scalar(engine, "SELECT count(*) FROM unit")
    created = _scalar(engine, "SELECT count(*) FROM audit_event WHERE action = 'unit.create'")
    engine.dispose()
    crashes = _crashes(finished)
    record(
        f"concurrent units import ({backend})",
        tracebacks=crashes,
        lost=max(0, DIRECTORY_UNITS - units),
        duplicated=max(0, created - DIRECTORY_UNITS),
        corrupted=0 if _chain_ok(url) else 1,
    )
    assert (units, created) == (DIRECTORY_UNITS, DIRECTORY_UNITS), [f.stderr for f in finished]
    assert crashes == 0, [f.stderr[-2000:] for f in finished]


@pytest.mark.parametrize("attempt", range(PAIRS))
def test_two_notice_imports_at_once_both_end_cleanly_and_make_one_plan(
    directory: tuple[Path, str], backend: str, attempt: int
) -> None:
    home, url = directory
    finished = run_together([["import", str(NOTICE), "--plan-key", "2022"]] * 2, home=home, url=url)
    engine = _engine(url)
    plans = _scalar(engine, "SELECT count(*) FROM plan")
    tasks = _scalar(engine, "SELECT count(*) FROM task")
    imports = _scalar(engine, "SELECT count(*) FROM audit_event WHERE action = 'plan.import'")
    engine.dispose()
    crashes = _crashes(finished)
    record(
        f"concurrent import ({backend})",
        tracebacks=crashes,
        lost=max(0, SEED_TASKS - tasks),
        duplicated=max(0, tasks - SEED_TASKS) + max(0, plans - 1),
        corrupted=0 if _chain_ok(url) else 1,
    )
    assert (plans, tasks, imports) == (1, SEED_TASKS, 1)
    assert crashes == 0, [f.stderr[-2000:] for f in finished]


@pytest.mark.parametrize("attempt", range(PAIRS))
def test_two_openings_of_one_round_at_once_open_it_once_and_the_second_says_so(
    imported: tuple[Path, str], backend: str, attempt: int
) -> None:
    home, url = imported
    finished = run_together(
        [["round", "open", "--name", "第三季度", "--due", "2022-09-30", "--now", OPENED]] * 2,
        home=home,
        url=url,
    )
    engine = _engine(url)
    rounds = _scalar(engine, "SELECT count(*) FROM supervision_round")
    checkins = _scalar(engine, "SELECT count(*) FROM check_in")
    engine.dispose()
    crashes = _crashes(finished)
    record(
        f"concurrent round open ({backend})",
        tracebacks=crashes,
        lost=max(0, ROUND_CHECKINS - checkins),
        duplicated=max(0, checkins - ROUND_CHECKINS) + max(0, rounds - 1),
        corrupted=0 if _chain_ok(url) else 1,
    )
    assert crashes == 0, [f.stderr[-2000:] for f in finished]
    assert (rounds, checkins) == (1, ROUND_CHECKINS)
    said = sorted("已开启过" in f.stdout for f in finished)
    assert said == [False, True], [
        f.stdout for f in finished
    ]  # one opened it, the other found it open


@pytest.mark.parametrize("attempt", range(PAIRS))
def test_two_escalation_runs_at_once_raise_each_stage_once_with_distinct_consecutive_numbers(
    opened: tuple[Path, str], backend: str, attempt: int
) -> None:
    home, url = opened
    finished = run_together(
        [["escalate", "--now", "2022-10-12T10:00:00+08:00"]] * 2, home=home, url=url
    )
    engine = _engine(url)
    with engine.connect() as connection:
        numbers = [n for (n,) in connection.execute(text("SELECT number FROM escalation"))]
        keys = [k for (k,) in connection.execute(text("SELECT stage_key FROM escalation"))]
    engine.dispose()
    raised = [
        int(f.stdout.split("本次升级 ")[1].split(" 项")[0])
        for f in finished
        if "本次升级" in f.stdout
    ]
    duplicated_numbers = sum(n - 1 for n in Counter(numbers).values() if n > 1)
    crashes = _crashes(finished)
    record(
        f"concurrent escalate ({backend})",
        tracebacks=crashes,
        duplicated=duplicated_numbers + sum(n - 1 for n in Counter(keys).values() if n > 1),
        corrupted=0 if _chain_ok(url) else 1,
    )
    assert crashes == 0, [f.stderr[-2000:] for f in finished]
    assert numbers, "the round is overdue past its grace period: something must stall"
    # One run raised everything, the other found every stage fired: nothing is raised twice.
    assert sorted(raised) == [0, len(numbers)]
    # Numbers come from one locked counter per year: 督〔2022〕001号 up, without a gap.
    assert sorted(numbers) == [f"督〔2022〕{n:03d}号" for n in range(1, len(numbers) + 1)]


@pytest.mark.parametrize("attempt", range(PAIRS))
def test_while_a_report_compiles_readers_answer_and_a_unit_can_still_sign(
    opened: tuple[Path, str], backend: str, attempt: int
) -> None:
    """The others run with a busy timeout of 1 s, far less than the compile takes: before the fix
    the report held the write lock from its first read to its last write, and the signature
    failed."""
    home, url = opened
    out = home / "通报"
    others = AtTheBarrier(
        [
            [
                "sign",
                "--task",
                "12",
                "--unit",
                "市市场监管局",
                "--now",
                "2022-09-20T10:00:00+08:00",
            ],
            ["status"],
            ["round", "list"],
        ],
        home=home,
        url=url,
        DUBAN_SQLITE_BUSY_TIMEOUT_MS="1000",
    )
    report = subprocess.Popen(
        [
            DUBAN,
            "report",
            "--round",
            "第三季度",
            "--out",
            str(out),
            "--now",
            "2022-10-14T18:00:00+08:00",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=environment(home, url),
    )
    deadline = time.monotonic() + 120
    while (
        not list(out.glob(".compiling-*")) and report.poll() is None and time.monotonic() < deadline
    ):
        time.sleep(0.005)
    midway = report.poll() is None  # the others start while the files are being written
    finished = others.finish()
    report_out, report_err = report.communicate(timeout=180)
    finished.append(Finished(("report",), report.returncode, report_out, report_err))
    crashes = _crashes(finished)
    engine = _engine(url)
    signed = _scalar(
        engine, "SELECT count(*) FROM audit_event WHERE action LIKE 'assignment.sign%'"
    )
    reports = _scalar(engine, "SELECT count(*) FROM results_report")
    engine.dispose()
    record(
        f"reader and writer during a report ({backend})",
        tracebacks=crashes,
        lost=(1 - min(signed, 1)) + (1 - min(reports, 1)),
        duplicated=max(0, reports - 1),
        corrupted=0 if _chain_ok(url) else 1,
        note=None if midway else "the report ended before the others began",
    )
    assert crashes == 0, [(f.args, f.stderr[-2000:]) for f in finished]
    assert midway, "the report finished before the others started: nothing was tested"
    assert (signed, reports) == (1, 1)


@pytest.mark.skipif(not full(), reason="full run only (make reliability)")
@pytest.mark.parametrize("attempt", range(3))
def test_a_directory_import_and_a_notice_import_at_once_create_each_unit_once(
    fresh: tuple[Path, str], backend: str, attempt: int
) -> None:
    """Both create the units the notice names; whichever runs second finds them (full run only)."""
    home, url = fresh
    finished = run_together(
        [["units", "import", str(DIRECTORY)], ["import", str(NOTICE), "--plan-key", "2022"]],
        home=home,
        url=url,
    )
    crashes = _crashes(finished)
    engine = _engine(url)
    names = _scalar(engine, "SELECT count(*) FROM unit")
    distinct = _scalar(engine, "SELECT count(DISTINCT name) FROM unit")
    tasks = _scalar(engine, "SELECT count(*) FROM task")
    engine.dispose()
    record(
        f"directory and notice import at once ({backend})",
        tracebacks=crashes,
        duplicated=names - distinct,
        lost=max(0, SEED_TASKS - tasks),
        corrupted=0 if _chain_ok(url) else 1,
    )
    assert crashes == 0, [f.stderr[-2000:] for f in finished]
    assert tasks == SEED_TASKS and names == distinct

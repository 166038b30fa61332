"""The cycle at province scale: open_round, send_reminders, escalate_stalled, compile_results on
100,000 assignments.

Targets (cycle issue), on SQLite with 2,000 units and 100,000 assignments:
open_round < 10 s, send_reminders < 5 s, escalate_stalled < 5 s, each within
3x of a raw executemany of the rows it writes, measured in the same run.
compile_results (results issue): all four formats < 20 s; its baseline is a raw
fetch of the rows it reads.
Also the one-shot CLI commands on the seed (< 3 s median each).

    python -m bench.cycle [--runs N] [--tasks N] [--units N] [--postgres] [--json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

from bench.common import (
    COLUMNS,
    backends,
    fresh_database,
    in_child,
    postgres,
    report,
    timed_process,
)
from bench.synthetic import climb_ladder, populate
from config import Settings
from models.db import make_engine, reading, unit_of_work
from models.lifecycle import SYSTEM_ACTOR
from models.reminders import send_reminders
from models.rounds import open_round
from models.schema import upgrade

CST = ZoneInfo("Asia/Shanghai")
# The ladder's runs after the round's due day: Monday 10, Wednesday 12 and Friday 14 October 2022,
# two working days apart (escalation_step_days): blue, yellow, red.
LADDER = [datetime(2022, 10, day, 10, tzinfo=CST) for day in (10, 12, 14)]
ROOT = Path(__file__).resolve().parent.parent
DUBAN = str(Path(sys.executable).parent / "duban")


def _raw(url: str, table: str, rows: int, columns: str, values: str) -> float:
    """executemany of `rows` rows into `table` through the DBAPI: what the database itself can
    do."""
    engine = make_engine(url)
    raw = engine.raw_connection()
    placeholder = "?" if engine.dialect.name == "sqlite" else "%s"
    statement = (
        f"INSERT INTO {table} ({columns}) VALUES "
        f"({', '.join([placeholder] * len(columns.split(',')))})"
    )
    params = [tuple(eval(values, {"i": i})) for i in range(rows)]
    started = time.perf_counter()
    cursor = raw.cursor()
    if engine.dialect.name == "sqlite":
        cursor.execute("BEGIN IMMEDIATE")
    cursor.executemany(statement, params)
    raw.commit()
    elapsed = time.perf_counter() - started
    raw.close()
    engine.dispose()
    return elapsed


def step_open(url: str) -> dict[str, int]:
    with unit_of_work(make_engine(url)) as session:
        opened = open_round(
            session,
            plan_key="bench",
            name="r",
            report_by=date(2022, 9, 30),
            actor=SYSTEM_ACTOR,
            now=datetime(2022, 9, 19, 9, tzinfo=CST),
            cooperating_lead_days=2,
        )
        return {"checkins": opened.checkins, "notices": opened.notices}


def step_remind(url: str, home: str) -> dict[str, int]:
    with unit_of_work(make_engine(url)) as session:
        run = send_reminders(
            session,
            now=datetime(2022, 9, 27, 10, tzinfo=CST),
            settings=Settings(home=Path(home)),
            actor=SYSTEM_ACTOR,
        )
        return {"enqueued": run.enqueued}


def step_escalate(url: str, home: str) -> dict[str, int]:
    """One ladder run, on Monday 10 October (the round was due on 30 September)."""
    (raised,) = climb_ladder(make_engine(url), Settings(home=Path(home)), [LADDER[0]])
    return raised


def step_file(url: str) -> dict[str, int]:
    """Set-up for compile_results, not measured: units file 70% of the round's check-ins (a tenth of
    them late, a tenth returned, half of the completion reports accepted), written as the audit
    events and check-in columns the use cases would leave. Calling the use case 70,000 times would
    take an hour."""
    import random

    from sqlalchemy import bindparam, update
    from sqlmodel import select

    from models import audit
    from models.assignment import Assignment
    from models.round import CheckIn

    rng = random.Random(11)
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        rows = session.exec(
            select(
                CheckIn.id,
                CheckIn.assignment_id,
                CheckIn.due_on,
                Assignment.task_id,
                Assignment.unit_id,
            ).join(Assignment, Assignment.id == CheckIn.assignment_id)
        ).all()
        events, filed = [], []
        for checkin_id, assignment_id, due_on, task_id, unit_id in rows:
            where = {"task_id": task_id, "unit_id": unit_id}
            if rng.random() > 0.7:
                continue
            late = rng.random() < 0.1
            at = (
                datetime(2022, 9, 29 if not late else 30, 10, tzinfo=CST)
                if due_on.day >= 28
                else datetime(2022, 9, 27, 10, tzinfo=CST)
            )
            if late:
                at = datetime(2022, 10, 8, 10, tzinfo=CST)
            completed = rng.random() < 0.4
            percent = 100 if completed else rng.randrange(10, 90, 10)
            text_ = f"已推进第{percent}%工作"
            events.append(
                {
                    "at": at,
                    "actor": "bench",
                    "action": "assignment.progress",
                    "object_type": "assignment",
                    "object_id": assignment_id,
                    "before": {"state": "assigned"},
                    **where,
                    "after": {"state": "in_progress", "version": 2, "rework_count": 0},
                }
            )
            events.append(
                {
                    "at": at,
                    "actor": "bench",
                    "action": "checkin.submit",
                    "object_type": "checkin",
                    "object_id": checkin_id,
                    "before": {"state": "pending"},
                    **where,
                    "after": {
                        "state": "submitted",
                        "completed": completed,
                        "percent": percent,
                        "text": text_,
                        "milestone": None,
                        "problems": "需协调经费" if rng.random() < 0.05 else None,
                        "evidence": 0,
                    },
                }
            )
            review = rng.random()
            if review < 0.1:
                events.append(
                    {
                        "at": at.replace(day=10, month=10),
                        "actor": "bench",
                        "action": "checkin.return",
                        "object_type": "checkin",
                        "object_id": checkin_id,
                        "after": {"state": "returned"},
                        **where,
                        "reason": "材料不全",
                    }
                )
            elif completed and review < 0.6:
                events.append(
                    {
                        "at": at.replace(day=10, month=10),
                        "actor": "bench",
                        "action": "assignment.verify",
                        "object_type": "assignment",
                        "object_id": assignment_id,
                        **where,
                        "after": {"state": "verified", "version": 3, "rework_count": 0},
                    }
                )
            filed.append({"id": checkin_id, "text": text_, "percent": percent})
        events.sort(key=lambda e: e["at"])
        audit.record_many(session, events)
        table = CheckIn.__table__
        statement = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(text=bindparam("b_text"), percent=bindparam("b_percent"), state="submitted")
        )
        session.connection().execute(
            statement,
            [{"b_id": f["id"], "b_text": f["text"], "b_percent": f["percent"]} for f in filed],
        )
        return {"events": len(events), "filed": len(filed)}


def step_compile(url: str, home: str) -> dict[str, int]:
    from sqlmodel import select

    from models.plan import Plan
    from models.round import SupervisionRound
    from reports.compile import FORMATS, compile_report

    settings = Settings(home=Path(home))
    with unit_of_work(make_engine(url)) as session:
        round_ = session.exec(select(SupervisionRound).where(SupervisionRound.name == "r")).one()
        compiled = compile_report(
            session,
            plan=session.get(Plan, round_.plan_id),
            round_=round_,
            as_of=datetime(2022, 10, 14, 18, tzinfo=CST),
            formats=list(FORMATS),
            out_dir=Path(home) / "reports",
            settings=settings,
            actor=SYSTEM_ACTOR,
            now=datetime(2022, 10, 15, 9, tzinfo=CST),
        )
        return {
            "bytes": sum(p.stat().st_size for p in compiled.files),
            "items": len(compiled.results.items),
        }


def step_score(url: str, home: str) -> dict[str, int]:
    """考核: every unit's score, rank and the 红黑榜 of the round, as of the day the 通报 is
    compiled for (the same replay, no files)."""
    from sqlmodel import select

    from models.plan import Plan
    from models.round import SupervisionRound
    from reports.compile import scores_as_of

    settings = Settings(home=Path(home))
    with reading(make_engine(url)) as session:
        round_ = session.exec(select(SupervisionRound).where(SupervisionRound.name == "r")).one()
        results = scores_as_of(
            session,
            plan=session.get(Plan, round_.plan_id),
            round_=round_,
            as_of=datetime(2022, 10, 14, 18, tzinfo=CST),
            settings=settings,
            now=datetime(2022, 10, 15, 9, tzinfo=CST),
        )
        return {"units": len(results.scores.units)}


def step_cadence(url: str, home: str) -> dict[str, int]:
    """The next period's round opened by the cadence, as the scheduled `open_round` flow does it:
    the plan reports by the 25th from October, and on 24 October (due the 25th, opened ten working
    days before) that period's round opens for every task still reporting."""
    from models.cadence import open_due_rounds, set_cadence

    settings = Settings(home=Path(home))
    now = datetime(2022, 10, 24, 8, 45, tzinfo=CST)
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        set_cadence(
            session,
            plan_key="bench",
            cadence="monthly",
            day=25,
            adjust="later",
            start=date(2022, 10, 1),
            until=None,
            task_numbers=None,
            actor=SYSTEM_ACTOR,
            now=now,
        )
    started = time.perf_counter()
    with unit_of_work(engine) as session:
        opened = open_due_rounds(session, now=now, settings=settings, actor=SYSTEM_ACTOR)
    took = time.perf_counter() - started
    return {
        "checkins": sum(o.checkins for o in opened),
        "notices": sum(o.notices for o in opened),
        "rounds": sum(1 for o in opened if o.created),
        "micros": int(took * 1_000_000),
    }


def _raw_read(url: str) -> float:
    """What compile_results reads, fetched through the DBAPI with nothing done to it: the database's
    limit."""
    engine = make_engine(url)
    raw = engine.raw_connection()
    started = time.perf_counter()
    cursor = raw.cursor()
    for query in (
        "SELECT a.id, a.task_id, a.role, t.number, t.title, u.name FROM assignment a "
        "JOIN task t ON t.id = a.task_id JOIN unit u ON u.id = a.unit_id",
        "SELECT * FROM check_in",
        "SELECT at, action, object_id, task_id, unit_id, after FROM audit_event "
        "WHERE action LIKE 'assignment.%' OR action LIKE 'checkin.%' OR action LIKE 'escalation.%'",
    ):
        cursor.execute(query)
        cursor.fetchall()
    elapsed = time.perf_counter() - started
    raw.close()
    engine.dispose()
    return elapsed


def one_run(url: str, home: Path, tasks: int, units: int) -> dict[str, tuple[float, float, float]]:
    """Each step in a process of its own: (seconds, baseline seconds, peak MB)."""
    engine = make_engine(url)
    upgrade(engine)
    counts = populate(engine, tasks=tasks, units=units)
    engine.dispose()
    open_s, opened, open_mb = in_child("bench.cycle:step_open", url)
    remind_s, reminded, remind_mb = in_child("bench.cycle:step_remind", url, str(home))
    escalate_s, escalated, escalate_mb = in_child("bench.cycle:step_escalate", url, str(home))
    in_child("bench.cycle:step_file", url)
    compile_s, _, compile_mb = in_child("bench.cycle:step_compile", url, str(home))
    score_s, _, score_mb = in_child("bench.cycle:step_score", url, str(home))
    _, cadence, cadence_mb = in_child("bench.cycle:step_cadence", url, str(home))
    n = counts["assignments"]
    notification = (
        "notification",
        "dedup_key, kind, recipient_email, lang, subject, body_text, payload, status, "
        "attempts, next_attempt_at, created_at",
        "[f'raw{i}', 'k', 'a@b.c', 'zh', '', '', '{}', 'pending', 0, '2022-09-19 01:00:00', "
        "'2022-09-19 01:00:00']",
    )
    audit_row = (
        "audit_event",
        "seq, at, actor, action, object_type, object_id, outcome, prev_hash, hash",
        "[10_000_000 + i, '2022-09-19 01:00:00', 'raw', 'x', 'x', 'x', 'ok', '0' * 64, '0' * 64]",
    )
    escalation = (
        "escalation",
        "stage_key, assignment_id, round_id, level, stall, reason, number, opened_at",
        "[f'raw{i}', i + 1, 1, 1, 'overdue', 'x', f'raw{i}', '2022-10-10 02:00:00']",
    )
    # Each baseline writes as many rows of each table as the step did (keys chosen not to collide).
    raw_open = _raw_open(url, n, opened["notices"])
    raw_remind = _raw(
        url,
        notification[0],
        reminded["enqueued"],
        notification[1],
        notification[2].replace("raw", "rawr"),
    ) + _raw(
        url,
        audit_row[0],
        reminded["enqueued"],
        audit_row[1],
        audit_row[2].replace("10_000_000", "20_000_000"),
    )
    raw_escalate = _raw(
        url, escalation[0], escalated["raised"], escalation[1], escalation[2]
    ) + _raw(
        url,
        audit_row[0],
        escalated["raised"],
        audit_row[1],
        audit_row[2].replace("10_000_000", "30_000_000"),
    )
    return {
        "open_round": (open_s, raw_open, open_mb),
        "send_reminders": (remind_s, raw_remind, remind_mb),
        "escalate_stalled": (escalate_s, raw_escalate, escalate_mb),
        "compile_results (4 formats)": (compile_s, _raw_read(url), compile_mb),
        "score (考核)": (score_s, _raw_read(url), score_mb),
        "open_due_rounds (报送周期)": (
            cadence["micros"] / 1_000_000,  # the opening alone, not setting the cadence
            _raw_open(url, cadence["checkins"], cadence["notices"], name="rawc"),
            cadence_mb,
        ),
        "_scale": (n, 0, 0),
    }


CURVE_COLUMNS = [
    ("measure", "name"),
    ("assignments", "scale"),
    ("median s", "median_s"),
    ("s per 1,000 assignments", "per_1k_s"),
    ("peak MB", "peak_mb"),
]


def curve(runs: int, scales: tuple[int, ...] = (20, 200, 2000)) -> list[dict[str, object]]:
    """The same steps at 1,000, 10,000 and 100,000 assignments (tasks × about 50 units each), on
    SQLite."""
    results = []
    for tasks in scales:
        for row in summary(runs, "sqlite", None, tasks, max(100, tasks)):
            results.append(
                row
                | {
                    "name": f"{row['name']}, scale curve",
                    "target_s": None,
                    "per_1k_s": round(row["median_s"] / row["scale"] * 1000, 4),
                }
            )
    return results


def _raw_open(url: str, n: int, notices: int, name: str = "raw") -> float:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO supervision_round (plan_id, name, report_by, scope, state, "
                "opened_at, opened_by) "
                "VALUES (1, :name, '2022-09-30', '{}', 'closed', '2022-09-19 01:00:00', 'raw')"
            ),
            {"name": name},
        )
        round_id = connection.execute(
            text("SELECT id FROM supervision_round WHERE name = :name"), {"name": name}
        ).scalar()
    engine.dispose()
    return _raw(
        url,
        "check_in",
        n,
        "round_id, assignment_id, due_on, state, evidence, completed",
        f"[{round_id}, i + 1, '2022-09-30', 'pending', '[]', False]",
    ) + _raw(
        url,
        "notification",
        notices,
        "dedup_key, kind, recipient_email, lang, subject, body_text, payload, status, "
        "attempts, next_attempt_at, created_at",
        f"[f'{name}o{{i}}', 'k', 'a@b.c', 'zh', '', '', '{{}}', 'pending', 0, "
        "'2022-09-19 01:00:00', '2022-09-19 01:00:00']",
    )


def cli_seed(runs: int) -> list[dict[str, object]]:
    """Median of each one-shot cycle command on the seed (a fresh SQLite database each run)."""
    timings: dict[str, list[tuple[float, float]]] = {}
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="duban-bench-") as home:
            env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")} | {
                "DUBAN_HOME": home
            }

            def run(*args: str, env: dict[str, str] = env) -> tuple[float, float]:
                return timed_process([DUBAN, *args], env)

            run("init")
            run("units", "import", str(ROOT / "config/units/rugao.yaml"))
            run("import", str(ROOT / "tests/fixtures/seed-notice.txt"), "--plan-key", "2022")
            steps = {
                "duban round open": (
                    "round",
                    "open",
                    "--name",
                    "r",
                    "--due",
                    "2022-09-30",
                    "--now",
                    "2022-09-19T09:00:00+08:00",
                ),
                "duban remind": ("remind", "--now", "2022-09-27T10:00:00+08:00"),
                "duban checkin submit": (
                    "checkin",
                    "submit",
                    "--task",
                    "12",
                    "--unit",
                    "市市场监管局",
                    "--text",
                    "x",
                    "--completed",
                    "--now",
                    "2022-09-27T11:00:00+08:00",
                ),
                "duban escalate": ("escalate", "--now", "2022-10-10T10:00:00+08:00"),
                "duban dispatch": ("dispatch", "--now", "2022-10-10T10:05:00+08:00"),
                "duban status": ("status",),
            }
            for name, args in steps.items():
                timings.setdefault(name, []).append(run(*args))
    return [
        {
            "name": f"{name} (seed)",
            "backend": "sqlite",
            "scale": 98,
            "median_s": round(statistics.median(s[0] for s in samples), 3),
            "baseline_s": None,
            "baseline_is": None,
            "ratio": None,
            "peak_mb": max(s[1] for s in samples),
            "target_s": 3.0,
        }
        for name, samples in timings.items()
    ]


TARGETS = {
    "open_round": 10.0,
    "send_reminders": 5.0,
    "escalate_stalled": 5.0,
    "compile_results (4 formats)": 20.0,
    "score (考核)": 5.0,
    "open_due_rounds (报送周期)": 10.0,
}
BASELINES = {
    "open_round": "executemany of the check-ins and notices",
    "send_reminders": "executemany of the digests and audit rows",
    "escalate_stalled": "executemany of the escalations and audit rows",
    "compile_results (4 formats)": "raw fetch of the rows it reads",
    "score (考核)": "raw fetch of the rows it reads",
    "open_due_rounds (报送周期)": "executemany of the check-ins and notices",
}


def summary(
    runs: int, backend: str, server_url: str | None, tasks: int, units: int
) -> list[dict[str, object]]:
    """Each step over `runs` fresh databases: median seconds, median baseline, largest peak."""
    samples: dict[str, list[tuple[float, float, float]]] = {}
    scale = 0
    for run in range(runs):
        with tempfile.TemporaryDirectory(prefix="duban-bench-") as folder:
            url = (
                f"sqlite:///{folder}/cycle.db"
                if backend == "sqlite"
                else fresh_database(server_url, f"bench_cycle_{run}")
            )
            measured = one_run(url, Path(folder), tasks, units)
            scale = measured.pop("_scale")[0]
            for name, triple in measured.items():
                samples.setdefault(name, []).append(triple)
    results: list[dict[str, object]] = []
    for name, triples in samples.items():
        median = statistics.median(t[0] for t in triples)
        baseline = statistics.median(t[1] for t in triples)
        results.append(
            {
                "name": name,
                "backend": backend,
                "scale": scale,
                "median_s": round(median, 3),
                "baseline_s": round(baseline, 3),
                "baseline_is": BASELINES[name],
                "ratio": round(median / baseline, 1),
                "peak_mb": max(t[2] for t in triples),
                "target_s": TARGETS[name],
            }
        )
    return results


def measure(
    runs: int, tasks: int, units: int, postgres_url: str | None, cli: bool = True
) -> list[dict[str, object]]:
    """The four steps on SQLite (and PostgreSQL), each the median of `runs`; then the CLI commands
    on the seed."""
    results: list[dict[str, object]] = []
    for backend, server_url in backends(postgres_url):
        results.extend(summary(runs, backend, server_url, tasks, units))
    if cli:
        results.extend(cli_seed(runs))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument(
        "--curve", action="store_true", help="1k, 10k and 100k assignments: how cost grows"
    )
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    if options.curve:
        report(curve(options.runs), options.json, CURVE_COLUMNS)
        return
    with postgres(options.postgres) as admin:
        results = measure(options.runs, options.tasks, options.units, admin)
    report(results, options.json, COLUMNS)


if __name__ == "__main__":
    main()

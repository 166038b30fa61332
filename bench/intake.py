"""Import speed: the seed notice, a 5,000-task spreadsheet and a 200-page text PDF, beside a raw
executemany of the same rows.

Targets (import issue): the seed < 1 s after start-up; 5,000 tasks < 10 s (and within 2x the
executemany); a 200-page text PDF < 10 s. The PDF is typeset by LibreOffice from a synthetic notice
(one page per 25 tasks of the spreadsheet's scale: 200 pages at 5,000); without soffice that measure
is left out.
Each measure is the median of several runs on a fresh database; the baseline
inserts the same number of task, measure, assignment and audit rows with
one DBAPI executemany per table (what the database itself can do).

    python -m bench.intake [--runs N] [--tasks N] [--postgres] [--json]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from bench.common import COLUMNS, backends, fresh_database, in_child, postgres, report
from bench.synthetic import write_prose_pdf, write_xlsx
from intake.plan_import import reconcile, resolve
from intake.source import read_notice
from models.clock import utc_now
from models.db import make_engine, unit_of_work
from models.lifecycle import Actor, Role
from models.schema import upgrade

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "tests" / "fixtures" / "seed-notice.txt"
ACTOR = Actor(name="bench", role=Role.OFFICE_ADMIN)


def _import(url: str, path: Path) -> tuple[float, dict[str, int]]:
    engine = make_engine(url)
    started = time.perf_counter()
    notice = read_notice(path)
    with unit_of_work(engine) as session:
        resolved = resolve(session, notice)
        outcome = reconcile(session, "bench", resolved, actor=ACTOR, now=utc_now(), write=True)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed, outcome.counts


def _baseline(url: str, counts: dict[str, int]) -> float:
    """executemany of as many rows as the import wrote, table by table, on the same schema."""
    engine = make_engine(url)
    now = utc_now().replace(tzinfo=None).isoformat(sep=" ")
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO plan (key, title, created_at) VALUES ('raw', 'raw', :now)"),
            {"now": now},
        )
        plan_id = connection.execute(text("SELECT id FROM plan WHERE key = 'raw'")).scalar()
        connection.execute(
            text("INSERT INTO task (plan_id, number, title, content) VALUES (:p, :n, :t, :c)"),
            [
                {"p": plan_id, "n": n, "t": f"任务{n}", "c": "内容。" * 20}
                for n in range(counts["tasks"])
            ],
        )
        first_task = connection.execute(
            text("SELECT min(id) FROM task WHERE plan_id = :p"), {"p": plan_id}
        ).scalar()
        unit_ids = [r[0] for r in connection.execute(text("SELECT id FROM unit"))]
        connection.execute(
            text("INSERT INTO measure (task_id, seq, text, targets) VALUES (:t, :s, :x, '[]')"),
            [
                {"t": first_task + i % counts["tasks"], "s": 1000 + i, "x": "措施。" * 10}
                for i in range(counts["measures"])
            ],
        )
        rows = [
            {
                "t": first_task + i % counts["tasks"],
                "u": unit_ids[(i // counts["tasks"]) % len(unit_ids)],
                "now": now,
            }
            for i in range(counts["assignments"])
        ]
        connection.execute(
            text(
                "INSERT INTO assignment (task_id, unit_id, role, state, version, "
                "rework_count, created_at) "
                "VALUES (:t, :u, 'responsible', 'assigned', 1, 0, :now)"
            ),
            rows,
        )
        events = counts["tasks"] + counts["assignments"] + 1
        connection.execute(
            text(
                "INSERT INTO audit_event (seq, at, actor, action, object_type, object_id, "
                "outcome, prev_hash, hash) "
                "VALUES (:s, :now, 'raw', 'x', 'x', 'x', 'ok', :h, :h)"
            ),
            [{"s": 10_000_000 + i, "now": now, "h": "0" * 64} for i in range(events)],
        )
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed


def measure(runs: int, tasks: int, postgres_url: str | None) -> list[dict[str, object]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="duban-bench-") as folder:
        sheet = write_xlsx(Path(folder) / f"plan-{tasks}.xlsx", tasks, units=200)
        files: list[tuple[str, Path, float]] = [
            ("import seed (16 tasks)", SEED, 1.0),
            (f"import xlsx ({tasks} tasks)", sheet, 10.0),
        ]
        pdf = write_prose_pdf(Path(folder) / "plan.pdf", pages=max(20, tasks // 25), units=200)
        if pdf is not None:
            files.append((f"import text PDF ({_pages(pdf)} pages)", pdf, 10.0))
        for backend, server in backends(postgres_url):
            for name, path, target in files:
                times, baselines, peaks, counts = [], [], [], {}
                for run in range(runs):
                    url = _fresh(backend, server, folder, f"{backend}-{run}-{path.stem}")
                    _, (elapsed, counts), peak = in_child("bench.intake:_import", url, path)
                    times.append(elapsed)
                    peaks.append(peak)
                    baselines.append(_baseline(url, counts))
                median, baseline = statistics.median(times), statistics.median(baselines)
                results.append(
                    {
                        "name": name,
                        "backend": backend,
                        "scale": counts["assignments"],
                        "median_s": round(median, 3),
                        "baseline_s": round(baseline, 3),
                        "baseline_is": "executemany of the same rows",
                        "ratio": round(median / baseline, 1),
                        "peak_mb": max(peaks),
                        "target_s": target,
                    }
                )
    return results


def _pages(pdf: Path) -> int:
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        return len(document)
    finally:
        document.close()


def _fresh(backend: str, server: str | None, folder: str, name: str) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{folder}/{name}.db"
    else:
        url = fresh_database(
            server, "bench_" + "".join(c if c.isalnum() else "_" for c in name).lower()
        )
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument(
        "--postgres", action="store_true", help="also on a throwaway PostgreSQL server"
    )
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    with postgres(options.postgres) as admin:
        results = measure(options.runs, options.tasks, admin)
    report(results, options.json, COLUMNS)


if __name__ == "__main__":
    main()

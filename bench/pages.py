"""Every page of the portal under load, at 100,000 assignments: each page's server time and size.

Target (portal issue 16): every page's server time p95 < 100 ms with 8 clients, and no page over
200 KB of HTML. The server time is the `Server-Timing` header (web/middleware.py): request in to
response out inside the server, which is what a page costs; the round trip on a shared 2-core
machine adds the benchmark's own threads. The baseline is the login page's server time under the
same load (the stack itself: middleware, session, template).

The data is a round in the state a busy office sees mid-cycle: the plan's check-ins opened, 70% of
them filed (a tenth late, a tenth returned, half the completions accepted), the ladder run, a
通报 compiled.

    python -m bench.pages [--tasks N] [--units N] [--clients N] [--requests N] [--postgres] [--json]
                          [--keep DIR | --reuse DIR] [--only PATH ...]

Seeding 100,000 assignments takes many minutes, so one seeded SQLite database can be kept and
measured again: `--keep DIR` seeds into DIR/pages.db and leaves it there with the ids the pages
need (DIR/ids.json); `--reuse DIR` skips the seeding and measures DIR's database, brought to the
newest schema first. The pages only read, so a reused database is the round the keeping run
measured. `--only PATH` (repeatable) measures only the pages with that path (`/dashboard` is the
office's and the leader's).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.common import COLUMNS, postgres, report, scratch_databases, tree_peak_mb
from bench.cycle import step_compile, step_escalate, step_file, step_open
from bench.portal import percentile, serving
from bench.synthetic import populate
from loopback.portal_client import session_cookie
from models.db import make_engine, unit_of_work
from models.lifecycle import SYSTEM_ACTOR
from models.schema import upgrade

PASSWORD = "bench-password-1"
KB = 1024
TARGET_S, TARGET_KB = 0.1, 200


def server_ms(response: httpx.Response) -> float:
    """The server's own time from `Server-Timing: app;dur=12.3`, in milliseconds."""
    timing = response.headers["server-timing"]
    return float(timing.split("dur=")[1].split(";")[0])


def load(
    base: str, path: str, cookies: dict[str, str], clients: int, requests: int
) -> tuple[list[float], int]:
    """`clients` threads, each GETting `path` `requests` times; (server times in s, largest body
    in bytes). A failed request fails the measure."""

    def one_client() -> tuple[list[float], int]:
        with httpx.Client(base_url=base, cookies=cookies, timeout=120) as client:
            times, largest = [], 0
            for _ in range(requests):
                response = client.get(path)
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code}")
                times.append(server_ms(response) / 1000)
                largest = max(largest, len(response.content))
            return times, largest

    with ThreadPoolExecutor(clients) as pool:
        done = [f.result() for f in [pool.submit(one_client) for _ in range(clients)]]
    return [t for times, _ in done for t in times], max(largest for _, largest in done)


def seed(url: str, home: Path, tasks: int, units: int) -> dict[str, object]:
    """The mid-cycle round and one user per role; the ids the pages need."""
    from sqlmodel import col, select

    from models import report_state
    from models.assignment import Assignment
    from models.clock import utc_now
    from models.results import ResultsReport
    from models.unit import Unit
    from models.users import add_user

    engine = make_engine(url)
    upgrade(engine)
    counts = populate(engine, tasks=tasks, units=units)
    engine.dispose()
    step_open(url)
    step_file(url)
    step_escalate(url, str(home))
    step_compile(url, str(home))
    engine = make_engine(url)
    with unit_of_work(engine) as session:
        assignment = session.exec(select(Assignment).order_by(col(Assignment.id))).first()
        assert assignment is not None
        unit = session.get(Unit, assignment.unit_id)
        assert unit is not None
        # Published (numbered, without the notices), so the leaders may read it too.
        report = session.exec(select(ResultsReport)).one()
        report_state.publish(session, report, now=utc_now(), timezone="Asia/Shanghai", prefix="督")
        report_id = report.id
        for username, role, unit_name in (
            ("office", "office_admin", None),
            ("liaison", "unit", unit.name),
            ("leader", "leader", None),
            ("auditor", "auditor", None),
        ):
            user = add_user(
                session,
                username=username,
                role=role,
                password=PASSWORD,
                unit_name=unit_name,
                actor=SYSTEM_ACTOR,
                now=utc_now(),
            )
        ids = {
            "assignment": assignment.id,
            "task": assignment.task_id,
            "unit": unit.id,
            "report": report_id,
            "user": user.id,
        }
    engine.dispose()
    return {"assignments": counts["assignments"], **ids}


def pages(ids: dict[str, object]) -> list[tuple[str, str]]:
    """(user, path) for every page a role reaches from its menu, and the pages one click on."""
    a, t, u, r, user = (ids[k] for k in ("assignment", "task", "unit", "report", "user"))
    office = [
        "/dashboard",
        "/review",
        "/rounds",
        "/plans",
        "/extensions",
        "/declines",
        "/escalations",
        "/notifications",
        "/reports",
        f"/reports/{r}",
        "/import",
        "/units",
        f"/units/{u}",
        "/users",
        f"/users/{user}",
        "/audit",
        "/throttles",
        "/tokens",
        f"/assignments/{a}",
        "/account/password",
    ]
    return (
        [("office", p) for p in office]
        + [("liaison", p) for p in ("/inbox", f"/assignments/{a}", "/reports")]
        + [
            ("leader", p)
            for p in (
                "/dashboard",
                "/leader/agenda",
                "/leader/directives",
                f"/leader/tasks/{t}",
                f"/reports/{r}",
            )
        ]
        + [("auditor", "/audit")]
    )


IDS = "ids.json"


def measure(
    url: str,
    home: Path,
    ids: dict[str, object],
    clients: int,
    requests: int,
    only: list[str] | None = None,
) -> list[dict[str, object]]:
    """Each page of `pages(ids)` (or only those whose path is in `only`) under load, on the
    seeded database at `url`."""
    chosen = [(user, path) for user, path in pages(ids) if not only or path in only]
    if not chosen:
        raise SystemExit(f"no page has a path in {only}")
    server, base = serving(url, home, {})
    rows: list[dict[str, object]] = []
    try:
        cookies = {
            name: session_cookie(base, name, PASSWORD)
            for name in ("office", "liaison", "leader", "auditor")
        }
        load(base, "/login", {}, 1, 3)  # warm up
        floor, _ = load(base, "/login", {}, clients, requests)
        floor_p95 = percentile(floor, 0.95)
        for user, path in chosen:
            print(f"{path} ({user})", file=sys.stderr, flush=True)  # which page, if one fails
            try:
                load(base, path, cookies[user], 1, 2)  # warm up (and the dashboard's cache)
                times, largest = load(base, path, cookies[user], clients, requests)
            except httpx.HTTPError as failed:
                raise RuntimeError(f"{path} ({user}): {failed!r}") from failed
            p95 = percentile(times, 0.95)
            rows.append(
                {
                    "name": f"{path} ({user}) server p95, {largest / KB:.0f} KB",
                    "scale": ids["assignments"],
                    "median_s": round(p95, 3),
                    "p50_s": round(statistics.median(times), 3),
                    "page_kb": round(largest / KB, 1),
                    "baseline_s": round(floor_p95, 3),
                    "baseline_is": "login page server p95, same load",
                    "ratio": round(p95 / floor_p95, 1) if floor_p95 else None,
                    # the largest of the server's processes so far, while they still run
                    "peak_mb": tree_peak_mb(server.pid),
                    "target_s": TARGET_S,
                    "within": p95 < TARGET_S and largest <= TARGET_KB * KB,
                }
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    return rows


def measure_backends(
    tasks: int,
    units: int,
    clients: int,
    requests: int,
    postgres_url: str | None,
    only: list[str] | None = None,
) -> list[dict[str, object]]:
    results: list[dict[str, object]] = []
    for backend, url, folder in scratch_databases(postgres_url, "pages"):
        ids = seed(url, folder, tasks, units)
        for row in measure(url, folder, ids, clients, requests, only):
            results.append({**row, "backend": backend})
    return results


def measure_kept(
    folder: Path,
    reuse: bool,
    tasks: int,
    units: int,
    clients: int,
    requests: int,
    only: list[str] | None,
) -> list[dict[str, object]]:
    """On SQLite in `folder`: seed it and keep it (`reuse` false), or measure what a keeping run
    left there."""
    url = f"sqlite:///{folder.resolve()}/pages.db"
    ids_file = folder / IDS
    if reuse:
        if not ids_file.exists():
            raise SystemExit(f"{ids_file} is missing: seed it first with --keep {folder}")
        ids = json.loads(ids_file.read_text())
        engine = make_engine(url)
        upgrade(engine)  # a migration merged since the seeding: the portal serves only the newest
        engine.dispose()
    else:
        if (folder / "pages.db").exists():
            raise SystemExit(f"{folder}/pages.db exists: measure it with --reuse {folder}")
        folder.mkdir(parents=True, exist_ok=True)
        ids = seed(url, folder, tasks, units)
        ids_file.write_text(json.dumps(ids))
    rows = measure(url, folder, ids, clients, requests, only)
    return [{**row, "backend": "sqlite"} for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--json", action="store_true")
    kept = parser.add_mutually_exclusive_group()
    kept.add_argument("--keep", type=Path, metavar="DIR", help="seed into DIR and leave it")
    kept.add_argument("--reuse", type=Path, metavar="DIR", help="measure what --keep left")
    parser.add_argument("--only", action="append", metavar="PATH", help="measure only PATH")
    options = parser.parse_args()
    folder = options.keep or options.reuse
    if folder is not None:
        if options.postgres:
            parser.error("--keep and --reuse keep a SQLite database; not with --postgres")
        results = measure_kept(
            folder,
            options.reuse is not None,
            options.tasks,
            options.units,
            options.clients,
            options.requests,
            options.only,
        )
    else:
        with postgres(options.postgres) as admin:
            results = measure_backends(
                options.tasks,
                options.units,
                options.clients,
                options.requests,
                admin,
                options.only,
            )
    report(results, options.json, [*COLUMNS, ("KB", "page_kb"), ("within", "within")])


if __name__ == "__main__":
    main()

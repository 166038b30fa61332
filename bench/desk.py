"""The office's escalation desk (/escalations) at 100,000 assignments: its queries one by one, and
the page over HTTP.

Target (issue 16): the page's server time p95 < 100 ms. The data is bench.pages' mid-cycle round
(the plan's check-ins opened, 70% filed) with the ladder run three times (bench.cycle.LADDER: blue,
yellow, red), built once into `--data` and reused: at 2,000 × 2,000 it takes minutes to build, the
measure seconds. The baseline is the login page's server time, one client, the same server.

    python -m bench.desk --data DIR [--tasks N] [--units N] [--runs N] [--path P] [--json]

Besides the unfiltered desk it measures the filtered pages (issue 16 item 10): one unit's items
(`UNIT`, found by a part of its name as the filter box does), one task's (`TASK`), one level's.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.common import COLUMNS, report
from bench.cycle import LADDER, step_file, step_open
from bench.portal import percentile, serving
from bench.synthetic import climb_ladder, populate, unit_names
from config import Settings
from loopback.portal_client import session_cookie
from models.db import make_engine, reading, unit_of_work
from models.lifecycle import SYSTEM_ACTOR
from models.schema import upgrade

PASSWORD = "bench-password-1"
TARGET_S = 0.1
ZONE = "Asia/Shanghai"
UNIT = unit_names(8)[7]  # one unit's name: about 50 of the 100,000 items are its
TASK = 17  # one task's number: 50 items, one a unit


def build(data: Path, tasks: int, units: int) -> str:
    """The round's database under `data`, built unless a finished one is there; its URL."""
    from models.clock import utc_now
    from models.users import add_user

    data.mkdir(parents=True, exist_ok=True)
    name = f"desk-{tasks}x{units}-red"  # "-red": built with the three runs, not the one of before
    database, done = data / f"{name}.db", data / f"{name}.done"
    url = f"sqlite:///{database}"
    if done.exists():
        upgrade(make_engine(url))  # a migration added since it was built
        return url
    database.unlink(missing_ok=True)
    engine = make_engine(url)
    upgrade(engine)
    populate(engine, tasks=tasks, units=units)
    step_open(url)
    step_file(url)
    climb_ladder(engine, Settings(home=data), LADDER)
    with unit_of_work(engine) as session:
        add_user(
            session,
            username="office",
            role="office_admin",
            password=PASSWORD,
            unit_name=None,
            actor=SYSTEM_ACTOR,
            now=utc_now(),
        )
    engine.dispose()
    done.touch()
    return url


def timed(runs: int, work: Callable[[], Any]) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return times


def queries(url: str) -> list[tuple[str, Callable[[Any], Any]]]:
    from models.escalation_desk import desk_count, desk_items, desk_units, office_backlog
    from models.escalations import agenda, agenda_count

    return [
        ("desk_count", lambda s: desk_count(s, {})),
        ("desk_items, page 1", lambda s: desk_items(s, ZONE, {}, limit=50)),
        (
            "desk_items, level 3, page 2",
            lambda s: desk_items(s, ZONE, {"level": 3}, offset=50, limit=50),
        ),
        ("desk_count, one unit", lambda s: desk_count(s, {"unit": UNIT})),
        ("desk_items, one unit, page 1", lambda s: desk_items(s, ZONE, {"unit": UNIT}, limit=50)),
        ("desk_count, one task", lambda s: desk_count(s, {"task": TASK})),
        ("desk_items, one task, page 1", lambda s: desk_items(s, ZONE, {"task": TASK}, limit=50)),
        ("desk_count, level 1", lambda s: desk_count(s, {"level": 1})),
        (
            "desk_items, level 1, page 2",
            lambda s: desk_items(s, ZONE, {"level": 1}, offset=50, limit=50),
        ),
        ("desk_units", desk_units),
        ("office_backlog", lambda s: office_backlog(s, ZONE, limit=1000)),
        ("agenda (50)", lambda s: agenda(s, ZONE, limit=50)),
        ("agenda_count", agenda_count),
    ]


def row(name: str, scale: int, times: list[float], baseline: float | None) -> dict[str, object]:
    median = statistics.median(times)
    return {
        "name": name,
        "backend": "sqlite",
        "scale": scale,
        "median_s": round(median, 4),
        "p95_s": round(percentile(times, 0.95), 4),
        "baseline_s": round(baseline, 4) if baseline else None,
        "baseline_is": "login page server time" if baseline else None,
        "ratio": round(median / baseline, 1) if baseline else None,
        "peak_mb": None,
        "target_s": TARGET_S,
    }


def server_s(response: httpx.Response) -> float:
    """The server's own time from `Server-Timing: app;dur=12.3`, in seconds."""
    return float(response.headers["server-timing"].split("dur=")[1].split(";")[0]) / 1000


def over_http(url: str, data: Path, paths: list[str], runs: int) -> dict[str, list[float]]:
    """Each path's server times, `runs` GETs one after another once warmed; the login page's."""
    server, base = serving(url, data, {})
    try:
        cookies = session_cookie(base, "office", PASSWORD)
        found: dict[str, list[float]] = {}
        with httpx.Client(base_url=base, cookies=cookies, timeout=600) as client:
            for path in ["/login", *paths]:
                client.get(path)  # warm up
                times = []
                for _ in range(runs):
                    response = client.get(path)
                    if response.status_code != 200:
                        raise RuntimeError(f"{path}: {response.status_code}")
                    times.append(server_s(response))
                found[path] = times
        return found
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="where the database is kept")
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--path", action="append", help="pages to GET (default /escalations)")
    parser.add_argument("--no-queries", action="store_true")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    url = build(options.data, options.tasks, options.units)
    scale = options.tasks * 50
    results = []
    if not options.no_queries:
        engine = make_engine(url)
        for name, query in queries(url):
            with reading(engine) as session:
                query(session)  # warm up
                times = timed(options.runs, lambda: query(session))  # noqa: B023 (called here)
                results.append(row(name, scale, times, None))
        engine.dispose()
    paths = options.path or [
        "/escalations",
        f"/escalations?unit={UNIT}",
        f"/escalations?task={TASK}",
        "/escalations?level=1&page_no=2",
    ]
    served = over_http(url, options.data, paths, options.runs)
    login = statistics.median(served.pop("/login"))
    for path, times in served.items():
        results.append(row(f"{path} (office) server time", scale, times, login))
    report(results, options.json, [*COLUMNS, ("p95 s", "p95_s")])


if __name__ == "__main__":
    main()

"""Every benchmark in one run: one Markdown table, and the same measures as JSON.

    python -m bench [--quick] [--postgres] [--json] [--out FILE]

`make bench` is the full run (province scale, medians of 3–21 runs, SQLite
and PostgreSQL); `make bench-quick` the same measures at small scale, one
run each, in under two minutes. Each JSON object has name, backend, scale,
median_s, baseline_s, baseline_is, ratio, peak_mb and target_s; `--out`
writes the list to a file (default build/bench/<profile>.json) beside the
Markdown (same name, .md).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from bench import channels, cycle, dispatch, flows, intake, pages, portal, startup
from bench.common import COLUMNS, markdown, postgres, report

ROOT = Path(__file__).resolve().parent.parent

# (section, measure(admin_url) -> results) in the order they run; the heaviest last.
Suite = list[tuple[str, Callable[[str | None], list[dict[str, object]]]]]

FULL: Suite = [
    ("CLI start-up", lambda pg: startup.measure(21)),
    ("import", lambda pg: intake.measure(5, 5000, pg)),
    ("dispatch", lambda pg: dispatch.measure(1000, 5, pg)),
    ("robots", lambda pg: channels.measure(200, 2, 3, pg)),
    ("Prefect overhead", lambda pg: flows.measure(3, 200, 200, pg)),
    ("cycle", lambda pg: cycle.measure(3, 2000, 2000, pg)),
    ("scale curve", lambda pg: cycle.curve(3)),
    ("portal, 4 clients", lambda pg: portal.measure_backends(2000, 2000, 4, 40, pg)),
    ("portal, 8 clients", lambda pg: portal.measure_backends(2000, 2000, 8, 25, pg)),
    ("login storm", lambda pg: portal.storm_backends(20, 200, pg)),
    # 2,000 tasks of 50 units each: the 100,000 assignments of issue 16's every-page target.
    ("every page, 8 clients", lambda pg: pages.measure_backends(2000, 2000, 8, 10, pg)),
]

QUICK: Suite = [
    ("CLI start-up", lambda pg: startup.measure(5)),
    ("import", lambda pg: intake.measure(1, 500, pg)),
    ("dispatch", lambda pg: dispatch.measure(200, 1, pg)),
    ("robots", lambda pg: channels.measure(50, 1, 1, None)),
    ("Prefect overhead", lambda pg: flows.measure(1, 20, 100, None)),  # independent of our database
    ("cycle", lambda pg: cycle.measure(1, 100, 100, pg, cli=False)),
    ("scale curve", lambda pg: cycle.curve(1, scales=(4, 20))),
    ("portal", lambda pg: portal.measure_backends(100, 100, 4, 10, pg)),
    ("login storm", lambda pg: portal.storm_backends(20, 50, pg)),
    ("every page", lambda pg: pages.measure_backends(100, 100, 4, 3, pg)),
]


def run(
    suite: Suite, postgres_url: str | None, progress: Callable[[str], None]
) -> list[dict[str, object]]:
    results = []
    for section, measure in suite:
        started = time.perf_counter()
        measured = measure(postgres_url)
        progress(f"{section}: {len(measured)} measures in {time.perf_counter() - started:.0f} s")
        results.extend({"section": section} | m for m in measured)
    return results


def machine() -> str:
    import os

    return (
        f"{date.today().isoformat()}, {platform.node()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.platform(terse=True)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="small scale, one run each (under two minutes)"
    )
    parser.add_argument(
        "--postgres", action="store_true", help="also on a throwaway PostgreSQL server"
    )
    parser.add_argument(
        "--json", action="store_true", help="print the JSON instead of the Markdown table"
    )
    parser.add_argument(
        "--out", type=Path, help="where to write the JSON (default build/bench/<profile>.json)"
    )
    options = parser.parse_args()
    profile = "quick" if options.quick else "full"
    started = time.perf_counter()
    with postgres(options.postgres) as admin:
        results = run(
            QUICK if options.quick else FULL,
            admin,
            lambda line: print(line, file=sys.stderr, flush=True),
        )
    out = options.out or ROOT / "build" / "bench" / f"{profile}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    heading = f"{profile} benchmark: {machine()}; {time.perf_counter() - started:.0f} s"
    out.with_suffix(".md").write_text(
        f"{heading}\n\n{markdown(results, COLUMNS)}", encoding="utf-8"
    )
    print(f"{heading}; written to {out} and {out.with_suffix('.md')}", file=sys.stderr)
    report(results, options.json, COLUMNS)


if __name__ == "__main__":
    main()

"""CLI start-up: `duban --help` and `duban status` beside a bare Python start.

Target (foundation issue): median < 0.7 s on the 2-core machine, Prefect
never imported. Run: `make bench` or `python -m bench.startup [--runs N] [--json]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import COLUMNS, report, timed_process

DUBAN = str(Path(sys.executable).parent / "duban")


def _medians(command: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    """(median seconds, largest peak MB) over `runs` runs of a command."""
    samples = [timed_process(command, env) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), max(s[1] for s in samples)


def measure(runs: int) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="duban-bench-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")} | {
            "DUBAN_HOME": home
        }
        subprocess.run([DUBAN, "init"], env=env, check=True, capture_output=True)
        baseline, _ = _medians([sys.executable, "-c", "pass"], env, runs)
        results = []
        for name, args in (("duban --help", ["--help"]), ("duban status", ["status"])):
            median, peak = _medians([DUBAN, *args], env, runs)
            results.append(
                {
                    "name": name,
                    "backend": "sqlite" if args == ["status"] else None,
                    "scale": 0,
                    "median_s": round(median, 4),
                    "baseline_s": round(baseline, 4),
                    "baseline_is": "python -c pass",
                    "ratio": round(median / baseline, 1),
                    "peak_mb": peak,
                    "target_s": 0.7,
                }
            )
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    report(measure(options.runs), options.json, COLUMNS)


if __name__ == "__main__":
    main()

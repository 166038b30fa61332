"""CLI start-up: `duban --help` and `duban status` beside a bare Python start.

Target (foundation issue): median < 0.7 s on the 2-core machine, Prefect
never imported. Run: `make bench` or `python -m bench.startup [--runs N] [--json]`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DUBAN = str(Path(sys.executable).parent / "duban")


def _median_seconds(command: list[str], env: dict[str, str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def measure(runs: int) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="duban-bench-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")} | {"DUBAN_HOME": home}
        subprocess.run([DUBAN, "init"], env=env, check=True, capture_output=True)
        baseline = _median_seconds([sys.executable, "-c", "pass"], env, runs)
        results = []
        for name, args in (("duban --help", ["--help"]), ("duban status", ["status"])):
            median = _median_seconds([DUBAN, *args], env, runs)
            results.append({
                "name": name, "backend": "sqlite", "scale": 0, "median_s": round(median, 4),
                "baseline_s": round(baseline, 4), "ratio": round(median / baseline, 1), "target_s": 0.7,
            })
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    results = measure(options.runs)
    if options.json:
        print(json.dumps(results, indent=2))
        return
    print("| measure | median s | baseline (python -c pass) s | ratio | target s |")
    print("| --- | --- | --- | --- | --- |")
    for r in results:
        print(f"| {r['name']} | {r['median_s']:.3f} | {r['baseline_s']:.3f} | {r['ratio']} | < {r['target_s']} |")


if __name__ == "__main__":
    main()

"""The quick benchmark runs end to end and reports every measure the benchmark issue names, with its
baseline.

This is `make bench-quick` on SQLite only (about a minute): the full figures are `make bench`'s
business, but a benchmark that no longer runs, drops a measure or loses its baseline should turn CI
red.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KEYS = {"name", "backend", "scale", "median_s", "baseline_s", "ratio", "peak_mb"}
# Each measure the issue asks for (a pattern of its name) and the baseline it must stand beside.
FLOW = "the flow's task functions, called directly"
NAMED = {
    r"duban --help": "python -c pass",
    r"duban status": "python -c pass",
    r"import xlsx \(\d+ tasks\)": "executemany of the same rows",
    r"dispatch \d+ messages .*": "smtplib, one connection",
    r"wecom robots: \d+ messages to \d+ robots": "the same POSTs, urllib, no limit",
    r"dingtalk robots: \d+ messages to \d+ robots": "the same POSTs, urllib, no limit",
    r"open_round: flow vs direct call": FLOW,
    r"send_reminders: flow vs direct call": FLOW,
    r"escalate_stalled: flow vs direct call": FLOW,
    r"compile_results: flow vs direct call": FLOW,
    r"open_round": "executemany of the check-ins and notices",
    r"send_reminders": "executemany of the digests and audit rows",
    r"escalate_stalled": "executemany of the escalations and audit rows",
    r"compile_results \(4 formats\)": "raw fetch of the rows it reads",
    r"score \(考核\)": "raw fetch of the rows it reads",
    r"open_due_rounds \(报送周期\)": "executemany of the check-ins and notices",
    r"dashboard p95, .*": "login page p95, same load",
    r"static page p95, 20 failed logins at once": "static page p95, no load",
    r"/dashboard \(office\) server p95, \d+ KB": "login page server p95, same load",
    r"/review \(office\) server p95, \d+ KB": "login page server p95, same load",
}


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, object]], str]:
    out = tmp_path_factory.mktemp("bench") / "quick.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUBAN_", "PREFECT_"))}
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert finished.returncode == 0, finished.stderr[-4000:]
    return json.loads(out.read_text(encoding="utf-8")), out.with_suffix(".md").read_text(
        encoding="utf-8"
    )


def test_every_measure_stands_beside_its_baseline(
    quick: tuple[list[dict[str, object]], str],
) -> None:
    results, _ = quick
    for result in results:
        assert result.keys() >= KEYS, result
        assert result["median_s"] > 0, result
        if result[
            "baseline_s"
        ]:  # the ratio comes from the unrounded seconds: allow for the rounding
            median, baseline, half = result["median_s"], result["baseline_s"], 0.0005
            assert (
                (median - half) / (baseline + half) - 0.1
                <= result["ratio"]
                <= (median + half) / (baseline - half) + 0.1
            ), result
    for pattern, baseline in NAMED.items():
        found = [r for r in results if re.fullmatch(pattern, str(r["name"]))]
        assert found, f"no measure named {pattern!r} in {[r['name'] for r in results]}"
        assert all(r["baseline_is"] == baseline and r["baseline_s"] for r in found), found


def test_peaks_are_each_processes_own(quick: tuple[list[dict[str, object]], str]) -> None:
    """A child's getrusage peak includes its parent's at the fork; `duban --help` is ~25 MB, not the
    runner's."""
    results, _ = quick
    peaks = {r["name"]: r["peak_mb"] for r in results}
    assert 5 < peaks["duban --help"] < 60, peaks
    assert all(isinstance(p, float) and p > 5 for p in peaks.values()), peaks
    compile_ = next(
        p for name, p in peaks.items() if str(name).startswith("compile_results (4 formats)")
    )
    assert compile_ > peaks["duban --help"]


def test_the_scale_curve_grows_and_the_markdown_has_every_row(
    quick: tuple[list[dict[str, object]], str],
) -> None:
    results, table = quick
    curve = [r for r in results if str(r["name"]) == "open_round, scale curve"]
    assert [r["scale"] for r in curve] == sorted({r["scale"] for r in curve}) and len(curve) >= 2
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0].startswith(
        "| measure | backend | scale | median s | baseline s | baseline | ratio | peak MB"
    )
    assert len(rows) - 1 == len(results)
    assert all(f"| {r['name']} |" in table for r in results)

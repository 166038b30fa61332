"""Prefect's overhead: each cycle flow beside the same steps called directly, on the same data.

A flow's tasks wrap plain functions (`task.fn`). The baseline calls those
functions in the order the flow does, in a process of its own, on an
identical copy of the database; the flows run in another process against a
real `prefect server start` on loopback (started once, not timed). The
difference is what Prefect adds per flow run: API calls to create and
finish the flow and task runs, state hooks, result handling, logging.

Both processes import Prefect and duban before the clock starts. The first
flow call in a process also pays for the client's set-up; it is measured
apart, as a no-op flow beside a no-op function call.

    python -m bench.flows [--runs N] [--tasks N] [--units N] [--postgres] [--json]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import COLUMNS, backends, fresh_database, in_child, postgres, report
from bench.synthetic import populate
from models.db import make_engine
from models.schema import upgrade

# The cycle on a simulated clock: opened on a Monday, reminders two working days before the date,
# the stalled items escalated after it, the 通报 compiled as of the next Friday.
OPEN_AT = "2022-09-19T09:00:00+08:00"
REMIND_AT = "2022-09-27T10:00:00+08:00"
ESCALATE_AT = "2022-10-10T10:00:00+08:00"
COMPILE_AT = "2022-10-14T18:00:00+08:00"
# Run logs still go to the API, as in production; only the benchmark's console stays readable.
QUIET_CONSOLE = {
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_FLOW_RUNS_LEVEL": "WARNING",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_TASK_RUNS_LEVEL": "WARNING",
}
STEPS = ("open_round", "send_reminders", "escalate_stalled", "compile_results")


def _calls(direct: bool) -> dict[str, object]:
    """Each step as a flow call, or as the flow's task functions called in the flow's order."""
    from datetime import date

    from flows import cycle
    from models.clock import parse_moment

    if not direct:
        return {
            "open_round": lambda: cycle.open_round_flow(
                "bench", "r", date(2022, 9, 30), now=OPEN_AT
            ),
            "send_reminders": lambda: cycle.send_reminders_flow(now=REMIND_AT),
            "escalate_stalled": lambda: cycle.escalate_stalled_flow(now=ESCALATE_AT),
            "compile_results": lambda: cycle.compile_results_flow(
                "bench", "r", as_of=COMPILE_AT, now=COMPILE_AT
            ),
        }
    remind, escalate, compile_ = (
        parse_moment(m, timezone="Asia/Shanghai") for m in (REMIND_AT, ESCALATE_AT, COMPILE_AT)
    )
    return {
        "open_round": lambda: cycle.open_round_step.fn(
            "bench", "r", date(2022, 9, 30), parse_moment(OPEN_AT, timezone="Asia/Shanghai")
        ),
        "send_reminders": lambda: (cycle.reminders_step.fn(remind), cycle.dispatch_step.fn(remind)),
        "escalate_stalled": lambda: (
            cycle.escalation_step.fn(escalate),
            cycle.dispatch_step.fn(escalate),
        ),
        "compile_results": lambda: cycle.compile_step.fn(
            "bench", "r", compile_, "html,xlsx,docx,md", None, False, compile_
        ),
    }


def run_cycle(env: dict[str, str], direct: bool) -> dict[str, float]:
    """In a fresh process: the four steps one after another; seconds of each, and of a first no-op
    call."""
    os.environ.update(env)  # before duban's settings and Prefect's are read
    from prefect import flow

    calls = _calls(direct)

    @flow(name="noop")
    def noop() -> int:
        return 0

    seconds = {}
    started = time.perf_counter()
    noop.fn() if direct else noop()
    seconds["first call in a process (no-op)"] = time.perf_counter() - started
    for name in STEPS:
        started = time.perf_counter()
        calls[name]()
        seconds[name] = time.perf_counter() - started
    # Where a flow run's fixed cost goes: most of it is the heartbeat thread, which the engine joins
    # at the end of every run while it sleeps in one-second steps (prefect/flow_engine.py).
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    seconds["no-op flow, warm"] = _median_call(noop.fn if direct else noop)
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        seconds["no-op flow, warm, heartbeats off"] = _median_call(noop.fn if direct else noop)
    return seconds


def _median_call(call: object, times: int = 5) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _copies(
    backend: str, server: str | None, folder: Path, tasks: int, units: int, run: int
) -> tuple[str, str, int]:
    """Two identical databases with the synthetic plan: one for the flows, one for the direct
    calls."""
    if backend == "sqlite":
        urls = [f"sqlite:///{folder}/flows.db", f"sqlite:///{folder}/direct.db"]
    else:
        urls = [
            fresh_database(server, f"bench_flows_{run}"),
            fresh_database(server, f"bench_direct_{run}"),
        ]
    engine = make_engine(urls[0])
    upgrade(engine)
    counts = populate(engine, tasks=tasks, units=units)
    engine.dispose()
    if backend == "sqlite":
        shutil.copy(folder / "flows.db", folder / "direct.db")
    else:
        engine = make_engine(urls[1])
        upgrade(engine)
        populate(engine, tasks=tasks, units=units)
        engine.dispose()
    return urls[0], urls[1], counts["assignments"]


def measure(runs: int, tasks: int, units: int, postgres_url: str | None) -> list[dict[str, object]]:
    from loopback.prefect_server import prefect_server

    results = []
    with tempfile.TemporaryDirectory(prefix="duban-bench-") as scratch:
        with prefect_server(Path(scratch) / "server") as prefect_env:
            # The client keeps its Prefect home under DUBAN_HOME, as duban sets it; only the API is
            # shared.
            client_env = {
                k: v for k, v in prefect_env.items() if k != "PREFECT_HOME"
            } | QUIET_CONSOLE
            for backend, server in backends(postgres_url):
                flow_s: dict[str, list[float]] = {}
                direct_s: dict[str, list[float]] = {}
                peaks: dict[str, list[float]] = {"flow": [], "direct": []}
                scale = 0
                for run in range(runs):
                    with tempfile.TemporaryDirectory(prefix="duban-bench-") as folder:
                        flows_url, direct_url, scale = _copies(
                            backend, server, Path(folder), tasks, units, run
                        )
                        for mode, url, into in (
                            ("flow", flows_url, flow_s),
                            ("direct", direct_url, direct_s),
                        ):
                            env = client_env | {
                                "DUBAN_HOME": f"{folder}/{mode}",
                                "DUBAN_DATABASE_URL": url,
                            }
                            _, seconds, peak = in_child(
                                "bench.flows:run_cycle", env, mode == "direct"
                            )
                            peaks[mode].append(peak)
                            for name, value in seconds.items():
                                into.setdefault(name, []).append(value)
                for name in flow_s:
                    median, baseline = (
                        statistics.median(flow_s[name]),
                        statistics.median(direct_s[name]),
                    )
                    results.append(
                        {
                            "name": f"{name}: flow vs direct call",
                            "backend": backend,
                            "scale": scale,
                            "median_s": round(median, 3),
                            "baseline_s": round(baseline, 3),
                            "baseline_is": "the flow's task functions, called directly",
                            "ratio": round(median / baseline, 1) if baseline >= 0.001 else None,
                            "peak_mb": max(peaks["flow"]),
                            "target_s": None,
                            "overhead_s": round(median - baseline, 3),
                            "baseline_peak_mb": max(peaks["direct"]),
                        }
                    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    with postgres(options.postgres) as admin:
        results = measure(options.runs, options.tasks, options.units, admin)
    report(results, options.json, [*COLUMNS, ("overhead s", "overhead_s")])


if __name__ == "__main__":
    main()

"""The reliability suite's one table: scenario, runs, lost, duplicated, corrupted, tracebacks.

Every scenario records one row per run through `record`; the suite's conftest prints the table at
the end of the session and writes it to build/reliability.md. The goal is 0 lost, at most one
duplicate per kill, 0 corrupted, 0 tracebacks, and each scenario asserts its own share of that.

How many runs a scenario does comes from `runs(quick=..., full=...)`: the quick number in the
default `make test`, the full one under `make reliability` (DUBAN_RELIABILITY=full).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass
class Row:
    scenario: str
    runs: int = 0
    lost: int = 0
    duplicated: int = 0
    corrupted: int = 0
    tracebacks: int = 0
    kills: int = 0
    notes: list[str] = field(default_factory=list)


ROWS: dict[str, Row] = {}  # owned by this suite's session; printed by conftest


def full() -> bool:
    return os.environ.get("DUBAN_RELIABILITY") == "full"


def runs(*, quick: int, full_runs: int) -> int:
    return full_runs if full() else quick


def record(
    scenario: str,
    *,
    lost: int = 0,
    duplicated: int = 0,
    corrupted: int = 0,
    tracebacks: int = 0,
    kills: int = 0,
    note: str | None = None,
) -> Row:
    """Add one run's outcome to the scenario's row (one row per scenario name)."""
    row = ROWS.setdefault(scenario, Row(scenario))
    row.runs += 1
    row.lost += lost
    row.duplicated += duplicated
    row.corrupted += corrupted
    row.tracebacks += tracebacks
    row.kills += kills
    if note:
        row.notes.append(note)
    return row


def markdown() -> str:
    lines = [
        "| scenario | runs | kills | lost | duplicated | corrupted | tracebacks |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in sorted(ROWS.values(), key=lambda r: r.scenario):
        lines.append(
            f"| {row.scenario} | {row.runs} | {row.kills} | {row.lost} | {row.duplicated} "
            f"| {row.corrupted} | {row.tracebacks} |"
        )
    return "\n".join(lines) + "\n"

"""Prefect flows of the supervision cycle, and where Prefect gets its settings.

Flows are thin: they sequence domain functions from `models` that take a
session and a `now`, and they batch rather than run one task per item.
The schedule list lives in config, not in the flows. Each run logs what it did
in the office's words (figures.py, which imports no Prefect).

Prefect reads its settings when it is first imported, so this package sets
them before any flow module imports Prefect: its home under DUBAN_HOME and
its analytics off (the machines duban runs on reach only loopback).
"""

from __future__ import annotations

import os

from config import get_settings

PREFECT_ENV_FORCED = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
}


def configure_prefect() -> None:
    """Point Prefect at DUBAN_HOME/prefect and switch its analytics off; call before importing
    prefect."""
    settings = get_settings()
    settings.prefect_home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_HOME", str(settings.prefect_home))
    # The temporary server can need about as long as Prefect's default limit of 20 s
    # (BENCHMARKS.md).
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    os.environ.update(PREFECT_ENV_FORCED)


configure_prefect()

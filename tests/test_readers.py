"""On SQLite, reading commands never wait for a writer (issue 18, defect 5).

Another process holds the write lock (BEGIN IMMEDIATE) while `status`, `audit verify` and
`round list` run with a busy timeout far shorter than the writer's hold: each must answer at once.
A write command in the same moment is the control: it cannot get the lock and says so.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support import scenario
from tests.support.cli import duban
from tests.support.locks import writer_holding_the_lock


@pytest.mark.parametrize("backend", ["sqlite"])
def test_status_audit_verify_and_round_list_answer_while_another_process_writes(
    engine: Engine, database_url: str, tmp_path: Path, now: datetime
) -> None:
    scenario.build(engine, now)
    engine.dispose()
    quick = {"DUBAN_SQLITE_BUSY_TIMEOUT_MS": "300"}
    with writer_holding_the_lock(database_url):
        control = duban(
            "sign",
            "--task",
            "12",
            "--unit",
            "市市场监管局",
            home=tmp_path,
            url=database_url,
            **quick,
        )
        assert (
            control.returncode == 7 and "database is locked" in control.stderr
        )  # the lock is really held
        for command in (["status"], ["audit", "verify"], ["round", "list"]):
            result = duban(*command, home=tmp_path, url=database_url, **quick)
            assert result.returncode == 0, (command, result.stderr)
            assert "Traceback" not in result.stderr
    signed = duban(
        "sign", "--task", "12", "--unit", "市市场监管局", home=tmp_path, url=database_url, **quick
    )
    assert signed.returncode == 0, signed.stderr  # once the writer is gone, the write goes through

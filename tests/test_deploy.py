"""Scaled out, for real: a Prefect server on PostgreSQL, `duban deploy`, and a process worker
running a flow."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from models.db import unit_of_work
from models.outbox import enqueue_many
from tests.support.cli import DUBAN
from tests.support.outbox import reminders, statuses
from tests.support.prefect_server import PREFECT
from tests.support.prefect_server import prefect_server as start_prefect_server


@pytest.fixture
def prefect_server(postgres_admin_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS prefect_server"))
        connection.execute(text("CREATE DATABASE prefect_server"))
    admin.dispose()
    database = (
        postgres_admin_url.replace("+psycopg", "+asyncpg").rsplit("/", 1)[0] + "/prefect_server"
    )
    with start_prefect_server(tmp_path, database) as env:
        yield env


@pytest.mark.parametrize("backend", ["postgresql"])
def test_deploy_registers_the_schedule_and_a_worker_runs_the_flow(
    engine: Engine, database_url: str, prefect_server: dict[str, str], tmp_path: Path, now
) -> None:
    with unit_of_work(engine) as session:
        enqueue_many(session, reminders(5), now=now)
    env = prefect_server | {
        "DUBAN_HOME": str(tmp_path / "duban"),
        "DUBAN_DATABASE_URL": database_url,
        "DUBAN_MAIL_CHANNEL": "outbox",
        "DUBAN_DISPATCH_IN_WORKING_HOURS": "false",
    }  # the worker runs on the real clock

    def run(*command: str, timeout: int = 120) -> str:
        result = subprocess.run(
            list(command), env=env, capture_output=True, text=True, timeout=timeout
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    deployed = run(DUBAN, "deploy")
    assert "dispatch_notifications/duban-dispatch_notifications" in deployed
    inspected = run(PREFECT, "deployment", "inspect", "send_reminders/duban-send_reminders")
    assert (
        "0 9 * * *" in inspected
        and "Asia/Shanghai" in inspected
        and "'work_pool_name': 'duban'" in inspected
    )
    started = run(
        PREFECT, "deployment", "run", "dispatch_notifications/duban-dispatch_notifications"
    )
    run(PREFECT, "worker", "start", "--pool", "duban", "--run-once", timeout=180)
    assert len(list((tmp_path / "duban" / "outbox").glob("*.eml"))) == 5
    assert statuses(engine) == {"sent": 5}
    # What the Prefect UI shows of that run: its log says, in the office's words, the 5 it sent.
    flow_run = re.search(r"UUID: ([0-9a-f-]{36})", started)
    assert flow_run, started
    assert "发送消息 5 条" in run(PREFECT, "flow-run", "logs", flow_run.group(1))
    again = run(DUBAN, "deploy")  # redeploying updates the same deployments
    assert again.count("已注册部署") == 4  # open_round, send_reminders, escalate_stalled, dispatch

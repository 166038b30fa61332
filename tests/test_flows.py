"""The flows under Prefect's test harness (one smoke test, which also reads what each run logged
to Prefect), and the embedded scheduler."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect

from config import Settings, get_settings
from intake.directory import read_directory, sync_directory
from intake.plan_import import reconcile, resolve
from intake.source import read_notice
from models.db import unit_of_work
from models.lifecycle import SYSTEM_ACTOR
from tests.support.scenario import OFFICE
from tests.support.seed_round import ROOT, at


@pytest.fixture
def seeded_env(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Engine]:
    with unit_of_work(engine) as session:
        sync_directory(
            session,
            read_directory(ROOT / "config/units/rugao.yaml"),
            actor=OFFICE,
            now=at("2022-09-01"),
        )
        reconcile(
            session,
            "2022",
            resolve(session, read_notice(ROOT / "tests/fixtures/seed-notice.txt")),
            actor=OFFICE,
            now=at("2022-09-01"),
            write=True,
        )
    saved = dict(os.environ)
    os.environ.update(
        DUBAN_DATABASE_URL=database_url, DUBAN_HOME=str(tmp_path), DUBAN_MAIL_CHANNEL="outbox"
    )
    get_settings.cache_clear()
    yield engine
    os.environ.clear()
    os.environ.update(saved)
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    import flows  # noqa: F401  (Prefect's home and analytics set before Prefect loads)

    with prefect_test_harness(server_startup_timeout=120):
        yield


HAN = re.compile(r"[\u4e00-\u9fff]")


def run_logged(flow: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """Run a flow under the harness and read back, from the Prefect server, the lines its run
    logged in the office's words (those with Chinese in them; Prefect's own are English)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.client.schemas.sorting import LogSort
    from prefect.logging.handlers import APILogWorker

    state = flow(*args, return_state=True, **kwargs)
    result = state.result()
    APILogWorker.drain_all(timeout=30)
    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            LogFilter(flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id])),
            sort=LogSort.TIMESTAMP_ASC,
        )
    return result, [log.message for log in logs if HAN.search(log.message)]


def test_the_cycle_flows_run_under_prefect(
    seeded_env: Engine, prefect_harness: None, tmp_path: Path
) -> None:
    from flows.cycle import (
        compile_results_flow,
        dispatch_notifications_flow,
        escalate_stalled_flow,
        open_round_flow,
        send_reminders_flow,
    )

    opened, said = run_logged(
        open_round_flow, "2022", "第三季度", date(2022, 9, 30), now="2022-09-19T09:00:00+08:00"
    )
    assert opened["checkins"] == 98 and opened["notices"] == 49
    # By hand: one round, a check-in for each of the 98 assignments, a notice to each of 49 units.
    assert said == ["开启轮次 1 个，报送事项 98 条，通知 49 条"]
    again, said = run_logged(
        open_round_flow, "2022", "第三季度", date(2022, 9, 30), now="2022-09-19T10:00:00+08:00"
    )
    assert again["created"] is False
    assert said == ["开启轮次 0 个（该轮次已开启过，未重复开启）"]
    reminded, said = run_logged(send_reminders_flow, now="2022-09-23T10:00:00+08:00")
    assert reminded["reminders"]["enqueued"] == 22 and reminded["dispatch"]["sent"] == 49 + 22
    # 22 digests queued; the dispatch sends them with the 49 round notices still queued: 71.
    assert said == ["催报 22 条，发送消息 71 条"]
    escalated, said = run_logged(escalate_stalled_flow, now="2022-10-10T10:00:00+08:00")
    assert escalated["escalations"]["1"] == 98
    # All 98 assignments stall and reach level 1 (blue); one message each to 49 liaisons and heads.
    assert said == ["督办 第一级 98 项，发送消息 98 条", "滞后事项 98 项，本次升级 98 项"]
    dispatched, said = run_logged(dispatch_notifications_flow, now="2022-10-10T10:05:00+08:00")
    assert dispatched["sent"] == 0  # already sent by the flow above
    assert said == ["发送消息 0 条"]
    # By hand: 49 round notices, 22 reminder digests, and one blue digest to each of the 49 units'
    # liaison and head (the directory lists both, with e-mail, for every unit; all 98 assignments
    # are at level 1).
    assert escalated["dispatch"]["sent"] == 2 * 49
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 49 + 22 + 2 * 49
    compiled, said = run_logged(
        compile_results_flow,
        now="2022-10-10T10:00:00+08:00",
        out_dir=str(tmp_path / "reports"),
        publish=True,
    )
    (report,) = compiled["reports"]
    assert report["round"] == "第三季度" and report["figures"]["missing"] == 98
    assert report["figures"]["escalations"]["1"] == 98
    assert sorted(Path(f).suffix for f in report["files"]) == [
        ".docx",
        ".html",
        ".md",
        ".png",
        ".png",
        ".xlsx",
    ]
    assert report["published"] > 49 and compiled["dispatch"]["sent"] == report["published"]
    # One 通报 (the one open round) in six files, and its published notices sent.
    head, files = said
    assert head == f"生成通报 1 份，文件 6 个，发送消息 {report['published']} 条"
    assert files.startswith("通报（2022 第三季度）：") and files.count("、") == 5
    assert files.endswith(f"，发布通知 {report['published']} 条")
    assert sorted(re.findall(r"\.(docx|html|md|png|xlsx)", files)) == [
        "docx",
        "html",
        "md",
        "png",
        "png",
        "xlsx",
    ]

    # On the schedule (no name), open_round opens what the plan's cadence says is due: 每月25日前
    # makes October 2022 due on Tuesday 25 October, opened 10 working days before (11 October), so
    # on the 14th the flow opens it with every still-open assignment (all 98), one notice per unit.
    from models.cadence import set_cadence

    with unit_of_work(seeded_env) as session:
        set_cadence(
            session,
            plan_key="2022",
            cadence="monthly",
            day=25,
            adjust="later",
            start=None,
            until=None,
            task_numbers=None,
            actor=SYSTEM_ACTOR,
            now=datetime(2022, 10, 14, tzinfo=UTC),
        )
    scheduled, said = run_logged(open_round_flow, now="2022-10-14T09:00:00+08:00")
    assert said == [
        "开启轮次 1 个，发送消息 49 条",
        "2022 2022年10月进展（报送截止 2022-10-25）：报送事项 98 条，通知 49 条",
    ]
    assert [
        (p["name"], str(p["report_by"]), p["created"], p["checkins"]) for p in scheduled["periods"]
    ] == [("2022年10月进展", "2022-10-25", True, 98)]
    assert scheduled["dispatch"]["sent"] == 49
    again, said = run_logged(open_round_flow, now="2022-10-17T09:00:00+08:00")
    assert again["periods"][0]["created"] is False
    assert said == [
        "开启轮次 0 个，发送消息 0 条",
        "2022 2022年10月进展（报送截止 2022-10-25）：已开启过，未重复开启",
    ]


def test_the_scheduler_keeps_one_job_per_scheduled_flow_in_the_database(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    from flows.serve import build_scheduler

    settings = Settings(home=tmp_path, database_url=database_url)
    assert [s.flow for s in settings.schedules] == [
        "open_round",
        "send_reminders",
        "escalate_stalled",
        "dispatch_notifications",
    ]
    for _ in range(2):  # a restart replaces the jobs, it does not add more
        scheduler = build_scheduler(settings, blocking=False)
        scheduler.start(paused=True)
        jobs = {job.id: job for job in scheduler.get_jobs()}
        scheduler.shutdown(wait=False)
    assert set(jobs) == {
        "open_round",
        "send_reminders",
        "escalate_stalled",
        "dispatch_notifications",
    }
    assert str(jobs["send_reminders"].trigger.timezone) == "Asia/Shanghai"
    assert jobs["send_reminders"].coalesce is True and jobs["send_reminders"].max_instances == 1
    assert "apscheduler_jobs" in inspect(engine).get_table_names()


def test_a_bad_schedule_is_a_configuration_error(tmp_path: Path) -> None:
    from flows.serve import build_scheduler
    from models.errors import ConfigError

    for schedules in (
        [{"flow": "send_reminders", "cron": "every morning"}],
        [{"flow": "nap", "cron": "0 9 * * *"}],
    ):
        with pytest.raises(ConfigError):
            build_scheduler(Settings(home=tmp_path, schedules=schedules), blocking=False)

"""What a flow run says it did (flows/figures.py): its figures in the office's words, without
Prefect. tests/test_flows.py reads the same lines back from a real run's log on the Prefect
server."""

from __future__ import annotations

import subprocess
import sys

from flows.figures import (
    escalations,
    joined,
    lines_of,
    messages,
    reminders,
    rounds_opened,
)
from tests.support.seed_round import ROOT


def test_a_run_is_told_the_way_the_office_counts_it() -> None:
    # One round created (the second period was already open), 12 digests, three items raised to
    # blue and one to yellow, 40 messages sent.
    line = joined(
        [
            rounds_opened([{"created": True}, {"created": False}]),
            reminders({"enqueued": 12}),
            escalations({"stalled": 9, "raised": 4, "1": 3, "2": 1, "3": 0}),
            messages({"sent": 40}),
        ]
    )
    assert line == "开启轮次 1 个，催报 12 条，督办 第一级 3 项、第二级 1 项，发送消息 40 条"


def test_nothing_raised_and_nothing_sent_are_said_as_zero() -> None:
    assert escalations({"stalled": 0, "raised": 0, "1": 0, "2": 0, "3": 0}) == "督办 0 项"
    assert lines_of("dispatch_notifications", {"sent": 0}) == ["发送消息 0 条"]
    # What did not go is named after what did.
    assert messages({"sent": 5, "retried": 2, "dead": 1}) == "发送消息 5 条，待重试 2 条，失败 1 条"


def test_a_run_outside_working_hours_says_why_it_sent_nothing() -> None:
    held = "2022-10-01 不是工作日 / not a working day"
    said = lines_of(
        "send_reminders",
        {"reminders": {"skipped": held, "enqueued": 0}, "dispatch": {"held": held, "sent": 0}},
    )
    assert said == [
        "催报 0 条，发送消息 0 条",
        "未催报：2022-10-01 不是工作日",
        "消息暂缓发送：2022-10-01 不是工作日",
    ]


def test_the_scheduled_open_round_names_each_period_and_why_one_did_not_open() -> None:
    said = lines_of(
        "open_round",
        {
            "periods": [
                {
                    "plan": "2024",
                    "name": "2024年3月进展",
                    "report_by": "2024-03-25",
                    "created": True,
                    "checkins": 32,
                    "notices": 12,
                    "skipped": None,
                },
                {
                    "plan": "2023",
                    "name": "2024年第一季度进展",
                    "report_by": "2024-03-25",
                    "created": False,
                    "skipped": "无待报送事项",
                },
            ],
            "dispatch": {"sent": 12},
        },
    )
    assert said == [
        "开启轮次 1 个，发送消息 12 条",
        "2024 2024年3月进展（报送截止 2024-03-25）：报送事项 32 条，通知 12 条",
        "2023 2024年第一季度进展（报送截止 2024-03-25）：未开启，无待报送事项",
    ]
    assert lines_of("open_round", {"periods": [], "dispatch": {"sent": 0}}) == [
        "开启轮次 0 个，发送消息 0 条",
        "今日无到期的报送周期",
    ]


def test_the_figures_module_loads_without_prefect() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, flows.figures; print('prefect' in sys.modules)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "False"


def test_make_run_says_where_the_prefect_ui_is_when_a_server_is_used() -> None:
    def told(**env: str) -> str:
        return subprocess.run(
            ["make", "-s", "--no-print-directory", "prefect-ui"],
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", **env},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    run = (ROOT / "Makefile").read_text(encoding="utf-8").split("\nrun:", 1)[1].split("\n\n")[0]
    assert "$(MAKE) --no-print-directory prefect-ui" in run  # `make run` says it before serving
    assert told() == ""  # embedded: no server to point at
    assert told(PREFECT_API_URL="http://127.0.0.1:4200/api").startswith(
        "Prefect 界面 / Prefect UI: http://127.0.0.1:4200/runs"
    )
    assert told(PREFECT_UI_URL="http://prefect.office.lan/").startswith(
        "Prefect 界面 / Prefect UI: http://prefect.office.lan/runs"
    )

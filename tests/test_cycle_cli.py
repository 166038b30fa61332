"""The cycle through the `duban` command, as the office runs it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import duban

ROOT = Path(__file__).parent.parent


def test_the_office_runs_a_round_from_the_command_line(database_url: str, tmp_path: Path) -> None:
    def run(*args: str, code: int = 0) -> str:
        result = duban(*args, home=tmp_path, url=database_url)
        assert result.returncode == code, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        return result.stdout + result.stderr

    run("units", "import", str(ROOT / "config/units/rugao.yaml"))
    run("import", str(ROOT / "tests/fixtures/seed-notice.txt"), "--plan-key", "2022")
    assert "报送事项 98 项，通知 49 条" in run(
        "round",
        "open",
        "--name",
        "第三季度",
        "--due",
        "2022-09-30",
        "--now",
        "2022-09-19T09:00:00+08:00",
    )
    assert "已开启过" in run("round", "open", "--name", "第三季度", "--due", "2022-09-30")
    bad_date = run("round", "open", "--name", "第四季度", "--due", "30/12/2022", code=2)
    assert "YYYY-MM-DD" in bad_date
    too_early = run(
        "round",
        "open",
        "--name",
        "第四季度",
        "--due",
        "2022-09-01",
        "--now",
        "2022-09-20T09:00:00+08:00",
        code=2,
    )
    assert (
        "报送截止日期 2022-09-01 早于开启日 2022-09-20" in too_early
        and len(too_early.strip().splitlines()) == 1
    )

    evidence = tmp_path / "抽检报告.txt"
    evidence.write_text("抽检120批次，合格率100%", encoding="utf-8")
    run("sign", "--task", "12", "--unit", "市市场监督管理局", "--now", "2022-09-20T10:00:00+08:00")
    run(
        "checkin",
        "submit",
        "--task",
        "12",
        "--unit",
        "市市场监管局",
        "--text",
        "开展抽检",
        "--percent",
        "100",
        "--completed",
        "--evidence",
        str(evidence),
        "--now",
        "2022-09-21T10:00:00+08:00",
    )
    stored = list((tmp_path / "evidence").rglob("*"))
    assert any(
        p.is_file() and p.read_text(encoding="utf-8").startswith("抽检120批次") for p in stored
    )
    run(
        "review",
        "return",
        "--task",
        "12",
        "--unit",
        "市市场监管局",
        "--revision",
        "1",
        "--reason",
        "缺少检测报告",
        "--now",
        "2022-09-22T10:00:00+08:00",
    )
    run(
        "checkin",
        "submit",
        "--task",
        "12",
        "--unit",
        "市市场监管局",
        "--text",
        "已补充",
        "--percent",
        "100",
        "--completed",
        "--now",
        "2022-09-23T10:00:00+08:00",
    )
    run(
        "review",
        "accept",
        "--task",
        "12",
        "--unit",
        "市市场监管局",
        "--revision",
        "2",
        "--now",
        "2022-09-23T15:00:00+08:00",
    )
    run("close", "--task", "12", "--unit", "市市场监管局")

    refused = run(
        "checkin",
        "submit",
        "--task",
        "5",
        "--unit",
        "市教育局",
        "--text",
        "完成",
        "--completed",
        code=4,
    )
    assert (
        "配合单位尚未报结" in refused
        and "市公安局" in refused
        and len(refused.strip().splitlines()) == 1
    )

    assert "已提交延期申请 #1" in run(
        "extension",
        "request",
        "--task",
        "11",
        "--unit",
        "市卫健委",
        "--until",
        "2022-10-31",
        "--reason",
        "疫情防控",
        "--now",
        "2022-09-26T10:00:00+08:00",
    )
    assert "已批准" in run("extension", "approve", "1", "--now", "2022-09-26T11:00:00+08:00")
    assert "已批准" in run("extension", "reject", "1", "--reason", "重复", code=4)

    assert "新生成 49 封" in run("remind", "--now", "2022-09-27T10:00:00+08:00")
    assert "新生成 0 封" in run("remind", "--now", "2022-09-27T11:00:00+08:00")
    assert "不是工作日" in run("remind", "--now", "2022-10-02T10:00:00+08:00")
    for day in ("10", "12", "14"):
        run("escalate", "--now", f"2022-10-{day}T10:00:00+08:00")
    agenda = json.loads(run("agenda", "--json"))
    assert {i["unit"] for i in agenda} >= {"市烟草专卖局", "市公安局"} and all(
        i["history"] for i in agenda
    )

    figures = json.loads(run("status", "--json", "--now", "2022-10-14T10:00:00+08:00"))
    assert figures["assignments"]["by_state"]["closed"] == 1
    assert figures["checkins"]["overdue"] > 0 and figures["rounds"][0]["name"] == "第三季度"
    assert len(figures["rounds"]) == 1  # the refused round left nothing behind
    assert set(figures["lights"]) == {"assignments", "tasks", "units"}
    assert figures["open_escalations"]["by_level"]["3"] > 0
    shown = json.loads(run("round", "show", "第三季度", "--json"))
    assert len(shown["items"]) == 98
    # What the office's console may do next (the lifecycle's offer): reopen the closed one; sign, or
    # file progress for, a lead unit still waiting (its completion report is held back by its
    # cooperating units).
    offered = {(i["task"], i["unit"]): i["actions"] for i in shown["items"]}
    assert offered[(12, "市市场监管局")] == ["reopen"] and offered[(5, "市教育局")] == [
        "sign",
        "progress",
    ]
    assert "审计链完整" in run("audit", "verify")

    out = tmp_path / "通报"
    compiled = json.loads(
        run(
            "report",
            "--round",
            "第三季度",
            "--out",
            str(out),
            "--json",
            "--now",
            "2022-10-14T18:00:00+08:00",
        )
    )
    assert compiled["figures"]["assignments"] == 98 and compiled["figures"]["verified"] == 1
    assert sorted(Path(f).suffix for f in compiled["files"]) == [
        ".docx",
        ".html",
        ".md",
        ".png",
        ".png",
        ".xlsx",
    ]
    early = json.loads(
        run(
            "report",
            "--round",
            "第三季度",
            "--as-of",
            "2022-09-21",
            "--format",
            "md",
            "--out",
            str(out),
            "--json",
            "--now",
            "2022-10-14T18:00:00+08:00",
        )
    )
    assert (early["figures"]["on_time"], early["figures"]["pending"]) == (1, 97)
    assert "pdf" in run("report", "--round", "第三季度", "--format", "html,pdf", code=2)
    assert "--round" in run("report", code=2)
    assert "晚于当前时间" in run("report", "--plan", "2022", "--as-of", "2099-01-01", code=2)
    when = ("--now", "2022-10-15T09:00:00+08:00")
    first = str(compiled["report_id"])
    published = run("report", "publish", first, *when)
    assert "第 1 期，督〔2022〕1号" in published
    assert "2022_第三季度_通报（第1期）_2022-10-14.docx" in published  # its files, numbered
    taken = run(
        "report", "publish", str(early["report_id"]), "--doc-no", "督〔2022〕1号", *when, code=4
    )
    assert "督〔2022〕1号" in taken
    assert "已撤回" in run("report", "withdraw", first, "--reason", "数据有误", *when)
    assert "已撤回" in run("report", "withdraw", first, "--reason", "又一次", *when, code=4)
    assert "第 2 期，督〔2022〕2号" in run("report", "publish", str(early["report_id"]), *when)
    assert "审计链完整" in run("audit", "verify")

"""Faults a person or the machine causes: one line naming the problem and a documented exit code,
never a traceback, and nothing silently wrong (issue 18, items 6–9)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, text
from sqlmodel import select

from config.settings import Settings
from intake.directory import DirectoryEntry, sync_directory
from intake.notice import ImportFailed, Problem
from models.db import unit_of_work
from models.errors import TextTooLong
from models.evidence import ORPHAN_AGE_S
from reports.compile import _HOST, STAGING_STALE_S, clear_stale_staging
from tests.support import scenario
from tests.support.cli import assert_one_clean_line, duban

ROOT = Path(__file__).parent.parent


@pytest.fixture
def sqlite_home(tmp_path: Path, sqlite_template: Path) -> Path:
    """A DUBAN_HOME whose default SQLite database is migrated and empty."""
    shutil.copyfile(sqlite_template, tmp_path / "duban.db")
    return tmp_path


def no_crash_log(home: Path) -> None:
    assert not list((home / "logs").glob("*.log")) if (home / "logs").exists() else True


# --- settings -------------------------------------------------------------------------------------

SETTING_FAULTS = [
    ('timezon = "Asia/Shanghai"\n', {}, ("timezon", "没有这个设置项")),
    (
        "[cycle]\ngrace_dayz = 3\n",
        {},
        ("cycle.grace_dayz", "DUBAN_CYCLE__GRACE_DAYZ", "没有这个设置项"),
    ),
    ("[cycle\ngrace_days = 3\n", {}, ("duban.toml 不是有效的 TOML", "line 1")),
    (
        '[cycle]\nworking_hours = ["8点半", "17:30"]\n',
        {},
        ("cycle.working_hours", "“8点半”不是时刻"),
    ),
    ("[cycle]\nreminder_before = [3, -1]\n", {}, ("cycle.reminder_before", "不能是 -1")),
    ("", {"DUBAN_TIMEZONE": "Asia/Beijing"}, ("timezone", "未知的时区“Asia/Beijing”")),
    (
        "",
        {"DUBAN_DATABASE_URL": "postgres://u:p@localhost/duban"},
        ("database_url", "postgresql+psycopg://"),
    ),
    (
        "",
        {"DUBAN_DATABASE_URL": "postgresql+psycopg://u@localhost:port/duban"},
        ("database_url", "不是有效的数据库地址"),
    ),
]


@pytest.mark.parametrize(
    ("toml", "env", "fragments"), SETTING_FAULTS, ids=[f[2][0] for f in SETTING_FAULTS]
)
def test_a_bad_setting_is_refused_in_one_line_naming_it(
    sqlite_home: Path, toml: str, env: dict[str, str], fragments: tuple[str, ...]
) -> None:
    if toml:
        (sqlite_home / "duban.toml").write_text(toml, encoding="utf-8")
    result = duban("status", home=sqlite_home, **env)
    assert_one_clean_line(result, 2, "配置", *fragments)
    no_crash_log(sqlite_home)


def test_duban_home_naming_a_file_is_refused_naming_duban_home(sqlite_home: Path) -> None:
    result = duban("status", home=sqlite_home / "duban.db")
    assert_one_clean_line(result, 2, "DUBAN_HOME", "是一个文件")


def test_working_hours_written_8_30_mean_08_30_and_an_inverted_day_is_refused(
    tmp_path: Path,
) -> None:
    assert Settings(
        home=tmp_path, cycle={"working_hours": ["8:30", "17:30"]}
    ).cycle.working_hours == ("08:30", "17:30")
    with pytest.raises(ValidationError, match="应早于结束"):
        Settings(home=tmp_path, cycle={"working_hours": ["17:30", "8:30"]})


# --- the command line itself ----------------------------------------------------------------------


def test_usage_errors_are_one_chinese_line_with_exit_2(sqlite_home: Path) -> None:
    cases = [
        (("bogus",), ("没有这个命令", "bogus")),
        (("round", "open", "--due", "2022-09-30"), ("缺少参数 --name", "duban round open --help")),
        (
            ("status", "--now", "0001-01-01T00:00:00+08:00"),
            ("--now", "ISO 8601"),
        ),  # overflows in UTC
        (("status", "--now", "9999-12-31T20:00:00-08:00"), ("--now", "ISO 8601")),
        (("status", "--now", "2500-01-01T09:00:00+08:00"), ("--now", "2000 年至 2199 年")),
        (
            ("round", "open", "--name", "x", "--due", "2022-09-30", "--tasks", "1,x"),
            ("--tasks", "“x”不是任务序号"),
        ),
        (("sign", "--task", "五", "--unit", "市教育局"), ("--task", "应为整数")),
    ]
    for args, fragments in cases:
        assert_one_clean_line(duban(*args, home=sqlite_home), 2, "错误：", *fragments)
    no_crash_log(sqlite_home)


def test_an_unexpected_error_is_logged_with_its_traceback_and_shown_as_one_line(
    sqlite_home: Path,
) -> None:
    result = duban(
        "dispatch",
        "--now",
        "2022-09-05T10:00:00+08:00",
        home=sqlite_home,
        DUBAN_MAIL_CHANNEL="tests.support.broken_channel:BrokenChannel",
        PYTHONPATH=str(ROOT),
    )
    assert_one_clean_line(
        result, 1, "内部错误（RuntimeError", "duban dispatch", str(sqlite_home / "logs")
    )
    logs = list((sqlite_home / "logs").glob("duban-error-*.log"))
    assert len(logs) == 1 and str(logs[0]) in result.stderr
    written = logs[0].read_text(encoding="utf-8")
    assert (
        "Traceback (most recent call last)" in written
        and "插件内部错误：配置字典缺少 endpoint" in written
    )


def test_status_on_a_missing_database_says_init_and_creates_nothing(tmp_path: Path) -> None:
    result = duban("status", home=tmp_path)
    assert_one_clean_line(result, 2, "duban init")
    assert not (tmp_path / "duban.db").exists()


# --- silent wrong results
# ---------------------------------------------------------------------------


def test_round_open_refuses_a_task_the_plan_lacks_and_keeps_the_name_free(
    engine: Engine, database_url: str, tmp_path: Path, now: datetime
) -> None:
    scenario.build(engine, now)  # tasks 5 and 12
    at = ("--now", "2022-09-19T09:00:00+08:00")
    refused = duban(
        "round",
        "open",
        "--name",
        "三季度",
        "--due",
        "2022-09-30",
        "--tasks",
        "12,99",
        *at,
        home=tmp_path,
        url=database_url,
    )
    assert_one_clean_line(refused, 3, "没有任务 99", "现有任务序号 5、12")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM supervision_round")).scalar() == 0
    opened = duban(
        "round",
        "open",
        "--name",
        "三季度",
        "--due",
        "2022-09-30",
        "--tasks",
        "12",
        *at,
        home=tmp_path,
        url=database_url,
    )
    assert opened.returncode == 0 and "报送事项 1 项" in opened.stdout, opened.stderr


def test_a_report_by_date_on_a_rest_day_needs_allow_holiday(
    engine: Engine, database_url: str, tmp_path: Path, now: datetime
) -> None:
    scenario.build(engine, now)
    at = ("--now", "2022-09-19T09:00:00+08:00")
    # 2022-10-02 is a Sunday in the National Day holiday; the working day before it is Friday
    # 2022-09-30.
    refused = duban(
        "round",
        "open",
        "--name",
        "国庆",
        "--due",
        "2022-10-02",
        *at,
        home=tmp_path,
        url=database_url,
    )
    assert_one_clean_line(
        refused, 2, "2022-10-02 不是工作日", "请改为 2022-09-30", "--allow-holiday"
    )
    allowed = duban(
        "round",
        "open",
        "--name",
        "国庆",
        "--due",
        "2022-10-02",
        "--allow-holiday",
        *at,
        home=tmp_path,
        url=database_url,
    )
    assert allowed.returncode == 0 and "当天不会发送到期提醒" in allowed.stdout, allowed.stderr
    # Saturday 2022-10-08 is a make-up working day (调休上班): no flag needed.
    workday = duban(
        "round",
        "open",
        "--name",
        "调休",
        "--due",
        "2022-10-08",
        *at,
        home=tmp_path,
        url=database_url,
    )
    # (The directory here has no contacts, so the round-open notice names the unreachable units;
    # what must be absent is the rest-day warning.)
    assert workday.returncode == 0 and "当天不会发送到期提醒" not in workday.stdout, workday.stderr


def test_an_empty_check_in_text_is_refused(
    engine: Engine, database_url: str, tmp_path: Path, now: datetime
) -> None:
    scenario.build(engine, now)
    run = dict(home=tmp_path, url=database_url)
    assert (
        duban(
            "round",
            "open",
            "--name",
            "三季度",
            "--due",
            "2022-09-30",
            "--now",
            "2022-09-19T09:00:00+08:00",
            **run,
        ).returncode
        == 0
    )
    refused = duban(
        "checkin",
        "submit",
        "--task",
        "12",
        "--unit",
        "市市场监管局",
        "--text",
        "   ",
        "--now",
        "2022-09-20T09:00:00+08:00",
        **run,
    )
    assert_one_clean_line(refused, 2, "报送内容不能为空")
    with engine.connect() as connection:
        assert (
            connection.execute(
                text("SELECT count(*) FROM check_in WHERE state = 'submitted'")
            ).scalar()
            == 0
        )


def test_an_action_dated_before_the_last_one_is_refused_unless_forced_and_then_audited(
    engine: Engine, database_url: str, tmp_path: Path, now: datetime
) -> None:
    scenario.build(engine, now)
    run = dict(home=tmp_path, url=database_url)
    assert (
        duban(
            "round",
            "open",
            "--name",
            "三季度",
            "--due",
            "2022-10-31",
            "--now",
            "2022-10-17T09:00:00+08:00",
            **run,
        ).returncode
        == 0
    )
    assert (
        duban(
            "sign",
            "--task",
            "12",
            "--unit",
            "市市场监管局",
            "--now",
            "2022-10-19T10:00:00+08:00",
            **run,
        ).returncode
        == 0
    )
    filing = (
        "checkin",
        "submit",
        "--task",
        "12",
        "--unit",
        "市市场监管局",
        "--text",
        "完成抽检",
        "--completed",
        "--now",
        "2022-10-19T09:00:00+08:00",
    )
    refused = duban(*filing, **run)
    assert_one_clean_line(
        refused,
        4,
        "时间 2022-10-19 09:00 早于上一次操作 2022-10-19 10:00（北京时间）",
        "--force-time",
    )
    with engine.connect() as connection:
        assert (
            connection.execute(
                text("SELECT count(*) FROM check_in WHERE state = 'submitted'")
            ).scalar()
            == 0
        )
    forced = duban(*filing, "--force-time", **run)
    assert forced.returncode == 0, forced.stderr
    with engine.connect() as connection:
        afters = [
            a if isinstance(a, dict) else json.loads(a)
            for a in connection.execute(
                text("SELECT after FROM audit_event ORDER BY seq")
            ).scalars()
        ]
    stamped = [a["clock_forced"] for a in afters if a and "clock_forced" in a]
    # 10:00 and 09:00 in Beijing are 02:00 and 01:00 UTC.
    assert stamped == [
        {"last_action_at": "2022-10-19T02:00:00+00:00", "at": "2022-10-19T01:00:00+00:00"}
    ]


def test_evidence_from_an_endless_device_is_refused_at_the_upload_limit(
    engine: Engine, database_url: str, tmp_path: Path, now: datetime
) -> None:
    scenario.build(engine, now)
    run = dict(home=tmp_path, url=database_url)
    assert (
        duban(
            "round",
            "open",
            "--name",
            "三季度",
            "--due",
            "2022-09-30",
            "--now",
            "2022-09-19T09:00:00+08:00",
            **run,
        ).returncode
        == 0
    )
    started = time.monotonic()
    refused = duban(
        "checkin",
        "submit",
        "--task",
        "12",
        "--unit",
        "市市场监管局",
        "--text",
        "抽检",
        "--evidence",
        "/dev/zero",
        "--now",
        "2022-09-20T09:00:00+08:00",
        DUBAN_UPLOAD_MAX_MB="1",
        **run,
    )
    assert_one_clean_line(refused, 2, "“/dev/zero”超过 1.0 MB")
    assert time.monotonic() - started < 60
    assert not (tmp_path / "evidence").exists() or not any(
        (tmp_path / "evidence").rglob("*.partial")
    )


def test_an_address_needing_smtputf8_is_refused_at_units_import_with_its_row(
    sqlite_home: Path,
) -> None:
    directory = sqlite_home / "units.yaml"
    directory.write_text(
        "units:\n"
        "  - name: 市民政局\n    liaison: {name: 张三, email: zhangsan@民政.example.org}\n"
        "  - name: 市教育局\n    liaison: {name: 李四, email: 张三@民政.example.org}\n",
        encoding="utf-8",
    )
    refused = duban("units", "import", str(directory), home=sqlite_home)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert (
        "张三@民政.example.org" in refused.stderr
        and "SMTPUTF8" in refused.stderr
        and "第 2" in refused.stderr
    )
    assert (
        "zhangsan@" not in refused.stderr
    )  # the first row is fine: an ASCII name at a Chinese domain
    directory.write_text(
        "units:\n  - name: 市民政局\n    liaison: {name: 张三, email: zhangsan@民政.example.org}\n",
        encoding="utf-8",
    )
    assert duban("units", "import", str(directory), home=sqlite_home).returncode == 0
    stored = json.loads(duban("units", "show", "市民政局", "--json", home=sqlite_home).stdout)
    email = stored["contacts"]["liaison"]["email"]
    assert email.isascii() and email.startswith("zhangsan@xn--") and email.endswith(".example.org")


def test_a_refusal_lists_fifty_problems_and_counts_the_rest() -> None:
    failed = ImportFailed(
        [Problem(None, f"问题{n}", f"problem {n}") for n in range(1, 121)], "大文件.txt"
    )
    lines = failed.message("zh").splitlines()
    assert len(lines) == 1 + 50 + 1
    assert (
        "共 120 个问题" in lines[0] and lines[1].endswith("问题1") and lines[50].endswith("问题50")
    )
    assert lines[-1].strip() == "……另有 70 条问题未列出"
    assert failed.message("en").splitlines()[-1].strip() == "... and 70 more problems"


def test_a_name_longer_than_its_column_is_refused_before_the_database(
    engine: Engine, database_url: str, tmp_path: Path, now: datetime
) -> None:
    with (
        pytest.raises(TextTooLong, match="201 characters, at most 200"),
        unit_of_work(engine) as session,
    ):
        sync_directory(session, [DirectoryEntry(name="某" * 201)], actor=scenario.OFFICE, now=now)
    directory = tmp_path / "units.yaml"
    directory.write_text(f"units:\n  - name: {'市' * 201}\n", encoding="utf-8")
    refused = duban("units", "import", str(directory), home=tmp_path, url=database_url)
    assert refused.returncode == 2 and "单位名称过长：201 个字符，最多 200 个" in refused.stderr, (
        refused.stderr
    )
    assert "Traceback" not in refused.stderr
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM unit")).scalar() == 0


# --- staging left behind --------------------------------------------------------------------------


def test_staging_of_a_dead_or_stale_compile_is_removed_and_a_live_ones_is_kept(
    tmp_path: Path,
) -> None:
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(ended.stdout)
    dead = tmp_path / f".compiling-{_HOST}-{dead_pid}-abc123"
    live = tmp_path / f".compiling-{_HOST}-{os.getpid()}-def456"
    old_unnamed = tmp_path / ".compiling-q1w2e3"
    fresh_unnamed = tmp_path / ".compiling-r4t5y6"
    other_host_fresh = tmp_path / ".compiling-otherhost-1-zzz"
    for folder in (dead, live, old_unnamed, fresh_unnamed, other_host_fresh):
        folder.mkdir()
        (folder / "part.docx").write_bytes(b"x" * 100)
    long_ago = time.time() - STAGING_STALE_S - 60
    os.utime(old_unnamed, (long_ago, long_ago))
    kept_report = tmp_path / "2022_通报.html"
    kept_report.write_text("<html></html>", encoding="utf-8")
    removed = clear_stale_staging(tmp_path)
    assert set(removed) == {dead, old_unnamed}
    assert {p.name for p in tmp_path.iterdir()} == {
        live.name,
        fresh_unnamed.name,
        other_host_fresh.name,
        kept_report.name,
    }


def test_evidence_orphans_are_pruned_by_the_next_filing(
    engine: Engine, database_url: str, tmp_path: Path, now: datetime
) -> None:
    scenario.build(engine, now)
    run = dict(home=tmp_path, url=database_url)
    assert (
        duban(
            "round",
            "open",
            "--name",
            "三季度",
            "--due",
            "2022-09-30",
            "--now",
            "2022-09-19T09:00:00+08:00",
            **run,
        ).returncode
        == 0
    )
    folder = tmp_path / "evidence" / "ab"
    folder.mkdir(parents=True)
    old_orphan, old_partial, fresh_orphan = (
        folder / ("ab" + "0" * 62),
        folder / ("ab" + "1" * 62 + ".5.partial"),
        folder / ("ab" + "2" * 62),
    )
    for path in (old_orphan, old_partial, fresh_orphan):
        path.write_bytes(b"left behind")
    long_ago = time.time() - ORPHAN_AGE_S - 60
    for path in (old_orphan, old_partial):
        os.utime(path, (long_ago, long_ago))
    evidence = tmp_path / "抽检报告.txt"
    evidence.write_text("抽检120批次", encoding="utf-8")
    filed = duban(
        "checkin",
        "submit",
        "--task",
        "12",
        "--unit",
        "市市场监管局",
        "--text",
        "抽检",
        "--evidence",
        str(evidence),
        "--now",
        "2022-09-20T09:00:00+08:00",
        **run,
    )
    assert filed.returncode == 0, filed.stderr
    assert not old_orphan.exists() and not old_partial.exists() and fresh_orphan.exists()
    stored = [
        p for p in (tmp_path / "evidence").glob("??/*") if p.read_bytes() == "抽检120批次".encode()
    ]
    assert len(stored) == 1


def test_the_results_as_of_a_moment_never_show_a_verification_before_its_filing(
    engine: Engine, database_url: str, tmp_path: Path, now: datetime
) -> None:
    from config.settings import CycleRules
    from models.db import reading
    from models.plan import Plan
    from reports.results import compute

    scenario.build(engine, now)
    run = dict(home=tmp_path, url=database_url)
    steps = [
        (
            "round",
            "open",
            "--name",
            "三季度",
            "--due",
            "2022-10-31",
            "--now",
            "2022-10-17T09:00:00+08:00",
        ),
        ("sign", "--task", "12", "--unit", "市市场监管局", "--now", "2022-10-18T09:00:00+08:00"),
        (
            "checkin",
            "submit",
            "--task",
            "12",
            "--unit",
            "市市场监管局",
            "--text",
            "完成抽检",
            "--completed",
            "--now",
            "2022-10-19T10:00:00+08:00",
        ),
        # The office records its review dated back to 09:00, before the filing it reviews.
        (
            "review",
            "accept",
            "--task",
            "12",
            "--unit",
            "市市场监管局",
            "--revision",
            "1",
            "--now",
            "2022-10-19T09:00:00+08:00",
            "--force-time",
        ),
    ]
    for step in steps:
        done = duban(*step, **run)
        assert done.returncode == 0, done.stderr

    def market_at(moment: str) -> str:
        with reading(engine) as session:
            plan = session.exec(select(Plan)).one()
            results = compute(
                session,
                plan=plan,
                round_=None,
                as_of=datetime.fromisoformat(moment),
                timezone="Asia/Shanghai",
                rules=CycleRules(),
                issuer="办公室",
            )
        return next(i.checkin_state for i in results.items if i.unit == "市市场监管局")

    assert (
        market_at("2022-10-19T09:30:00+08:00") == "pending"
    )  # neither the filing nor its review had happened
    assert market_at("2022-10-19T10:30:00+08:00") == "accepted"

"""The `duban` command as a user runs it: a real process, a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from models.db import make_engine
from tests.support import scenario
from tests.support.cli import assert_one_clean_line, duban


def test_init_creates_the_database_and_running_it_again_is_harmless(
    empty_database_url: str, tmp_path: Path
) -> None:
    first = duban(
        "init", "--now", "2022-09-01T09:00:00+08:00", home=tmp_path, url=empty_database_url
    )
    assert first.returncode == 0, first.stderr
    assert "数据库已初始化" in first.stdout
    second = duban("init", home=tmp_path, url=empty_database_url)
    assert second.returncode == 0, second.stderr
    assert "已是最新版本" in second.stdout
    assert (tmp_path / "outbox").is_dir() and (tmp_path / "prefect").is_dir()
    engine = make_engine(empty_database_url)
    with engine.connect() as connection:
        # One schema event, not two; the chain head is where that event is.
        assert connection.execute(text("SELECT count(*) FROM audit_event")).scalar() == 1
        assert connection.execute(text("SELECT seq FROM audit_head")).scalar() == 1
    engine.dispose()


def test_the_default_database_is_sqlite_under_duban_home(tmp_path: Path) -> None:
    result = duban("init", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "duban.db").exists()
    assert duban("status", home=tmp_path).returncode == 0


def test_status_json_has_the_documented_keys_and_counts(
    database_url: str, tmp_path: Path, now: datetime
) -> None:
    engine = make_engine(database_url)
    scenario.build(engine, now)
    engine.dispose()
    result = duban(
        "status", "--json", "--now", "2022-09-05T09:00:00+08:00", home=tmp_path, url=database_url
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures == {
        "plans": 1,
        "tasks": 2,
        "assignments": {
            "total": 4,
            "by_state": {
                "assigned": 4,
                "in_progress": 0,
                "reported": 0,
                "verified": 0,
                "closed": 0,
            },
        },
        "open_rounds": [],
        "open_escalations": {"total": 0, "by_level": {"1": 0, "2": 0, "3": 0}},
        "notifications": {
            "pending": 0,
            "claimed": 0,
            "sent": 0,
            "dead": 0,
            "merged": 0,
            "maybe_sent": 0,
        },
        "checkins": {"pending": 0, "submitted": 0, "accepted": 0, "returned": 0, "overdue": 0},
        # the seven office days up to 5 September: nothing sent yet
        "messages_received": {"since": "2022-08-30", "until": "2022-09-05", "by_unit": {}},
        # the scenario's four units have no contacts at all: nobody there can be told
        "unreachable_units": {
            "total": 4,
            "units": ["市教育局", "市公安局", "市检察院", "市市场监管局"],
        },
        "units_without_contacts": {
            "total": 4,
            "units": ["市教育局", "市公安局", "市检察院", "市市场监管局"],
        },
        "rounds": [],
        "lights": {
            "assignments": {"green": 4, "yellow": 0, "red": 0, "grey": 0},
            "tasks": {"green": 2, "yellow": 0, "red": 0, "grey": 0},
            "units": {"green": 4, "yellow": 0, "red": 0, "grey": 0},
        },
    }
    human = duban("status", home=tmp_path, url=database_url)
    assert "任务分工 4 项" in human.stdout and "已交办 4" in human.stdout
    english = duban("status", home=tmp_path, url=database_url, lang="en")
    assert "4 assignments" in english.stdout


def test_a_command_on_an_uninitialised_database_says_run_init(tmp_path: Path) -> None:
    result = duban("status", home=tmp_path)
    assert_one_clean_line(result, 2, "duban init")
    english = duban("status", home=tmp_path, lang="en")
    assert_one_clean_line(english, 2, "not initialised", "duban init")


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    result = duban("status", home=tmp_path, url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert_one_clean_line(result, 7, "无法访问数据库")


def test_bad_settings_name_the_variable(tmp_path: Path) -> None:
    result = duban("status", home=tmp_path, DUBAN_SQLITE_BUSY_TIMEOUT_MS="soon")
    assert_one_clean_line(result, 2, "DUBAN_SQLITE_BUSY_TIMEOUT_MS")


def test_a_bad_now_is_refused_with_the_option_named(tmp_path: Path) -> None:
    result = duban("init", "--now", "next tuesday", home=tmp_path)
    assert result.returncode == 2 and "--now" in result.stderr and "Traceback" not in result.stderr


def test_audit_verify_passes_then_names_the_tampered_record(
    database_url: str, tmp_path: Path, now: datetime
) -> None:
    engine = make_engine(database_url)
    scenario.build(engine, now)
    ok = duban("audit", "verify", home=tmp_path, url=database_url)
    assert ok.returncode == 0 and "审计链完整" in ok.stdout
    head = ok.stdout.strip().rsplit(" ", 1)[-1]
    assert (
        duban("audit", "verify", "--anchor", head, home=tmp_path, url=database_url).returncode == 0
    )
    with engine.begin() as connection:
        connection.execute(text("UPDATE audit_event SET actor = 'someone' WHERE seq = 3"))
    engine.dispose()
    broken = duban("audit", "verify", home=tmp_path, url=database_url)
    assert_one_clean_line(broken, 6, "第 3 条")
    as_json = json.loads(duban("audit", "verify", "--json", home=tmp_path, url=database_url).stdout)
    assert as_json["ok"] is False and as_json["first_bad_seq"] == 3
    bad_anchor = duban("audit", "verify", "--anchor", "three", home=tmp_path, url=database_url)
    assert_one_clean_line(bad_anchor, 2, "SEQ:SHA256")


def test_audit_show_and_export(database_url: str, tmp_path: Path, now: datetime) -> None:
    engine = make_engine(database_url)
    built = scenario.build(engine, now)
    engine.dispose()
    shown = duban(
        "audit", "show", "--unit", "市场监管局", "--json", home=tmp_path, url=database_url
    )
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)
    assert [r["action"] for r in rows] == ["unit.create", "assignment.create"]
    assert all(r["unit_id"] == built.units["市市场监管局"] for r in rows)
    unknown = duban("audit", "show", "--unit", "市不存在局", home=tmp_path, url=database_url)
    assert_one_clean_line(unknown, 3, "市不存在局")
    out = tmp_path / "audit.csv"
    exported = duban(
        "audit", "export", "--format", "csv", "--out", str(out), home=tmp_path, url=database_url
    )
    assert exported.returncode == 0, exported.stderr
    assert "已导出 11 条" in exported.stdout
    assert len(out.read_text(encoding="utf-8").splitlines()) == 12
    assert not out.with_name("audit.csv.partial").exists()


PROBE = """
import sys
sys.argv = ["duban", *sys.argv[1:]]
from cli.main import app
try:
    app()
except SystemExit:
    pass
loaded = any(m == "prefect" or m.startswith("prefect.") for m in sys.modules)
print("PREFECT" if loaded else "CLEAN", file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--help"], ["status"]])
def test_help_and_status_never_import_prefect(args: list[str], tmp_path: Path) -> None:
    assert duban("init", home=tmp_path).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")} | {
        "DUBAN_HOME": str(tmp_path)
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.stderr.strip().splitlines()[-1] == "CLEAN", result.stderr


def test_help_imports_no_database_layer() -> None:
    """`duban --help` loads neither the domain nor SQLAlchemy (about 40 MB and 0.4 s): a command
    module imports them inside its commands."""
    probe = PROBE.replace(
        'any(m == "prefect" or m.startswith("prefect.") for m in sys.modules)',
        '[m for m in ("sqlalchemy", "sqlmodel", "models") if m in sys.modules]',
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.stderr.strip().splitlines()[-1] == "CLEAN", result.stderr

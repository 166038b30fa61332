"""One label per code, wherever it is shown: models/labels.py, read by the portal's filters and
by the CLI's printing; stored times shown in the office's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine

from models import audit
from models.db import unit_of_work
from models.labels import AUDIT_ACTIONS, STATES, actor_label, label, local_time
from tests.support.cli import duban
from tests.support.pages import forbidden_in


def test_a_stored_time_is_shown_on_the_offices_clock() -> None:
    # 02:00 UTC is 10:00 in Beijing (UTC+8, no summer time); a naive time from SQLite is UTC.
    stored = datetime(2022, 9, 1, 2, 0, tzinfo=UTC)
    assert local_time(stored, "Asia/Shanghai") == "2022-09-01 10:00"
    assert local_time(stored.replace(tzinfo=None), "Asia/Shanghai", "second") == (
        "2022-09-01 10:00:00"
    )
    # 20:30 UTC is already the next day in Beijing.
    assert local_time(datetime(2022, 9, 1, 20, 30, tzinfo=UTC), "Asia/Shanghai", "day") == (
        "2022-09-02"
    )
    assert local_time(date(2022, 9, 30), "Asia/Shanghai", "day") == "2022-09-30"
    assert local_time(None, "Asia/Shanghai") == "—"


def test_a_code_has_its_chinese_label_and_an_unknown_one_is_never_shown_bare() -> None:
    assert label(STATES, "in_progress") == "办理中"
    assert label(AUDIT_ACTIONS, "assignment.create") == "交办"
    assert label(STATES, "frozen") == "其他（frozen）"
    assert label(STATES, None) == "—"
    assert actor_label("cli:root") == "命令行（系统管理员）"
    assert actor_label("system") == "系统（定时任务）"
    assert actor_label("clerk") == "clerk"


def test_the_cli_prints_the_trail_with_the_portals_labels_and_beijing_time(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    with unit_of_work(engine) as session:
        audit.record(
            session,
            at=datetime(2022, 9, 1, 2, 0, tzinfo=UTC),
            actor="cli:root",
            action="round.open",
            object_type="round",
            object_id="7",
        )
    shown = duban("audit", "show", "--limit", "1", home=tmp_path, url=database_url)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip().startswith(
        "#1 2022-09-01 10:00:00 命令行（系统管理员） 开启督导轮次 督导轮次:7"
    ), shown.stdout
    assert shown.stdout.strip().endswith("[成功]")
    assert forbidden_in(shown.stdout) == []
    english = duban("audit", "show", "--limit", "1", home=tmp_path, url=database_url, lang="en")
    assert "cli:root round.open round:7" in english.stdout  # DUBAN_LANG=en keeps the codes


def test_every_message_kind_has_a_label() -> None:
    from models.labels import MESSAGE_KINDS

    templates = Path(__file__).resolve().parent.parent / "notifications" / "templates"
    kinds = {p.name.removesuffix(".zh.html.j2") for p in templates.glob("*.zh.html.j2")}
    assert kinds and kinds == set(MESSAGE_KINDS)

"""一键催办 through the `duban` command: one digest at once, a cooldown, queued outside working
hours, counted per unit."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from config import Settings
from tests.support.cli import duban
from tests.support.hostile import STORABLE
from tests.support.portal import csrf_of, running, seed

ROOT = Path(__file__).parent.parent


def _office(tmp_path: Path, database_url: str):
    def run(*args: str, code: int = 0) -> str:
        result = duban(*args, home=tmp_path, url=database_url)
        assert result.returncode == code, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        return result.stdout + result.stderr

    run("units", "import", str(ROOT / "config/units/rugao.yaml"))
    run("import", str(ROOT / "tests/fixtures/seed-notice.txt"), "--plan-key", "2022")
    return run


def _emails(tmp_path: Path) -> list[Path]:
    return sorted((tmp_path / "outbox").rglob("*.eml"))


def test_a_nudge_sends_one_message_and_a_second_within_the_cooldown_is_refused_until_it_ends(
    database_url: str, tmp_path: Path
) -> None:
    run = _office(tmp_path, database_url)
    # Tuesday 10:00 Beijing time: within working hours, so the digest goes at the next dispatch.
    said = run("nudge", "--task", "12", "--unit", "市市场监管局", "--now", "2022-09-20T10:00+08:00")
    assert "已催办：市市场监管局（1 项），发送时间 2022-09-20 10:00" in said
    run("dispatch", "--now", "2022-09-20T10:01+08:00")
    emails = _emails(tmp_path)
    assert len(emails) == 1
    mail = BytesParser(policy=policy.default).parse(emails[0].open("rb"))
    assert mail["subject"] == "【催办】关于市市场监管局加快办理督办任务的催办通知"
    plain = mail.get_body(("plain",)).get_content()
    assert "第12项" in plain and "/assignments/" in plain

    # 23 hours later: refused, naming when the next is allowed (24 hours after the first).
    refused = run("nudge", "--unit", "市市场监管局", "--now", "2022-09-21T09:00+08:00", code=4)
    assert (
        "下次可催办时间：2022-09-21 10:00" in refused and "已于 2022-09-20 10:00 催办过" in refused
    )
    run("dispatch", "--now", "2022-09-21T09:01+08:00")
    assert len(_emails(tmp_path)) == 1

    # At the end of the cooldown it is allowed again.
    run("nudge", "--task", "12", "--unit", "市市场监管局", "--now", "2022-09-21T10:00+08:00")
    run("dispatch", "--now", "2022-09-21T10:01+08:00")
    assert len(_emails(tmp_path)) == 2

    engine = create_engine(database_url)
    with engine.connect() as connection:
        nudges = connection.execute(text("select count(*) from nudge")).scalar()
        events = connection.execute(
            text("select count(*) from audit_event where action = 'nudge.send'")
        ).scalar()
    engine.dispose()
    assert (nudges, events) == (2, 2)  # the refused one wrote nothing

    # The 通报 counts them per unit: two for 市市场监管局, none for a unit never nudged.
    run(
        "round",
        "open",
        "--name",
        "第三季度",
        "--due",
        "2022-09-30",
        "--now",
        "2022-09-21T11:00+08:00",
    )
    run("report", "--round", "第三季度", "--format", "md", "--out", str(tmp_path / "reports"))
    (markdown,) = (tmp_path / "reports").rglob("*.md")
    rows = {
        cells[1]: cells[-1].rstrip(" |")
        for line in markdown.read_text(encoding="utf-8").splitlines()
        if "| 催办 |" not in line and len(cells := line.split(" | ")) == 10
    }
    assert rows["市市场监管局"] == "2" and rows["市教育局"] == "0"


def test_a_nudge_outside_working_hours_waits_for_the_next_working_hours_start(
    database_url: str, tmp_path: Path
) -> None:
    run = _office(tmp_path, database_url)
    # Friday 2022-09-30 20:00: the National Day holiday runs 10-01..10-07 and Saturday 10-08 is a
    # make-up working day, so the digest waits for 2022-10-08 08:30 Beijing = 00:30 UTC.
    said = run("nudge", "--task", "12", "--unit", "市市场监管局", "--now", "2022-09-30T20:00+08:00")
    assert "发送时间 2022-10-08 08:30" in said
    engine = create_engine(database_url)
    with engine.connect() as connection:
        waits = connection.execute(
            text("select next_attempt_at from notification where kind = 'nudge'")
        ).scalar()
    engine.dispose()
    assert str(waits).startswith("2022-10-08 00:30")
    run("dispatch", "--now", "2022-10-08T08:29+08:00")
    assert _emails(tmp_path) == []
    run("dispatch", "--now", "2022-10-08T08:31+08:00")
    assert len(_emails(tmp_path)) == 1


def test_a_hostile_unit_name_is_refused_in_one_chinese_line_and_nothing_is_written(
    database_url: str, tmp_path: Path
) -> None:
    run = _office(tmp_path, database_url)
    for hostile in STORABLE:
        if not hostile.strip() or hostile.startswith("-"):
            continue  # an empty name or one typer reads as an option is not a unit name
        out = run("nudge", "--unit", hostile, "--now", "2022-09-20T10:00+08:00", code=3)
        assert "未找到单位" in out
    engine = create_engine(database_url)
    with engine.connect() as connection:
        assert connection.execute(text("select count(*) from nudge")).scalar() == 0
    engine.dispose()


def test_the_office_presses_nudge_on_the_assignment_page_and_a_second_press_gets_a_chinese_refusal(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    seed(engine)
    settings = Settings(home=tmp_path, database_url=database_url, dev_mode=True)
    with running(settings, engine) as portal:
        assignment = portal.assignment(12, "市市场监管局")
        with portal.login("staff") as office:
            page = office.get(f"/assignments/{assignment}").text
            assert "尚未催办" in page and f'action="/assignments/{assignment}/nudge"' in page
            pressed = office.post(f"/assignments/{assignment}/nudge", data={"csrf": csrf_of(page)})
            assert pressed.status_code == 303
            pressed = office.get(pressed.headers["location"])
            assert "已催办：市市场监管局，通知将于" in pressed.text
            assert "已催办 1 次，最近" in pressed.text
            again = office.post(
                f"/assignments/{assignment}/nudge", data={"csrf": csrf_of(pressed.text)}
            )
            assert again.status_code == 409
            assert "小时内不再催办；下次可催办时间：" in again.text
        api = portal.client()
        refused = api.post(
            f"/api/v1/assignments/{assignment}/nudges", headers=portal.token("staff")
        )
        assert refused.status_code == 409 and "下次可催办时间" in refused.text
        education = portal.assignment(5, "市教育局")
        sent = api.post(f"/api/v1/assignments/{education}/nudges", headers=portal.token("staff"))
        assert sent.status_code == 201 and sent.json()["unit"] == "市教育局"
        by_unit = api.post(
            f"/api/v1/assignments/{assignment}/nudges", headers=portal.token("market")
        )
        assert by_unit.status_code == 403
        with portal.login("market") as unit:
            seen = unit.get(f"/assignments/{assignment}").text
            assert "已催办 1 次" in seen and "/nudge" not in seen  # the unit sees it, no button
            assert unit.post(f"/assignments/{assignment}/nudge", data={}).status_code in (403, 400)

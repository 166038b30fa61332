"""Say when nobody can be told: units without a liaison e-mail are named when a round opens (CLI,
portal) and counted by `duban status`, instead of a quiet "0 messages"."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from config import Settings
from models.audit import AuditEvent
from models.db import reading, unit_of_work
from models.status import status
from models.unit import Contact, ContactRole, Unit
from tests.support.browser import ARTIFACTS, needs_chromium
from tests.support.cli import duban
from tests.support.hostile import STORABLE, marker_of, raw_values_in
from tests.support.portal import PASSWORD, csrf_of, running, seed
from tests.support.small_office import open_september, with_contacts

ROOT = Path(__file__).parent.parent
SILENT = ("市委宣传部", "市应急管理局")


def test_opening_a_round_names_the_units_without_a_liaison_e_mail(engine: Engine) -> None:
    with_contacts(engine, without_liaison=("市教育局",))
    open_september(engine)
    with reading(engine) as session:
        opened = session.exec(select(AuditEvent).where(AuditEvent.action == "round.open")).one()
        figures = status(session)
    assert json.loads(opened.after)["unreached"] == ["市教育局"]
    assert figures["unreachable_units"] == {"total": 1, "units": ["市教育局"]}


def test_every_unit_reached_means_nobody_is_listed(engine: Engine) -> None:
    with_contacts(engine)
    open_september(engine)
    with reading(engine) as session:
        assert status(session)["unreachable_units"] == {"total": 0, "units": []}


def _directory_without_liaisons(target: Path) -> Path:
    """The sample directory with the liaison (name and e-mail) of SILENT removed."""
    text = (ROOT / "config/units/rugao.yaml").read_text(encoding="utf-8")
    for name in SILENT:
        text, removed = re.subn(
            rf"  liaison:\n    name: {name}联络员\n    email: [^\n]+\n", "", text
        )
        assert removed == 1, name
    target.write_text(text, encoding="utf-8")
    return target


def test_the_command_line_lists_who_will_not_be_notified_and_status_counts_them(
    database_url: str, tmp_path: Path
) -> None:
    def run(*args: str) -> str:
        result = duban(*args, home=tmp_path, url=database_url)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout + result.stderr

    run("units", "import", str(_directory_without_liaisons(tmp_path / "units.yaml")))
    run("import", str(ROOT / "tests/fixtures/seed-notice.txt"), "--plan-key", "2022")
    said = run(
        "round", "open", "--name", "第三季度", "--due", "2022-09-30",
        "--now", "2022-09-19T09:00:00+08:00",
    )  # fmt: skip
    # 49 units owe something and each gets one digest; two of them have no liaison now.
    assert "报送事项 98 项，通知 47 条" in said
    assert "以下 2 个单位无联系方式（联络员邮箱），不会收到通知" in said
    assert "市委宣传部、市应急管理局" in said
    assert "无联系方式的单位：2 个：市委宣传部、市应急管理局" in run("status")
    figures = json.loads(run("status", "--json"))
    assert figures["unreachable_units"] == {"total": 2, "units": list(SILENT)}


def test_the_portal_says_after_opening_which_units_were_not_told(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    seed(engine)
    hostile = [v for v in STORABLE if "<" in v and len(v) <= 200]
    with unit_of_work(engine) as session:
        units = session.exec(
            select(Unit).where(col(Unit.name).in_(["市应急管理局", "市委宣传部", "市教育局"]))
        ).all()
        for unit, name in zip(units, hostile, strict=False):
            unit.name = name  # a directory entry someone typed: shown escaped, never as markup
            for contact in session.exec(
                select(Contact).where(
                    Contact.unit_id == unit.id, Contact.role == ContactRole.LIAISON
                )
            ):
                session.delete(contact)
    renamed = hostile[: len(units)]
    settings = Settings(home=tmp_path, database_url=database_url, dev_mode=True)
    with running(settings, engine) as portal, portal.login("office") as office:
        token = csrf_of(office.get("/rounds").text)
        opened = office.post(
            "/rounds",
            data={"csrf": token, "plan": "2022", "name": "第三季度", "report_by": "2099-09-30"},
        )
        assert opened.status_code == 303, opened.text
        page = office.get(opened.headers["location"]).text
        assert "已开启督导轮次“第三季度”" in page
        assert f"以下 {len(renamed)} 个单位无联系方式（联络员邮箱），不会收到通知" in page
        assert raw_values_in(page, tuple(renamed)) == []
        assert all(marker_of(name) in page for name in renamed)


@needs_chromium
def test_the_rounds_page_after_opening_reads_well_on_a_desk_and_a_phone(
    engine: Engine, database_url: str, tmp_path: Path, browser, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("one browser run is enough: the HTTP tests cover both databases")
    seed(engine)
    with unit_of_work(engine) as session:
        silent = session.exec(select(Unit.id).where(col(Unit.name).in_(SILENT))).all()
        for contact in session.exec(
            select(Contact).where(
                col(Contact.unit_id).in_(silent), Contact.role == ContactRole.LIAISON
            )
        ):
            session.delete(contact)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    settings = Settings(home=tmp_path, database_url=database_url, dev_mode=True)
    with running(settings, engine) as portal:
        for width, name in ((1366, "第三季度"), (390, "第四季度")):
            context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900})
            page = context.new_page()
            page.goto(f"{portal.url}/login")
            page.fill("input[name=username]", "office")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.goto(f"{portal.url}/rounds")
            page.fill("input[name=name]", name)
            page.fill("input[name=report_by]", "2099-12-30")
            page.click("form[action='/rounds'] button[type=submit]")
            notice = page.locator("p[role=status]").inner_text()
            assert "以下 2 个单位无联系方式" in notice and "市委宣传部、市应急管理局" in notice
            page.screenshot(path=str(ARTIFACTS / f"rounds-unreached-{width}.png"), full_page=True)
            # The notice itself fits a phone (the plan chooser below it is the page's own matter).
            box = page.locator("p[role=status]").bounding_box()
            assert box is not None and box["x"] + box["width"] <= width
            context.close()

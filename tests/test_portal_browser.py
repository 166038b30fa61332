"""End to end in a real headless Chromium (Debian's package, driven by Playwright's Python package).

The office opens a round due tomorrow (a working day away, so 市市场监管局's
task is yellow); the unit signs and files its completion report with
evidence; the office returns it, the unit files again, the office accepts;
the leader sees the light turn green. The dashboard's screenshot is kept in
build/artifacts/.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from config import Settings
from models.calendar import add_working_days, is_working_day
from tests.support.browser import ARTIFACTS, needs_chromium
from tests.support.portal import PASSWORD, running, seed

pytestmark = needs_chromium


def test_a_round_from_opening_to_a_green_light(
    engine: Engine, database_url: str, tmp_path: Path, browser, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("one browser run is enough: the HTTP tests cover both databases")
    seed(engine)
    today = date.today()
    due = add_working_days(today, 1) if is_working_day(today) else add_working_days(today, 2)
    evidence = tmp_path / "抽检报告.pdf"
    evidence.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    settings = Settings(home=tmp_path, database_url=database_url, dev_mode=True)
    with running(settings, engine) as portal:

        def session(username: str):
            context = browser.new_context(locale="zh-CN")
            page = context.new_page()
            page.goto(f"{portal.url}/login")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            return context, page

        office_context, office = session("office")
        office.goto(f"{portal.url}/rounds")
        office.fill("input[name=name]", "第一轮")
        office.fill("input[name=report_by]", due.isoformat())
        # The button, not the cadence's words "由办公室开启轮次" above it.
        office.click("button:has-text('开启轮次')")
        assert office.get_by_role("cell", name="第一轮", exact=True).count() == 1

        own = portal.assignment(12, "市市场监管局")
        leader_context, leader = session("leader")
        leader.goto(f"{portal.url}/dashboard?task=12")
        chip = leader.locator(f'[data-assignment="{own}"]')
        assert "yellow" in chip.get_attribute("class")

        unit_context, unit = session("market")
        assert unit.url.endswith("/inbox")
        unit.click("text=开展质量守护行动")
        unit.click("button[value=sign]")
        assert unit.locator("#state").inner_text() == "办理中"
        unit.fill("textarea[name=text]", "开展校园食品安全检查120次")
        unit.fill("input[name=percent]", "100")
        unit.set_input_files("input[name=evidence]", str(evidence))
        unit.check("input[name=completed]")
        unit.click("#filing-form button[type=submit]")
        assert unit.locator("#state").inner_text() == "已报结"

        office.goto(f"{portal.url}/review")
        office.fill("input[name=reason]", "缺少检查台账")
        office.click('article.review button:has-text("退回")')
        unit.reload()
        assert unit.locator("text=已退回：缺少检查台账").count() == 1
        unit.fill("textarea[name=text]", "已补充检查台账")
        unit.check("input[name=completed]")
        unit.click("#filing-form button[type=submit]")

        office.goto(f"{portal.url}/review")
        with office.expect_download() as download:
            office.click("figcaption >> text=抽检报告.pdf")
        assert download.value.suggested_filename == "抽检报告.pdf"
        office.click('article.review button:has-text("通过")')
        assert office.locator("text=没有待审核的报送").count() == 1

        leader.goto(f"{portal.url}/dashboard?task=12")
        assert "green" in leader.locator(f'[data-assignment="{own}"]').get_attribute("class")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "dashboard.png"
        leader.goto(f"{portal.url}/dashboard")
        leader.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        shutil.copy(shot, tmp_path / "dashboard.png")
        for context in (office_context, leader_context, unit_context):
            context.close()

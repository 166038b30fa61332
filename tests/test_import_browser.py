"""The import preview in a real headless Chromium, at a desktop width (1366 px) and a phone's (390
px).

The office uploads a notice with a task the reader cannot assign, gives it its units and corrects a
deadline in the preview, previews again, applies, and completes nothing more; then, on a phone, a
second notice leaves a task 待分工 and it is assigned on the 待分工 page. Screenshots go to
build/artifacts/.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from config import Settings
from tests.support.browser import ARTIFACTS, needs_chromium
from tests.support.imports import HEADER, ROWS, held
from tests.support.portal import PASSWORD, running, seed

pytestmark = needs_chromium


def _office(browser, url: str, width: int):
    context = browser.new_context(
        locale="zh-CN", viewport={"width": width, "height": 900 if width > 800 else 844}
    )
    page = context.new_page()
    page.goto(f"{url}/login")
    page.fill("input[name=username]", "office")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    return context, page


def _shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    return path


def test_the_office_corrects_a_notice_in_the_preview_at_desktop_and_phone_widths(
    engine: Engine, database_url: str, tmp_path: Path, browser, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("one browser run is enough: the HTTP tests cover both databases")
    seed(engine)
    notice = tmp_path / "儿童友好清单.csv"
    notice.write_text(HEADER + ROWS, encoding="utf-8")
    with running(
        Settings(home=tmp_path, database_url=database_url, dev_mode=True), engine
    ) as portal:
        context, page = _office(browser, portal.url, 1366)
        page.goto(f"{portal.url}/import")
        page.set_input_files("input[name=notice]", str(notice))
        page.fill("input[name=plan_key]", "p2023")
        page.click("button:has-text('预览')")
        assert page.locator("#task-2 .badge", has_text="待分工").count() == 1
        _shot(page, "import-preview-1366.png")
        # The pending task's form is open; task 3's is behind its "修改" summary.
        page.fill("textarea[name=lead-2]", "市住建局")
        page.fill("textarea[name=cooperating-2]", "市民政局")
        page.click("#task-3 summary")
        page.fill("input[name=deadline-3]", "2023-10-31")
        page.click("button:has-text('更新预览')")
        assert page.locator("text=已按您的修改更新预览").count() == 1
        assert page.locator("#task-2 .badge").count() == 0
        _shot(page, "import-preview-revised-1366.png")
        page.click("button:has-text('确认导入')")
        assert page.url.endswith("/dashboard")
        context.close()
        assert set(held(engine, 2, "p2023")) == {"市住房和城乡建设局", "市民政局"}
        assert held(engine, 3, "p2023")["市卫生健康委"][1] == date(2023, 10, 31)

        context, phone = _office(browser, portal.url, 390)
        phone.goto(f"{portal.url}/import")
        phone.set_input_files("input[name=notice]", str(notice))
        phone.fill("input[name=plan_key]", "p2024")
        phone.click("button:has-text('预览')")
        _shot(phone, "import-preview-390.png")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the preview scrolls sideways on a phone ({width} px)"
        phone.click("button:has-text('确认导入')")
        assert phone.url.endswith("/import/pending")
        _shot(phone, "import-pending-390.png")
        phone.fill("textarea[name=lead]", "市住建局")
        phone.click("button:has-text('分工')")
        assert phone.locator("text=任务 2 已分工").count() == 1
        assert phone.locator("text=没有待分工的任务").count() == 1
        context.close()
    assert set(held(engine, 2, "p2024")) == {"市住房和城乡建设局"}

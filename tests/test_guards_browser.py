"""The assignment page in a real headless Chromium: a lead unit waiting for its cooperating units.

市教育局 leads task 5; its cooperating units have not reported, so the page offers no completion
report and says why. Screenshots at a desktop and a phone width go to build/screens/.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from config import Settings
from tests.support.browser import needs_chromium
from tests.support.portal import PASSWORD, open_round, running, seed

pytestmark = needs_chromium

SCREENS = Path(__file__).resolve().parent.parent / "build" / "screens"


def test_a_lead_unit_is_not_offered_its_report_before_its_cooperating_units_and_is_told_why(
    engine: Engine, database_url: str, tmp_path: Path, browser, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("one browser run is enough: the guards are tested on both databases")
    seed(engine)
    open_round(engine, date.today() + timedelta(days=30))
    settings = Settings(home=tmp_path, database_url=database_url, dev_mode=True)
    SCREENS.mkdir(parents=True, exist_ok=True)
    with running(settings, engine) as portal:
        lead = portal.assignment(5, "市教育局")
        context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
        page = context.new_page()
        page.goto(f"{portal.url}/login")
        page.fill("input[name=username]", "edu")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{portal.url}/assignments/{lead}")
        page.click("button[value=sign]")
        assert page.locator("#state").inner_text() == "办理中"

        # Progress may be filed; the completion report may not, and the page says which units it
        # waits for.
        assert page.locator("textarea[name=text]").count() == 1
        assert page.locator("input[name=completed]").count() == 0
        held = page.locator("#held-report").inner_text()
        assert held.startswith("暂不能报送办结（配合单位尚未报结：") and held.endswith("）")
        assert "市公安局" in held and "市检察院" in held
        assert page.locator("button[value=report]").count() == 0
        page.screenshot(path=str(SCREENS / "lead-waiting-1366.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(SCREENS / "lead-waiting-390.png"), full_page=True)
        context.close()

"""暂停 on every interface: `duban suspend|resume`, POST/DELETE
/api/v1/assignments/{id}/suspension (the office's alone: 403 for a unit, 404 for what it cannot
see, 409 for a second suspend or a resume of a running item), and the assignment page (the office's
暂停/恢复 only when legal; the unit sees that its item is paused and why), over HTTP and in Chromium
at 1366 and 390 px.

The CLI's hand-worked figure: suspended Friday 2024-09-27, resumed Monday 2024-10-14 = 8 working
days (27, Sun 29 make-up, 30, 8–11 October, Sat 12 make-up; 1–7 October are off).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from tests.support.browser import needs_chromium
from tests.support.cli import assert_one_clean_line, duban
from tests.support.hostile import STORABLE, injected_markup_in
from tests.support.pages import check_page, signed_in_pages
from tests.support.portal import Portal, csrf_of, form_fields, serve_seeded

ROOT = Path(__file__).parent.parent
REASON = "等待省级政策出台"


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    yield from serve_seeded(engine, database_url, tmp_path, upload_max_mb=5)


def test_the_cli_suspends_and_resumes_with_chinese_refusals_and_counts_the_working_days(
    database_url: str, tmp_path: Path
) -> None:
    def run(*args: str) -> object:
        return duban(*args, home=tmp_path, url=database_url)

    assert run("units", "import", str(ROOT / "config/units/rugao.yaml")).returncode == 0
    notice = str(ROOT / "tests/fixtures/seed-notice.txt")
    assert run("import", notice, "--plan-key", "2022").returncode == 0
    item = ("--task", "12", "--unit", "市市场监管局")
    opened = run(
        "round", "open", "--name", "十月督导", "--due", "2024-10-09", "--now", "2024-09-23T10:00"
    )
    assert opened.returncode == 0, opened.stderr
    blank = run("suspend", *item, "--reason", "  ", "--now", "2024-09-27T10:00")
    assert_one_clean_line(blank, 2, "“暂停”必须填写理由")
    early = run("resume", *item, "--now", "2024-09-27T10:00")
    assert_one_clean_line(early, 4, "任务12／市市场监管局）未暂停，不能恢复")
    done = run("suspend", *item, "--reason", REASON, "--now", "2024-09-27T10:00")
    assert done.returncode == 0, done.stderr
    assert f"已暂停：任务12／市市场监管局（理由：{REASON}）" in done.stdout
    again = run("suspend", *item, "--reason", "再次", "--now", "2024-09-30T10:00")
    assert_one_clean_line(again, 4, "已暂停，不能暂停")
    resumed = run("resume", *item, "--now", "2024-10-14T10:00", "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["working_days"] == 8
    # The 通报 as of Thursday 10 October (the item paused then, though resumed since): 暂停中 1 项,
    # its line grey; as of the 15th, none.
    out = tmp_path / "reports"
    for day in ("2024-10-10", "2024-10-15"):
        made = run(
            "report",
            "--round",
            "十月督导",
            "--as-of",
            day,
            "--format",
            "md,html",
            "--out",
            str(out / day),
        )
        assert made.returncode == 0, made.stderr
    (paused,) = (out / "2024-10-10").rglob("*.md")
    assert "| 暂停中（经办公室暂停，不计逾期） | 1 项 |" in paused.read_text(encoding="utf-8")
    (page,) = (out / "2024-10-10").rglob("*.html")
    assert "市市场监管局（暂停）" in page.read_text(encoding="utf-8")
    (running,) = (out / "2024-10-15").rglob("*.md")
    assert "| 暂停中（经办公室暂停，不计逾期） | 0 项 |" in running.read_text(encoding="utf-8")
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("select reason, working_days, suspended_by from suspension")
        ).all()
        events = connection.execute(
            text("select count(*) from audit_event where action like 'suspension.%'")
        ).scalar()
    engine.dispose()
    assert [tuple(r[:2]) for r in rows] == [(REASON, 8)]
    assert events == 2  # the three refusals wrote nothing


def test_the_api_suspends_and_resumes_for_the_office_only(portal: Portal) -> None:
    market = portal.assignment(12, "市市场监管局")
    edu = portal.assignment(5, "市教育局")
    path = f"/api/v1/assignments/{market}/suspension"
    with portal.client() as client:
        office, unit, other = portal.token("office"), portal.token("market"), portal.token("edu")
        refused = client.post(path, json={"reason": REASON}, headers=unit)
        assert refused.status_code == 403
        # Another unit's item is not even visible to it; an unknown id is 404 for the office.
        assert client.post(path, json={"reason": REASON}, headers=other).status_code == 404
        missing = client.post(
            "/api/v1/assignments/999999/suspension", json={"reason": REASON}, headers=office
        )
        assert missing.status_code == 404
        assert client.delete(path, headers=office).status_code == 409  # not suspended
        assert client.post(path, json={"reason": " "}, headers=office).status_code == 400
        made = client.post(path, json={"reason": REASON}, headers=office)
        assert made.status_code == 201, made.text
        assert made.json()["reason"] == REASON and made.json()["resumed_at"] is None
        twice = client.post(path, json={"reason": REASON}, headers=office)
        assert twice.status_code == 409 and "已暂停，不能暂停" in twice.text
        seen = client.get(path, headers=unit)  # the unit reads its own item's pauses
        assert seen.status_code == 200 and [s["reason"] for s in seen.json()] == [REASON]
        assert client.delete(path, headers=unit).status_code == 403
        ended = client.delete(path, headers=office)
        assert ended.status_code == 200, ended.text
        assert ended.json()["working_days"] == 0  # resumed the same day
        assert client.delete(path, headers=office).status_code == 409
        assert client.get(f"/api/v1/assignments/{edu}/suspension", headers=unit).status_code == 404


def test_the_office_pauses_on_the_assignment_page_and_the_unit_sees_why(portal: Portal) -> None:
    market = portal.assignment(12, "市市场监管局")
    page_path = f"/assignments/{market}"
    hostile = f"{REASON} {STORABLE[0]}"
    with portal.login("market") as unit:
        before = unit.get(page_path).text
        assert "暂停理由" not in before and "暂停中" not in before  # no button for a unit
        refused = unit.post(f"{page_path}/suspend", data={"csrf": csrf_of(before), "reason": "x"})
        assert refused.status_code == 403
    with portal.login("staff") as office:
        page = office.get(page_path).text
        fields = form_fields(page, f"{page_path}/suspend")
        assert f'action="{page_path}/resume"' not in page  # running: only 暂停 is legal
        blank = office.post(f"{page_path}/suspend", data=fields | {"reason": " "})
        assert blank.status_code == 400 and "“暂停”必须填写理由" in blank.text
        sent = office.post(f"{page_path}/suspend", data=fields | {"reason": hostile})
        assert sent.status_code == 303, sent.text
        paused = office.get(sent.headers["location"]).text
        assert "已暂停，暂停期间停止计时" in paused and "暂停中" in paused
        assert f'action="{page_path}/resume"' in paused and "暂停理由" not in paused
        assert injected_markup_in(paused) == []
        dashboard = office.get("/dashboard?task=12").text
        assert f'class="chip grey" data-assignment="{market}"' in dashboard
    with portal.login("market") as unit:
        seen = unit.get(page_path).text
        assert "暂停中" in seen and REASON in seen and "由 staff 暂停" in seen
        assert f'action="{page_path}/resume"' not in seen
        assert injected_markup_in(seen) == []
        inbox = unit.get("/inbox").text
        assert "暂停计时，恢复后顺延" in inbox and 'class="light grey"' in inbox
    with portal.login("staff") as office:
        page = office.get(page_path).text
        resumed = office.post(f"{page_path}/resume", data={"csrf": csrf_of(page)})
        assert resumed.status_code == 303
        after = office.get(resumed.headers["location"]).text
        assert "已恢复计时，暂停 " in after and "暂停记录（1 次）" in after
        assert "暂停理由" in after  # running again: 暂停 is offered again
        again = office.post(f"{page_path}/resume", data={"csrf": csrf_of(after)})
        assert again.status_code == 409 and "未暂停，不能恢复" in again.text


@needs_chromium
def test_the_paused_assignment_page_in_chromium(portal: Portal, browser, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("one browser run is enough: the HTTP tests cover both databases")
    market = portal.assignment(12, "市市场监管局")
    with signed_in_pages(browser, portal.url, "staff") as pages:
        for width, page in pages.items():
            page.goto(f"{portal.url}/assignments/{market}")
            check_page(page, "assignment-suspend-form")
            assert page.locator("#suspend").is_visible(), width
        first = pages[min(pages)]
        first.fill("input[name=reason]", REASON)
        with first.expect_navigation():
            first.click("#suspend")
        for width, page in pages.items():
            page.goto(f"{portal.url}/assignments/{market}")
            check_page(page, "assignment-suspended-office")
            assert page.locator("#resume").is_visible(), width
            page.goto(f"{portal.url}/dashboard?task=12")
            check_page(page, "dashboard-suspended")
            assert page.locator(f"a.chip.grey[data-assignment='{market}']").is_visible(), width
    with signed_in_pages(browser, portal.url, "market") as pages:
        for width, page in pages.items():
            page.goto(f"{portal.url}/assignments/{market}")
            check_page(page, "assignment-suspended-unit")
            assert REASON in page.inner_text("#pause"), width
            assert page.locator("#resume").count() == 0, width

"""Archiving in the portal and the API: the office's /plans page lists every plan (searchable) and
offers 归档 only on a plan whose items are all closed or withdrawn; POST /api/v1/plans/{key}/archive
for the office alone (403 for others, 404 unknown, 409 with the Chinese reason while items are
open); after it the plan has left the dashboard and the rounds page, and its pages, trail and the
list still show it. Seen in Chromium at 1366 and 390 px.

Beside the seed plan "2022" (98 assignments open), tests/support/archive.py's "done": 2
assignments, both closed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from models.assignment import Assignment
from models.db import reading
from tests.support.archive import assignment_in, finish, import_small_plan
from tests.support.browser import needs_chromium
from tests.support.hostile import STORABLE, injected_markup_in
from tests.support.pages import check_page, signed_in_pages
from tests.support.portal import Portal, csrf_of, serve_seeded

SEED_OPEN = "计划“2022”还有 98 项任务分工未销号（也未撤销），不能归档。"
READ_ONLY = "计划“done”已归档，只读：不能再修改其任务分工、督导轮次、报送或报送周期。"
DONE_TASK = "加强校园安全管理"  # task 2 of "done"; the seed has no task of that title


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    for found in serve_seeded(engine, database_url, tmp_path, upload_max_mb=5):
        import_small_plan(engine, tmp_path)
        finish(engine)
        yield found


def _archive_forms(html: str) -> list[str]:
    return re.findall(r'<form method="post" action="(/plans/[^"]+/archive)"', html)


def test_the_plans_page_offers_archiving_only_where_it_is_legal(portal: Portal) -> None:
    with portal.login("office") as office:
        page = office.get("/plans").text
        assert _archive_forms(page) == ["/plans/done/archive"]  # not the seed's: 98 still open
        assert "尚有 98 项未办结" in page and page.count("进行中") == 2
        token = csrf_of(page)
        refused = office.post("/plans/2022/archive", data={"csrf": token})
        assert refused.status_code == 409 and SEED_OPEN in refused.text
        assert office.post("/plans/nope/archive", data={"csrf": token}).status_code == 404
        assert DONE_TASK in office.get("/dashboard?page_no=1&task=2").text  # still live
        done = office.post("/plans/done/archive", data={"csrf": token})
        assert done.status_code == 303
        after = office.get(done.headers["location"]).text
        assert "此后只读" in after and "已归档" in after and _archive_forms(after) == []
        again = office.post("/plans/done/archive", data={"csrf": token})
        assert again.status_code == 409 and READ_ONLY in again.text
        # Listed and searchable still; gone from the dashboard and the rounds page's forms.
        assert "已归档" in office.get("/plans?q=don").text
        assert "没有找到" in office.get("/plans?q=nothing-like-it").text
        assert DONE_TASK not in office.get("/dashboard?page_no=1&task=2").text
        assert 'value="done"' not in office.get("/rounds").text
        # Its assignment page stays readable, with nothing offered; its trail names the archive.
        edu = assignment_in(portal.engine, "done", 2, "市教育局")
        item = office.get(f"/assignments/{edu}")
        assert item.status_code == 200 and "/act/reopen" not in item.text
        with reading(portal.engine) as session:
            version = session.get_one(Assignment, edu).version
        reopened = office.post(
            f"/assignments/{edu}/act/reopen",
            data={"csrf": token, "do": "reopen", "version": version, "reason": "复核"},
        )
        assert reopened.status_code == 409 and READ_ONLY in reopened.text
        assert "归档计划" in office.get("/audit").text
        for hostile in STORABLE[:3]:
            shown = office.get("/plans", params={"q": hostile})
            assert shown.status_code == 200 and injected_markup_in(shown.text) == []
    with portal.login("staff") as staff:
        assert staff.get("/plans").status_code == 200
    for username in ("edu", "leader", "auditor"):
        with portal.login(username) as other:
            assert other.get("/plans").status_code == 403, username


def test_a_unit_cannot_archive_and_no_longer_sees_an_archived_plan_in_its_inbox(
    portal: Portal,
) -> None:
    with portal.login("edu") as unit:
        assert DONE_TASK in unit.get("/inbox").text
        token = csrf_of(unit.get("/inbox").text)
        assert unit.post("/plans/done/archive", data={"csrf": token}).status_code == 403
    with portal.login("office") as office:
        token = csrf_of(office.get("/plans").text)
        assert office.post("/plans/done/archive", data={"csrf": token}).status_code == 303
    with portal.login("edu") as unit:
        assert DONE_TASK not in unit.get("/inbox").text


def test_the_api_lists_plans_and_archives_for_the_office_only(portal: Portal) -> None:
    with portal.client() as client:
        office, unit, leader = portal.token("office"), portal.token("edu"), portal.token("leader")
        listed = client.get("/api/v1/plans", headers=office)
        assert listed.status_code == 200, listed.text
        rows = {r["key"]: r for r in listed.json()}
        assert (rows["2022"]["open"], rows["2022"]["archivable"]) == (98, False)
        assert (rows["done"]["closed"], rows["done"]["open"], rows["done"]["archivable"]) == (
            2,
            0,
            True,
        )
        assert client.get("/api/v1/plans", headers=leader).status_code == 200
        assert client.get("/api/v1/plans", headers=unit).status_code == 403
        assert client.post("/api/v1/plans/done/archive", headers=unit).status_code == 403
        assert client.post("/api/v1/plans/done/archive", headers=leader).status_code == 403
        assert client.post("/api/v1/plans/nope/archive", headers=office).status_code == 404
        open_items = client.post("/api/v1/plans/2022/archive", headers=office)
        assert open_items.status_code == 409 and SEED_OPEN in open_items.json()["detail"]
        archived = client.post("/api/v1/plans/done/archive", headers=office)
        assert archived.status_code == 200, archived.text
        body = archived.json()
        assert (body["state"], body["state_zh"], body["archivable"]) == (
            "archived",
            "已归档",
            False,
        )
        assert body["archived_by"] == "office"
        again = client.post("/api/v1/plans/done/archive", headers=office)
        assert again.status_code == 409 and READ_ONLY in again.json()["detail"]
        searched = client.get("/api/v1/plans", params={"search": "don"}, headers=office).json()
        assert [r["key"] for r in searched] == ["done"]
        # A write on the archived plan through the API is the same one refusal.
        cadence = client.put(
            "/api/v1/plans/done/cadence", json={"cadence": "monthly", "day": 25}, headers=office
        )
        assert cadence.status_code == 409 and READ_ONLY in cadence.json()["detail"]


@needs_chromium
def test_the_plans_page_and_its_archive_button_in_chromium(
    portal: Portal, browser, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("one browser run is enough: the HTTP tests cover both databases")
    with signed_in_pages(browser, portal.url, "office") as pages:
        for width, page in pages.items():
            page.goto(f"{portal.url}/plans")
            check_page(page, "plans")
            assert page.get_by_role("link", name="计划").first.is_visible() or width < 800
        page = pages[1366]
        page.get_by_role("button", name="归档").click()
        page.wait_for_selector("p.flash")
        assert "此后只读" in page.locator("p.flash").inner_text()
        assert page.get_by_role("button", name="归档").count() == 0
        for width, shown in pages.items():
            shown.goto(f"{portal.url}/plans")
            check_page(shown, "plans-archived")
            assert "已归档" in shown.locator("table").inner_text(), width

"""The reporting cadence in the portal and the API: the office sets it on the rounds page (or PUT
/api/v1/plans/{key}/cadence), and a unit starts a new period's filing from its previous one
(沿用上期); both seen in Chromium at 1366 and 390 px."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from models.db import unit_of_work
from models.rounds import close_round
from tests.support.browser import needs_chromium
from tests.support.hostile import STORABLE, injected_markup_in
from tests.support.pages import check_page, signed_in_pages
from tests.support.portal import Portal, csrf_of, form_fields, open_round, serve_seeded
from tests.support.scenario import OFFICE


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    yield from serve_seeded(engine, database_url, tmp_path, upload_max_mb=5)


def test_the_office_sets_the_cadence_on_the_rounds_page(portal: Portal) -> None:
    with portal.login("office") as office:
        page = office.get("/rounds").text
        assert "报送周期" in page and "未设定（由办公室开启轮次）" in page
        fields = form_fields(page, "/rounds/cadence")
        sent = office.post(
            "/rounds/cadence", data=fields | {"cadence": "monthly", "day": "25", "adjust": "later"}
        )
        assert sent.status_code == 303
        after = office.get(sent.headers["location"]).text
        assert "已设定报送周期" in after and "每月25日前报送（遇节假日顺延至下一个工作日）" in after
        assert "下一期“" in after
        bad = office.post("/rounds/cadence", data=fields | {"cadence": "monthly", "day": "二十五"})
        assert bad.status_code == 400 and "请填写每期报送截止日" in bad.text
        for hostile in STORABLE[:4]:
            missing = office.post(
                "/rounds/cadence", data=fields | {"plan": hostile, "cadence": "monthly", "day": "5"}
            )
            assert missing.status_code == 404 and "未找到计划" in missing.text
            assert injected_markup_in(missing.text) == []
    with portal.login("edu") as unit:
        token = csrf_of(unit.get(f"/assignments/{portal.assignment(5, '市教育局')}").text)
        refused = unit.post(
            "/rounds/cadence", data={"csrf": token, "plan": "2022", "cadence": "once"}
        )
        assert refused.status_code == 403


def test_the_api_reads_and_sets_the_cadence_for_the_office_only(portal: Portal) -> None:
    with portal.client() as client:
        office, unit = portal.token("office"), portal.token("edu")
        body = {"cadence": "quarterly", "day": 20, "adjust": "earlier"}
        put = client.put("/api/v1/plans/2022/cadence", json=body, headers=office)
        assert put.status_code == 200, put.text
        assert put.json()["words"] == "每季度末月20日前报送（遇节假日提前至前一个工作日）"
        assert len(put.json()["upcoming"]) == 3
        assert put.json()["upcoming"][0]["name"].endswith("季度进展")
        assert client.get("/api/v1/plans/2022/cadence", headers=unit).json()["cadence"] == (
            "quarterly"
        )
        assert client.put("/api/v1/plans/2022/cadence", json=body, headers=unit).status_code == 403
        weekly = client.put(
            "/api/v1/plans/2022/cadence", json=body | {"cadence": "weekly"}, headers=office
        )
        assert weekly.status_code == 422
        no_day = client.put(
            "/api/v1/plans/2022/cadence", json={"cadence": "monthly"}, headers=office
        )
        assert no_day.status_code == 400 and "报送日应为 1 至 31 日" in no_day.text
        assert client.get("/api/v1/plans/nope/cadence", headers=office).status_code == 404


def _second_period(portal: Portal, text: str) -> int:
    """市教育局 files progress on task 5 in 第一轮; the office closes it and opens 第二轮."""
    assignment = portal.assignment(5, "市教育局")
    with portal.login("edu") as unit:
        page = unit.get(f"/assignments/{assignment}").text
        assert "沿用上期" not in page  # nothing filed before
        filed = unit.post(
            f"/assignments/{assignment}/checkins",
            data=form_fields(page, f"/assignments/{assignment}/checkins")
            | {"text": text, "percent": "40", "problems": "经费待落实"},
        )
        assert filed.status_code == 303, filed.text
    with unit_of_work(portal.engine) as session:
        close_round(
            session, plan_key="2022", name="第一轮", actor=OFFICE, now=_now(), confirmed=True
        )
    open_round(portal.engine, date.today() + timedelta(days=40), name="第二轮")
    return assignment


def _now():
    from models.clock import utc_now

    return utc_now()


def test_a_new_period_s_filing_starts_from_the_previous_one(portal: Portal) -> None:
    hostile = STORABLE[0]
    assignment = _second_period(portal, f"完成校园安防排查 {hostile}")
    with portal.login("edu") as unit:
        page = unit.get(f"/assignments/{assignment}").text
        assert "沿用上期（第一轮）报送内容" in page
        carried = unit.get(f"/assignments/{assignment}?from=previous").text
        assert "已填入上期（第一轮）报送的内容" in carried
        fields = form_fields(carried, f"/assignments/{assignment}/checkins")
        assert fields["text"] == f"完成校园安防排查 {hostile}"
        assert fields["percent"] == "40" and fields["problems"] == "经费待落实"
        assert injected_markup_in(carried) == []
        assert unit.get(f"/assignments/{assignment}?from=elsewhere").status_code == 422
        # Filed again from the carried text, corrected: the second round has its own filing.
        filed = unit.post(f"/assignments/{assignment}/checkins", data=fields | {"percent": "60"})
        assert filed.status_code == 303
        after = unit.get(f"/assignments/{assignment}").text
        assert "沿用上期" not in after  # this period is filed: amending it is the next step


@needs_chromium
def test_the_cadence_form_and_the_carried_filing_in_chromium(
    portal: Portal, browser, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("one browser run is enough: the HTTP tests cover both databases")
    assignment = _second_period(portal, "完成校园安防排查，整改隐患12处")
    with signed_in_pages(browser, portal.url, "office") as pages:
        for width, page in pages.items():
            page.goto(f"{portal.url}/rounds#cadence")
            check_page(page, "rounds-cadence")
            assert page.locator("select[name=cadence]").first.is_visible(), width
    with signed_in_pages(browser, portal.url, "edu") as pages:
        for width, page in pages.items():
            page.goto(f"{portal.url}/assignments/{assignment}")
            page.click("#start-from-previous")
            page.wait_for_selector("#previous-kept")
            check_page(page, "assignment-carried-filing")
            assert "整改隐患12处" in page.input_value("textarea[name=text]"), width

"""The office's long lists over HTTP (dashboard, verification queue, rounds, extension requests):
each filter's count worked out by hand from the seed notice (tests/fixtures/seed-notice.txt), a
second page once there are more than fifty, and the export: Chinese headers, a Chinese file name,
one row per item the filters select.

What the seed gives (read off the notice): 16 tasks, 98 assignments; 市教育局 is on tasks 3
(负责), 5, 6, 7 (牵头), 9, 11, 13 (配合); task 2 goes to 各镇(区、街道) (16 towns) and 市民政局:
17 assignments; 36 assignments are 配合 (task 5: 7, 6: 6, 7: 7, 8: 3, 9: 6, 11: 4, 13: 3).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import col, select

from models.assignment import Assignment
from models.checkins import submit_checkin
from models.clock import local_day, utc_now
from models.db import reading, unit_of_work
from models.extensions import decide_extension, request_extension
from models.plan import Task
from models.round import SupervisionRound
from models.rounds import close_round, open_round
from models.unit import Unit
from tests.support.browser import ARTIFACTS, needs_chromium
from tests.support.portal import Portal, serve_seeded
from tests.support.scenario import OFFICE
from tests.support.seed_round import liaison

HTML = {"accept": "text/html"}
EDU_TASKS = (3, 5, 6, 7, 9, 11, 13)


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    served = serve_seeded(engine, database_url, tmp_path, upload_max_mb=5)
    yield next(served)
    next(served, None)


def assignments_of(engine: Engine, *tasks: int) -> list[tuple[int, str]]:
    """(assignment id, unit name) of every assignment of these tasks."""
    with reading(engine) as session:
        return list(
            session.exec(
                select(Assignment.id, Unit.name)
                .join(Task, col(Task.id) == col(Assignment.task_id))
                .join(Unit, col(Unit.id) == col(Assignment.unit_id))
                .where(col(Task.number).in_(tasks))
                .order_by(col(Assignment.id))
            ).all()
        )


def unit_id(engine: Engine, name: str) -> int:
    with reading(engine) as session:
        return session.exec(select(Unit.id).where(Unit.name == name)).one()


def total(client: httpx.Client, path: str, words: str, **params: object) -> int:
    """The count the page says ("符合条件的报送 5 份"), after checking the page answered."""
    response = client.get(path, params=params, headers=HTML)
    assert response.status_code == 200, response.text[:500]
    found = re.search(rf"{words} (\d+) ", response.text)
    assert found, f"no count on {path}"
    return int(found.group(1))


def exported(client: httpx.Client, path: str, name: str, **params: object) -> list[tuple]:
    """The export's rows (header first), after checking its Chinese file name."""
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    disposition = response.headers["content-disposition"]
    assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == name
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def pages_of(client: httpx.Client, path: str, **params: object) -> tuple[str, str | None]:
    """The paging caption and the next page's link."""
    text = client.get(path, params=params, headers=HTML).text
    caption = re.search(r"第\d+页/共\d+页，共 \d+ 条", text)
    nxt = re.search(r'<a href="([^"]+)" rel="next">', text)
    return (caption.group(0) if caption else ""), (
        nxt.group(1).replace("&amp;", "&") if nxt else None
    )


def test_the_dashboard_filters_by_unit_role_and_light_and_exports_each_assignment(
    portal: Portal,
) -> None:
    with portal.login("office") as office:
        assert total(office, "/dashboard", "符合条件的任务") == 16
        assert total(office, "/dashboard", "符合条件的任务", unit="市教育局") == 7
        assert total(office, "/dashboard", "符合条件的任务", unit="市教育局", role="lead") == 3
        assert total(office, "/dashboard", "符合条件的任务", role="cooperating") == 7
        # A round due in 30 days, opened today on a plan created today: every item on pace.
        assert total(office, "/dashboard", "符合条件的任务", light="red") == 0
        assert total(office, "/dashboard", "符合条件的任务", light="green", task=2) == 1
        assert pages_of(office, "/dashboard") == ("第1页/共1页，共 16 条", None)

        rows = exported(office, "/dashboard/export", "督办总览.xlsx", unit="市教育局", role="lead")
        assert rows[0] == ("任务序号", "任务名称", "单位", "角色", "办理状态", "灯色", "截止日期")
        assert sorted(r[0] for r in rows[1:]) == [5, 6, 7]
        assert {r[2:6] for r in rows[1:]} == {("市教育局", "牵头", "已交办", "绿灯")}
        assert len(exported(office, "/dashboard/export", "督办总览.xlsx", role="cooperating")) == 37
        assert len(exported(office, "/dashboard/export", "督办总览.xlsx", task=2)) == 18
        assert len(exported(office, "/dashboard/export", "督办总览.xlsx", light="red")) == 1

        # The export link on the page carries the page's filters.
        page = office.get("/dashboard", params={"unit": "市教育局", "role": "lead"}).text
        assert (
            'href="/dashboard/export?unit=%E5%B8%82%E6%95%99%E8%82%B2%E5%B1%80&amp;role=lead"'
            in page
        )

        for bad, says in (
            ({"light": "pink"}, "灯色"),
            ({"role": "boss"}, "角色"),
            ({"state": "done'\"<"}, "状态"),
        ):
            refused = office.get("/dashboard", params=bad, headers=HTML)
            assert refused.status_code == 422 and says in refused.text, bad
            assert office.get("/dashboard/export", params=bad).status_code == 422

    with portal.login("leader") as leader:  # the leader reads the dashboard, so its export too
        assert len(exported(leader, "/dashboard/export", "督办总览.xlsx", unit="市教育局")) == 8
    with portal.login("edu") as edu:  # a unit reads neither
        assert edu.get("/dashboard/export").status_code in (303, 403)


def file_progress(engine: Engine, round_id: int, tasks: tuple[int, ...]) -> int:
    count = 0
    for assignment, unit in assignments_of(engine, *tasks):
        with unit_of_work(engine) as session:
            submit_checkin(
                session,
                round_id=round_id,
                assignment_id=assignment,
                actor=liaison(engine, unit),
                now=utc_now(),
                text=f"{unit}本期进展",
                percent=40,
            )
        count += 1
    return count


def the_round(engine: Engine) -> int:
    with reading(engine) as session:
        found = session.exec(select(SupervisionRound.id)).one()
    assert found is not None
    return found


def test_the_queue_filters_by_unit_task_kind_round_and_day_and_pages_past_fifty(
    portal: Portal,
) -> None:
    round_id = the_round(portal.engine)
    # Tasks 2, 3, 5, 6, 7, 9: 17 + 9 + 8 + 7 + 8 + 8 = 57 progress filings; task 12 (市市场监管局
    # alone) files its completion report: 58 in the queue.
    assert file_progress(portal.engine, round_id, (2, 3, 5, 6, 7, 9)) == 57
    with unit_of_work(portal.engine) as session:
        submit_checkin(
            session,
            round_id=round_id,
            assignment_id=portal.assignment(12, "市市场监管局"),
            actor=liaison(portal.engine, "市市场监管局"),
            now=utc_now(),
            text="已全部完成",
            percent=100,
            completed=True,
        )
    today = local_day(utc_now(), portal.settings.timezone)
    edu = unit_id(portal.engine, "市教育局")
    with portal.login("office") as office:
        assert total(office, "/review", "符合条件的报送") == 58
        assert total(office, "/review", "符合条件的报送", unit=edu) == 5  # tasks 3, 5, 6, 7, 9
        assert total(office, "/review", "符合条件的报送", task=2) == 17
        assert total(office, "/review", "符合条件的报送", kind="completion") == 1
        assert total(office, "/review", "符合条件的报送", kind="progress", unit=edu, task=3) == 1
        assert total(office, "/review", "符合条件的报送", round=round_id) == 58
        assert total(office, "/review", "符合条件的报送", round=round_id + 1) == 0
        assert total(office, "/review", "符合条件的报送", since=today.isoformat()) == 58
        yesterday = (today - timedelta(days=1)).isoformat()
        assert total(office, "/review", "符合条件的报送", until=yesterday) == 0

        caption, nxt = pages_of(office, "/review")
        assert caption == "第1页/共2页，共 58 条" and nxt == "/review?page_no=2"
        second = office.get(nxt, headers=HTML).text
        assert second.count('class="review"') == 8  # 58 − 50
        caption, nxt = pages_of(office, "/review", task=2)
        assert caption == "第1页/共1页，共 17 条" and nxt is None

        rows = exported(office, "/review/export", "待审核报送.xlsx", unit=edu)
        assert rows[0][:4] == ("报送编号", "任务序号", "任务名称", "单位")
        assert sorted(r[1] for r in rows[1:]) == [3, 5, 6, 7, 9]
        assert {r[3] for r in rows[1:]} == {"市教育局"} and {r[5] for r in rows[1:]} == {"进展"}
        assert len(exported(office, "/review/export", "待审核报送.xlsx")) == 59

        for bad, says in (
            ({"unit": "abc"}, "单位"),
            ({"task": "9" * 400}, "任务序号"),
            ({"kind": "<b>"}, "类型"),
            ({"since": "2022-13-01"}, "起始时间"),
            ({"since": "2022-09-02", "until": "2022-09-01"}, "早于"),
            ({"round": "\x00"}, "轮次"),
        ):
            refused = office.get("/review", params=bad, headers=HTML)
            assert refused.status_code == 422 and says in refused.text, bad
            assert "<b>" not in refused.text
    with portal.login("edu") as unit:
        assert unit.get("/review/export").status_code in (303, 403)


def test_the_rounds_filter_by_state_and_due_day_and_page_past_fifty(portal: Portal) -> None:
    # The seed's round, then 50 more due 2030-01-01 … 2030-02-19; three of those closed.
    first = date(2030, 1, 1)
    with unit_of_work(portal.engine) as session:
        for n in range(50):
            open_round(
                session,
                plan_key="2022",
                name=f"第{n + 2}轮",
                report_by=first + timedelta(days=n),
                actor=OFFICE,
                now=utc_now(),
                cooperating_lead_days=2,
            )
    for n in (2, 3, 4):
        with unit_of_work(portal.engine) as session:
            close_round(
                session,
                plan_key="2022",
                name=f"第{n}轮",
                actor=OFFICE,
                now=utc_now(),
                confirmed=True,
            )
    with portal.login("office") as office:
        assert total(office, "/rounds", "符合条件的轮次") == 51
        assert total(office, "/rounds", "符合条件的轮次", state="closed") == 3
        assert total(office, "/rounds", "符合条件的轮次", state="open") == 48
        span = {"since": "2030-01-01", "until": "2030-01-10"}
        assert total(office, "/rounds", "符合条件的轮次", **span) == 10
        assert total(office, "/rounds", "符合条件的轮次", state="open", **span) == 7
        assert total(office, "/rounds", "符合条件的轮次", plan="no-such-plan") == 0

        caption, nxt = pages_of(office, "/rounds")
        assert caption == "第1页/共2页，共 51 条" and nxt == "/rounds?page_no=2"
        assert "第一轮" in office.get(nxt).text  # newest first: the seed's round is the last

        rows = exported(office, "/rounds/export", "督导轮次.xlsx", state="closed")
        assert rows[0] == (
            "计划",
            "轮次",
            "状态",
            "报送截止日期",
            "待报送",
            "已报送待审核",
            "审核通过",
            "已退回",
        )
        assert sorted(r[1] for r in rows[1:]) == ["第2轮", "第3轮", "第4轮"]
        # the plan by its title (the seed notice's 《…2022年重点工作任务清单》), not its key
        assert all(r[0].endswith("2022年重点工作任务清单") for r in rows[1:]), rows
        listed = office.get("/rounds", headers=HTML).text
        assert ">2022<" not in listed and "2022年重点工作任务清单</option>" in listed
        assert {r[2] for r in rows[1:]} == {"已结束"}
        assert len(exported(office, "/rounds/export", "督导轮次.xlsx")) == 52

        for bad in ({"state": "ajar"}, {"since": "yesterday"}, {"until": "2030-02-30"}):
            assert office.get("/rounds", params=bad, headers=HTML).status_code == 422, bad


def test_extension_requests_filter_by_state_unit_and_task_and_page_past_fifty(
    portal: Portal,
) -> None:
    # One request from each assignment of tasks 2, 3, 4, 5, 6, 7: 17 + 9 + 6 + 8 + 7 + 8 = 55;
    # the first two approved, the third rejected.
    later = date.today() + timedelta(days=90)
    ids = []
    for assignment, unit in assignments_of(portal.engine, 2, 3, 4, 5, 6, 7):
        with unit_of_work(portal.engine) as session:
            ids.append(
                request_extension(
                    session,
                    assignment_id=assignment,
                    until=later,
                    reason=f"{unit}任务繁重",
                    actor=liaison(portal.engine, unit),
                    now=utc_now(),
                    timezone=portal.settings.timezone,
                    max_days=366,
                ).id
            )
    assert len(ids) == 55
    for request_id, approve in ((ids[0], True), (ids[1], True), (ids[2], False)):
        with unit_of_work(portal.engine) as session:
            decide_extension(
                session,
                request_id=request_id,
                approve=approve,
                actor=OFFICE,
                now=utc_now(),
                reason="同意" if approve else "理由不充分",
            )
    edu = unit_id(portal.engine, "市教育局")
    with portal.login("office") as office:
        assert total(office, "/extensions", "符合条件的申请") == 55
        assert total(office, "/extensions", "符合条件的申请", state="pending") == 52
        assert total(office, "/extensions", "符合条件的申请", state="approved") == 2
        assert total(office, "/extensions", "符合条件的申请", state="rejected") == 1
        assert total(office, "/extensions", "符合条件的申请", unit=edu) == 4  # tasks 3, 5, 6, 7
        assert total(office, "/extensions", "符合条件的申请", task=4) == 6
        today = local_day(utc_now(), portal.settings.timezone).isoformat()
        assert total(office, "/extensions", "符合条件的申请", since=today, until=today) == 55

        caption, nxt = pages_of(office, "/extensions", state="pending")
        assert caption == "第1页/共2页，共 52 条" and nxt == "/extensions?state=pending&page_no=2"
        assert office.get(nxt).text.count("data-extension=") == 2

        rows = exported(office, "/extensions/export", "延期申请.xlsx", unit=edu)
        assert rows[0][:6] == ("编号", "任务序号", "任务名称", "单位", "原截止日期", "申请延至")
        assert sorted(r[1] for r in rows[1:]) == [3, 5, 6, 7]
        assert {r[9] for r in rows[1:]} == {"待审批"} and {r[5] for r in rows[1:]} == {
            later.isoformat()
        }
        decided = exported(office, "/extensions/export", "延期申请.xlsx", state="approved")
        assert len(decided) == 3 and {r[10] for r in decided[1:]} == {"同意"}

        for bad in ({"state": "maybe"}, {"unit": "-1"}, {"task": "１２"}, {"since": "\x00"}):
            assert office.get("/extensions", params=bad, headers=HTML).status_code == 422, bad
    with portal.login("edu") as unit:
        assert unit.get("/extensions/export").status_code in (303, 403)


# --- in Chromium, at a desk and on a phone -----------------------------------------------------

WIDEST = "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
SHOTS = Path(os.environ.get("DUBAN_TEST_SHOTS", str(ARTIFACTS)))


@needs_chromium
def test_a_clerk_filters_the_dashboard_and_the_queue_at_a_desk_and_on_a_phone(
    portal: Portal, browser, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("one browser run is enough: the HTTP tests cover both databases")
    round_id = the_round(portal.engine)
    assert file_progress(portal.engine, round_id, (2, 3, 5, 6, 7, 9)) == 57
    with portal.login("office") as office:
        cookies = dict(office.cookies)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1366, 900), (390, 844)):
        context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": height})
        context.add_cookies(
            [{"name": k, "value": v, "url": portal.url} for k, v in cookies.items()]
        )
        page = context.new_page()

        page.goto(f"{portal.url}/dashboard")
        page.fill("form.filters input[name=unit]", "市教育局")
        page.select_option("form.filters select[name=role]", "lead")
        page.click("form.filters button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert "role=lead" in page.url and "unit=" in page.url  # a page one can bookmark
        assert page.locator("text=符合条件的任务 3 项").count() == 1
        assert page.locator("table.matrix tbody tr").count() == 3
        assert page.get_by_role("link", name="导出Excel").count() == 1
        page.screenshot(path=str(SHOTS / f"dashboard-filtered-{width}.png"), full_page=True)
        assert page.evaluate(WIDEST) <= width, ("dashboard", width)

        page.goto(f"{portal.url}/review")
        assert page.locator("text=第1页/共2页，共 57 条").count() == 1
        page.screenshot(path=str(SHOTS / f"review-{width}.png"), full_page=False)
        assert page.evaluate(WIDEST) <= width, ("review", width)
        page.select_option("form.filters select[name=unit]", label="市教育局")
        page.click("form.filters button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert page.locator("text=符合条件的报送 5 份").count() == 1
        assert page.locator("article.review").count() == 5
        page.screenshot(path=str(SHOTS / f"review-filtered-{width}.png"), full_page=True)
        assert page.evaluate(WIDEST) <= width, ("review filtered", width)
        with page.expect_download() as download:
            page.click("text=导出Excel")
        assert download.value.suggested_filename == "待审核报送.xlsx"
        rows = list(
            load_workbook(io.BytesIO(download.value.path().read_bytes())).active.iter_rows(
                values_only=True
            )
        )
        assert len(rows) == 6 and rows[0][0] == "报送编号"

        for path, name in (("/rounds", "rounds"), ("/extensions", "extensions")):
            page.goto(f"{portal.url}{path}")
            page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
            assert page.evaluate(WIDEST) <= width, (name, width)
        context.close()

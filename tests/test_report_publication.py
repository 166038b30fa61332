"""The 通报 in the portal: a draft compiled, published with its 期号 and 文号 (entered or counted),
withdrawn with a reason (kept, its numbers never issued again), over HTTP and in Chromium."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, func, select

from models.audit import AuditEvent
from models.clock import utc_now
from models.db import make_engine, reading, unit_of_work
from models.plan import Plan
from models.results import ResultsReport
from models.round import SupervisionRound
from reports.compile import compile_report
from tests.support.browser import needs_chromium
from tests.support.hostile import STORABLE, injected_markup_in, marker_of
from tests.support.pages import check_page, signed_in_pages
from tests.support.portal import Portal, csrf_of, serve_seeded
from tests.support.scenario import OFFICE

YEAR = datetime.now(ZoneInfo("Asia/Shanghai")).year  # the office's year: the 期号 counts in it


@pytest.fixture
def portal(tmp_path: Path, sqlite_template: Path) -> Iterator[Portal]:
    shutil.copyfile(sqlite_template, tmp_path / "duban.db")
    url = f"sqlite:///{tmp_path / 'duban.db'}"
    engine = make_engine(url)
    yield from serve_seeded(engine, url, tmp_path, upload_max_mb=5)
    engine.dispose()


def draft(portal: Portal, minutes: int, formats: tuple[str, ...] = ("html",)) -> int:
    """A 通报 compiled as of a moment of its own (a record per moment, `minutes` after the round
    opened), not published."""
    with unit_of_work(portal.engine) as session:
        plan = session.exec(select(Plan)).one()
        round_ = session.exec(select(SupervisionRound)).one()
        now = utc_now() + timedelta(minutes=minutes)
        compiled = compile_report(
            session,
            plan=plan,
            round_=round_,
            as_of=now,
            formats=list(formats),
            out_dir=portal.settings.resolved_reports_dir,
            settings=portal.settings,
            actor=OFFICE,
            now=now,
        )
        assert compiled.report.id is not None
        return compiled.report.id


def post(client, report_id: int, action: str, **fields: str):
    token = csrf_of(client.get(f"/reports/{report_id}").text)
    return client.post(f"/reports/{report_id}/{action}", data={"csrf": token, **fields})


def record(portal: Portal, report_id: int) -> ResultsReport:
    with reading(portal.engine) as session:
        found = session.get_one(ResultsReport, report_id)
        session.expunge(found)
        return found


def events(portal: Portal, action: str) -> int:
    with reading(portal.engine) as session:
        return session.exec(
            select(func.count()).select_from(AuditEvent).where(col(AuditEvent.action) == action)
        ).one()


def test_publishing_counts_the_issue_and_withdrawing_keeps_its_number_for_good(
    portal: Portal,
) -> None:
    first, second, third, fourth = (draft(portal, m) for m in (10, 20, 30, 40))
    with portal.login("office") as office, portal.login("edu") as unit:
        assert unit.get(f"/reports/{first}").status_code == 404  # a draft is the office's own
        page = office.get(f"/reports/{first}").text
        assert "草稿" in page and f'action="/reports/{first}/publish"' in page
        assert "<h2>预览</h2>" in page and "一、总体情况" in page  # the HTML 通报, inline

        assert post(office, first, "publish", doc_no="").status_code == 303
        assert post(office, second, "publish", doc_no="督办〔2026〕自定5号").status_code == 303
        one, two = record(portal, first), record(portal, second)
        assert (one.issue_no, one.doc_no) == (1, f"督〔{YEAR}〕1号")
        assert (two.issue_no, two.doc_no) == (2, "督办〔2026〕自定5号")

        done = post(office, first, "withdraw", reason="数据有误，更正后重发")
        assert done.status_code == 303
        shown = unit.get(f"/reports/{first}")
        assert shown.status_code == 200  # the units had it: it stays, marked
        assert "已撤回" in shown.text and "数据有误，更正后重发" in shown.text
        assert f"督〔{YEAR}〕1号" in shown.text

        # the next one is the third issue: the withdrawn first keeps number 1
        assert post(office, third, "publish", doc_no="").status_code == 303
        three = record(portal, third)
        assert (three.issue_no, three.doc_no) == (3, f"督〔{YEAR}〕3号")

        again = post(office, first, "publish", doc_no="")
        assert again.status_code == 409 and "已撤回" in again.text
        twice = post(office, third, "withdraw", reason="")
        assert twice.status_code == 400 and "撤回理由不能为空" in twice.text
        taken = post(office, fourth, "publish", doc_no=f"督〔{YEAR}〕3号")
        assert taken.status_code == 409 and f"督〔{YEAR}〕3号" in taken.text
        four = record(portal, fourth)
        assert (four.published_at, four.issue_no, four.doc_no) == (None, None, None)

        listing = unit.get("/reports").text
        assert "第 1 期" in listing and "第 3 期" in listing and "已撤回" in listing
    assert events(portal, "results.publish") == 3
    assert events(portal, "results.withdraw") == 1


def test_a_file_downloads_under_its_chinese_name(portal: Portal) -> None:
    report_id = draft(portal, 5, formats=("html", "md"))
    with portal.login("office") as office:
        name = next(f["name"] for f in record(portal, report_id).files if f["format"] == "md")
        got = office.get(f"/reports/{report_id}/files/{quote(name)}")
    assert got.status_code == 200
    assert f"filename*=UTF-8''{quote(name, safe='')}" in got.headers["content-disposition"]
    assert "通报" in name


@pytest.mark.parametrize("value", STORABLE, ids=marker_of)
def test_a_hostile_document_number_or_reason_is_kept_as_text_or_refused_in_chinese(
    portal: Portal, value: str
) -> None:
    report_id = draft(portal, 1)
    marker = marker_of(value)
    with portal.login("office") as office:
        published = post(office, report_id, "publish", doc_no=value)
        assert published.status_code in (303, 400, 422), published.text
        if published.status_code != 303:
            assert re.search(r"文号", published.text)  # the field named, in Chinese
            assert record(portal, report_id).published_at is None  # nothing half-written
            published = post(office, report_id, "publish", doc_no="")
            assert published.status_code == 303
        withdrawn = post(office, report_id, "withdraw", reason=value)
        assert withdrawn.status_code in (303, 400, 422), withdrawn.text
        if withdrawn.status_code != 303:
            assert "理由" in withdrawn.text
            assert record(portal, report_id).withdrawn_at is None
            return
        page = office.get(f"/reports/{report_id}").text
    assert marker in page
    assert not injected_markup_in(page)


@needs_chromium
def test_the_report_page_with_its_preview_passes_the_page_check_at_both_widths(
    portal: Portal, browser
) -> None:
    report_id = draft(portal, 3, formats=("html",))
    with signed_in_pages(browser, portal.url, "office") as pages:
        for page in pages.values():
            page.goto(f"{portal.url}/reports/{report_id}")
            check_page(page, "report-draft")
        page = pages[1366]
        page.fill("input[name=doc_no]", "")
        with page.expect_navigation():
            page.click("form[action$=publish] button")
        for page in pages.values():
            page.goto(f"{portal.url}/reports/{report_id}")
            check_page(page, "report-published")

"""The 通报 in the portal: a draft compiled, published with its 期号 and 文号 (entered or counted)
in its files as well, withdrawn with a reason (kept, its numbers and files never issued again),
over HTTP and in Chromium."""

from __future__ import annotations

import hashlib
import json
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
from models.clock import utc, utc_now
from models.db import make_engine, reading, unit_of_work
from models.notification import Notification
from models.plan import Plan
from models.results import ResultsReport
from models.round import SupervisionRound
from reports.compile import FORMATS, compile_report, publish_draft
from tests.support.browser import needs_chromium
from tests.support.hostile import (
    STORABLE,
    formula_cells,
    injected_markup_in,
    marker_of,
    raw_markup_in,
)
from tests.support.pages import check_page, signed_in_pages
from tests.support.portal import Portal, csrf_of, serve_seeded
from tests.support.scenario import OFFICE

BEIJING = ZoneInfo("Asia/Shanghai")
YEAR = datetime.now(BEIJING).year  # the office's year: the 期号 counts in it
TITLE = "关于“第一轮”落实情况的通报"  # the seed's round (tests/support/portal.py)


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


def stems(report: ResultsReport) -> tuple[str, str]:
    """(the draft's file stem, the first issue's): plan 2022, round 第一轮, the Beijing day."""
    day = utc(report.as_of).astimezone(BEIJING).date().isoformat()
    return f"2022_第一轮_通报_{day}", f"2022_第一轮_通报（第1期）_{day}"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def on_disk(report: ResultsReport) -> dict[str, tuple[str, int]]:
    """Each listed file's sha256 and modification time as it is in the folder."""
    out = Path(report.out_dir)
    return {
        f["name"]: (sha256(out / f["name"]), (out / f["name"]).stat().st_mtime_ns)
        for f in report.files
    }


def sheets(path: Path) -> dict[str, list[tuple]]:
    import openpyxl

    book = openpyxl.load_workbook(path)
    return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}


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


def check_numbered_files(report: ResultsReport, marker: str) -> None:
    """The 文号 landed in every published file as text: never markup, never a formula."""
    from docx import Document

    out = Path(report.out_dir)
    path = {f["format"]: out / f["name"] for f in report.files}
    assert marker in Document(str(path["docx"])).paragraphs[2].text
    (_, cell) = sheets(path["xlsx"])["汇总"][3]
    assert marker in cell and not formula_cells([cell])
    page = path["html"].read_text("utf-8")
    assert marker in page and not injected_markup_in(page)
    markdown = path["md"].read_text("utf-8")
    assert marker in markdown and not raw_markup_in(markdown)


@pytest.mark.parametrize("value", STORABLE, ids=marker_of)
def test_a_hostile_document_number_or_reason_is_kept_as_text_or_refused_in_chinese(
    portal: Portal, value: str
) -> None:
    report_id = draft(portal, 1, formats=FORMATS)
    marker = marker_of(value)
    with portal.login("office") as office:
        published = post(office, report_id, "publish", doc_no=value)
        assert published.status_code in (303, 400, 422), published.text
        if published.status_code != 303:
            assert re.search(r"文号", published.text)  # the field named, in Chinese
            assert record(portal, report_id).published_at is None  # nothing half-written
            published = post(office, report_id, "publish", doc_no="")
            assert published.status_code == 303
        else:
            check_numbered_files(record(portal, report_id), marker)
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


def test_publishing_renders_the_files_again_with_the_issue_and_number_and_links_to_them(
    portal: Portal,
) -> None:
    from docx import Document
    from docx.oxml.ns import qn

    report_id = draft(portal, 7, formats=FORMATS)
    before = record(portal, report_id)
    out = Path(before.out_dir)
    drafted, numbered = stems(before)
    assert {f["name"] for f in before.files} >= {f"{drafted}.{x}" for x in FORMATS}
    draft_disk, draft_book = on_disk(before), sheets(out / f"{drafted}.xlsx")
    doc_no = f"督〔{YEAR}〕1号"  # the prefix 督, the year of publishing in Beijing, the first issue

    with portal.login("office") as office, portal.login("edu") as unit:
        assert post(office, report_id, "publish", doc_no="").status_code == 303
        after = record(portal, report_id)
        assert (after.issue_no, after.doc_no) == (1, doc_no)
        names = [f["name"] for f in after.files]
        assert len(names) == len(before.files)  # the two charts as well, renamed
        assert all(name.startswith(numbered) for name in names)
        assert {f"{numbered}.{x}" for x in FORMATS} <= set(names)
        assert after.figures == before.figures
        assert {n: d for n, (d, _) in on_disk(after).items()} == {
            f["name"]: f["sha256"] for f in after.files
        }
        assert on_disk(before) == draft_disk  # the draft's files are as they were

        doc = Document(str(out / f"{numbered}.docx"))
        paragraphs = doc.paragraphs
        assert [p.text for p in paragraphs[:4]] == [
            portal.settings.office_name,
            "第 1 期",
            doc_no,
            TITLE,
        ]
        ruled = [
            p.text for p in paragraphs if p._p.find(f"{qn('w:pPr')}/{qn('w:pBdr')}") is not None
        ]
        assert ruled == [doc_no]  # the red rule under the 文号, not under the issuer

        book = sheets(out / f"{numbered}.xlsx")
        assert book["汇总"][:5] == [
            ("项目", "数值"),
            ("通报", f"{TITLE}（第 1 期）"),
            ("期号", "第 1 期"),
            ("文号", doc_no),
            ("计划", draft_book["汇总"][2][1]),
        ]
        assert draft_book["汇总"][:2] == [("项目", "数值"), ("通报", TITLE)]
        # the same figures: every row after the numbers, every other sheet
        assert book["汇总"][4:] == draft_book["汇总"][2:]
        assert {k: v for k, v in book.items() if k != "汇总"} == {
            k: v for k, v in draft_book.items() if k != "汇总"
        }

        page = (out / f"{numbered}.html").read_text("utf-8")
        assert f"<title>{TITLE}（第 1 期）</title>" in page
        assert f"<h1>{TITLE}（第 1 期）</h1>" in page and f">{doc_no}</p>" in page
        markdown = (out / f"{numbered}.md").read_text("utf-8")
        assert markdown.startswith(f"# {TITLE}（第 1 期）\n\n{doc_no}\n\n")

        shown = office.get(f"/reports/{report_id}").text
        assert all(f"/reports/{report_id}/files/{quote(name)}" in shown for name in names)
        assert f"{drafted}.docx" not in shown  # the draft's files are no longer offered
        assert f"{TITLE}（第 1 期）" in shown  # the preview is the published HTML
        for client in (office, unit):
            got = client.get(f"/reports/{report_id}/files/{quote(numbered + '.docx')}")
            assert got.status_code == 200
            assert hashlib.sha256(got.content).hexdigest() == sha256(out / f"{numbered}.docx")
        gone = office.get(f"/reports/{report_id}/files/{quote(drafted + '.docx')}")
        assert gone.status_code == 404
    with reading(portal.engine) as session:
        published = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "results.publish")
        ).one()
    assert published.after is not None and json.loads(published.after)["files"] == names


def test_publishing_again_rewrites_nothing_and_withdrawing_keeps_the_files(
    portal: Portal,
) -> None:
    report_id = draft(portal, 8, formats=("html", "md"))
    with portal.login("office") as office:
        assert post(office, report_id, "publish", doc_no="").status_code == 303
        published = record(portal, report_id)
        files = on_disk(published)
        again = post(office, report_id, "publish", doc_no="")
        assert again.status_code == 409 and "已发布" in again.text

        # compiling its moment again, published: the notices are re-sent (none: deduped), the
        # record and its files stay
        with unit_of_work(portal.engine) as session:
            moment = utc(published.as_of)
            compiled = compile_report(
                session,
                plan=session.exec(select(Plan)).one(),
                round_=session.exec(select(SupervisionRound)).one(),
                as_of=moment,
                formats=["html", "md"],
                out_dir=portal.settings.resolved_reports_dir,
                settings=portal.settings,
                actor=OFFICE,
                now=moment + timedelta(minutes=1),
                publish=True,
            )
        assert (compiled.report.id, compiled.published) == (report_id, 0)
        assert [p.name for p in compiled.files] == list(files)
        assert record(portal, report_id).files == published.files
        assert on_disk(published) == files

        assert post(office, report_id, "withdraw", reason="数据有误").status_code == 303
        withdrawn = record(portal, report_id)
        assert withdrawn.files == published.files and on_disk(withdrawn) == files
        name = next(f["name"] for f in withdrawn.files if f["format"] == "md")
        got = office.get(f"/reports/{report_id}/files/{quote(name)}")
        assert got.status_code == 200
        assert got.content == (Path(withdrawn.out_dir) / name).read_bytes()
    assert events(portal, "results.publish") == 2  # the publication and the re-send


def test_a_publication_failing_midway_leaves_the_draft_and_its_files_as_they_were(
    portal: Portal,
) -> None:
    report_id = draft(portal, 9, formats=("html", "md"))
    before = record(portal, report_id)
    out = Path(before.out_dir)
    _, numbered = stems(before)
    files = on_disk(before)
    (out / f"{numbered}.md").mkdir()  # the last file moved in cannot be: a directory is there
    with pytest.raises(IsADirectoryError):
        publish_draft(
            portal.engine, report_id, settings=portal.settings, actor=OFFICE, now=utc_now()
        )
    after = record(portal, report_id)
    assert (after.published_at, after.issue_no, after.doc_no) == (None, None, None)
    assert after.files == before.files and on_disk(after) == files
    # neither the numbered files moved in before it nor a staging folder are left
    assert sorted(p.name for p in out.iterdir()) == sorted([*files, f"{numbered}.md"])
    with reading(portal.engine) as session:
        assert not session.exec(
            select(Notification).where(Notification.kind == "results_published")
        ).all()
    assert events(portal, "results.publish") == 0

    (out / f"{numbered}.md").rmdir()
    published = publish_draft(
        portal.engine, report_id, settings=portal.settings, actor=OFFICE, now=utc_now()
    )
    assert published.issue_no == 1  # the number was not used up by the failure
    assert sorted(f["name"] for f in published.files) == sorted(
        name.replace(stems(before)[0], numbered) for name in files
    )


def test_a_report_published_in_a_later_year_than_its_day_names_that_year_in_its_files(
    portal: Portal,
) -> None:
    report_id = draft(portal, 11, formats=("md",))
    before = record(portal, report_id)
    day = utc(before.as_of).astimezone(BEIJING).date()
    later = utc(before.as_of) + timedelta(days=400)  # a year and a month later
    year = later.astimezone(BEIJING).year
    assert year > day.year
    published = publish_draft(
        portal.engine, report_id, settings=portal.settings, actor=OFFICE, now=later
    )
    assert (published.issue_no, published.doc_no) == (1, f"督〔{year}〕1号")
    assert [f["name"] for f in published.files] == [
        f"2022_第一轮_通报（{year}年第1期）_{day.isoformat()}.md"
    ]


def test_a_draft_whose_figures_replay_differently_is_not_published_from_it(
    portal: Portal,
) -> None:
    report_id = draft(portal, 12, formats=("md",))
    with unit_of_work(portal.engine) as session:  # as if compiled under other rules
        stored = session.get_one(ResultsReport, report_id)
        stored.figures = {**stored.figures, "late": stored.figures["late"] + 1}
        session.add(stored)
    before = record(portal, report_id)
    with portal.login("office") as office:
        refused = post(office, report_id, "publish", doc_no="")
    assert refused.status_code == 409 and "请重新编制后再发布" in refused.text
    assert "（逾期报送）" in refused.text  # the figure that differs, named as the 通报 does
    after = record(portal, report_id)
    assert (after.published_at, after.files) == (None, before.files)
    assert sorted(p.name for p in Path(after.out_dir).iterdir()) == [
        f["name"] for f in before.files
    ]

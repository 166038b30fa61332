"""A whole round through the portal only, in headless Chromium, for every role (issue 16's first
"done when").

The office imports the seed notice on the import page and opens a round on the rounds page. The
lead of task 13 (市烟草专卖局; its 配合 units 市教育局, 市公安局, 市市场监管局) follows the link of
the e-mail the round's notice became, signs, files progress with a photo and a PDF, amends it
before the office reads it, and files its completion once its three 配合 units have filed theirs;
the office returns it with a reason and accepts the second filing. 市市场监管局 asks for an
extension of its own task 12; the office approves it. The escalation ladder then runs three times
on later days (as the scheduled job does, with its `now`), and the office works one red item on
the desk: a note, a 催办, the 会商 outcome, closing it. The office compiles and publishes the 通报;
the leader reads the 会商 agenda and the published 通报; the auditor verifies and exports the trail.

Only what the scheduler does is called directly (the outbox dispatched to .eml files, the
escalation run); every human step is a click or a typed field. Each page a person sees is checked
at 1366 and 390 px by `check_page` (no sideways scroll, none of FORBIDDEN's raw codes or "UTC",
labels, tap targets, contrast, lang), which saves build/artifacts/round-<page>-<width>.png.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import Engine

from config import Settings
from intake.directory import read_directory, sync_directory
from models.calendar import STATUTORY
from models.clock import utc_now
from models.db import unit_of_work
from models.users import add_user
from notifications.channels import channel_for
from notifications.dispatch import dispatch
from tests.support.browser import needs_chromium
from tests.support.outbox import clock
from tests.support.pages import PHONE, WIDTHS, check_page, signed_in_pages
from tests.support.portal import PASSWORD, ROOT, USERS, running
from tests.support.scenario import OFFICE
from tests.support.seed_round import escalate
from tests.test_liaison_browser import reminder_links

pytestmark = needs_chromium

CST = ZoneInfo("Asia/Shanghai")
LEAD = "市烟草专卖局"  # leads task 13 of the seed notice
COOPERATING = {"edu": "市教育局", "police": "市公安局", "market": "市市场监管局"}


def photo(path: Path) -> Path:
    """A real JPEG, as a phone camera would hand it over (small)."""
    image = Image.new("RGB", (64, 48), (40, 120, 200))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    path.write_bytes(buffer.getvalue())
    return path


def scanned_pdf(path: Path) -> Path:
    """A real one-page PDF (a scanned page, as most offices' PDFs are), so the preview renders."""
    page = Image.new("RGB", (595, 842), "white")
    ImageDraw.Draw(page).rectangle((60, 80, 535, 140), fill=(180, 20, 20))
    buffer = io.BytesIO()
    page.save(buffer, "PDF")
    path.write_bytes(buffer.getvalue())
    return path


def previews_load(page: Any, count: int) -> None:
    """The evidence previews in the page (the photo itself, the PDF's first page) are shown, not
    broken images."""
    images = page.locator("figure.evidence img")
    assert images.count() == count, images.count()
    for index in range(count):
        image = images.nth(index)
        image.scroll_into_view_if_needed()
        page.wait_for_function(
            "(e) => e.complete && e.naturalWidth > 0", arg=image.element_handle(), timeout=10_000
        )


class Person:
    """One person's browser: the same login at a desktop's width and a phone's."""

    def __init__(self, url: str, pages: dict[int, Any]) -> None:
        self.url, self.pages = url, pages
        self.desk, self.phone = pages[max(pages)], pages[PHONE]

    def sees(self, path: str, name: str, *texts: str) -> Any:
        """Open `path` at both widths, check each (and keep its screenshot), and find `texts` on
        it; the desktop page is returned, open there."""
        for page in self.pages.values():
            if path:
                page.goto(f"{self.url}{path}")
            self.shows(page, *texts)
            check_page(page, f"round-{name}")
        return self.desk

    @staticmethod
    def shows(page: Any, *texts: str) -> None:
        body = page.inner_text("body")
        for text in texts:
            assert text in body, f"{page.url} at {page.viewport_size['width']}px lacks {text!r}"

    def after(self, name: str, notice: str | None, *texts: str) -> Any:
        """The page an action led to on the desktop, its notice (`p.flash`, shown once) and
        `texts` found there; then the same address opened afresh on the phone, `texts` found
        there too; each width checked."""
        if notice is not None:
            assert self.desk.locator("p.flash").inner_text() == notice
        self.shows(self.desk, *texts)
        check_page(self.desk, f"round-{name}")
        self.phone.goto("about:blank")  # a new load, even where only the #fragment differs
        self.phone.goto(self.desk.url)
        self.shows(self.phone, *texts)
        check_page(self.phone, f"round-{name}")
        return self.desk


@contextmanager
def person(browser: Any, url: str, username: str) -> Iterator[Person]:
    with signed_in_pages(browser, url, username) as pages:
        yield Person(url, pages)


@contextmanager
def through_the_link(browser: Any, link: str, username: str) -> Iterator[Person]:
    """The liaison opens the e-mail's link at each width; the login comes on the way and leads
    back to it."""
    contexts = []
    try:
        pages = {}
        for width in WIDTHS:
            context = browser.new_context(
                locale="zh-CN",
                viewport={"width": width, "height": 900},
                is_mobile=width <= PHONE,
                has_touch=width <= PHONE,
            )
            contexts.append(context)
            page = context.new_page()
            page.goto(link)
            assert "/login?next=" in page.url, page.url
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", PASSWORD)
            with page.expect_navigation():
                page.click("button[type=submit]")
            assert page.url == link
            pages[width] = page
        yield Person(link.split("/assignments/")[0], pages)
    finally:
        for context in contexts:
            context.close()


def beijing_today() -> date:
    return utc_now().astimezone(CST).date()


def later(days: int) -> datetime:
    """A moment `days` working days from today, 10:30 in Beijing."""
    return datetime.combine(STATUTORY.add_working_days(beijing_today(), days), time(10, 30), CST)


def setup_office(engine: Engine) -> None:
    """What precedes the round and is not its story: the unit directory and one user per role,
    the lead's liaison among them."""
    now = utc_now()
    with unit_of_work(engine) as session:
        sync_directory(
            session, read_directory(ROOT / "config/units/rugao.yaml"), actor=OFFICE, now=now
        )
        for username, (role, unit) in {**USERS, "tobacco": ("unit", LEAD)}.items():
            add_user(
                session,
                username=username,
                role=role,
                password=PASSWORD,
                unit_name=unit,
                actor=OFFICE,
                now=now,
            )


def test_a_whole_round_through_the_portal_for_every_role_at_both_widths(
    engine: Engine, database_url: str, tmp_path: Path, browser, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("one browser run is enough: the HTTP tests cover both databases")
    setup_office(engine)
    notice = ROOT / "tests/fixtures/seed-notice.txt"
    pdf = scanned_pdf(tmp_path / "专项检查报告.pdf")
    picture = photo(tmp_path / "现场检查照片.jpg")
    report_by = beijing_today() + timedelta(days=30)
    settings = Settings(home=tmp_path, database_url=database_url, dev_mode=True)
    with running(settings, engine) as portal, ExitStack() as people:
        office = people.enter_context(person(browser, portal.url, "office"))

        # The office imports the notice and opens the round.
        office.sees("/import", "import", "通知文件", "计划代号")
        for page in office.pages.values():  # the preview is a form's answer: sent at each width
            page.set_input_files("input[name=notice]", str(notice))
            page.fill("input[name=plan_key]", "2022")
            page.click("button:has-text('预览')")
            office.shows(page, "确认导入", "加强烟草制品监管", "市烟草专卖局")
            check_page(page, "round-import-preview")
        page = office.desk
        page.click("button:has-text('确认导入')")
        office.after("import-applied", None)

        page = office.sees("/rounds", "rounds", "开启")
        page.fill("input[name=name]", "第一轮")
        page.fill("input[name=report_by]", report_by.isoformat())
        page.click("button:has-text('开启轮次')")
        office.after("round-opened", None, "已开启督导轮次“第一轮”")
        lead = portal.assignment(13, LEAD)

        # The round's notice goes out as the dispatcher sends it; the lead's liaison reads it.
        sending = settings.model_copy(update={"portal_url": portal.url})
        assert dispatch(engine, channel_for(sending), sending, now=clock(later(1))).sent
        links = reminder_links(sending.outbox_dir, "ycj.liaison@rugao.example.org")
        assert links == [f"{portal.url}/assignments/{lead}"], links

        liaison = people.enter_context(through_the_link(browser, links[0], "tobacco"))
        page = liaison.sees("", "assignment-new", "任务13：", "牵头", "市教育局", "市公安局")
        page.click("button[value=sign]")
        liaison.after("assignment-signed", "已签收")
        assert page.locator("#state").inner_text() == "办理中"
        held = page.locator("#held-report").inner_text()
        assert "配合单位尚未报结" in held
        assert all(name in held for name in COOPERATING.values()), held

        page.fill("textarea[name=text]", "已开展校园周边烟草销售点专项检查32家")
        page.fill("input[name=percent]", "40")
        page.set_input_files("input[name=evidence]", [str(picture), str(pdf)])
        page.click("#filing-form button[type=submit]")
        liaison.after(
            "progress-filed", "已提交，待办公室审核", "现场检查照片.jpg", "专项检查报告.pdf"
        )
        previews_load(page, 2)

        # Amended before the office reads it: a new version, the photo kept, the text corrected.
        liaison.shows(page, "修改本轮报送")
        page.fill("textarea[name=text]", "已开展校园周边烟草销售点专项检查36家，整改4家")
        page.fill("input[name=percent]", "50")
        page.click("#filing-form button[type=submit]")
        liaison.after(
            "progress-amended",
            "已修改第1次报送，作为第2次报送提交，待办公室审核",
            "整改4家",
            "第 2 次报送",
        )

        # The three 配合 units sign and file their completion, each on its own page.
        for username, unit in COOPERATING.items():
            with person(browser, portal.url, username) as helper:
                own = portal.assignment(13, unit)
                page = helper.sees(f"/assignments/{own}", f"cooperating-{username}", "配合")
                page.click("button[value=sign]")
                helper.shows(page, "已签收")
                page.fill("textarea[name=text]", f"{unit}已完成配合事项")
                page.check("input[name=completed]")
                page.click("#filing-form button[type=submit]")
                helper.after(f"cooperating-{username}-reported", "已提交办结报告，待办公室审核")

        # Now the lead may file its completion. The amended progress report is still unread, so
        # the completion report is one more version of this round's filing, and says so.
        page = liaison.sees(f"/assignments/{lead}", "assignment-ready", "报送办结")
        page.fill("textarea[name=text]", "专项检查全部完成，整改到位")
        page.fill("input[name=percent]", "100")
        page.check("input[name=completed]")
        page.click("#filing-form button[type=submit]")
        liaison.after(
            "completion-filed", "已修改第2次报送，作为第3次报送（办结报告）提交，待办公室审核"
        )

        # The office returns it with a reason.
        page = office.sees("/review", "review", "待审核报送", f"任务13 · {LEAD}")
        item = page.locator("article.review", has_text=f"任务13 · {LEAD}")
        item.locator("input[name=reason]").fill("缺少整改台账")
        item.locator("button:has-text('退回')").click()
        office.after("review-returned", "已退回，单位将看到退回理由")

        page = liaison.sees(
            f"/assignments/{lead}",
            "assignment-returned",
            "已退回：缺少整改台账",
            "已填入被退回的第 3 次报送内容",
        )
        # The returned report is in the form, to correct rather than retype.
        assert page.input_value("textarea[name=text]") == "专项检查全部完成，整改到位"
        assert page.input_value("input[name=percent]") == "100"
        assert page.is_checked("input[name=completed]")
        page.fill("textarea[name=text]", "专项检查全部完成，附整改台账")
        page.check("input[name=completed]")
        page.click("#filing-form button[type=submit]")
        liaison.after("completion-refiled", "已提交办结报告，待办公室审核")

        page = office.sees("/review", "review-second", f"任务13 · {LEAD}", "附整改台账")
        item = page.locator("article.review", has_text=f"任务13 · {LEAD}")
        # What changed since the returned filing, and the evidence inline.
        office.shows(page, "与上一版相比", "整改到位")
        previews_load(page, 2)
        item.locator("button:has-text('通过')").click()
        office.after("review-accepted", "已审核通过")
        liaison.sees(f"/assignments/{lead}", "assignment-accepted", "已核验")

        # 市市场监管局 asks for an extension of its own task 12; the office approves it.
        market_own = portal.assignment(12, "市市场监管局")
        until = (report_by + timedelta(days=14)).isoformat()
        with person(browser, portal.url, "market") as market:
            page = market.sees(f"/assignments/{market_own}", "extension-ask", "延期申请")
            page.fill("#extension input[name=until]", until)
            page.fill("#extension input[name=reason]", "需等待省局检测结果")
            page.click("button:has-text('提交延期申请')")
            market.after("extension-asked", f"延期申请已提交（申请延至 {until}），待办公室审批")
            page = office.sees("/extensions", "extensions", "需等待省局检测结果", "待审批")
            page.locator("tr", has_text="需等待省局检测结果").locator(
                "button:has-text('批准')"
            ).click()
            office.after("extension-approved", "已批准延期", "已批准")
            market.sees(f"/assignments/{market_own}", "extension-decided", "已批准", until)

        # The ladder runs three times at later days; nobody else has signed, so items turn red.
        for days in (4, 6, 8):
            escalate(engine, settings, later(days))
        police_own = portal.assignment(5, "市公安局")
        page = office.sees("/escalations", "escalations", "督办事项", "提请会商事项")
        page.select_option("select[name=unit]", "市公安局")
        page.fill("input[name=task]", "5")
        page.click("form.filters button:has-text('筛选')")
        office.after("escalations-filtered", None, "共 1 条", "市公安局")
        desk = page.locator("ol.desk li").first
        desk.locator("summary").click()
        desk.locator("textarea[name=note]").first.fill("已电话联系分管负责同志，本周内报送")
        desk.locator("button:has-text('添加备注')").click()
        office.after("escalation-noted", "已添加备注", "已电话联系分管负责同志，本周内报送")

        page.locator("ol.desk li").first.locator("button:has-text('催办')").click()
        office.after("escalation-nudged", None, "共 1 条", "市公安局")
        office.shows(page, "已催办：市公安局，通知将于")
        assert "/escalations?" in page.url and "task=5" in page.url  # the desk, filters kept
        office.sees(f"/assignments/{police_own}", "escalation-nudged-item", "已催办 1 次")

        page = office.sees("/escalations?unit=市公安局&task=5", "escalations-red", "红色")
        desk = page.locator("ol.desk li").first
        desk.locator("summary").click()
        desk.locator("form[action$=consultation] textarea").fill("会商议定由市公安局10日内报送")
        desk.locator("button:has-text('记录会商结果')").click()
        office.after("escalation-consulted", "已记录会商结果", "会商议定由市公安局10日内报送")
        desk = page.locator("ol.desk li").first
        desk.locator("summary").click()
        desk.locator("textarea[name=reason]").fill("经会商协调，已明确报送时限")
        desk.locator("button:has-text('办结督办单')").click()
        office.after("escalation-closed", "已办结督办单")

        # The office compiles and publishes the 通报.
        page = office.sees("/reports", "reports", "编制通报")
        page.click("button:has-text('编制通报')")
        office.after("report-draft", None, "通报草稿", "尚未发布")
        page.click("button:has-text('发布')")
        office.after("report-published", None, "督办通报第 1 期")
        # 98 assignments; 4 filed, all on time (the lead and its three 配合 units); 1 accepted:
        # 1/98 = 1.0% complete.
        figures = page.locator("section.figures").inner_text().split()
        assert figures[:8] == ["98", "任务分工", "4", "按时报送", "0", "逾期报送", "0", "未报送"]
        assert figures[8:] == ["1", "审核确认", "1.0%", "完成率"], figures
        office.shows(page, "已发布：第 1 期")

        # The leader reads the agenda and the published 通报.
        leader = people.enter_context(person(browser, portal.url, "leader"))
        leader.sees("/dashboard", "leader-dashboard")
        leader.sees("/leader/agenda", "leader-agenda", "提请会商事项", "红色")
        page = leader.sees("/reports", "leader-reports", "第 1 期")
        page.click("a:has-text('第 1 期')")
        leader.after("leader-report", None, "督办通报第 1 期", "预览")

        # The auditor verifies the trail and exports it.
        auditor = people.enter_context(person(browser, portal.url, "auditor"))
        page = auditor.sees(
            "/audit", "audit", "审计记录", "办结督办单", "记录会商结果", "生成通报", "完成率：1.0%"
        )
        page.click("a:has-text('校验审计链')")
        auditor.after("audit-verified", None, "审计链完整")
        with page.expect_download() as download:
            page.click("a:has-text('CSV')")
        exported = Path(download.value.path()).read_text("utf-8-sig")
        assert exported.splitlines()[0].startswith("序号")
        assert "办结督办单" in exported and "缺少整改台账" in exported

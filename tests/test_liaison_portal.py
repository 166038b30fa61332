"""The liaison's workplace over HTTP (issue 16): the home page, the assignment page, the notice
after each action, extension requests refused with the form kept, and the login's `next`."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.hostile import STORABLE, raw_values_in
from tests.support.portal import PDF, Portal, csrf_of, serve_seeded, sign_in
from web.flash import FLASH_COOKIE, sealed

REPORT_BY = date.today() + timedelta(days=30)  # serve_seeded's round


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    yield from serve_seeded(engine, database_url, tmp_path, upload_max_mb=1)


def shown(page: str) -> str:
    """The page's text as a person reads it (tags dropped, entities read)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_the_home_page_puts_what_to_sign_for_first_with_role_due_date_and_days_left(
    portal: Portal,
) -> None:
    lead = portal.assignment(7, "市教育局")
    with portal.login("edu") as edu:
        home = edu.get("/inbox")
        assert home.status_code == 200
        text = shown(home.text)
        assert "先办：" in text and "请签收" in text and "待签收" in text
        card = re.search(
            rf'<article class="item" data-assignment="{lead}">(.*?)</article>', home.text, re.S
        )
        assert card, "the lead assignment of task 7 is on the home page"
        line = shown(card.group(1))
        assert "任务7：深化开展青少年法治宣传教育" in line and "牵头" in line
        assert f"截止 {REPORT_BY.isoformat()}" in line and re.search(r"剩 \d+ 个工作日", line)
        # Signed for, it leaves 待签收 for 办理中.
        edu.post(f"/assignments/{lead}/act/sign", data={"csrf": csrf_of(home.text)})
        again = edu.get("/inbox").text
        card = re.search(rf'data-assignment="{lead}">(.*?)</article>', again, re.S).group(1)
        section = again[: again.index(f'data-assignment="{lead}"')].rsplit("<h2>", 1)[1]
        assert section.startswith("办理中") and "办理中" in shown(card)


def test_an_action_says_what_happened_once_on_the_next_page(portal: Portal) -> None:
    own = portal.assignment(7, "市公安局")
    with portal.login("police") as police:
        token = csrf_of(police.get(f"/assignments/{own}").text)
        signed = police.post(f"/assignments/{own}/act/sign", data={"csrf": token})
        assert signed.status_code == 303 and FLASH_COOKIE in signed.cookies
        landed = police.get(signed.headers["location"])
        assert '<p class="flash" role="status">已签收</p>' in landed.text
        assert '<p class="flash"' not in police.get(f"/assignments/{own}").text  # once
        filed = police.post(
            f"/assignments/{own}/checkins",
            data={"csrf": token, "text": "已开展法治宣传进校园12场", "percent": "60"},
        )
        assert "已提交，待办公室审核" in police.get(filed.headers["location"]).text


def test_a_notice_cookie_not_signed_by_the_portal_is_ignored_and_a_signed_one_is_escaped(
    portal: Portal,
) -> None:
    secret = portal.settings.secret_key.get_secret_value()
    with portal.login("edu") as edu:
        for value in STORABLE:
            edu.cookies.set(FLASH_COOKIE, sealed("not-the-portal-secret", value))
            assert '<p class="flash"' not in edu.get("/inbox").text
            edu.cookies.set(FLASH_COOKIE, sealed(secret, value))
            page = edu.get("/inbox").text
            assert '<p class="flash"' in page, value[:20]
            assert raw_values_in(page) == [], value[:20]


def test_the_lead_sees_its_cooperating_units_their_filings_and_what_holds_its_report(
    portal: Portal,
) -> None:
    lead = portal.assignment(7, "市教育局")
    cooperating = portal.assignment(7, "市公安局")
    with portal.login("edu") as edu:
        page = shown(edu.get(f"/assignments/{lead}").text)
        assert "市公安局（配合）" in page and "市司法局（配合）" in page
        rule = re.search(r"配合单位尚未报结：(\S+)", page)
        assert rule and {"市公安局", "市司法局"} <= set(rule.group(1).rstrip("）").split("、"))
        assert page.index("办理规则") < page.index("报送进展或办结情况")  # before the form
    with portal.login("police") as police:
        token = csrf_of(police.get(f"/assignments/{cooperating}").text)
        police.post(
            f"/assignments/{cooperating}/checkins",
            data={"csrf": token, "text": "法治副校长覆盖全市中小学"},
            files={"evidence": ("进校园台账.pdf", PDF, "application/pdf")},
        )
    with portal.login("edu") as edu:
        page = edu.get(f"/assignments/{lead}").text
        assert "法治副校长覆盖全市中小学" in page
        link = re.search(r'href="(/evidence/\d+/[0-9a-f]+)">进校园台账.pdf', page)
        assert link and edu.get(link.group(1)).content == PDF
    with portal.login("market") as market:  # on task 6, not 7: neither page nor evidence
        assert market.get(f"/assignments/{cooperating}").status_code == 404
        assert market.get(link.group(1)).status_code == 404
    with portal.login("police") as police:  # a cooperating unit does not open the lead's page
        assert police.get(f"/assignments/{lead}").status_code == 404


def test_an_extension_not_later_than_the_due_date_is_refused_with_the_form_kept(
    portal: Portal,
) -> None:
    own = portal.assignment(5, "市教育局")
    with portal.login("edu") as edu:
        token = csrf_of(edu.get(f"/assignments/{own}").text)
        for reason in STORABLE:
            refused = edu.post(
                f"/assignments/{own}/extension",
                data={"csrf": token, "until": REPORT_BY.isoformat(), "reason": reason},
            )
            if refused.status_code == 422:  # longer than the field takes: refused by the bounds
                continue
            assert refused.status_code == 400, (reason[:20], refused.status_code)
            text = shown(refused.text)
            assert f"不晚于当前截止日期 {REPORT_BY}：延期日期须晚于当前截止日期。" in text
            assert raw_values_in(refused.text) == []
            kept = re.search(r'name="reason" required value="([^"]*)"', refused.text)
            assert kept and html.unescape(kept.group(1)) == reason
        bad = edu.post(
            f"/assignments/{own}/extension",
            data={"csrf": token, "until": "明年", "reason": "经费未到位"},
        )
        assert (
            bad.status_code == 400 and "YYYY-MM-DD" in bad.text and 'value="经费未到位"' in bad.text
        )
        later = (REPORT_BY + timedelta(days=14)).isoformat()
        asked = edu.post(
            f"/assignments/{own}/extension",
            data={"csrf": token, "until": later, "reason": "经费未到位"},
        )
        assert asked.status_code == 303
        assert (
            f"延期申请已提交（申请延至 {later}），待办公室审批"
            in edu.get(f"/assignments/{own}").text
        )
        twice = edu.post(
            f"/assignments/{own}/extension",
            data={"csrf": token, "until": later, "reason": "再次申请"},
        )
        assert twice.status_code == 409 and "已有待审批的延期申请" in shown(twice.text)
        assert 'value="再次申请"' in twice.text
    with portal.login("office") as office:
        listing = office.get("/extensions").text
        action = re.search(r'action="(/extensions/\d+/reject)"', listing).group(1)
        rejected = office.post(action, data={"csrf": csrf_of(listing), "reason": "理由不充分"})
        assert "已驳回延期申请" in office.get(rejected.headers["location"]).text
    with portal.login("edu") as edu:
        text = shown(edu.get(f"/assignments/{own}").text)
        assert f"申请延至 {later}" in text and "已驳回" in text and "办公室意见：理由不充分" in text


OFF_SITE = (
    "//evil.example",
    "//evil.example/assignments/1",
    "https://evil.example",
    "https://evil.example/assignments/1",
    "/\\evil.example",  # browsers read a backslash as a slash
    "/\t/evil.example",  # and drop tabs
    "javascript:alert(1)",
    "assignments/1",
)


def test_the_login_never_sends_anyone_off_the_site(portal: Portal) -> None:
    for target in OFF_SITE:
        with portal.client() as client:
            landed = sign_in(client, "edu", next=target)
            assert landed.status_code == 303 and landed.headers["location"] == "/", target


def test_the_login_keeps_a_path_on_the_site_with_its_query(portal: Portal) -> None:
    own = portal.assignment(5, "市教育局")
    with portal.client() as client:
        form = client.get(f"/login?next=/assignments/{own}%3Fx%3D1")
        assert f'name="next" value="/assignments/{own}?x=1"' in form.text
        landed = sign_in(client, "edu", next=f"/assignments/{own}?x=1")
        assert landed.headers["location"] == f"/assignments/{own}?x=1"

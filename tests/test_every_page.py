"""Every page each role reaches, in a real Chromium at 1366 and 390 px, passes the page check
(tests/support/pages.py): no sideways scroll, no raw code, every field labelled, phone-sized
targets.

One seeded portal for the module: the seed plan with a round, one assignment signed by 市教育局 (so
its history has lines), and a published 通报 (so the report page exists for every reader).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from models.db import make_engine
from tests.support.browser import needs_chromium
from tests.support.pages import FORBIDDEN, check_page, forbidden_in, signed_in_pages
from tests.support.portal import Portal, csrf_of, serve_seeded

pytestmark = needs_chromium
ROOT = Path(__file__).resolve().parent.parent

# Each role's nav as base.html.j2 shows it, plus the pages reached from it (/tokens: from 修改密码,
# in the menu of the office administrator only).
NAV = {
    "office": [
        "/dashboard",
        "/review",
        "/rounds",
        "/plans",
        "/extensions",
        "/declines",
        "/escalations",
        "/leader/directives",
        "/notifications",
        "/reports",
        "/import",
        "/units",
        "/audit",
        "/throttles",
        "/tokens",
    ],
    "staff": ["/dashboard", "/review", "/rounds", "/plans", "/reports", "/units", "/tokens"],
    "edu": ["/inbox", "/reports", "/tokens"],
    "leader": ["/dashboard", "/leader/agenda", "/leader/directives", "/reports", "/tokens"],
    "auditor": ["/audit", "/tokens"],
}
READS_ASSIGNMENTS = {"office", "staff", "edu"}
READS_REPORTS = {"office", "staff", "edu", "leader"}


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Portal]:
    home = tmp_path_factory.mktemp("every-page")
    shutil.copyfile(sqlite_template, home / "duban.db")
    url = f"sqlite:///{home / 'duban.db'}"
    engine = make_engine(url)
    for found in serve_seeded(engine, url, home, upload_max_mb=5):
        signed = found.assignment(5, "市教育局")
        with found.login("edu") as client:
            token = csrf_of(client.get(f"/assignments/{signed}").text)
            done = client.post(
                f"/assignments/{signed}/act/sign", data={"csrf": token, "do": "sign", "version": 1}
            )
            assert done.status_code == 303, done.text
        with found.login("office") as client:
            token = csrf_of(client.get("/reports").text)
            round_id = re.search(
                r'name="round_id"[^>]*>\s*<option value="(\d+)"', client.get("/reports").text
            )
            compiled = client.post(
                "/reports",
                data={
                    "csrf": token,
                    "round_id": round_id.group(1) if round_id else "1",
                    "publish": "on",
                },
            )
            assert compiled.status_code == 303, compiled.text
            found.report = compiled.headers["location"]  # type: ignore[attr-defined]
        yield found
    engine.dispose()


@pytest.mark.parametrize("username", sorted(NAV))
def test_every_page_of_a_role_reads_as_chinese_and_fits_a_phone(
    portal: Portal, browser, username: str
) -> None:
    paths = list(NAV[username])
    if username in READS_ASSIGNMENTS:
        paths.append(f"/assignments/{portal.assignment(5, '市教育局')}")
    if username in READS_REPORTS:
        paths.append(portal.report)  # type: ignore[attr-defined]
    failures = []
    with signed_in_pages(browser, portal.url, username) as pages:
        for path in paths:
            for page in pages.values():
                response = page.goto(portal.url + path)
                assert response.status == 200, f"{username} {path}: {response.status}"
                name = f"{username}-{path.strip('/').replace('/', '-') or 'home'}"
                try:
                    check_page(page, name)
                except AssertionError as failed:
                    failures.append(str(failed))
    assert not failures, "\n".join(failures)


def test_the_login_page_and_an_error_page_pass_the_check_too(portal: Portal, browser) -> None:
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 900})
    try:
        page = context.new_page()
        page.goto(portal.url + "/login")
        check_page(page, "login")
        response = page.goto(portal.url + "/no-such-page")
        assert response.status == 404
        check_page(page, "error-404")
    finally:
        context.close()


def test_the_check_finds_raw_codes_as_whole_words_only() -> None:
    # Worked out by hand: each raw code below is one a person could read; the second list are words
    # that only contain a code.
    raw = [
        "2022-09-01 10:00 UTC",
        "assignment.create",
        "操作人 cli:root",
        "角色 responsible",
        "状态 in_progress",
        "类型 town",
        "字段 units_text",
        "版本 4",
        "原因 None",
        "{{ x }}",
    ]
    for text in raw:
        assert forbidden_in(text), text
    for text in ["UTCs", "townhall", "unreported", "https://x/assignment.created", "Nonesuch"]:
        assert not forbidden_in(text), (text, forbidden_in(text))


BAD_PAGE = """<!DOCTYPE html><html lang="en"><body>
<p style="color:#aaa">浅灰色的字</p>
<p>状态 in_progress</p>
<input name="unnamed" style="font-size:12px">
<button style="height:20px">小按钮</button>
<div style="width:600px">太宽</div>
<p><a href="/back">返回</a></p>
<details><summary>展开</summary>内容</details>
</body></html>"""
GOOD_PAGE = """<!DOCTYPE html><html lang="zh-CN"><body style="margin:0">
<p style="color:#595959">深灰色的字 2022-09-01 10:00</p>
<label>名称 <input name="named" style="font-size:16px;height:44px;box-sizing:border-box"></label>
<button style="height:44px;min-width:44px">按钮</button>
<a href="/x/assignment.create?state=in_progress">链接</a>
<p>请先<a href="/sign">签收</a>再报送</p>
<p><a href="/back" style="display:inline-block;min-width:44px;min-height:44px">返回</a></p>
</body></html>"""


def test_the_check_finds_each_thing_a_phone_user_would_trip_over(browser) -> None:
    from tests.support.pages import problems_of

    context = browser.new_context(viewport={"width": 390, "height": 600})
    try:
        page = context.new_page()
        page.set_content(BAD_PAGE)
        found = "\n".join(problems_of(page))
        # One problem of each kind, worked out from the page above: #aaa on white is 2.32:1.
        for expected in (
            "scrolls sideways at 390px (608 > 390)",  # 600 px and the body's 8 px margin
            "shows in_progress",
            "unlabelled input name=unnamed",
            "tap target too small: button 小按钮 ",  # its width, then 20px high
            "tap target too small: a 返回 ",  # a link alone in its paragraph, one line high
            "tap target too small: summary 展开 ",
            "field text under 16px: input name=unnamed 12px",
            'contrast too low: p "浅灰色的字" 2.32:1',
            'not lang="zh-CN"',
        ):
            assert expected in found, (expected, found)
        assert re.search(r"button 小按钮 \d+×20px", found), found
        page.set_content(GOOD_PAGE)
        assert problems_of(page) == []
    finally:
        context.close()


def test_every_audit_action_the_code_writes_has_a_label() -> None:
    from models.labels import AUDIT_ACTIONS

    written = set()
    for folder in ("models", "web", "cli", "intake", "flows", "notifications", "reports"):
        for source in (ROOT / folder).rglob("*.py"):
            text = source.read_text(encoding="utf-8")
            for call in re.finditer(r"action=([^\n]+)", text):
                written.update(re.findall(r'"([a-z_]+(?:\.[a-z_]+)+|login|logout)"', call.group(1)))
    written.update(f"assignment.{a}" for a in ("sign", "progress", "report", "verify", "return"))
    assert written, "found no audit action in the code"
    assert written - set(AUDIT_ACTIONS) == set()
    assert {f"assignment.{v}" for v in ("create", "close", "reopen")} <= set(FORBIDDEN)


def test_an_error_is_a_chinese_page_with_a_way_back_for_a_browser_and_json_for_the_api(
    portal: Portal,
) -> None:
    browser_asks = {"accept": "text/html,application/xhtml+xml", "referer": f"{portal.url}/rounds"}
    with portal.login("office") as client:
        answers = {
            404: client.get("/no-such-page", headers=browser_asks),
            405: client.put("/dashboard", headers=browser_asks),
            422: client.get("/dashboard?page_no=abc", headers=browser_asks),
        }
        for status, answer in answers.items():
            assert answer.status_code == status
            assert answer.headers["content-type"].startswith("text/html"), status
            text = answer.text
            assert '<html lang="zh-CN">' in text and "无法完成" in text
            assert '<a class="button" href="/rounds">返回上一页</a>' in text, status
            assert '<a class="button primary" href="/">返回首页</a>' in text, status
            for english in ("not found", "method not allowed", "invalid", "whole number", "{"):
                assert english not in text.split("<main", 1)[1], (status, english)
        assert "“页码”应为整数" in answers[422].text or "应为整数" in answers[422].text
        elsewhere = client.get(
            "/no-such-page", headers={"accept": "text/html", "referer": "https://evil.example/x"}
        )
        assert "evil.example" not in elsewhere.text
        assert '<a class="button" href="/">返回上一页</a>' in elsewhere.text
        api = client.get("/api/v1/no-such-thing", headers=browser_asks)
        assert api.status_code == 404 and api.headers["content-type"] == "application/json"
        assert "detail" in api.json()
    signed_out = portal.client().get("/no-such-page", headers={"accept": "text/html"})
    assert signed_out.status_code == 404 and '<a class="button primary" href="/">登录</a>' in (
        signed_out.text
    )


def test_the_login_page_names_the_office_and_the_system_and_links_the_icon(portal: Portal) -> None:
    page = portal.client().get("/login").text
    assert f"{portal.settings.office_name}<br>督办系统" in page
    assert '<link rel="icon" href="/static/favicon.svg"' in page
    icon = portal.client().get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.text.startswith("<svg")
    shown = re.sub(r"<[^>]+>", "", page).lower()  # the words, not the field names
    for gloss in ("sign in", "user name", "password", "log out", "duban"):
        assert gloss not in shown, gloss


def test_the_keyboard_reaches_every_control_of_the_header_and_shows_where_it_is(
    portal: Portal, browser
) -> None:
    with signed_in_pages(browser, portal.url, "staff", widths=(1366,)) as pages:
        page = pages[1366]
        page.goto(portal.url + "/rounds")
        reached = []
        # 跳到正文, the brand, twelve nav links, 修改密码, 退出登录, a field
        for _ in range(18):
            page.keyboard.press("Tab")
            reached.append(
                page.evaluate(
                    """() => { const e = document.activeElement, s = getComputedStyle(e);
                       return [e.textContent.trim() || e.name, s.outlineStyle, s.outlineWidth]; }"""
                )
            )
        names = [name for name, _, _ in reached]
        assert names[:3] == ["跳到正文", "督办系统", "总览"], names
        assert "退出登录" in names and "计划" not in names[:2]
        for name, style, width in reached:
            assert style != "none" and width != "0px", (name, style, width)


def test_a_hostile_referer_is_never_linked_nor_shown_raw_on_the_error_page(portal: Portal) -> None:
    from urllib.parse import quote

    from tests.support.hostile import STORABLE, raw_values_in

    with portal.client() as client:
        for value in STORABLE:
            if "\x1b" in value or "\u202e" in value:
                continue  # not sendable as a header; the path form below carries them
            for referer in (value, f"{portal.url}/{quote(value, safe='')}", f"{portal.url}//x"):
                page = client.get(
                    "/no-such-page", headers={"accept": "text/html", "referer": referer.encode()}
                )
                assert page.status_code == 404
                back = re.search(r'<a class="button" href="([^"]*)">返回上一页</a>', page.text)
                assert back, referer
                link = back.group(1)  # a path of this host, or home: never another site
                assert link.startswith("/") and not link.startswith("//"), (referer, link)
                assert referer.startswith(portal.url) or link == "/", (referer, link)
                assert raw_values_in(page.text, (value,)) == [], referer

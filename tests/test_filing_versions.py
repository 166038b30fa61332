"""Filings as versions (issue 16): every submission kept, amended or withdrawn until the office has
reviewed it, what changed shown to the office with the evidence inline; no dead ends after a
review, a reopening or a round closed early; nothing typed lost to a refusal or an expired session.

Over real HTTP against the portal, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import select

from models import workflow
from models.assignment import Assignment
from models.audit import AuditEvent
from models.clock import utc_now
from models.db import reading, unit_of_work
from models.evidence import path_of
from models.filings import CheckInVersion, FilingDraft
from models.lifecycle import Action, Actor, Role, State
from models.round import CheckIn, CheckInState, SupervisionRound
from models.rounds import open_round as open_scenario_round
from models.user import User, WebSession
from tests.support import evidence_files as files
from tests.support import scenario
from tests.support.browser import ARTIFACTS, needs_chromium
from tests.support.cli import duban
from tests.support.hostile import HOSTILE, MALFORMED, STORABLE, injected_markup_in, marker_of
from tests.support.portal import Portal, csrf_of, serve_seeded, sign_in
from web.uploads import Refused, checked

MARKET = "市市场监管局"


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    yield from serve_seeded(engine, database_url, tmp_path, upload_max_mb=2)


def checkin_of(engine: Engine, assignment_id: int) -> CheckIn:
    with reading(engine) as session:
        return session.exec(select(CheckIn).where(CheckIn.assignment_id == assignment_id)).one()


def versions(engine: Engine, checkin_id: int) -> list[CheckInVersion]:
    with reading(engine) as session:
        return list(
            session.exec(
                select(CheckInVersion)
                .where(CheckInVersion.checkin_id == checkin_id)
                .order_by(CheckInVersion.revision)
            )
        )


def events(engine: Engine, action: str) -> int:
    with reading(engine) as session:
        return len(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def file(
    client: httpx.Client,
    assignment_id: int,
    fields: dict[str, str | list[str]],
    uploads: list[tuple[str, bytes]] = (),
) -> httpx.Response:
    page = client.get(f"/assignments/{assignment_id}").text
    return client.post(
        f"/assignments/{assignment_id}/checkins",
        data={"csrf": csrf_of(page), **fields},
        files=[("evidence", (name, data)) for name, data in uploads] or None,
    )


def review(client: httpx.Client, checkin_id: int, revision: int, decision: str) -> httpx.Response:
    page = client.get("/review").text
    data = {"csrf": csrf_of(page), "revision": str(revision)}
    if decision == "return":
        data["reason"] = "请补充佐证材料"
    return client.post(f"/review/{checkin_id}/{decision}", data=data)


# --- item 3: versions, amend, withdraw ---------------------------------------------------------


def test_an_amended_filing_is_a_new_version_and_the_office_sees_what_changed(
    portal: Portal,
) -> None:
    own = portal.assignment(12, MARKET)
    photo, report = files.png("red"), files.pdf("green")
    with portal.login("market") as market, portal.login("office") as office:
        first = file(market, own, {"text": "已排查30家", "percent": "30"}, [("现场.png", photo)])
        assert first.status_code == 303, first.text
        checkin = checkin_of(portal.engine, own)
        photo_sha = checkin.evidence[0]["sha256"]
        # The unit amends before the office has looked: the photo removed, a PDF added.
        page = market.get(f"/assignments/{own}").text
        assert "修改本轮报送" in page and "已排查30家" in page and "撤回本次报送" in page
        second = file(
            market,
            own,
            {"text": "已排查60家", "percent": "60", "amending": "1", "keep": []},
            [("报告.pdf", report)],
        )
        assert second.status_code == 303, second.text
        kept = versions(portal.engine, checkin.id)
        assert [(v.revision, v.text, v.percent, [e["name"] for e in v.evidence]) for v in kept] == [
            (1, "已排查30家", 30, ["现场.png"]),
            (2, "已排查60家", 60, ["报告.pdf"]),
        ]
        queue = office.get("/review").text
        assert "与上一版相比（第 2 次报送）" in queue
        for label, before, after in (
            ("进展情况", "已排查30家", "已排查60家"),
            ("完成百分比", "30%", "60%"),
            ("删除佐证材料", "现场.png", ""),
            ("新增佐证材料", "", "报告.pdf"),
        ):
            assert (
                f'<td>{label}</td><td class="old">{before}</td><td class="new">{after}</td>'
                in queue
            ), label
        # The PDF inline as its first page, rendered to PNG; the removed photo still opens.
        pdf_sha = checkin_of(portal.engine, own).evidence[0]["sha256"]
        assert f"/evidence/{checkin.id}/{pdf_sha}/preview" in queue
        preview = office.get(f"/evidence/{checkin.id}/{pdf_sha}/preview")
        assert preview.status_code == 200 and preview.headers["content-type"] == "image/png"
        assert preview.content.startswith(b"\x89PNG")
        removed = office.get(f"/evidence/{checkin.id}/{photo_sha}")
        assert removed.status_code == 200 and removed.content == photo
        # The office reviews the version it read.
        assert review(office, checkin.id, 2, "accept").status_code == 303
    assert events(portal.engine, "checkin.submit") == 2


def test_a_unit_withdraws_an_unreviewed_progress_filing_and_owes_it_again(portal: Portal) -> None:
    own = portal.assignment(12, MARKET)
    with portal.login("market") as market, portal.login("office") as office:
        file(market, own, {"text": "误报的进展", "percent": "10"})
        queue = office.get("/review").text
        assert "误报的进展" in queue
        page = market.get(f"/assignments/{own}").text
        withdrawn = market.post(
            f"/assignments/{own}/withdraw", data={"csrf": csrf_of(page), "revision": "1"}
        )
        assert withdrawn.status_code == 303, withdrawn.text
        checkin = checkin_of(portal.engine, own)
        assert (checkin.state, checkin.text, checkin.revision) == (CheckInState.PENDING, None, 2)
        assert [v.kind for v in versions(portal.engine, checkin.id)] == ["filed", "withdrawn"]
        assert "误报的进展" not in office.get("/review").text
        # The office's review of what it had open names revision 1: refused, nothing changes.
        stale = office.post(
            f"/review/{checkin.id}/accept", data={"csrf": csrf_of(queue), "revision": "1"}
        )
        assert stale.status_code == 409
        assert checkin_of(portal.engine, own).state == CheckInState.PENDING
        again = market.post(
            f"/assignments/{own}/withdraw", data={"csrf": csrf_of(page), "revision": "2"}
        )
        assert again.status_code == 409  # nothing filed: nothing to withdraw
    assert events(portal.engine, "checkin.withdraw") == 1


def test_a_reviewed_filing_can_no_longer_be_withdrawn_or_lose_its_files(portal: Portal) -> None:
    own = portal.assignment(12, MARKET)
    with portal.login("market") as market, portal.login("office") as office:
        file(market, own, {"text": "第一次", "percent": "20"}, [("现场.png", files.png())])
        checkin = checkin_of(portal.engine, own)
        assert review(office, checkin.id, 1, "return").status_code == 303
        page = market.get(f"/assignments/{own}").text
        assert "撤回本次报送" not in page and "已退回：请补充佐证材料" in page
        refused = market.post(
            f"/assignments/{own}/withdraw", data={"csrf": csrf_of(page), "revision": "1"}
        )
        assert refused.status_code == 409 and "已退回" in refused.text
        removing = file(market, own, {"text": "第二次，删去照片", "amending": "1", "keep": []})
        assert removing.status_code == 409 and "删除已审核的佐证材料" in removing.text
        assert "第二次，删去照片" in removing.text  # the form again, with the text
    assert checkin_of(portal.engine, own).state == CheckInState.RETURNED
    assert len(versions(portal.engine, checkin.id)) == 1


def test_a_completion_report_is_amended_not_withdrawn(portal: Portal) -> None:
    own = portal.assignment(12, MARKET)
    with portal.login("market") as market:
        done = file(market, own, {"text": "已全部完成", "percent": "100", "completed": "on"})
        assert done.status_code == 303, done.text[-3000:]
        page = market.get(f"/assignments/{own}").text
        assert "撤回本次报送" not in page and "保存修改" in page
        refused = market.post(
            f"/assignments/{own}/withdraw", data={"csrf": csrf_of(page), "revision": "1"}
        )
        assert refused.status_code == 409 and "办结报告已报送，不能撤回" in refused.text
        amended = file(
            market, own, {"text": "已全部完成，附台账", "percent": "100", "completed": "on"}
        )
        assert amended.status_code == 303
    checkin = checkin_of(portal.engine, own)
    assert (checkin.revision, checkin.text) == (2, "已全部完成，附台账")


def notice_after(client: httpx.Client, response: httpx.Response) -> str:
    """The notice the page after a redirect shows."""
    assert response.status_code == 303, response.text[-3000:]
    page = client.get(response.headers["location"]).text
    start = page.index('<p class="flash" role="status">') + len('<p class="flash" role="status">')
    return page[start : page.index("</p>", start)]


def test_the_notice_after_an_amendment_names_the_version_amended_and_the_new_one(
    portal: Portal,
) -> None:
    own = portal.assignment(12, MARKET)
    with portal.login("market") as market, portal.login("office") as office:
        first = file(market, own, {"text": "已排查30家", "percent": "30"})
        assert notice_after(market, first) == "已提交，待办公室审核"
        second = file(market, own, {"text": "已排查40家", "percent": "40"})
        assert notice_after(market, second) == "已修改第1次报送，作为第2次报送提交，待办公室审核"
        third = file(market, own, {"text": "已排查50家", "percent": "50"})
        assert notice_after(market, third) == "已修改第2次报送，作为第3次报送提交，待办公室审核"
        # Withdrawn (revision 4), filed again (5): a new filing, not an amendment.
        page = market.get(f"/assignments/{own}").text
        withdrawn = market.post(
            f"/assignments/{own}/withdraw", data={"csrf": csrf_of(page), "revision": "3"}
        )
        assert notice_after(market, withdrawn) == "已撤回该次报送"
        again = file(market, own, {"text": "重新报送", "percent": "50"})
        assert notice_after(market, again) == "已提交，待办公室审核"
        # Returned by the office, then filed again: not an amendment either.
        checkin = checkin_of(portal.engine, own)
        assert review(office, checkin.id, 5, "return").status_code == 303
        refiled = file(market, own, {"text": "补充后再报", "percent": "60"})
        assert notice_after(market, refiled) == "已提交，待办公室审核"
        # A progress filing amended into the completion report says so.
        done = file(market, own, {"text": "已全部完成", "percent": "100", "completed": "on"})
        assert (
            notice_after(market, done)
            == "已修改第6次报送，作为第7次报送（办结报告）提交，待办公室审核"
        )
    assert [v.revision for v in versions(portal.engine, checkin.id)] == [1, 2, 3, 4, 5, 6, 7]


def test_the_same_file_twice_in_a_filing_is_stored_once(portal: Portal) -> None:
    own = portal.assignment(12, MARKET)
    photo = files.png("navy")
    with portal.login("market") as market:
        file(market, own, {"text": "两张同样的照片"}, [("a.png", photo), ("b.png", photo)])
        file(market, own, {"text": "再传一次"}, [("c.png", photo)])
    checkin = checkin_of(portal.engine, own)
    assert [e["name"] for e in checkin.evidence] == ["a.png"]
    stored = path_of(portal.settings.home / "evidence", checkin.evidence[0]["sha256"])
    assert stored.read_bytes() == photo


# --- item 4: no dead ends ----------------------------------------------------------------------


def test_after_accepted_progress_the_unit_can_still_report_completion_and_ask_for_more_time(
    portal: Portal,
) -> None:
    own = portal.assignment(12, MARKET)
    with portal.login("market") as market, portal.login("office") as office:
        file(market, own, {"text": "过半", "percent": "50"})
        assert review(office, checkin_of(portal.engine, own).id, 1, "accept").status_code == 303
        page = market.get(f"/assignments/{own}").text
        assert 'name="completed"' in page and f'action="/assignments/{own}/extension"' in page
        done = file(market, own, {"text": "全部完成", "percent": "100", "completed": "on"})
        assert done.status_code == 303, done.text
    with reading(portal.engine) as session:
        assert session.get(Assignment, own).state == State.REPORTED
    assert checkin_of(portal.engine, own).state == CheckInState.SUBMITTED


def test_after_reopening_the_unit_has_a_form_again(portal: Portal) -> None:
    own = portal.assignment(12, MARKET)
    with portal.login("market") as market, portal.login("office") as office:
        file(market, own, {"text": "全部完成", "percent": "100", "completed": "on"})
        assert review(office, checkin_of(portal.engine, own).id, 1, "accept").status_code == 303
        assert f'action="/assignments/{own}/checkins"' not in market.get(f"/assignments/{own}").text
        actor = Actor(name="office", role=Role.OFFICE_STAFF)
        with unit_of_work(portal.engine) as session:
            workflow.take_action(
                session, assignment_id=own, action=Action.CLOSE, actor=actor, now=utc_now()
            )
            workflow.take_action(
                session,
                assignment_id=own,
                action=Action.REOPEN,
                actor=actor,
                now=utc_now(),
                reason="上级抽查发现问题",
            )
        page = market.get(f"/assignments/{own}").text
        assert f'action="/assignments/{own}/checkins"' in page
        assert file(market, own, {"text": "已重新整改"}).status_code == 303


def test_closing_a_round_with_unreviewed_filings_asks_first_and_keeps_them_reviewable(
    portal: Portal,
) -> None:
    own = portal.assignment(12, MARKET)
    with portal.login("market") as market, portal.login("office") as office:
        file(market, own, {"text": "待审核的进展"})
        rounds = office.get("/rounds").text
        assert "仍有 1 份报送待审核" in rounds
        with reading(portal.engine) as session:
            round_id = session.exec(select(SupervisionRound.id)).one()
        unconfirmed = office.post(f"/rounds/{round_id}/close", data={"csrf": csrf_of(rounds)})
        assert unconfirmed.status_code == 409 and "请确认后再结束" in unconfirmed.text
        with reading(portal.engine) as session:
            assert session.get(SupervisionRound, round_id).state == "open"
        closed = office.post(
            f"/rounds/{round_id}/close", data={"csrf": csrf_of(rounds), "confirm": "on"}
        )
        assert closed.status_code == 303
        queue = office.get("/review").text
        assert "待审核的进展" in queue and "本轮已结束" in queue
        checkin = checkin_of(portal.engine, own)
        assert review(office, checkin.id, 1, "accept").status_code == 303
    assert checkin_of(portal.engine, own).state == CheckInState.ACCEPTED


def test_the_cli_closes_a_round_with_unreviewed_filings_only_when_told_to(
    engine: Engine, database_url: str, tmp_path: Path, now: datetime
) -> None:
    scenario.build(engine, now)
    with unit_of_work(engine) as session:
        open_scenario_round(
            session,
            plan_key="2022",
            name="第三季度",
            report_by=date(2022, 9, 30),
            actor=scenario.OFFICE,
            now=now,
            cooperating_lead_days=2,
        )

    def run(*args: str, code: int = 0) -> str:
        result = duban(*args, home=tmp_path, url=database_url)
        assert result.returncode == code, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        return result.stdout + result.stderr

    run(
        "checkin", "submit", "--task", "12", "--unit", MARKET, "--text", "完成30%",
        "--now", "2022-09-06T10:00:00+08:00",
    )  # fmt: skip
    refused = run("round", "close", "第三季度", code=4)
    assert "还有 1 份报送待审核" in refused and len(refused.strip().splitlines()) == 1
    assert "已结束" in run("round", "close", "第三季度", "--confirm")
    run(
        "review",
        "accept",
        "--task",
        "12",
        "--unit",
        MARKET,
        "--round",
        "第三季度",
        "--revision",
        "1",
    )
    with reading(engine) as session:
        assert session.exec(select(CheckIn.state)).all().count(CheckInState.ACCEPTED) == 1


# --- item 5: nothing typed is lost -------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "upload", "status", "reason"),
    [
        ({"percent": "150"}, None, 422, "完成百分比应为 0 到 100 之间的整数"),
        ({"percent": "40"}, ("伪装.pdf", files.EXE), 415, "不允许上传 exe"),
        ({"percent": "40", "problems": "长" * 30000}, None, 422, "需协调"),
    ],
)
def test_a_refused_filing_shows_the_form_again_with_the_text_and_the_reason(
    portal: Portal,
    fields: dict[str, str],
    upload: tuple[str, bytes] | None,
    status: int,
    reason: str,
) -> None:
    own = portal.assignment(12, MARKET)
    typed = "本月走访企业12家，发现问题3项\n第二行"
    with portal.login("market") as market:
        refused = file(market, own, {"text": typed, **fields}, [upload] if upload else [])
    assert refused.status_code == status
    assert reason in refused.text and 'id="refusal"' in refused.text
    assert f">{typed}</textarea>" in refused.text
    assert checkin_of(portal.engine, own).revision == 0  # nothing saved


def test_an_expired_session_keeps_the_text_for_that_user_and_no_one_else(portal: Portal) -> None:
    own = portal.assignment(12, MARKET)
    typed = "写了半小时的进展情况"
    with portal.client() as market:
        assert sign_in(market, "market").status_code == 303
        page = market.get(f"/assignments/{own}").text
        with unit_of_work(portal.engine) as session:  # the liaison went to a meeting
            for web_session in session.exec(select(WebSession)):
                web_session.last_seen_at = utc_now() - timedelta(hours=2)
                session.add(web_session)
        expired = market.post(
            f"/assignments/{own}/checkins",
            data={"csrf": csrf_of(page), "text": typed, "percent": "70", "problems": "缺经费"},
        )
        assert expired.status_code == 303 and expired.headers["location"].startswith("/login")
        assert typed not in expired.headers["location"]
        back = sign_in(market, "market", next=f"/assignments/{own}/checkins")
        assert back.status_code == 303
        form = market.get(back.headers["location"], follow_redirects=True).text
        assert "登录超时前填写的内容已恢复" in form and f">{typed}</textarea>" in form
        assert 'value="70"' in form and ">缺经费</textarea>" in form
        with portal.login("office") as office:
            assert typed not in office.get(f"/assignments/{own}").text
        assert file(market, own, {"text": typed, "percent": "70"}).status_code == 303
    with reading(portal.engine) as session:
        assert session.exec(select(FilingDraft)).all() == []


def test_a_forged_post_without_the_sessions_token_keeps_no_draft(portal: Portal) -> None:
    own = portal.assignment(12, MARKET)
    with portal.client() as market:
        sign_in(market, "market")
        with unit_of_work(portal.engine) as session:
            for web_session in session.exec(select(WebSession)):
                web_session.last_seen_at = utc_now() - timedelta(hours=2)
                session.add(web_session)
        market.post(f"/assignments/{own}/checkins", data={"csrf": "guess", "text": "植入"})
    with reading(portal.engine) as session:
        assert session.exec(select(FilingDraft)).all() == []
        assert session.exec(select(User).where(User.username == "market")).one()


# --- item 8: evidence kinds --------------------------------------------------------------------


@pytest.mark.parametrize(("name", "data", "media"), files.ACCEPTED, ids=lambda v: str(v)[:12])
def test_every_kind_of_evidence_an_office_receives_is_recognised_by_content(
    name: str, data: bytes, media: str
) -> None:
    assert checked(name, data) == media


@pytest.mark.parametrize(("name", "data", "fragment"), files.REFUSED, ids=lambda v: str(v)[:12])
def test_a_file_that_lies_about_its_kind_is_refused_by_name(
    name: str, data: bytes, fragment: str
) -> None:
    with pytest.raises(Refused) as refused:
        checked(name, data)
    assert refused.value.name == name and fragment in refused.value.why_zh


def test_images_show_inline_and_heic_as_a_row_to_download(portal: Portal) -> None:
    own = portal.assignment(12, MARKET)
    photo = files.png("orange")
    with portal.login("market") as market, portal.login("office") as office:
        file(
            market,
            own,
            {"text": "现场照片"},
            [("现场.png", photo), ("手机.heic", files.heic()), ("台账.xls", files.ole(b"x"))],
        )
        checkin = checkin_of(portal.engine, own)
        shas = {e["name"]: e["sha256"] for e in checkin.evidence}
        queue = office.get("/review").text
        assert f'<img src="/evidence/{checkin.id}/{shas["现场.png"]}/preview"' in queue
        # No browser draws HEIC: a row with its type and a download link under its name.
        assert '<span class="file-type">HEIC 图片</span>' in queue
        assert f'<a href="/evidence/{checkin.id}/{shas["手机.heic"]}">手机.heic</a>' in queue
        assert f"/evidence/{checkin.id}/{shas['台账.xls']}/preview" not in queue
        inline = office.get(f"/evidence/{checkin.id}/{shas['现场.png']}/preview")
        assert inline.content == photo and inline.headers["content-type"] == "image/png"
        assert inline.headers["content-disposition"].startswith("inline")
        no_preview = office.get(f"/evidence/{checkin.id}/{shas['手机.heic']}/preview")
        assert no_preview.status_code == 404
        heic = office.get(f"/evidence/{checkin.id}/{shas['手机.heic']}")
        assert heic.status_code == 200 and heic.content == files.heic()


# --- hostile input -----------------------------------------------------------------------------


def test_hostile_text_and_file_names_come_back_escaped_in_the_form_the_list_and_the_queue(
    portal: Portal,
) -> None:
    own = portal.assignment(12, MARKET)
    with portal.login("market") as market, portal.login("office") as office:
        for number, value in enumerate(STORABLE):
            answer = file(
                market,
                own,
                {"text": value, "problems": value},
                [(f"{value[:80]}{number}.png", files.png())],
            )
            assert answer.status_code in (303, 422), answer.text[:300]
            shown = answer.text if answer.status_code == 422 else None
            for page in filter(None, (shown, market.get(f"/assignments/{own}").text)):
                assert injected_markup_in(page) == [] and marker_of(value) in page
        queue = office.get("/review").text
        assert injected_markup_in(queue) == [] and marker_of(STORABLE[-1]) in queue
        nul = file(market, own, {"text": HOSTILE[9]})  # NUL: refused, the form shown again
        assert nul.status_code == 422 and 'id="refusal"' in nul.text
        for percent in MALFORMED:  # never a 500, never a half-saved filing
            answer = file(market, own, {"text": "进度", "percent": percent})
            assert answer.status_code in (303, 400, 422), (percent, answer.status_code)


# --- in Chromium, at a desk and on a phone -----------------------------------------------------

WIDEST = "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"


@needs_chromium
def test_the_filing_form_and_the_review_queue_fit_a_phone_and_show_the_evidence(
    portal: Portal, browser, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("one browser run is enough: the HTTP tests cover both databases")
    own = portal.assignment(12, MARKET)
    with portal.login("market") as market:
        file(market, own, {"text": "已排查30家企业", "percent": "30"}, [("现场.png", files.png())])
        file(
            market,
            own,
            {"text": "已排查60家企业，发现问题3项", "percent": "60", "problems": "缺少检测经费"},
            [("检查报告.pdf", files.pdf()), ("手机照片.heic", files.heic())],
        )
        cookies = {"market": market.cookies}
    with portal.login("office") as office:
        cookies["office"] = office.cookies
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for width, height in ((1366, 900), (390, 844)):
            for who, path, name in (
                ("market", f"/assignments/{own}", "filing"),
                ("office", "/review", "review"),
            ):
                context = browser.new_context(
                    locale="zh-CN", viewport={"width": width, "height": height}
                )
                context.add_cookies(
                    [{"name": k, "value": v, "url": portal.url} for k, v in cookies[who].items()]
                )
                page = context.new_page()
                page.goto(f"{portal.url}{path}")
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
                assert page.evaluate(WIDEST) <= width, (name, width)
                if name == "review":
                    # The PDF's first page and the photo are drawn, not broken images.
                    drawn = page.evaluate(
                        "() => [...document.querySelectorAll('figure.evidence img')]"
                        ".map(i => i.naturalWidth > 0)"
                    )
                    assert drawn == [True, True], drawn  # the photo kept, the PDF added
                    assert page.locator(".file-type", has_text="HEIC 图片").count() == 1
                    assert page.locator("text=与上一版相比").count() == 1
                context.close()

"""The office's desk for escalated items (issue 16 item 10): a note, the 会商 outcome of a red
item, closing a 督办单 with a reason; the list filtered by level, unit and task, fifty a page, and
exported; on the command line, the portal and the API.

The seed round is opened on Monday 19 September 2022 (due the 21st) and nobody files, so all 98
assignments stall. The ladder climbs one level a run, a run at least `escalation_step_days` (2)
working days after the last: 22 Sep blue (督〔2022〕001–098号), 26 Sep yellow (099–196), 28 Sep
red (197–294). An item is named by its highest level's number.

In the seed notice 市市场监管局 is named on tasks 6, 12 and 13 (tests/fixtures/seed-notice.txt).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine, event, text
from sqlmodel import select

from bench.synthetic import climb_ladder
from config import Settings
from models.calendar import STATUTORY
from models.db import make_engine, reading
from models.escalation_desk import desk_count, desk_items
from models.notification import Notification
from models.nudges import Nudge
from tests.support.browser import needs_chromium
from tests.support.cli import Run, seeded_office, stored
from tests.support.hostile import STORABLE, injected_markup_in
from tests.support.pages import check_page, signed_in_pages
from tests.support.portal import Portal, csrf_of, serve_seeded

CST = ZoneInfo("Asia/Shanghai")


def _office(tmp_path: Path, database_url: str) -> Run:
    """The seed round opened on Monday 19 September, due the 21st."""
    return seeded_office(
        tmp_path, database_url, round_name="九月督导", due="2022-09-21", opened="2022-09-19T09:00"
    )


def _count(database_url: str, sql: str) -> int:
    ((found,),) = stored(database_url, sql)
    return int(found or 0)


def test_the_office_notes_consults_and_closes_an_item_on_the_command_line(
    database_url: str, tmp_path: Path
) -> None:
    run = _office(tmp_path, database_url)
    run("escalate", "--now", "2022-09-22T10:30")
    listed = run("escalation", "list", "--unit", "市市场监管局")
    assert [line.split()[3] for line in listed.splitlines()] == ["任务6", "任务12", "任务13"]
    blue = listed.splitlines()[1].split()[1]  # task 12's blue 督办单
    # Not red yet: a 会商 outcome is refused, a note is taken.
    refused = run("escalation", "consult", blue, "--text", "会商议定", code=4)
    assert "尚未升至提请会商" in refused
    run("escalation", "note", blue, "--text", "已电话联系分管领导")

    run("escalate", "--now", "2022-09-26T10:30")
    run("escalate", "--now", "2022-09-28T10:30")
    red = run("escalation", "list", "--unit", "市市场监管局", "--task", "12", "--level", "3")
    (line,) = red.splitlines()
    assert "督〔2022〕" in line and "红色提请协调" in line and "备注 1 条" in line
    number = line.split()[1]
    assert 197 <= int(number.removeprefix("督〔2022〕").removesuffix("号")) <= 294
    run("escalation", "consult", number, "--text", "会商议定由市市场监管局牵头，10月10日前完成")
    assert "（3 级）" in run("escalation", "close", number, "--reason", "经会商协调，问题已解决")

    assert len(run("escalation", "list").splitlines()) == 97
    assert len(run("escalation", "list", "--unit", "市市场监管局").splitlines()) == 2
    again = run("escalation", "close", number, "--reason", "再次办结", code=4)
    assert "已办结" in again
    assert "必须填写理由" in run("escalation", "close", "241", "--reason", "  ", code=2)
    assert "未找到督办事项" in run("escalation", "note", "督〔2099〕001号", "--text", "x", code=3)
    # The ladder does not climb again on the closed item: its stages have fired.
    run("escalate", "--now", "2022-10-10T10:30")
    assert len(run("escalation", "list").splitlines()) == 97
    actions = {
        action: _count(database_url, f"select count(*) from audit_event where action = '{action}'")
        for action in ("escalation.note", "escalation.consult", "escalation.close")
    }
    assert actions == {"escalation.note": 1, "escalation.consult": 1, "escalation.close": 1}
    # Closing resolved the item's three levels, and nothing else.
    assert _count(database_url, "select count(*) from escalation where resolved_at is null") == (
        97 * 3
    )


def _moments() -> list[datetime]:
    """Three escalation runs after a round opened today: 4 working days on (its check-ins are
    unsigned past `unsigned_days` 3), then 2 and 2 more (`escalation_step_days`)."""
    day = STATUTORY.add_working_days(date.today(), 4)
    days = [day, STATUTORY.add_working_days(day, 2), STATUTORY.add_working_days(day, 4)]
    return [datetime.combine(d, time(10, 30), CST) for d in days]


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    served = serve_seeded(engine, database_url, tmp_path, upload_max_mb=5)
    found = next(served)
    climb_ladder(engine, Settings(home=tmp_path), _moments())
    yield found
    next(served, None)  # the server stops


def _first_item(office, query: str = "") -> tuple[int, str]:
    page = office.get(f"/escalations{query}").text
    marker = 'data-escalation="'
    start = page.index(marker) + len(marker)
    return int(page[start : page.index('"', start)]), page


def test_the_escalations_page_filters_pages_exports_and_takes_the_office_s_words(
    portal: Portal,
) -> None:
    with portal.login("office") as office:
        page = office.get("/escalations").text
        # 98 items, each once, fifty a page.
        assert page.count('data-escalation="') == 50 and "第1页/共2页，共 98 条" in page
        second = office.get("/escalations?page_no=2").text
        assert second.count('data-escalation="') == 48
        only = office.get("/escalations?unit=市市场监管局&level=3").text
        assert only.count('data-escalation="') == 3 and "共 3 条" in only
        exported = office.get("/escalations/export?unit=市市场监管局")
        assert exported.status_code == 200
        sheet = load_workbook(io.BytesIO(exported.content)).active
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][:5] == ("督办单号", "最高级别", "任务序号", "任务", "单位")
        assert sorted(r[2] for r in rows[1:]) == [6, 12, 13]

        item, page = _first_item(office, "?unit=市市场监管局&task=12")
        token = csrf_of(page)
        for hostile in STORABLE[
            :6
        ]:  # markup, a form, a refresh, a comment, an attribute, a script URL
            noted = office.post(
                f"/escalations/{item}/note",
                data={"csrf": token, "note": f"备注 {hostile}", "back": "/escalations?task=12"},
            )
            assert noted.status_code == 303 and noted.headers["location"] == "/escalations?task=12"
        shown = office.get("/escalations?unit=市市场监管局&task=12").text
        assert "已添加备注" in shown and shown.count('class="note"') == 6
        assert injected_markup_in(shown) == []
        consulted = office.post(
            f"/escalations/{item}/consultation",
            data={"csrf": token, "note": "会商议定由市市场监管局牵头"},
        )
        assert consulted.status_code == 303
        assert "会商结果（" in office.get("/escalations?task=12&unit=市市场监管局").text
        empty = office.post(f"/escalations/{item}/close", data={"csrf": token, "reason": " "})
        assert empty.status_code in (400, 422) and "必须填写理由" in empty.text
        closed = office.post(
            f"/escalations/{item}/close", data={"csrf": token, "reason": "问题已解决"}
        )
        assert closed.status_code == 303
        after = office.get("/escalations").text
        assert "已办结督办单" in after and "共 97 条" in after
        twice = office.post(f"/escalations/{item}/close", data={"csrf": token, "reason": "再次"})
        assert twice.status_code == 409 and "已办结" in twice.text
        assert office.post(f"/escalations/{item}/other", data={"csrf": token}).status_code == 404
        # The trail says it in words.
        trail = office.get("/audit").text
        assert "办结督办单" in trail and "记录会商结果" in trail and "督办事项备注" in trail
    with portal.login("edu") as unit:
        token = csrf_of(unit.get(f"/assignments/{portal.assignment(5, '市教育局')}").text)
        assert unit.get("/escalations").status_code == 403
        refused = unit.post(f"/escalations/{item}/note", data={"csrf": token, "note": "x"})
        assert refused.status_code == 403


def _flash(page: str) -> str:
    start = page.index('<p class="flash" role="status">') + len('<p class="flash" role="status">')
    return page[start : page.index("</p>", start)]


def _minute(moment: datetime | None) -> str:
    """A stored time (naive: UTC, as SQLite hands it back) as the office reads it."""
    assert moment is not None
    return (
        moment.replace(tzinfo=moment.tzinfo or ZoneInfo("UTC"))
        .astimezone(CST)
        .strftime("%Y-%m-%d %H:%M")
    )


def test_a_nudge_on_the_desk_returns_to_the_desk_with_its_filters_and_so_does_its_refusal(
    portal: Portal,
) -> None:
    own = portal.assignment(12, "市市场监管局")
    desk = "/escalations?unit=%E5%B8%82%E5%B8%82%E5%9C%BA%E7%9B%91%E7%AE%A1%E5%B1%80&task=12"
    with portal.login("office") as office:
        item, page = _first_item(office, desk.removeprefix("/escalations"))
        back = f'name="back" value="{desk.replace("&", "&amp;")}#item-{item}"'
        nudge_form = page[page.index(f'action="/assignments/{own}/nudge"') :]
        assert back in nudge_form[: nudge_form.index("</form>")]  # the desk's query, kept
        pressed = office.post(
            f"/assignments/{own}/nudge",
            data={"csrf": csrf_of(page), "back": f"{desk}#item-{item}"},
        )
        assert pressed.status_code == 303
        assert pressed.headers["location"] == f"{desk}#item-{item}"
        shown = office.get(pressed.headers["location"]).text
        with reading(portal.engine) as session:
            sent = session.exec(select(Nudge)).one()
            sent_at = sent.at
            sends_at = session.exec(
                select(Notification.next_attempt_at).where(Notification.dedup_key == sent.dedup_key)
            ).one()
        assert _flash(shown) == f"已催办：市市场监管局，通知将于 {_minute(sends_at)} 发出"
        assert "共 1 条" in shown and '<option value="市市场监管局" selected>' in shown
        assert 'name="task" min="1" inputmode="numeric" value="12"' in shown
        # Pressed again within the 24-hour cooldown: back on the desk, saying when it may go.
        again = office.post(
            f"/assignments/{own}/nudge",
            data={"csrf": csrf_of(shown), "back": f"{desk}#item-{item}"},
        )
        assert again.status_code == 303
        assert again.headers["location"] == f"{desk}#item-{item}"
        refused = office.get(again.headers["location"]).text
        assert _flash(refused) == (
            f"未催办：市市场监管局已于 {_minute(sent_at)} 催办过，24 小时内不再催办；"
            f"下次可催办时间：{_minute(sent_at + timedelta(hours=24))}。"
        )
        assert "共 1 条" in refused and '<option value="市市场监管局" selected>' in refused
        # A `back` that leads off the desk leads to the plain desk instead.
        for hostile in (
            "https://evil.example/",
            "//evil",
            "/\\evil.example",
            "/escalations\r\nX: y",
            "/escalationsevil",
            "/review",
            "javascript:alert(1)",
        ):
            off = office.post(
                f"/assignments/{own}/nudge", data={"csrf": csrf_of(shown), "back": hostile}
            )
            assert off.status_code == 303 and off.headers["location"] == "/escalations", hostile
            assert "X" not in off.headers
            assert _flash(office.get("/escalations").text).startswith("未催办：市市场监管局已于")
        # A note's `back` is held to the same rule.
        noted = office.post(
            f"/escalations/{item}/note",
            data={"csrf": csrf_of(shown), "note": "已电话联系", "back": "//evil.example/x"},
        )
        assert noted.status_code == 303 and noted.headers["location"] == "/escalations"
    assert _count_nudges(portal) == (1, 1)  # the refused ones wrote nothing


def _count_nudges(portal: Portal) -> tuple[int, int]:
    with portal.engine.connect() as connection:
        nudges = connection.execute(text("select count(*) from nudge")).scalar()
        events = connection.execute(
            text("select count(*) from audit_event where action = 'nudge.send'")
        ).scalar()
    return int(nudges or 0), int(events or 0)


def test_the_api_lists_notes_and_closes_items_for_the_office_only(portal: Portal) -> None:
    with portal.client() as client:
        office, unit = portal.token("office"), portal.token("edu")
        listed = client.get("/api/v1/escalations?level=3", headers=office)
        assert listed.status_code == 200 and len(listed.json()) == 98
        mine = client.get("/api/v1/escalations?unit=市市场监管局", headers=office).json()
        assert sorted(i["task_number"] for i in mine) == [6, 12, 13]
        item = mine[0]["id"]
        assert client.get("/api/v1/escalations", headers=unit).status_code == 403
        note = client.post(
            f"/api/v1/escalations/{item}/notes",
            json={"text": "会商议定", "kind": "consultation"},
            headers=office,
        )
        assert note.status_code == 201 and note.json()["kind"] == "consultation"
        assert (
            client.post(
                f"/api/v1/escalations/{item}/notes", json={"text": ""}, headers=office
            ).status_code
            == 422
        )
        assert (
            client.post(
                f"/api/v1/escalations/{item}/notes", json={"text": "x"}, headers=unit
            ).status_code
            == 403
        )
        assert (
            client.post(
                "/api/v1/escalations/99999999/close", json={"reason": "x"}, headers=office
            ).status_code
            == 404
        )
        closed = client.post(
            f"/api/v1/escalations/{item}/close", json={"reason": "已解决"}, headers=office
        )
        assert closed.status_code == 200 and closed.json() == {"levels_closed": 3}
        again = client.post(
            f"/api/v1/escalations/{item}/close", json={"reason": "已解决"}, headers=office
        )
        assert again.status_code == 409
        with_notes = client.get("/api/v1/escalations?level=3", headers=office).json()
        assert len(with_notes) == 97


@needs_chromium
def test_the_escalations_desk_in_chromium(portal: Portal, browser, backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("one browser run is enough: the HTTP tests cover both databases")
    with signed_in_pages(browser, portal.url, "office") as pages:
        for width, page in pages.items():
            page.goto(f"{portal.url}/escalations?unit=市市场监管局")
            page.locator("ol.desk details summary").first.click()
            check_page(page, "escalations-desk")
            assert page.locator("ol.desk textarea[name=note]").first.is_visible(), width
        page = pages[min(pages)]
        page.locator("ol.desk textarea[name=note]").first.fill("已电话联系分管领导，本周内报送")
        page.locator("ol.desk button:has-text('添加备注')").first.click()
        page.wait_for_selector("text=已添加备注")
        assert "已电话联系分管领导，本周内报送" in page.content()
        check_page(page, "escalations-desk-noted")


def _desk_numbers(page: str) -> list[str]:
    """The 督办单 numbers of the items a desk page lists, in its order."""
    desk = page[page.index('<ol class="desk">') : page.index("</ol>")]
    return re.findall(r"<p><b>(督〔\d{4}〕\d{3}号)</b>", desk)


def test_the_desk_filtered_by_level_shows_the_second_page_of_red_items_by_number(
    portal: Portal,
) -> None:
    moments = _moments()
    if len({m.year for m in moments}) > 1:
        pytest.skip("the three runs straddle a new year: the numbers restart")
    year = moments[0].year
    with portal.login("office") as office:
        second = office.get("/escalations", params={"level": 3, "page_no": 2}).text
        beyond = office.get("/escalations", params={"level": 3, "page_no": 9}).text
        part = office.get("/escalations", params={"unit": "市场监管", "task": 12}).text
        wildcard = office.get("/escalations", params={"unit": "%"}).text
    # All 98 items went blue (001–098), yellow (099–196) and red (197–294) on the same days, so
    # every item is red since the same day and they follow their red numbers: page 2 holds the
    # 51st to the 98th, 247 to 294.
    assert _desk_numbers(second) == [f"督〔{year}〕{n:03d}号" for n in range(247, 295)]
    assert "第2页/共2页，共 98 条" in second
    assert 'href="/escalations?level=3&amp;page_no=1"' in second
    assert "page_no=3" not in second
    assert _desk_numbers(beyond) == _desk_numbers(second)  # beyond the last: the last
    ladder = second[second.index('<ol class="desk">') :]
    assert ladder.count("督办经过：") == 48 and ladder.count("蓝色提醒（") == 48
    assert ladder.count("黄色催办（") == 48 and ladder.count("红色提请协调（") == 48
    # A part of a unit's name finds it; "%" is a character, not LIKE's wildcard.
    assert part.count('data-escalation="') == 1 and "共 1 条" in part
    assert wildcard.count('data-escalation="') == 0
    assert "<p>暂无。</p>" in wildcard[wildcard.index('id="open-items"') :]


def test_the_desk_page_costs_no_query_per_item_for_three_items_or_ninety_eight(
    portal: Portal,
) -> None:
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    with portal.login("office") as office:
        office.get("/escalations")  # the connection's own first statements are not counted
        event.listen(Engine, "before_cursor_execute", count)
        try:
            runs = {}
            for name, query in (
                ("three", {"unit": "市市场监管局"}),
                ("first fifty of 98", {}),
                ("last 48 of 98", {"page_no": 2}),
            ):
                statements.clear()
                answer = office.get("/escalations", params=query)
                assert answer.status_code == 200
                runs[name] = (len(statements), answer.text.count('data-escalation="'))
        finally:
            event.remove(Engine, "before_cursor_execute", count)
    assert [shown for _, shown in runs.values()] == [3, 50, 48]
    # None per item. A unit's filter sorts its items in one query; without one the desk walks the
    # index instead of sorting all 98: the top level (red), that level's first moment (every item
    # first escalated in the blue run), no later moment, no lower level, then the day's page in
    # number order: four seeks more. Page 2 also counts the day's items before skipping 50 of them.
    three = runs["three"][0]
    assert (runs["first fifty of 98"][0], runs["last 48 of 98"][0]) == (three + 4, three + 5), runs


def test_a_hostile_unit_filter_selects_nothing_on_the_desk(portal: Portal) -> None:
    with reading(portal.engine) as session:
        nul = ["\x00", "市场\x00监管"]  # PostgreSQL refuses a NUL in a query: nothing, not a 500
        for value in [*STORABLE, *nul, "%", "_", "%市%", "市市场监管局' OR '1'='1"]:
            if not value.strip():
                continue
            assert desk_count(session, {"unit": value}) == 0, value
            assert desk_items(session, "Asia/Shanghai", {"unit": value}) == [], value
        assert desk_count(session, {"unit": "市场监管"}) == 3


# Two 批示 on task 8 (市委宣传部 leads; 市科技局, 市文化广电和旅游局 and 市科协 cooperate), in a
# round opened Thursday 8 September 2022 and due the 30th; both written on the 9th. 批示 1 is due
# Wednesday the 14th, 批示 2 Friday the 16th. The ladder runs on Thursday the 15th: 批示 1 is one
# working day overdue, each of its four parts blue; 批示 2 is not due yet. It runs again on Monday
# the 19th: 批示 1's parts have been blue 2 working days (16th, 19th), so yellow; 批示 2's are one
# working day overdue, so blue. Meanwhile nobody signed for the round: each of the 98 assignments
# is blue on the 15th (unsigned 4 working days, 9th to 15th, the 12th a holiday) and yellow on the
# 19th. Task 8 on the desk: its four units' check-in items (yellow) and eight 批示 items, two a
# unit: 批示 1's yellow, with a blue and a yellow rung, and 批示 2's blue, with one rung.
DIRECTIVE_REASON = "领导批示逾期未回复"
TASK_8_UNITS = ["市委宣传部", "市科技局", "市文化广电和旅游局", "市科协"]


def _two_directives_escalated(tmp_path: Path, database_url: str) -> Run:
    run = seeded_office(
        tmp_path, database_url, round_name="第三季度", due="2022-09-30", opened="2022-09-08T10:00"
    )
    for leader, due in (("张副市长", "2022-09-14"), ("李主任", "2022-09-16")):
        run(
            *("directive", "add", "--task", "8", "--text", "请本月内完成排查", "--leader", leader),
            *("--deadline", due, "--now", "2022-09-09T10:00"),
        )
    run("escalate", "--now", "2022-09-15T10:00")
    run("escalate", "--now", "2022-09-19T10:00")
    return run


def _desk_of(database_url: str, filters: dict) -> list[tuple[str, int, str, int]]:
    """The desk's items the filters keep, sorted: (unit, task, what stalled, level, rungs in its
    history); the desk's count agrees."""
    engine = make_engine(database_url)
    with reading(engine) as session:
        items = desk_items(session, "Asia/Shanghai", filters)
        assert desk_count(session, filters) == len(items)
    engine.dispose()
    return sorted(
        (
            i["unit"],
            i["task_number"],
            "批示" if i["reason"] == DIRECTIVE_REASON else "报送",
            i["level"],
            len(i["history"]),
        )
        for i in items
    )


def test_two_directives_on_one_assignment_are_two_items_each_at_its_own_level(
    database_url: str, tmp_path: Path
) -> None:
    from models.escalations import open_counts
    from models.plan import Plan
    from models.round import SupervisionRound
    from reports.results import compute, end_of_day

    run = _two_directives_escalated(tmp_path, database_url)
    directive_items = [
        (unit, 8, "批示", level, rungs)
        for unit in TASK_8_UNITS
        for level, rungs in ((1, 1), (2, 2))
    ]
    assert [i for i in _desk_of(database_url, {"task": 8}) if i[2] == "批示"] == sorted(
        directive_items
    )
    # The dashboard counts them as the desk lists them: 98 check-in items and 批示 1's four parts
    # yellow, 批示 2's four blue.
    engine = make_engine(database_url)
    with reading(engine) as session:
        assert open_counts(session) == {1: 4, 2: 102, 3: 0}
        assert desk_count(session, {"level": 1}) == 4
        assert desk_count(session, {"level": 2}) == 102
    engine.dispose()

    # 市科技局 answers 批示 1: its yellow item leaves the desk, its 批示 2 item stays blue.
    run(
        *("directive", "reply", "1", "--unit", "市科技局", "--text", "已排查完毕"),
        *("--now", "2022-09-19T11:00"),
    )
    assert _desk_of(database_url, {"task": 8, "unit": "市科技局"}) == [
        ("市科技局", 8, "批示", 1, 1),
        ("市科技局", 8, "报送", 2, 2),
    ]
    assert len([i for i in _desk_of(database_url, {"task": 8}) if i[2] == "批示"]) == 7

    # The 通报 counts the eight 批示 items too, each at the highest level it reached (the answered
    # one reached yellow): four yellow, four blue.
    settings = Settings(home=tmp_path, database_url=database_url)
    engine = make_engine(database_url)
    with reading(engine) as session:
        results = compute(
            session,
            plan=session.exec(select(Plan)).one(),
            round_=session.exec(select(SupervisionRound)).one(),
            as_of=end_of_day(date(2022, 9, 19), settings.timezone),
            timezone=settings.timezone,
            rules=settings.cycle,
            issuer=settings.office_name,
        )
    engine.dispose()
    reached = sorted((e.unit, e.level) for e in results.escalations if e.stall == "directive")
    assert reached == sorted((unit, level) for unit in TASK_8_UNITS for level in (1, 2))


def test_the_desk_filtered_by_unit_and_task_keeps_exactly_their_items(
    database_url: str, tmp_path: Path
) -> None:
    _two_directives_escalated(tmp_path, database_url)
    # 市市场监管局 is on tasks 6, 12 and 13, none with a 批示: three check-in items, yellow.
    assert _desk_of(database_url, {"unit": "市市场监管局"}) == [
        ("市市场监管局", task, "报送", 2, 2) for task in (6, 12, 13)
    ]
    # Task 8: its four units' check-in items and their two 批示 items each.
    assert _desk_of(database_url, {"task": 8}) == sorted(
        [(unit, 8, "报送", 2, 2) for unit in TASK_8_UNITS]
        + [(unit, 8, "批示", level, level) for unit in TASK_8_UNITS for level in (1, 2)]
    )
    assert _desk_of(database_url, {"task": 8, "unit": "市科协", "level": 1}) == [
        ("市科协", 8, "批示", 1, 1)
    ]
    # Task 12 is 市市场监管局's alone.
    assert _desk_of(database_url, {"task": 12, "unit": "市科协"}) == []

"""The 会商 agenda (issue 16 items 10 and 16): the leader's and the office's page filtered by unit
and by task, fifty items a page, over real HTTP; a hostile filter is refused in Chinese or selects
nothing, never a 500; the list is read in a bounded number of queries however long it is.

The seed round is opened today and nobody signs, so three escalation runs (4 working days on, then
2 and 2 more) raise every one of the seed's 98 assignments to red: 98 items on the agenda, 50 on
page 1 and 48 on page 2. In the seed notice (tests/fixtures/seed-notice.txt) 市市场监管局 is named
on tasks 6, 12 and 13, and task 12 names 市市场监管局 alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, event
from sqlmodel import select

from config import Settings
from models.calendar import STATUTORY
from models.db import reading
from models.escalations import agenda, agenda_count
from models.unit import Unit
from tests.support.hostile import MALFORMED, STORABLE, injected_markup_in
from tests.support.portal import Portal, serve_seeded
from tests.support.seed_round import escalate

CST = ZoneInfo("Asia/Shanghai")
HTML = {"accept": "text/html"}


def _moments() -> list[datetime]:
    day = STATUTORY.add_working_days(date.today(), 4)
    days = [day, STATUTORY.add_working_days(day, 2), STATUTORY.add_working_days(day, 4)]
    return [datetime.combine(d, time(10, 30), CST) for d in days]


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    served = serve_seeded(engine, database_url, tmp_path, upload_max_mb=1)
    found = next(served)
    for moment in _moments():
        escalate(engine, Settings(home=tmp_path), moment)
    yield found
    next(served, None)


def _unit_id(engine: Engine, name: str) -> int:
    with reading(engine) as session:
        found = session.exec(select(Unit.id).where(Unit.name == name)).one()
    assert found is not None
    return found


def _rows(html: str) -> list[tuple[str, int, str]]:
    """(督办单号, task number, unit) of each item on an agenda page."""
    return [
        (number, int(task), unit)
        for number, task, unit in re.findall(
            r'<tr data-agenda="([^"]+)">.*?<td data-label="任务">(\d+)\. .*?'
            r'<td data-label="单位">([^（<]+)（',
            html,
            re.S,
        )
    ]


def test_the_agenda_filters_by_unit_and_task_and_pages_past_fifty(portal: Portal) -> None:
    market = _unit_id(portal.engine, "市市场监管局")
    for role in ("leader", "office"):
        with portal.login(role) as person:
            first = person.get("/leader/agenda")
            assert first.status_code == 200
            assert "第1页/共2页，共 98 条" in first.text and "符合条件的事项 98 项" in first.text
            assert 'href="/leader/agenda?page_no=2"' in first.text
            second = person.get("/leader/agenda", params={"page_no": 2})
            assert "第2页/共2页，共 98 条" in second.text
            page_one, page_two = _rows(first.text), _rows(second.text)
            assert (len(page_one), len(page_two)) == (50, 48)
            numbers = {n for n, _, _ in page_one} | {n for n, _, _ in page_two}
            assert len(numbers) == 98  # each item once, none on both pages

            # The unit's select offers 市市场监管局; choosing it keeps its three tasks.
            assert f'<option value="{market}">市市场监管局</option>' in first.text
            mine = person.get("/leader/agenda", params={"unit": market})
            assert mine.status_code == 200 and "共 3 条" in mine.text
            assert sorted(t for _, t, _ in _rows(mine.text)) == [6, 12, 13]
            assert {u for _, _, u in _rows(mine.text)} == {"市市场监管局"}
            assert f'<option value="{market}" selected>' in mine.text
            task = person.get("/leader/agenda", params={"task": 12})
            assert [(t, u) for _, t, u in _rows(task.text)] == [(12, "市市场监管局")]
            both = person.get("/leader/agenda", params={"unit": market, "task": 6})
            assert [(t, u) for _, t, u in _rows(both.text)] == [(6, "市市场监管局")]
            # A page past the last shows the last; page links keep the filter.
            beyond = person.get("/leader/agenda", params={"unit": market, "page_no": 7})
            assert "第1页/共1页，共 3 条" in beyond.text and len(_rows(beyond.text)) == 3


def test_a_hostile_filter_is_refused_in_chinese_or_selects_nothing(portal: Portal) -> None:
    with portal.login("leader") as leader:
        # A unit id no unit has, a task number no task has: an empty list, said in words.
        for params in ({"unit": 424242}, {"task": 99}, {"unit": 999999}):
            empty = leader.get("/leader/agenda", params=params)
            assert empty.status_code == 200, params
            assert _rows(empty.text) == [] and "没有符合筛选条件的会商事项" in empty.text
        wrong = [*STORABLE, *MALFORMED, "1 OR 1=1", "1; DROP TABLE escalation"]
        for value in wrong:
            for name in ("unit", "task"):
                answer = leader.get("/leader/agenda", params={name: value}, headers=HTML)
                if not value:  # an empty box means "any"
                    assert answer.status_code == 200 and len(_rows(answer.text)) == 50
                    continue
                assert answer.status_code == 422, (name, value)
                main = answer.text[answer.text.index("<main") :]
                assert "返回首页" in main and re.search(r"[\u4e00-\u9fff]{4}", main), value
                assert "Traceback" not in main and '"detail"' not in main, (name, value)
                assert injected_markup_in(answer.text) == [], (name, value)
        for page_no in ("0", "-1", "99999999999999999999", "abc"):
            answer = leader.get("/leader/agenda", params={"page_no": page_no}, headers=HTML)
            assert answer.status_code == 422, page_no
        # Nothing was dropped: the agenda is whole afterwards.
        assert "共 98 条" in leader.get("/leader/agenda").text


def test_the_agenda_is_read_in_the_same_few_queries_for_three_items_or_ninety_eight(
    portal: Portal,
) -> None:
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(portal.engine, "before_cursor_execute", count)
    try:
        market = _unit_id(portal.engine, "市市场监管局")
        with reading(portal.engine) as session:
            agenda(session, limit=1)  # the connection's own first statements are not counted
            statements.clear()
            everything = agenda(session)
            whole = len(statements)
            statements.clear()
            three = agenda(session, unit_id=market)
            few = len(statements)
            assert agenda_count(session, unit_id=market) == 3
            page = agenda(session, offset=50, limit=50)
    finally:
        event.remove(portal.engine, "before_cursor_execute", count)
    assert (len(everything), len(three), len(page)) == (98, 3, 48)
    assert whole == few <= 4  # the items, their ladders, their problems (and no more)
    assert all(len(item["history"]) == 3 for item in everything)  # blue, yellow, red
    assert [i["number"] for i in page] == [i["number"] for i in everything[50:]]

"""领导批示 in the portal and the API: the office writes one on an assignment page naming the
leader, the unit sees it first on its home and replies on its page, the leader sees it under
我的批示 and closes it; refusals as 403 / 404 / 409 / 422; seen in Chromium at 1366 and 390 px."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import select

from models.db import reading
from models.plan import Plan, Task
from tests.support.browser import needs_chromium
from tests.support.hostile import HOSTILE, STORABLE, injected_markup_in, marker_of
from tests.support.pages import check_page, signed_in_pages
from tests.support.portal import Portal, form_fields, serve_seeded

TEXT = "请市教育局本月内完成校园周边隐患排查，结果报我"
SHOTS = Path(__file__).resolve().parent.parent.parent / "directives-shots"


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    yield from serve_seeded(engine, database_url, tmp_path, upload_max_mb=5)


def _count(portal: Portal, sql: str) -> int:
    with portal.engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar() or 0)


def test_written_by_the_office_answered_by_the_unit_closed_by_the_leader(portal: Portal) -> None:
    assignment = portal.assignment(5, "市教育局")
    hostile = STORABLE[0]
    with portal.login("edu") as unit:
        assert (
            f'action="/assignments/{assignment}/directives"'
            not in unit.get(f"/assignments/{assignment}").text
        )  # a unit writes no 批示
    with portal.login("office") as office:
        page = office.get(f"/assignments/{assignment}").text
        fields = form_fields(page, f"/assignments/{assignment}/directives")
        nameless = office.post(
            f"/assignments/{assignment}/directives", data=fields | {"text": TEXT, "leader": ""}
        )
        assert nameless.status_code == 400 and "须注明批示领导" in nameless.text
        made = office.post(
            f"/assignments/{assignment}/directives",
            data=fields | {"text": TEXT + hostile, "leader": "leader"},
        )
        assert made.status_code == 303, made.text
        shown = office.get(made.headers["location"].split("#")[0]).text
        assert TEXT in shown and "待回复" in shown and injected_markup_in(shown) == []
    assert _count(portal, "select count(*) from directive_unit") == 1
    with portal.login("edu") as unit:
        home = unit.get("/inbox").text
        assert "领导批示待回复（1）" in home and injected_markup_in(home) == []
        page = unit.get(f"/assignments/{assignment}").text
        reply = form_fields(page, "/directives/1/reply")
        answered = unit.post("/directives/1/reply", data=reply | {"text": "已完成排查"})
        assert answered.status_code == 303, answered.text
        assert "已回复" in unit.get(f"/assignments/{assignment}").text
        assert "领导批示待回复" not in unit.get("/inbox").text
        again = unit.post("/directives/1/reply", data=reply | {"text": "再次"})
        assert again.status_code == 409
    with portal.login("leader") as leader:
        mine = leader.get("/leader/directives").text
        assert TEXT in mine and "已完成排查" in mine and injected_markup_in(mine) == []
        done = leader.post("/directives/1/close", data=form_fields(mine, "/directives/1/close"))
        assert done.status_code == 303, done.text
        assert "已办结" in leader.get("/leader/directives").text
    assert _count(portal, "select count(*) from audit_event where action like 'directive.%'") == 3


def _refusal_of(page: str) -> str:
    """The reason shown above the write form."""
    start = page.index('id="directive-error">') + len('id="directive-error">')
    return page[start : page.index("</p>", start)]


def test_a_refused_directive_comes_back_with_every_hostile_text_kept_escaped(
    portal: Portal,
) -> None:
    assignment = portal.assignment(5, "市教育局")
    action = f"/assignments/{assignment}/directives"
    with portal.login("office") as office:
        fields = form_fields(office.get(f"/assignments/{assignment}").text, action)
        for hostile in STORABLE:  # no leader named: refused whatever the text
            refused = office.post(action, data=fields | {"text": hostile, "leader": ""})
            assert refused.status_code == 400, marker_of(hostile)
            page = refused.text
            assert _refusal_of(page) == "办公室代领导填写批示，须注明批示领导。"
            assert form_fields(page, action)["text"] == hostile, marker_of(hostile)
            assert injected_markup_in(page) == [], marker_of(hostile)
            assert "<details open><summary>代领导登记批示" in page  # the form is not folded away
        leader = HOSTILE[4]  # '"><img src=x onerror=alert(1)>HX4', the leader named, no text
        refused = office.post(action, data=fields | {"text": "  ", "leader": leader})
        assert refused.status_code == 400
        assert _refusal_of(refused.text) == "“批示”必须填写理由。"
        assert form_fields(refused.text, action)["leader"] == leader
        assert injected_markup_in(refused.text) == []
        shown = office.get(f"/assignments/{assignment}").text
        assert 'id="directive-error"' not in shown and form_fields(shown, action)["text"] == ""
    assert _count(portal, "select count(*) from directive") == 0


def test_a_refused_directive_on_the_task_page_keeps_the_text_and_the_deadline(
    portal: Portal,
) -> None:
    with reading(portal.engine) as session:
        task = session.exec(
            select(Task.id).join(Plan).where(Plan.key == "2022", Task.number == 1)
        ).one()
    action = f"/leader/tasks/{task}/directives"
    longest = next(v for v in HOSTILE if marker_of(v) == "HX11")  # "HX11" and 3,996 长
    with portal.login("leader") as leader:
        fields = form_fields(leader.get(f"/leader/tasks/{task}").text, action)
        too_long = leader.post(action, data=fields | {"text": longest})
        assert too_long.status_code == 400
        assert _refusal_of(too_long.text) == "批示内容过长：4000 个字符，最多 2000 个。"
        assert form_fields(too_long.text, action)["text"] == longest
        typed = TEXT + HOSTILE[0]  # '<script>alert("HX0")</script>'
        for deadline, why in (
            ("2022-13-01", "办理期限应为日期，如 2022-10-14。"),
            ("2020-01-01", "办理期限 2020-01-01 早于今天 "),
        ):
            refused = leader.post(action, data=fields | {"text": typed, "deadline": deadline})
            assert refused.status_code == 400, deadline
            assert _refusal_of(refused.text).startswith(why), deadline
            kept = form_fields(refused.text, action)
            assert (kept["text"], kept["deadline"]) == (typed, deadline)
            assert injected_markup_in(refused.text) == []
            assert "<details open><summary>对本任务作出批示" in refused.text
    assert _count(portal, "select count(*) from directive") == 0


def test_the_api_writes_lists_replies_and_closes(portal: Portal) -> None:
    edu = portal.assignment(5, "市教育局")
    with portal.client() as client:
        office, unit, police = portal.token("office"), portal.token("edu"), portal.token("police")
        leader, auditor = portal.token("leader"), portal.token("auditor")
        url = "/api/v1/directives"
        body = {"assignment_id": edu, "text": TEXT, "deadline": "2099-01-01"}
        assert client.post(url, json={"text": TEXT}, headers=leader).status_code == 422
        assert client.post(url, json=body | {"text": " "}, headers=leader).status_code == 422
        assert client.post(url, json=body, headers=unit).status_code == 403
        assert client.post(url, json=body, headers=office).status_code == 400  # no leader named
        made = client.post(url, json=body, headers=leader)
        assert made.status_code == 201, made.text
        assert made.json()["leader"] == "leader" and made.json()["units"][0]["unit"] == "市教育局"
        number = made.json()["id"]
        assert [d["id"] for d in client.get(url, headers=unit).json()] == [number]
        assert client.get(url, headers=police).json() == []
        assert client.get(url, headers=auditor).status_code == 404
        stranger = client.post(f"{url}/{number}/reply", json={"text": "x"}, headers=police)
        assert stranger.status_code == 404
        assert client.post(f"{url}/{number}/close", json={}, headers=unit).status_code == 403
        replied = client.post(f"{url}/{number}/reply", json={"text": "已办"}, headers=unit)
        assert replied.status_code == 200 and replied.json()["state"] == "replied"
        closed = client.post(f"{url}/{number}/close", json={}, headers=leader)
        assert closed.status_code == 200 and closed.json()["state"] == "closed"
        assert client.post(f"{url}/{number}/close", json={}, headers=office).status_code == 409
        assert client.post(f"{url}/999999/close", json={}, headers=office).status_code == 404


@needs_chromium
def test_the_assignment_page_with_a_directive_in_chromium(
    portal: Portal, browser, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("one browser run is enough: the HTTP tests cover both databases")
    assignment = portal.assignment(5, "市教育局")
    with portal.login("office") as office:
        page = office.get(f"/assignments/{assignment}").text
        fields = form_fields(page, f"/assignments/{assignment}/directives")
        office.post(
            f"/assignments/{assignment}/directives",
            data=fields | {"text": TEXT, "leader": "张副市长", "deadline": "2099-01-01"},
        )
    SHOTS.mkdir(exist_ok=True)
    with signed_in_pages(browser, portal.url, "edu") as pages:
        for width, page in pages.items():
            page.goto(f"{portal.url}/assignments/{assignment}#directives")
            check_page(page, "assignment-directive")
            page.locator("#directives").screenshot(path=str(SHOTS / f"assignment-{width}.png"))
            assert page.locator("#directives textarea[name=text]").is_visible(), width

"""一键催办 on a task and on a unit, in the portal and through POST /api/v1/nudges: one digest per
unit with something open, a notice saying how many and when they go, a refusal within the cooldown
naming the units and the next allowed time, and nothing written but the domain's own events.

The counts come from the seed notice (tests/fixtures/seed-notice.txt):
- task 13: 市烟草专卖局牵头, 市教育局、市公安局、市市场监管局配合: four units; with the item of
  市烟草专卖局 suspended (a suspended item is not nudged) three are left;
- task 8: 市委宣传部牵头, 市科技局、市文化广电和旅游局、市科协配合: four units;
- 市民政局: tasks 1, 2, 3, 4 and 9: five open items.
Every one of these units has a liaison with an e-mail in config/units/rugao.yaml.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from models.audit import AuditEvent
from models.clock import utc
from models.db import reading
from models.notification import Notification
from models.nudges import Nudge
from models.plan import Task
from models.unit import Unit
from tests.support.hostile import HOSTILE, MALFORMED
from tests.support.portal import Portal, csrf_of, form_fields, serve_seeded

BEIJING = ZoneInfo("Asia/Shanghai")
TASK_13 = ("市教育局", "市公安局", "市市场监管局")  # 市烟草专卖局 suspended
TASK_8 = ("市委宣传部", "市科技局", "市文化广电和旅游局", "市科协")


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    yield from serve_seeded(engine, database_url, tmp_path, upload_max_mb=5)


def task_id(portal: Portal, number: int) -> int:
    with reading(portal.engine) as session:
        return session.exec(select(Task.id).where(Task.number == number)).one()


def unit_id(portal: Portal, name: str) -> int:
    with reading(portal.engine) as session:
        return session.exec(select(Unit.id).where(Unit.name == name)).one()


def digests(portal: Portal) -> list[tuple[str, int, object]]:
    """The queued 催办 digests: (unit, items listed, when it may go)."""
    with reading(portal.engine) as session:
        rows = session.exec(
            select(Notification, Unit)
            .join(Unit, col(Unit.id) == col(Notification.unit_id))
            .where(Notification.kind == "nudge")
            .order_by(col(Notification.id))
        ).all()
    return [(u.name, len(n.payload["items"]), n.next_attempt_at) for n, u in rows]


def events(portal: Portal) -> list[str]:
    with reading(portal.engine) as session:
        return list(session.exec(select(AuditEvent.action).order_by(col(AuditEvent.seq))))


def beijing(moment: object, pattern: str) -> str:
    return utc(moment).astimezone(BEIJING).strftime(pattern)  # type: ignore[arg-type]


def day_and_minute(moment: object) -> str:
    local = utc(moment).astimezone(BEIJING)  # type: ignore[arg-type]
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def notice_of(html: str) -> str:
    found = re.search(r'<p class="flash" role="status">(.*?)</p>', html, re.S)
    assert found, "no notice on the page"
    return found.group(1)


def test_a_press_on_a_task_nudges_its_three_open_units_and_a_second_press_is_refused(
    portal: Portal,
) -> None:
    task = task_id(portal, 13)
    tobacco = portal.assignment(13, "市烟草专卖局")
    with portal.login("staff") as office:
        item = office.get(f"/assignments/{tobacco}").text
        paused = office.post(
            f"/assignments/{tobacco}/suspend", data={"csrf": csrf_of(item), "reason": "等待批复"}
        )
        assert paused.status_code == 303
        page = office.get(f"/leader/tasks/{task}").text
        assert f'action="/tasks/{task}/nudge"' in page
        assert "一键催办本任务 3 个未办结的单位" in page

        before = events(portal)
        pressed = office.post(f"/tasks/{task}/nudge", data={"csrf": csrf_of(page)})
        assert pressed.status_code == 303 and pressed.headers["location"] == f"/leader/tasks/{task}"
        after = office.get(pressed.headers["location"]).text
        queued = digests(portal)
        # One digest per unit, each listing its one item of task 13, all going at the same time.
        assert sorted(name for name, _, _ in queued) == sorted(TASK_13)
        assert [items for _, items, _ in queued] == [1, 1, 1]
        assert len({at for _, _, at in queued}) == 1
        assert (
            notice_of(after) == f"已催办 3 个单位，催办通知将于 {day_and_minute(queued[0][2])} 发出"
        )
        assert events(portal)[len(before) :] == ["nudge.send"] * 3

        # Within 24 hours (the shipped cooldown) the same press is refused as a whole, naming each
        # unit, when it was nudged and when the next press is allowed.
        with reading(portal.engine) as session:
            (first,) = set(session.exec(select(Nudge.at)))
        before = events(portal)
        again = office.post(f"/tasks/{task}/nudge", data={"csrf": csrf_of(after)})
        assert again.status_code == 303 and again.headers["location"] == f"/leader/tasks/{task}"
        refused = notice_of(office.get(again.headers["location"]).text)
        last, allowed = (
            beijing(first, "%Y-%m-%d %H:%M"),
            beijing(utc(first) + timedelta(hours=24), "%Y-%m-%d %H:%M"),
        )
        assert refused.startswith("未催办：") and f"已于 {last} 催办过" in refused
        assert f"24 小时内不再催办；下次可催办时间：{allowed}。" in refused
        assert all(name in refused for name in TASK_13) and "市烟草专卖局" not in refused
        assert len(digests(portal)) == 3
        assert events(portal)[len(before) :] == ["action.refused"]  # the refusal, on the trail

    with portal.login("market") as unit:
        assert "/nudge" not in unit.get(f"/leader/tasks/{task}").text
        assert unit.post(f"/tasks/{task}/nudge", data={}).status_code == 403


def test_a_press_on_a_unit_nudges_it_once_on_all_it_has_open(portal: Portal) -> None:
    civil = unit_id(portal, "市民政局")
    with portal.login("staff") as office:
        listing = office.get("/units").text
        assert f'action="/units/{civil}/nudge"' in listing
        fields = form_fields(listing, f"/units/{civil}/nudge")
        assert fields["back"] == "/units"
        before = events(portal)
        pressed = office.post(f"/units/{civil}/nudge", data=fields)
        assert pressed.status_code == 303 and pressed.headers["location"] == "/units"
        after = office.get("/units").text
        ((name, items, at),) = digests(portal)
        assert (name, items) == ("市民政局", 5)
        assert notice_of(after) == f"已催办 1 个单位，催办通知将于 {day_and_minute(at)} 发出"
        assert events(portal)[len(before) :] == ["nudge.send"]

        # A task press that includes it is now refused, naming 市民政局 alone (task 1: 市民政局 and
        # 如城街道, who was never nudged).
        task = task_id(portal, 1)
        page = office.get(f"/leader/tasks/{task}").text
        again = office.post(f"/tasks/{task}/nudge", data={"csrf": csrf_of(page)})
        refused = notice_of(office.get(again.headers["location"]).text)
        assert refused.startswith("未催办：市民政局已于 ") and "如城街道" not in refused
        assert len(digests(portal)) == 1

    # The administrator's own page of the unit has the button too, and comes back to it.
    with portal.login("office") as admin:
        education = unit_id(portal, "市教育局")
        page = admin.get(f"/units/{education}").text
        fields = form_fields(page, f"/units/{education}/nudge")
        pressed = admin.post(f"/units/{education}/nudge", data=fields)
        assert pressed.headers["location"] == f"/units/{education}"
        assert notice_of(admin.get(f"/units/{education}").text).startswith("已催办 1 个单位")
    assert sorted(name for name, _, _ in digests(portal)) == ["市教育局", "市民政局"]


def test_the_api_nudges_a_task_a_unit_or_an_item_and_refuses_what_it_should(
    portal: Portal,
) -> None:
    api, office = portal.client(), portal.token("staff")
    sent = api.post("/api/v1/nudges", json={"task": task_id(portal, 8)}, headers=office)
    assert sent.status_code == 201, sent.text
    body = sent.json()["sent"]
    assert sorted(s["unit"] for s in body) == sorted(TASK_8)
    assert [s["items"] for s in body] == [1, 1, 1, 1]
    assert len(digests(portal)) == 4

    science = unit_id(portal, "市科技局")
    refused = api.post("/api/v1/nudges", json={"unit": science}, headers=office)
    assert refused.status_code == 409
    assert "市科技局已于" in refused.json()["detail"] and "下次可催办时间" in refused.text

    market = portal.assignment(12, "市市场监管局")
    one = api.post("/api/v1/nudges", json={"assignment": market}, headers=office)
    assert one.status_code == 201
    assert [(s["unit"], s["items"]) for s in one.json()["sent"]] == [("市市场监管局", 1)]
    # The older endpoint still answers, and within the cooldown says when.
    older = api.post(f"/api/v1/assignments/{market}/nudges", headers=office)
    assert older.status_code == 409 and "下次可催办时间" in older.text
    assert len(digests(portal)) == 5

    for bad in ({}, {"task": 1, "unit": science}, {"task": None}, {"task": "1"}, {"task": True}):
        answer = api.post("/api/v1/nudges", json=bad, headers=office)
        assert answer.status_code == 422, (bad, answer.text)
        assert re.search(r"[\u4e00-\u9fff]", answer.json()["detail"])
    for unknown in ({"task": 99999}, {"unit": 99999}, {"assignment": 99999}):
        assert api.post("/api/v1/nudges", json=unknown, headers=office).status_code == 404

    for who in ("market", "leader", "auditor"):
        forbidden = api.post("/api/v1/nudges", json={"unit": science}, headers=portal.token(who))
        assert forbidden.status_code == 403, who
    assert api.post("/api/v1/nudges", json={"unit": science}).status_code == 401
    assert len(digests(portal)) == 5


def test_hostile_values_in_the_body_and_the_path_are_refused_never_a_500(portal: Portal) -> None:
    api, office = portal.client(), portal.token("staff")
    before = events(portal)
    for value in HOSTILE + MALFORMED:
        for field in ("task", "unit", "assignment"):
            answer = api.post("/api/v1/nudges", json={field: value}, headers=office)
            assert answer.status_code == 422, (field, value, answer.status_code)
        raw = api.post(
            "/api/v1/nudges",
            content=value.encode(),
            headers=office | {"content-type": "application/json"},
        )
        assert raw.status_code == 422, (value, raw.status_code)
        quoted = json.dumps(value).encode()  # a JSON string, not an object
        as_string = api.post(
            "/api/v1/nudges", content=quoted, headers=office | {"content-type": "application/json"}
        )
        assert as_string.status_code == 422, (value, as_string.status_code)
        path = quote(value[:200], safe="")
        older = api.post(f"/api/v1/assignments/{path}/nudges", headers=office)
        assert older.status_code in (404, 422), (value, older.status_code)
    with portal.login("staff") as browser:
        token = csrf_of(browser.get("/units").text)
        for value in HOSTILE + MALFORMED:
            path = quote(value[:200], safe="")
            for target in (f"/tasks/{path}/nudge", f"/units/{path}/nudge"):
                answer = browser.post(target, data={"csrf": token})
                assert answer.status_code in (404, 422), (target, answer.status_code)
        # A hostile way back is not followed off the directory.
        civil = unit_id(portal, "市民政局")
        for value in HOSTILE:
            pressed = browser.post(
                f"/units/{civil}/nudge",
                data={"csrf": token, "back": value.replace("\x00", "")[:900]},
            )
            assert pressed.status_code == 303 and pressed.headers["location"] == "/units"
    # Nothing was nudged by the garbage; the one real press (first hostile way back) went out,
    # the rest were refused within the cooldown.
    assert [name for name, _, _ in digests(portal)] == ["市民政局"]
    assert events(portal)[len(before) :].count("nudge.send") == 1

"""The leader's (领导) pages over real HTTP and in Chromium: a dashboard without dead ends, one task
with every unit's state, the consultation (会商) agenda, all read-only.

The seed plan "2022" with a round just opened (tests/support/portal.py): nobody has signed yet, so
every unit of task 1 is 已交办 — worked out by hand from the round's opening, not read from a page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from models.db import reading
from models.plan import Plan, Task
from tests.support.browser import needs_chromium
from tests.support.imports import held
from tests.support.pages import check_page, signed_in_pages
from tests.support.portal import Portal, serve_seeded

ROLE_ZH = {"lead": "牵头", "responsible": "负责", "cooperating": "配合"}


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    yield from serve_seeded(engine, database_url, tmp_path, upload_max_mb=1)


def links_of(html: str) -> set[str]:
    return {
        href.replace("&amp;", "&")
        for href in re.findall(r'href="([^"#]+)"', html)
        if not href.startswith("/static/")
    }


def opened(client: Any, link: str) -> int:
    """The status a person ends on after following the link (the home link redirects); landing
    on the login page counts as shut out."""
    answer = client.get(link, follow_redirects=True)
    return 401 if answer.url.path == "/login" else answer.status_code


def task_id(portal: Portal, number: int) -> int:
    with reading(portal.engine) as session:
        return session.exec(
            select(Task.id).join(Plan).where(Plan.key == "2022", Task.number == number)
        ).one()


def test_every_link_on_the_leaders_dashboard_opens_a_page_they_may_read(portal: Portal) -> None:
    with portal.login("leader") as leader:
        dashboard = leader.get("/dashboard")
        assert dashboard.status_code == 200
        links = links_of(dashboard.text)
        assert f"/leader/tasks/{task_id(portal, 1)}" in links
        assert {"/dashboard", "/leader/agenda", "/reports"} <= links  # the leader's nav
        assert not [link for link in links if link.startswith("/assignments/")]
        dead = {link: opened(leader, link) for link in sorted(links)}
        assert {link: code for link, code in dead.items() if code != 200} == {}
        # one level further: the pages the dashboard opens lead nowhere forbidden either
        for link in ("/leader/agenda", f"/leader/tasks/{task_id(portal, 1)}"):
            further = {f: opened(leader, f) for f in links_of(leader.get(link).text)}
            assert {f: code for f, code in further.items() if code != 200} == {}


def test_the_leaders_task_page_lists_every_unit_with_its_state_and_changes_nothing(
    portal: Portal,
) -> None:
    units = held(portal.engine, 1, "2022")
    assert units  # the seed's task 1 has its units
    with portal.login("leader") as leader:
        shown = leader.get(f"/leader/tasks/{task_id(portal, 1)}")
    assert shown.status_code == 200
    rows = re.findall(
        r'<td data-label="单位">([^<]+)</td><td data-label="职责">([^<]+)</td>'
        r'<td data-label="状态">([^<]+)</td>',
        shown.text,
    )
    assert sorted(rows) == sorted(
        (name, ROLE_ZH[role], "已交办")
        for name, (role, _due, _original, withdrawn) in units.items()
        if not withdrawn
    )
    # The one form besides logging out: the leader's 批示 on the task (models/directives.py).
    writes = f'method="post" action="/leader/tasks/{task_id(portal, 1)}/directives"'
    assert writes in shown.text
    rest = shown.text.replace('method="post" action="/logout"', "").replace(writes, "")
    assert 'method="post"' not in rest


def test_the_leader_reads_the_consultation_agenda_without_a_form(portal: Portal) -> None:
    with portal.login("leader") as leader:
        agenda = leader.get("/leader/agenda")
    assert agenda.status_code == 200
    assert "提请会商事项" in agenda.text
    assert "目前没有需要会商的事项" in agenda.text  # a round just opened: nothing has reached red
    assert 'method="post"' not in agenda.text.replace('method="post" action="/logout"', "")


def test_a_unit_user_cannot_open_the_leaders_pages(portal: Portal) -> None:
    with portal.login("edu") as unit:
        assert unit.get("/leader/agenda").status_code == 403
        assert unit.get(f"/leader/tasks/{task_id(portal, 1)}").status_code == 403


@needs_chromium
def test_the_leaders_pages_read_in_chinese_at_desk_and_phone_width(
    portal: Portal, browser: Any, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("one browser run is enough: the HTTP tests cover both databases")
    paths = {
        "leader-dashboard": "/dashboard",
        "leader-task": f"/leader/tasks/{task_id(portal, 1)}",
        "leader-agenda": "/leader/agenda",
    }
    with signed_in_pages(browser, portal.url, "leader") as pages:
        for page in pages.values():
            for name, path in paths.items():
                page.goto(portal.url + path)
                check_page(page, name)

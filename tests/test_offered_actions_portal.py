"""What the portal and the API offer is what the lifecycle allows, over HTTP (SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from config import Settings
from models.assignment import Assignment
from models.db import reading
from models.lifecycle import State
from tests.support.portal import Portal, csrf_of, open_round, running, seed


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path):
    seed(engine)
    open_round(engine, date.today() + timedelta(days=30))
    settings = Settings(home=tmp_path, database_url=database_url, dev_mode=True)
    with running(settings, engine) as found:
        yield found


def state_of(portal: Portal, assignment_id: int) -> str:
    with reading(portal.engine) as session:
        return session.get(Assignment, assignment_id).state


def test_the_api_does_not_tell_a_waiting_lead_unit_it_may_report(portal: Portal) -> None:
    lead = portal.assignment(5, "市教育局")
    headers = portal.token("edu")
    with portal.client() as api:
        assert api.get(f"/api/v1/assignments/{lead}", headers=headers).json()["actions"] == [
            "sign",
            "progress",
        ]
        assert (
            api.post(
                f"/api/v1/assignments/{lead}/checkins",
                headers=headers,
                json={"text": "已部署平安校园创建"},
            ).status_code
            == 201
        )
        listed = {a["id"]: a for a in api.get("/api/v1/assignments", headers=headers).json()}
        # In progress, with its cooperating units still at work: progress only, in the list and
        # alone.
        assert listed[lead]["state"] == "in_progress" and listed[lead]["actions"] == ["progress"]
        assert api.get(f"/api/v1/assignments/{lead}", headers=headers).json()["actions"] == [
            "progress"
        ]
        refused = api.post(
            f"/api/v1/assignments/{lead}/checkins",
            headers=headers,
            json={"text": "全部完成", "completed": True},
        )
        assert refused.status_code == 409 and "配合单位尚未报结" in refused.text
    assert state_of(portal, lead) == State.IN_PROGRESS


def test_a_responsible_unit_is_offered_its_report_once_in_progress(portal: Portal) -> None:
    own = portal.assignment(12, "市市场监管局")
    headers = portal.token("market")
    with portal.client() as api:
        api.post(
            f"/api/v1/assignments/{own}/checkins", headers=headers, json={"text": "抽检60批次"}
        )
        assert api.get(f"/api/v1/assignments/{own}", headers=headers).json()["actions"] == [
            "progress",
            "report",
        ]


def test_the_office_gives_its_verdict_on_the_review_page_not_with_a_bare_button(
    portal: Portal,
) -> None:
    own = portal.assignment(12, "市市场监管局")
    headers = portal.token("market")
    with portal.client() as api:
        api.post(
            f"/api/v1/assignments/{own}/checkins",
            headers=headers,
            json={"text": "全部完成", "completed": True},
        )
    assert state_of(portal, own) == State.REPORTED
    with portal.login("office") as office:
        page = office.get(f"/assignments/{own}").text
        assert 'href="/review"' in page and "/act/verify" not in page and "/act/return" not in page
        pressed = office.post(f"/assignments/{own}/act/verify", data={"csrf": csrf_of(page)})
        assert pressed.status_code == 409 and "审核页" in pressed.text
    assert state_of(portal, own) == State.REPORTED

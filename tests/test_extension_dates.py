"""Extension requests: the date must move the due date later, by a believable amount, one request at
a time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from models.assignment import Assignment
from models.db import reading, unit_of_work
from models.escalation import ExtensionRequest
from models.extensions import (
    ExtensionDateRefused,
    ExtensionPending,
    decide_extension,
    request_extension,
)
from tests.support import scenario
from tests.support.cli import duban
from tests.support.portal import Portal, csrf_of, serve_seeded


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    yield from serve_seeded(engine, database_url, tmp_path, upload_max_mb=0.5)


# scenario: task 5 has the deadline 2022-12-31; `now` is Monday 2022-09-05 in Beijing.


def ask(engine: Engine, assignment_id: int, actor, until: date, now: datetime) -> ExtensionRequest:
    with unit_of_work(engine) as session:
        return request_extension(
            session,
            assignment_id=assignment_id,
            until=until,
            reason="疫情防控任务繁重",
            actor=actor,
            now=now,
            timezone="Asia/Shanghai",
            max_days=366,
        )


def requests(engine: Engine) -> list[ExtensionRequest]:
    with reading(engine) as session:
        return list(session.exec(select(ExtensionRequest)))


@pytest.mark.parametrize(
    ("until", "words"),
    [
        (date(1900, 1, 1), "不晚于当前截止日期 2022-12-31"),
        (date(2022, 12, 31), "不晚于当前截止日期 2022-12-31"),
        (
            date(2022, 11, 30),
            "不晚于当前截止日期 2022-12-31",
        ),  # approving it would bring the deadline forward
        (date(2024, 1, 2), "晚 367 天，超过允许的 366 天"),
        (date(9999, 12, 31), "超过允许的 366 天"),
    ],
)
def test_an_extension_date_not_after_the_due_date_or_absurdly_far_is_refused(
    engine: Engine, now: datetime, until: date, words: str
) -> None:
    plan = scenario.build(engine, now)
    with pytest.raises(ExtensionDateRefused) as refused:
        ask(engine, plan.lead, plan.unit_actor("市教育局"), until, now)
    message = refused.value.message("zh")
    assert words in message and f"申请延至 {until}" in message and f"#{plan.lead}" in message
    assert requests(engine) == []


def test_without_a_deadline_the_date_must_be_after_today(engine: Engine, now: datetime) -> None:
    plan = scenario.build(engine, now)  # task 12 has no deadline and no round is open
    with pytest.raises(ExtensionDateRefused) as refused:
        ask(engine, plan.market, plan.unit_actor("市市场监管局"), date(2022, 9, 5), now)
    assert "不晚于今天 2022-09-05" in refused.value.message("zh")
    assert (
        ask(engine, plan.market, plan.unit_actor("市市场监管局"), date(2022, 9, 6), now).id
        is not None
    )


def test_the_last_day_allowed_is_accepted(engine: Engine, now: datetime) -> None:
    plan = scenario.build(engine, now)
    made = ask(
        engine, plan.lead, plan.unit_actor("市教育局"), date(2024, 1, 1), now
    )  # 2022-12-31 + 366 days
    assert made.requested_due_on == date(2024, 1, 1)


def test_only_one_request_per_assignment_waits_for_the_office(
    engine: Engine, now: datetime
) -> None:
    plan = scenario.build(engine, now)
    lead = plan.unit_actor("市教育局")
    first = ask(engine, plan.lead, lead, date(2023, 1, 31), now)
    with pytest.raises(ExtensionPending) as refused:
        ask(engine, plan.lead, lead, date(2023, 2, 28), now + timedelta(hours=1))
    assert f"已有待审批的延期申请 #{first.id}（申请延至 2023-01-31）" in refused.value.message("zh")
    assert len(requests(engine)) == 1
    with unit_of_work(engine) as session:
        decide_extension(
            session,
            request_id=first.id,
            approve=False,
            actor=scenario.OFFICE,
            now=now,
            reason="理由不充分",
        )
    assert ask(engine, plan.lead, lead, date(2023, 2, 28), now + timedelta(hours=2)).id != first.id


def test_the_portal_refuses_1900_with_a_chinese_page_and_keeps_nothing(portal: Portal) -> None:
    own = portal.assignment(12, "市市场监管局")
    with portal.login("market") as market:
        page = market.get(f"/assignments/{own}").text
        refused = market.post(
            f"/assignments/{own}/extension",
            data={"csrf": csrf_of(page), "until": "1900-01-01", "reason": "工作量大"},
        )
        assert refused.status_code == 400 and "申请延至 1900-01-01" in refused.text
        assert "text/html" in refused.headers["content-type"]
        later = (date.today() + timedelta(days=60)).isoformat()
        assert (
            market.post(
                f"/assignments/{own}/extension",
                data={"csrf": csrf_of(page), "until": later, "reason": "工作量大"},
            ).status_code
            == 303
        )
        twice = market.post(
            f"/assignments/{own}/extension",
            data={"csrf": csrf_of(page), "until": later, "reason": "工作量大"},
        )
        assert twice.status_code == 409 and "已有待审批的延期申请" in twice.text
    assert [r.requested_due_on.isoformat() for r in requests(portal.engine)] == [later]


def test_the_cli_refuses_1900_in_one_chinese_line(
    engine: Engine, database_url: str, tmp_path: Path, now: datetime
) -> None:
    plan = scenario.build(engine, now)
    result = duban(
        "extension",
        "request",
        "--task",
        "5",
        "--unit",
        "市教育局",
        "--until",
        "1900-01-01",
        "--reason",
        "疫情防控",
        "--now",
        "2022-09-05T10:00:00+08:00",
        home=tmp_path,
        url=database_url,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert len(lines) == 1 and f"任务分工 #{plan.lead}" in lines[0]
    assert "申请延至 1900-01-01 不晚于当前截止日期 2022-12-31" in lines[0]
    assert requests(engine) == []


def test_a_request_overtaken_by_a_later_due_date_cannot_be_approved(
    engine: Engine, now: datetime
) -> None:
    plan = scenario.build(engine, now)
    asked = ask(engine, plan.lead, plan.unit_actor("市教育局"), date(2023, 1, 31), now)
    with unit_of_work(engine) as session:  # the notice is re-issued with a later deadline meanwhile
        lead = session.get(Assignment, plan.lead)
        lead.due_on = date(2023, 3, 31)
        session.add(lead)
    with pytest.raises(ExtensionDateRefused) as refused, unit_of_work(engine) as session:
        decide_extension(session, request_id=asked.id, approve=True, actor=scenario.OFFICE, now=now)
    assert "申请延至 2023-01-31 已不晚于当前截止日期 2023-03-31，不能批准" in refused.value.message(
        "zh"
    )
    with reading(engine) as session:
        assert session.get(Assignment, plan.lead).due_on == date(2023, 3, 31)
        assert session.get(ExtensionRequest, asked.id).state == "pending"

"""The escalation ladder (督办) on a small plan, each day worked out by hand, each message rendered
as read.

tests/support/small_office.py: five assignments (市教育局 lead on task 5 and cooperating on task 12,
市公安局 and 市检察院 cooperating on task 5, 市市场监管局 on task 12), a round opened Monday 5
September 2022 due Friday 9th, cooperating units Wednesday 7th. Rules: overdue beyond 2 working
days, unsigned for 3, idle for 10, returned twice, a completion report unreviewed for 3; at least 2
working days between two levels. Saturday 10 to Monday 12 September are days off.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from config import Settings
from models.audit import AuditEvent
from models.checkins import review_checkin, submit_checkin
from models.db import unit_of_work
from models.escalation import Escalation
from models.escalations import agenda, escalate_stalled
from models.extensions import decide_extension, request_extension
from models.lifecycle import SYSTEM_ACTOR
from models.round import SupervisionRound
from tests.support.scenario import OFFICE, Scenario
from tests.support.small_office import at, open_september, outbox, rendered, with_contacts

ESCALATIONS = ("escalation_blue", "escalation_yellow", "escalation_red")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path, office_name="市未保办", cycle={"leading_group_email": "group@example.org"}
    )


@pytest.fixture
def plan(engine: Engine) -> Scenario:
    plan = with_contacts(engine)
    open_september(engine)
    return plan


def round_id(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(
            select(SupervisionRound.id).where(SupervisionRound.name == "九月督导")
        ).one()


def escalate(engine: Engine, settings: Settings, day: str) -> dict[str, int]:
    with unit_of_work(engine) as session:
        return escalate_stalled(session, now=at(day), settings=settings, actor=SYSTEM_ACTOR)


def escalations(engine: Engine) -> list[tuple[int, int, str, bool]]:
    """(assignment, level, stall, open) of every escalation, in the order raised."""
    with Session(engine) as session:
        return [
            (e.assignment_id, e.level, e.stall, e.resolved_at is None)
            for e in session.exec(select(Escalation).order_by(Escalation.id))
        ]


def messages(engine: Engine, kind: str) -> dict[str, list[str]]:
    """recipient e-mail -> 督办单 numbers of the items in its digest, for messages of this kind."""
    return {
        row.recipient_email: [i["number"] for i in row.payload["items"]]
        for row in outbox(engine, kind)
    }


def file(
    engine: Engine,
    plan: Scenario,
    assignment_id: int,
    unit: str,
    day: str,
    *,
    completed: bool = False,
):
    with unit_of_work(engine) as session:
        return submit_checkin(
            session,
            round_id=round_id(engine),
            assignment_id=assignment_id,
            actor=plan.unit_actor(unit),
            now=at(day),
            text="已完成" if completed else "推进中",
            percent=100 if completed else 30,
            completed=completed,
            problems="缺少经费",
        )


def review(
    engine: Engine, plan: Scenario, assignment_id: int, revision: int, day: str, *, accept: bool
) -> None:
    with unit_of_work(engine) as session:
        review_checkin(
            session,
            round_id=round_id(engine),
            assignment_id=assignment_id,
            accept=accept,
            actor=OFFICE,
            now=at(day),
            revision=revision,
            reason=None if accept else "佐证材料不全",
        )


def test_unsigned_items_climb_one_level_per_two_working_days_up_to_red(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    units = plan.units
    # Wednesday 7th: opened 2 working days ago (6th, 7th): not yet unsigned; the 7th's items are
    # due, not late.
    assert escalate(engine, settings, "2022-09-07") == {
        "stalled": 0,
        "raised": 0,
        "1": 0,
        "2": 0,
        "3": 0,
    }
    # Thursday 8th: 3 working days: all five unsigned, level 1 (blue) to each unit's liaison and
    # head.
    assert escalate(engine, settings, "2022-09-08") == {
        "stalled": 5,
        "raised": 5,
        "1": 5,
        "2": 0,
        "3": 0,
    }
    assert {stall for _, _, stall, _ in escalations(engine)} == {"unsigned"}
    blue = messages(engine, "escalation_blue")
    assert set(blue) == {
        f"{role}{units[n]}@example.org" for role in ("liaison", "head") for n in units
    }
    assert (
        len(blue[f"liaison{units['市教育局']}@example.org"]) == 2
    )  # both of its items in one digest
    assert sorted(n for e, numbers in blue.items() if e.startswith("liaison") for n in numbers) == [
        f"督〔2022〕00{i}号" for i in range(1, 6)
    ]
    assert escalate(engine, settings, "2022-09-08")["raised"] == 0  # a rerun raises nothing
    # Friday 9th: 1 working day at level 1: too soon for level 2.
    assert escalate(engine, settings, "2022-09-09") == {
        "stalled": 5,
        "raised": 0,
        "1": 0,
        "2": 0,
        "3": 0,
    }
    # Tuesday 13th: 2 working days (9th, 13th): level 2 (yellow) to the heads only. The 7th's items
    # are now 3 working days late (8th, 9th, 13th): beyond the grace, the reason is overdue.
    assert escalate(engine, settings, "2022-09-13") == {
        "stalled": 5,
        "raised": 5,
        "1": 0,
        "2": 5,
        "3": 0,
    }
    level2 = {a: stall for a, level, stall, _ in escalations(engine) if level == 2}
    assert level2 == {
        plan.lead: "unsigned",
        plan.market: "unsigned",
        plan.police: "overdue",
        plan.procuratorate: "overdue",
        max(level2): "overdue",
    }
    yellow = outbox(engine, "escalation_yellow")
    assert {row.recipient_email for row in yellow} == {f"head{units[n]}@example.org" for n in units}
    assert {row.payload["respond_by"] for row in yellow} == {"2022-09-15"}  # 2 working days on
    assert all(row.payload["unit"] for row in yellow)
    # Thursday 15th: level 3 (red) to the office and the leading group, each item with the ladder it
    # climbed.
    assert escalate(engine, settings, "2022-09-15") == {
        "stalled": 5,
        "raised": 5,
        "1": 0,
        "2": 0,
        "3": 5,
    }
    red = outbox(engine, "escalation_red")
    assert {row.recipient_email for row in red} == {"office@localhost", "group@example.org"}
    assert {tuple(sorted(row.payload)) for row in red} == {
        ("items", "opened_on")
    }  # across units: no one unit
    first = red[0].payload["items"][0]
    assert [step["on"] for step in first["history"]] == ["2022-09-08", "2022-09-13", "2022-09-15"]
    assert [step["what"][:4] for step in first["history"]] == ["蓝色提醒", "黄色催办", "红色提请"]
    assert escalate(engine, settings, "2022-09-19")["raised"] == 0  # there is no level above red
    with Session(engine) as session:
        on_agenda = agenda(session)
    assert len(on_agenda) == 5 and all(len(item["history"]) == 3 for item in on_agenda)
    for row in outbox(engine, *ESCALATIONS):
        message = rendered(row)
        assert row.payload["items"][0]["number"] in message.subject + message.text


def test_a_report_returned_twice_is_a_stall_of_its_own(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    checkin = file(engine, plan, plan.market, "市市场监管局", "2022-09-05", completed=True)
    review(engine, plan, plan.market, checkin.revision, "2022-09-05", accept=False)
    checkin = file(engine, plan, plan.market, "市市场监管局", "2022-09-06", completed=True)
    review(engine, plan, plan.market, checkin.revision, "2022-09-06", accept=False)
    # Wednesday 7th: nothing is late or unsigned yet; 市市场监管局 has been sent back twice.
    assert escalate(engine, settings, "2022-09-07")["raised"] == 1
    assert escalations(engine) == [(plan.market, 1, "returned", True)]
    blue = outbox(engine, "escalation_blue")
    head, liaison = (
        f"head{plan.units['市市场监管局']}@example.org",
        f"liaison{plan.units['市市场监管局']}@example.org",
    )
    assert {row.recipient_email for row in blue} == {head, liaison}
    assert all("报送材料多次被退回" in rendered(row).text for row in blue)


def test_a_report_returned_once_is_no_stall(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    checkin = file(engine, plan, plan.market, "市市场监管局", "2022-09-05", completed=True)
    review(engine, plan, plan.market, checkin.revision, "2022-09-05", accept=False)
    assert escalate(engine, settings, "2022-09-07")["stalled"] == 0


def test_a_report_the_office_has_not_reviewed_escalates_to_the_offices_own_head(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    checkin = file(engine, plan, plan.market, "市市场监管局", "2022-09-05", completed=True)
    # Wednesday 7th: filed 2 working days ago: not yet; Thursday 8th: 3.
    assert escalate(engine, settings, "2022-09-07")["stalled"] == 0
    escalate(engine, settings, "2022-09-08")
    assert (plan.market, 1, "unreviewed", True) in escalations(engine)
    to_office_head = [
        row
        for row in outbox(engine, "escalation_blue")
        if row.recipient_email == "office-head@localhost"
    ]
    assert len(to_office_head) == 1 and to_office_head[0].recipient_name == "市未保办负责同志"
    assert [i["unit"] for i in to_office_head[0].payload["items"]] == ["市市场监管局"]
    assert "办结报告长期未审核" in rendered(to_office_head[0]).text
    # The unit is never told of the office's own delay.
    market = plan.units["市市场监管局"]
    assert not [
        row
        for row in outbox(engine, "escalation_blue")
        if row.unit_id == market and row.recipient_email != "office-head@localhost"
    ]
    review(engine, plan, plan.market, checkin.revision, "2022-09-09", accept=True)
    assert (plan.market, 1, "unreviewed", False) in escalations(engine)


def test_an_idle_assignment_stalls_after_ten_working_days(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    """The lead files progress on Monday 5th; ten working days later is Tuesday 20th (the 12th is
    off)."""
    file(engine, plan, plan.lead, "市教育局", "2022-09-05")
    escalate(engine, settings, "2022-09-19")  # 9 working days
    assert plan.lead not in {a for a, *_ in escalations(engine)}
    escalate(engine, settings, "2022-09-20")
    assert (plan.lead, 1, "idle", True) in escalations(engine)


def test_a_report_or_an_approved_extension_closes_the_open_escalations(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    escalate(engine, settings, "2022-09-08")  # all five unsigned, level 1
    file(engine, plan, plan.police, "市公安局", "2022-09-08")
    with unit_of_work(engine) as session:
        request = request_extension(
            session,
            assignment_id=plan.procuratorate,
            until=date(2023, 1, 31),
            reason="需要协调经费",
            actor=plan.unit_actor("市检察院"),
            now=at("2022-09-08", 11),
            timezone=settings.timezone,
            max_days=90,
        )
        request_id = request.id
    with unit_of_work(engine) as session:
        decide_extension(
            session, request_id=request_id, approve=True, actor=OFFICE, now=at("2022-09-08", 14)
        )
    still_open = {a for a, _, _, is_open in escalations(engine) if is_open}
    assert still_open == {plan.lead, plan.market, max(a for a, *_ in escalations(engine))}
    with Session(engine) as session:
        resolved = session.exec(
            select(AuditEvent).where(AuditEvent.action == "escalation.resolve")
        ).all()
    assert sorted(e.reason for e in resolved) == [
        "单位已报送 / the unit reported",
        "延期已批准 / extension approved",
    ]


def test_the_units_report_closes_overdue_and_idle_escalations_and_verifying_closes_returned(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    from models.workflow import sign

    with unit_of_work(engine) as session:
        sign(
            session,
            assignment_id=plan.police,
            actor=plan.unit_actor("市公安局"),
            now=at("2022-09-05", 11),
        )
    escalate(
        engine, settings, "2022-09-13"
    )  # 市公安局 signed; its 7th is 3 working days late: overdue
    assert (plan.police, 1, "overdue", True) in escalations(engine)
    file(engine, plan, plan.police, "市公安局", "2022-09-13", completed=False)
    assert (plan.police, 1, "overdue", False) in escalations(engine)


def test_verifying_the_report_closes_the_returned_stall(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    for day in ("2022-09-05", "2022-09-06"):
        checkin = file(engine, plan, plan.market, "市市场监管局", day, completed=True)
        review(engine, plan, plan.market, checkin.revision, day, accept=False)
    escalate(engine, settings, "2022-09-07")
    checkin = file(engine, plan, plan.market, "市市场监管局", "2022-09-07", completed=True)
    assert escalations(engine) == [(plan.market, 1, "returned", True)]  # a report does not end it
    review(engine, plan, plan.market, checkin.revision, "2022-09-07", accept=True)
    assert escalations(engine) == [(plan.market, 1, "returned", False)]


def test_new_progress_closes_an_idle_escalation(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    file(engine, plan, plan.lead, "市教育局", "2022-09-05")
    escalate(engine, settings, "2022-09-20")
    assert (plan.lead, 1, "idle", True) in escalations(engine)
    file(engine, plan, plan.lead, "市教育局", "2022-09-21")
    assert (plan.lead, 1, "idle", False) in escalations(engine)

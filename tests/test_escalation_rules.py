"""The escalation ladder (督办) on a small plan, each day worked out by hand, each message rendered
as read.

tests/support/small_office.py: five assignments (市教育局 lead on task 5 and cooperating on task 12,
市公安局 and 市检察院 cooperating on task 5, 市市场监管局 on task 12), a round opened Monday 5
September 2022 due Friday 9th, cooperating units Wednesday 7th. Rules: overdue beyond 2 working
days, unsigned for 3, idle for 10, returned twice, a completion report unreviewed for 3; at least 2
working days between two levels. Saturday 10 to Monday 12 September are days off.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from config import Settings
from models.audit import AuditEvent
from models.checkins import review_checkin, submit_checkin
from models.db import unit_of_work
from models.escalation import Escalation
from models.escalations import agenda, agenda_units, escalate_stalled
from models.extensions import decide_extension, request_extension
from models.lifecycle import SYSTEM_ACTOR
from models.round import SupervisionRound
from tests.support.scenario import NOTICE, OFFICE, Scenario
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


def returned_twice(engine: Engine, plan: Scenario) -> None:
    """市市场监管局 files completion on the 5th and the 6th; each is returned the same day."""
    for day in ("2022-09-05", "2022-09-06"):
        checkin = file(engine, plan, plan.market, "市市场监管局", day, completed=True)
        review(engine, plan, plan.market, checkin.revision, day, accept=False)


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
    returned_twice(engine, plan)
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


def test_the_agenda_lists_red_items_only_with_their_unit_role_ladder_and_the_units_problems(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    # 市市场监管局 is sent back twice (5th, 6th), each filing naming 缺少经费: blue on the 7th,
    # yellow on the 9th (8th, 9th), red on the 14th (13th, 14th; the 12th is 中秋). The others,
    # unsigned since the 5th, are blue on the 8th and yellow on the 13th: not on the agenda.
    returned_twice(engine, plan)
    for day in ("2022-09-07", "2022-09-08", "2022-09-09", "2022-09-13"):
        escalate(engine, settings, day)
    with Session(engine) as session:
        assert agenda(session) == [] and agenda_units(session) == []  # yellow is not red
    escalate(engine, settings, "2022-09-14")
    with Session(engine) as session:
        red = session.exec(select(Escalation).where(Escalation.level == 3)).one()
        on_agenda = agenda(session)
        units = agenda_units(session)
    assert red.assignment_id == plan.market
    assert units == [(plan.units["市市场监管局"], "市市场监管局")]
    assert len(on_agenda) == 1
    item = on_agenda[0]
    history = item.pop("history")
    assert item == {
        "number": red.number,
        "task_number": 12,
        "task_title": next(t.title for t in NOTICE.tasks if t.number == 12),
        "unit": "市市场监管局",
        "role": "responsible",
        "state": "in_progress",  # returned: back to the unit
        "reason": item["reason"],
        "opened_at": red.opened_at.isoformat(),
        "problems": ["缺少经费"],  # the round's check-in, as last filed (earlier ones are versions)
    }
    assert "多次被退回" in item["reason"]
    assert red.opened_at.isoformat().startswith("2022-09-14T02:00:00")  # 10:00 Beijing time
    assert [step["on"] for step in history] == ["2022-09-07", "2022-09-09", "2022-09-14"]


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
    returned_twice(engine, plan)
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


def test_a_check_in_two_working_days_late_is_within_the_grace(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    """市公安局 signs, so only lateness can stall it: its 7th is 2 working days late on Friday 9th
    (8th, 9th), the grace itself; 3 on Tuesday 13th, beyond it."""
    from models.workflow import sign

    with unit_of_work(engine) as session:
        sign(
            session,
            assignment_id=plan.police,
            actor=plan.unit_actor("市公安局"),
            now=at("2022-09-05", 11),
        )
    escalate(engine, settings, "2022-09-09")
    assert plan.police not in {a for a, *_ in escalations(engine)}
    escalate(engine, settings, "2022-09-13")
    assert (plan.police, 1, "overdue", True) in escalations(engine)


def test_each_raised_escalation_is_in_the_audit_trail_with_its_unit_level_and_number(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    escalate(engine, settings, "2022-09-08")  # all five unsigned, level 1
    units = plan.units
    unit_of = {
        plan.lead: units["市教育局"],
        plan.police: units["市公安局"],
        plan.procuratorate: units["市检察院"],
        plan.market: units["市市场监管局"],
    }
    with Session(engine) as session:
        raised = {e.id: e for e in session.exec(select(Escalation))}
        events = session.exec(
            select(AuditEvent).where(AuditEvent.action == "escalation.raise")
        ).all()
    unit_of[max(e.assignment_id for e in raised.values())] = units["市教育局"]  # its task 12
    assert sorted(e.number for e in raised.values()) == [f"督〔2022〕00{i}号" for i in range(1, 6)]
    assert len(events) == 5 and {int(event.object_id) for event in events} == set(raised)
    for event in events:
        e = raised[int(event.object_id)]
        assert event.object_type == "escalation" and event.actor == SYSTEM_ACTOR.name
        assert event.unit_id == unit_of[e.assignment_id]
        assert event.reason == "任务交办后长期未签收"
        assert json.loads(event.after or "") == {  # stored as its JSON text
            "assignment": e.assignment_id,
            "round": round_id(engine),
            "directive": None,  # a stall, not a 批示
            "level": 1,
            "stall": "unsigned",
            "number": e.number,
        }


def test_the_desk_lists_each_open_item_once_at_its_highest_level_since_its_first(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    """Blue for all five on Thursday 8th; 市公安局 files that day, which closes its escalation; the
    other four climb to yellow on Tuesday 13th, each still listed once, since the 8th."""
    from models.escalations import open_items

    def desk() -> list[tuple[int, int, str]]:
        with Session(engine) as session:
            return sorted((i["assignment_id"], i["level"], i["since"]) for i in open_items(session))

    escalate(engine, settings, "2022-09-08")
    five = sorted({a for a, *_ in escalations(engine)})
    assert len(five) == 5
    assert desk() == [(a, 1, "2022-09-08") for a in five]
    file(engine, plan, plan.police, "市公安局", "2022-09-08")
    four = [a for a in five if a != plan.police]
    assert desk() == [(a, 1, "2022-09-08") for a in four]
    escalate(engine, settings, "2022-09-13")
    assert desk() == [(a, 2, "2022-09-08") for a in four]


def test_a_level_an_extension_closed_does_not_fire_again_in_the_same_round(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    """市检察院's blue escalation is closed by its extension on the 8th; on Tuesday 13th it is still
    unsigned, but its level 1 of this round has fired: only the other four climb to yellow."""
    escalate(engine, settings, "2022-09-08")
    with unit_of_work(engine) as session:
        request_id = request_extension(
            session,
            assignment_id=plan.procuratorate,
            until=date(2023, 1, 31),
            reason="需要协调经费",
            actor=plan.unit_actor("市检察院"),
            now=at("2022-09-08", 11),
            timezone=settings.timezone,
            max_days=90,
        ).id
    with unit_of_work(engine) as session:
        decide_extension(
            session, request_id=request_id, approve=True, actor=OFFICE, now=at("2022-09-08", 14)
        )
    assert escalate(engine, settings, "2022-09-13") == {
        "stalled": 5,
        "raised": 4,
        "1": 0,
        "2": 4,
        "3": 0,
    }
    assert [(level, is_open) for a, level, _, is_open in escalations(engine)].count((1, False)) == 1
    assert plan.procuratorate not in {a for a, level, *_ in escalations(engine) if level == 2}


def test_a_resumed_items_unsigned_window_starts_again_at_its_resume(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    """市市场监管局 is suspended on Tuesday 6th and resumed Thursday 8th at 9:00: its 签收 window
    runs from the 8th (9th 1, 13th 2, 14th 3), not from the round's opening on the 5th (8th 3).
    Its due date moves by the 2 suspended working days (6th, 7th), to the 14th: not overdue."""
    from models.suspensions import resume, suspend

    with unit_of_work(engine) as session:
        suspend(
            session,
            assignment_id=plan.market,
            reason="机构改革",
            actor=OFFICE,
            now=at("2022-09-06"),
        )
    with unit_of_work(engine) as session:
        resume(
            session,
            assignment_id=plan.market,
            actor=OFFICE,
            now=at("2022-09-08", 9),
            timezone=settings.timezone,
            calendar=settings.cycle.calendar,
        )
    assert escalate(engine, settings, "2022-09-08")["raised"] == 4
    escalate(engine, settings, "2022-09-13")
    assert plan.market not in {a for a, *_ in escalations(engine)}
    escalate(engine, settings, "2022-09-14")
    assert (plan.market, 1, "unsigned", True) in escalations(engine)


def test_a_resumed_items_idle_clock_starts_again_at_its_resume(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    """The lead files on Monday 5th, is suspended on the 6th and resumed on Thursday 8th at 9:00:
    ten working days from the 8th is Friday 23rd (not the 20th, as from the 5th)."""
    from models.suspensions import resume, suspend

    file(engine, plan, plan.lead, "市教育局", "2022-09-05")
    with unit_of_work(engine) as session:
        suspend(
            session, assignment_id=plan.lead, reason="机构改革", actor=OFFICE, now=at("2022-09-06")
        )
    with unit_of_work(engine) as session:
        resume(
            session,
            assignment_id=plan.lead,
            actor=OFFICE,
            now=at("2022-09-08", 9),
            timezone=settings.timezone,
            calendar=settings.cycle.calendar,
        )
    escalate(engine, settings, "2022-09-22")  # 9 working days
    assert plan.lead not in {a for a, *_ in escalations(engine)}
    escalate(engine, settings, "2022-09-23")
    assert (plan.lead, 1, "idle", True) in escalations(engine)


def test_a_rejected_decline_starts_the_units_window_again(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    """市市场监管局 declines (退办) on Tuesday 6th; the office rejects it on Thursday 8th at 9:00:
    its 签收 window runs from the 8th, so it is unsigned on the 14th (3 working days), not the 8th.
    Its check-in, due the 9th, is 2 working days late on the 14th: within the grace."""
    from models.declines import decide, decline

    with unit_of_work(engine) as session:
        decline(
            session,
            assignment_id=plan.market,
            reason="不属于本单位职责",
            actor=plan.unit_actor("市市场监管局"),
            now=at("2022-09-06"),
            rules=settings.cycle,
            timezone=settings.timezone,
        )
    with unit_of_work(engine) as session:
        decide(
            session,
            assignment_id=plan.market,
            actor=OFFICE,
            now=at("2022-09-08", 9),
            rules=settings.cycle,
            timezone=settings.timezone,
            reject=True,
            reason="食品安全属本单位职责",
        )
    escalate(engine, settings, "2022-09-13")
    assert plan.market not in {a for a, *_ in escalations(engine)}
    escalate(engine, settings, "2022-09-14")
    assert (plan.market, 1, "unsigned", True) in escalations(engine)


def test_a_directive_past_its_deadline_is_escalated_with_its_own_reason(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    """A 批示 on 市市场监管局's item, due Friday 9th and unanswered: one working day later, Tuesday
    13th, it climbs to blue."""
    from models.directives import add

    with unit_of_work(engine) as session:
        add(
            session,
            settings=settings,
            actor=OFFICE,
            now=at("2022-09-05"),
            text="请尽快落实",
            assignment_id=plan.market,
            deadline=date(2022, 9, 9),
            on_behalf_of="张副市长",
        )
    escalate(engine, settings, "2022-09-13")
    with Session(engine) as session:
        rows = session.exec(select(Escalation).where(Escalation.stall == "directive")).all()
    assert [(e.assignment_id, e.level, e.reason) for e in rows] == [
        (plan.market, 1, "领导批示逾期未回复")
    ]


def test_a_batch_of_501_escalations_is_numbered_and_recorded_row_by_row(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    """record_raised reads the new rows' ids back 500 stage keys a query: the 501st comes from a
    second one. The stage keys are made up (one assignment, 501 rungs) to reach it with one item."""
    from models.clock import utc
    from models.escalations import Stall, record_raised
    from models.rounds import item, round_payload

    now, rid = at("2022-09-08"), round_id(engine)
    rows = [
        {
            "stage_key": f"batch:{n}",
            "assignment_id": plan.market,
            "round_id": rid,
            "level": 1,
            "stall": "unsigned",
            "reason": "任务交办后长期未签收",
            "opened_at": utc(now),
        }
        for n in range(501)
    ]
    stall = Stall(
        plan.market,
        rid,
        "unsigned",
        plan.units["市市场监管局"],
        item(12, "任务十二", "responsible", date(2022, 9, 9), 0, plan.market),
        round_payload("九月督导", date(2022, 9, 9)),
        "市市场监管局",
    )
    with unit_of_work(engine) as session:
        record_raised(
            session,
            rows,
            [stall] * 501,
            now=now,
            today=date(2022, 9, 8),
            settings=settings,
            actor=SYSTEM_ACTOR,
        )
    with Session(engine) as session:
        numbers = {e.id: e.number for e in session.exec(select(Escalation))}
        recorded = [
            int(e.object_id)
            for e in session.exec(select(AuditEvent).where(AuditEvent.action == "escalation.raise"))
        ]
    assert sorted(numbers.values()) == [f"督〔2022〕{n:03d}号" for n in range(1, 502)]
    assert sorted(recorded) == sorted(numbers)


def test_a_report_in_one_round_leaves_the_other_rounds_escalations_open(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    """A second round, 九月专项, opened the same Monday and due Friday 16th: on Thursday 8th every
    item is unsigned in both rounds (ten blue). 市公安局 files in 九月督导: only that round's
    escalation closes."""
    from models.rounds import open_round

    with unit_of_work(engine) as session:
        open_round(
            session,
            plan_key="2022",
            name="九月专项",
            report_by=date(2022, 9, 16),
            actor=OFFICE,
            now=at("2022-09-05", 9),
            cooperating_lead_days=2,
        )
    assert escalate(engine, settings, "2022-09-08")["raised"] == 10
    file(engine, plan, plan.police, "市公安局", "2022-09-08")
    with Session(engine) as session:
        police = session.exec(
            select(SupervisionRound.name, Escalation.resolved_at)
            .join(SupervisionRound, col(SupervisionRound.id) == col(Escalation.round_id))
            .where(Escalation.assignment_id == plan.police)
        ).all()
    assert sorted((name, resolved is None) for name, resolved in police) == [
        ("九月专项", True),
        ("九月督导", False),
    ]


def test_the_counts_the_history_and_the_resolve_record_of_a_run(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    """Blue for all five on Thursday 8th; 市公安局 files that day: four items open at level 1, its
    ladder one blue step, and its closing recorded as level 1 going from open to closed."""
    from models.escalations import histories_of, open_counts

    escalate(engine, settings, "2022-09-08")
    file(engine, plan, plan.police, "市公安局", "2022-09-08")
    september = round_id(engine)
    with Session(engine) as session:
        assert open_counts(session) == {1: 4, 2: 0, 3: 0}
        steps = histories_of(session, [(plan.police, september, None)])[
            (plan.police, september, None)
        ]
        resolved = session.exec(
            select(AuditEvent).where(AuditEvent.action == "escalation.resolve")
        ).all()
    assert [(s["on"], s["what"][:4]) for s in steps] == [("2022-09-08", "蓝色提醒")]
    assert [(json.loads(e.before or ""), json.loads(e.after or "")) for e in resolved] == [
        ({"level": 1, "open": True}, {"open": False})
    ]

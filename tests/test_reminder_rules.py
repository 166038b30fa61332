"""The reminder ladder on a small plan, each day's digests worked out by hand and rendered as the
unit reads them.

The plan (tests/support/scenario.py) plus one more assignment: 市教育局 also cooperates on task 12.
A round opened Monday 5 September 2022 is due Friday 9 September; cooperating units two working days
earlier, Wednesday 7th. So 市教育局 owes task 5 (lead) by the 9th and task 12 (cooperating) by the
7th; 市公安局 and 市检察院 owe task 5 by the 7th; 市市场监管局 owes task 12 by the 9th. Ladder: 3
and 1 working days before, the due day, then every 2nd working day overdue. Saturday 10 to Monday 12
September are days off.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from config import Settings
from models.audit import AuditEvent
from models.checkins import submit_checkin
from models.db import unit_of_work
from models.lifecycle import SYSTEM_ACTOR
from models.notification import Notification
from models.reminders import most_urgent, send_reminders
from tests.support.scenario import Scenario
from tests.support.small_office import at, open_september, rendered, with_contacts


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path)


@pytest.fixture
def plan(engine: Engine) -> Scenario:
    plan = with_contacts(engine)
    open_september(engine)
    return plan


def remind(engine: Engine, settings: Settings, day: str, hour: int = 10):
    with unit_of_work(engine) as session:
        return send_reminders(session, now=at(day, hour), settings=settings, actor=SYSTEM_ACTOR)


def digests(engine: Engine, plan: Scenario, day: str) -> dict[str, dict[str, Any]]:
    """The digests queued for `day`, by unit name: kind, stage, days left, (task, due, overdue) and
    the rendered text."""
    names = {unit_id: name for name, unit_id in plan.units.items()}
    found = {}
    with Session(engine) as session:
        rows = session.exec(
            select(Notification).where(col(Notification.dedup_key).endswith(f":liaison:{day}"))
        )
        for row in rows:
            message = rendered(row)
            found[names[row.unit_id]] = {
                "kind": row.kind,
                "stage": row.payload.get("stage"),
                "days_left": row.payload.get("days_left"),
                "items": [
                    (i["task_number"], i["due_on"], i.get("days_overdue"))
                    for i in row.payload["items"]
                ],
                "subject": message.subject,
                "text": message.text,
                "to": row.recipient_email,
            }
    return found


def reminder_events(engine: Engine) -> list[dict[str, Any]]:
    import json

    with Session(engine) as session:
        return [
            json.loads(e.after) | {"unit": e.object_id, "unit_id": e.unit_id}
            for e in session.exec(
                select(AuditEvent)
                .where(AuditEvent.action == "reminder.enqueue")
                .order_by(AuditEvent.seq)
            )
        ]


def test_three_and_one_working_days_before_each_unit_gets_one_digest_at_its_most_urgent_step(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    run = remind(engine, settings, "2022-09-06")  # Tuesday: 3 days to the 9th, 1 to the 7th
    assert (run.skipped, run.units, run.enqueued, run.stages) == (None, 4, 4, {"t-1": 3, "t-3": 1})
    found = digests(engine, plan, "2022-09-06")
    assert {name: (d["kind"], d["stage"], d["days_left"]) for name, d in found.items()} == {
        "市教育局": ("reminder", "t-1", 1),
        "市公安局": ("reminder", "t-1", 1),
        "市检察院": ("reminder", "t-1", 1),
        "市市场监管局": ("reminder", "t-3", 3),
    }
    assert found["市教育局"]["items"] == [(12, "2022-09-07", None), (5, "2022-09-09", None)]
    assert "下一个工作日截止" in found["市教育局"]["subject"]
    assert (
        "3个工作日后截止" in found["市市场监管局"]["subject"]
        and "以下1项任务" in found["市市场监管局"]["text"]
    )
    assert found["市教育局"]["to"] == f"liaison{plan.units['市教育局']}@example.org"


def test_a_unit_with_an_item_due_today_is_told_today_even_beside_a_later_one(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    run = remind(
        engine, settings, "2022-09-07"
    )  # Wednesday: the cooperating items are due; the 9th is 2 away
    assert (run.units, run.enqueued, run.stages) == (3, 3, {"due": 3})
    found = digests(engine, plan, "2022-09-07")
    assert set(found) == {
        "市教育局",
        "市公安局",
        "市检察院",
    }  # 市市场监管局 is 2 days away: no step today
    assert (found["市教育局"]["stage"], found["市教育局"]["days_left"]) == ("due", 0)
    assert (
        "今天截止" in found["市教育局"]["subject"]
        and "个工作日后截止" not in found["市教育局"]["text"]
    )
    assert "以下2项任务" in found["市教育局"]["text"]


def test_overdue_on_every_second_working_day_and_the_overdue_digest_wins(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    # Thursday 8th: the 7th's items are 1 day overdue (no step); the 9th is 1 day away (t-1).
    run = remind(engine, settings, "2022-09-08")
    assert (run.units, run.stages) == (2, {"t-1": 2})
    found = digests(engine, plan, "2022-09-08")
    assert {n: d["stage"] for n, d in found.items()} == {"市教育局": "t-1", "市市场监管局": "t-1"}
    # Friday 9th: 2 days overdue (a step) beside the item due that day: an overdue digest.
    run = remind(engine, settings, "2022-09-09")
    assert (run.units, run.stages) == (4, {"overdue": 3, "due": 1})
    found = digests(engine, plan, "2022-09-09")
    assert found["市教育局"]["kind"] == "overdue" and found["市教育局"]["items"] == [
        (12, "2022-09-07", 2),
        (5, "2022-09-09", 0),
    ]
    assert "已逾期2个工作日" in found["市教育局"]["text"]
    # Both digests name the plan and the round: a unit may have two plans' rounds open at once.
    assert "在《2022年重点工作任务清单》“九月督导”中" in found["市教育局"]["text"]
    assert "在《2022年重点工作任务清单》“九月督导”中" in found["市市场监管局"]["text"]
    assert found["市市场监管局"]["kind"] == "reminder" and found["市市场监管局"]["stage"] == "due"
    # Tuesday 13th: 3 days overdue for the 7th (8th, 9th, 13th), 1 for the 9th: no step, no digest.
    assert remind(engine, settings, "2022-09-13").units == 0
    # Wednesday 14th: 4 and 2 days overdue.
    run = remind(engine, settings, "2022-09-14")
    assert (run.units, run.stages) == (4, {"overdue": 4})
    assert digests(engine, plan, "2022-09-14")["市教育局"]["items"] == [
        (12, "2022-09-07", 4),
        (5, "2022-09-09", 2),
    ]


def test_each_digest_queued_writes_one_audit_event_and_a_rerun_writes_none(
    engine: Engine, plan: Scenario, settings: Settings
) -> None:
    remind(engine, settings, "2022-09-07")
    events = reminder_events(engine)
    education = plan.units["市教育局"]
    assert sorted(e["unit"] for e in events) == sorted(
        str(plan.units[n]) for n in ("市教育局", "市公安局", "市检察院")
    )
    assert [e for e in events if e["unit"] == str(education)] == [
        {
            "kind": "reminder",
            "stage": "due",
            "items": 2,
            "key": f"digest:u{education}:liaison:2022-09-07",
            "unit": str(education),
            "unit_id": education,  # what the audit page's unit filter finds the event by
        }
    ]
    again = remind(engine, settings, "2022-09-07", hour=15)
    assert (again.units, again.enqueued) == (3, 0) and len(reminder_events(engine)) == 3


def test_a_unit_that_has_filed_is_not_reminded_and_a_unit_without_a_liaison_is_counted_but_not_sent(
    engine: Engine, settings: Settings
) -> None:
    plan = with_contacts(engine, without_liaison=("市检察院",))
    round_id = open_september(engine)
    with unit_of_work(engine) as session:
        submit_checkin(
            session,
            round_id=round_id,
            assignment_id=plan.police,
            actor=plan.unit_actor("市公安局"),
            now=at("2022-09-06", 9),
            text="推进中",
            percent=30,
        )
    run = remind(engine, settings, "2022-09-06")
    assert (run.units, run.enqueued, run.stages) == (3, 2, {"t-1": 2, "t-3": 1})
    assert set(digests(engine, plan, "2022-09-06")) == {"市教育局", "市市场监管局"}


@pytest.mark.parametrize(
    ("day", "hour", "skipped"),
    [
        ("2022-09-10", 10, "2022-09-10 不是工作日 / not a working day"),
        ("2022-09-06", 8, "08:00 不在工作时间 08:30–17:30 / outside working hours"),
    ],
)
def test_nothing_goes_out_on_a_day_off_or_outside_working_hours(
    engine: Engine, plan: Scenario, settings: Settings, day: str, hour: int, skipped: str
) -> None:
    run = remind(engine, settings, day, hour)
    assert (run.skipped, run.units, run.enqueued) == (skipped, 0, 0)
    assert digests(engine, plan, day) == {}


def test_a_digest_beside_an_item_already_late_counts_the_days_left_from_its_own_step(
    engine: Engine, settings: Settings
) -> None:
    """Due Friday 16th, cooperating units four working days earlier: Friday 9th (13th, 9th ... over
    the holiday). Tuesday 13th: 市教育局's task 12 is 1 working day late (no step), its task 5 is 3
    days away."""
    plan = with_contacts(engine)
    open_september(engine, report_by=date(2022, 9, 16), lead_days=4)
    run = remind(engine, settings, "2022-09-13")
    assert run.stages == {"t-3": 2}
    found = digests(engine, plan, "2022-09-13")
    assert (found["市教育局"]["stage"], found["市教育局"]["days_left"]) == ("t-3", 3)
    assert "3个工作日后截止" in found["市教育局"]["subject"]


def test_an_item_due_today_beside_one_a_day_late_makes_a_due_today_digest(
    engine: Engine, settings: Settings
) -> None:
    """Due Thursday 8th, cooperating units one working day earlier (Wednesday 7th). On the 8th
    市教育局's task 12 is 1 working day late (no step of the ladder) and its task 5 is due that
    day."""
    plan = with_contacts(engine)
    open_september(engine, report_by=date(2022, 9, 8), lead_days=1)
    remind(engine, settings, "2022-09-08")
    found = digests(engine, plan, "2022-09-08")
    assert (
        found["市教育局"]["kind"],
        found["市教育局"]["stage"],
        found["市教育局"]["days_left"],
    ) == ("reminder", "due", 0)
    assert "今天截止" in found["市教育局"]["subject"]


def test_nothing_overdue_is_sent_before_the_due_date_even_with_no_working_day_between(
    engine: Engine, settings: Settings
) -> None:
    """Due Saturday 17 September: on Friday 16th no working day is left, and nothing is late yet."""
    plan = with_contacts(engine)
    open_september(engine, report_by=date(2022, 9, 17), lead_days=0)
    remind(engine, settings, "2022-09-16")
    assert "overdue" not in {d["kind"] for d in digests(engine, plan, "2022-09-16").values()}


def test_with_a_reminder_every_working_day_the_first_late_day_is_reminded(
    engine: Engine, tmp_path: Path
) -> None:
    plan = with_contacts(engine)
    open_september(engine)
    daily = Settings(home=tmp_path, cycle={"overdue_every": 1})
    remind(engine, daily, "2022-09-08")  # the cooperating units' 7th is 1 working day late
    assert digests(engine, plan, "2022-09-08")["市公安局"]["kind"] == "overdue"


# The ladder's order, from the least urgent to the most, as the office reads it: three working days
# before, one day before, the due day, late. A day the office adds (t-5) ranks below all of them.
LADDER = ["t-3", "t-1", "due", "overdue"]


def test_the_digest_takes_the_most_urgent_step_whatever_the_order_of_the_items() -> None:
    for low, high in [(a, b) for i, a in enumerate(LADDER) for b in LADDER[i + 1 :]]:
        for items in ([(low, "A"), (high, "B")], [(high, "B"), (low, "A")]):
            assert most_urgent(items) == (high, "B"), (low, high, items)
    for stage in LADDER:
        assert most_urgent([("t-5", "extra"), (stage, "ladder")]) == (stage, "ladder")
        assert most_urgent([(stage, "ladder"), ("t-5", "extra")]) == (stage, "ladder")
    assert most_urgent([(None, "quiet"), ("t-5", "extra")]) == ("t-5", "extra")
    assert most_urgent([("t-5", "first"), ("t-5", "second")]) == ("t-5", "first")
    assert most_urgent([("due", "first"), ("due", "second")]) == ("due", "first")


def test_an_overdue_digest_counts_an_item_not_yet_due_as_zero_days_late(
    engine: Engine, settings: Settings
) -> None:
    """Due Friday 16 September, cooperating units four working days earlier: Friday 9th (15th,
    14th, 13th, then 9th: Saturday 10th to Monday 12th is the Mid-Autumn holiday). On Wednesday
    14th 市教育局's task 12 is 2 working days late (13th, 14th: a step) and its task 5 is due in 2
    working days (no step)."""
    plan = with_contacts(engine)
    open_september(engine, report_by=date(2022, 9, 16), lead_days=4)
    remind(engine, settings, "2022-09-14")
    found = digests(engine, plan, "2022-09-14")["市教育局"]
    assert found["kind"] == "overdue"
    assert sorted(found["items"]) == [(5, "2022-09-16", 0), (12, "2022-09-09", 2)]

"""The scenario plan (tests/support/scenario.py) as an office runs it: contacts in the directory,
one more assignment, a September round, and the outbox read back as the recipients get it.

Beside the scenario's four assignments, 市教育局 also cooperates on task 12, so one unit owes two
items with different due dates. Every unit has a liaison (liaisonN@example.org) and a head
(headN@example.org), N its id.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from intake.plan_import import reconcile, resolve
from intake.unit_phrase import NamedUnit
from models.assignment import AssignmentRole
from models.db import unit_of_work
from models.notification import Notification
from models.rounds import open_round
from models.unit import Contact, ContactRole
from notifications.render import Rendered, render
from tests.support.scenario import NOTICE, OFFICE, Scenario, build

CST = timezone(timedelta(hours=8))
NOW = datetime(2022, 9, 5, 9, 30, tzinfo=CST)  # Monday
OFFICE_NAME = "市未成年人保护工作领导小组办公室"
PORTAL = "http://127.0.0.1:8000"


def at(day: str, hour: int = 10) -> datetime:
    """A moment on the office's clock (Beijing)."""
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=CST)


def with_contacts(engine: Engine, *, without_liaison: tuple[str, ...] = ()) -> Scenario:
    plan = build(engine, NOW)
    with unit_of_work(engine) as session:
        # The office adds 市教育局 to task 12 the way production does: a corrected notice,
        # re-imported.
        tasks = [
            replace(
                t,
                units=[*t.units, NamedUnit("市教育局", AssignmentRole.COOPERATING)],
                units_text=f"{t.units_text}，市教育局配合",
            )
            if t.number == 12
            else t
            for t in NOTICE.tasks
        ]
        reconcile(
            session,
            "2022",
            resolve(session, replace(NOTICE, tasks=tasks), strict=True),
            actor=OFFICE,
            now=NOW,
            write=True,
        )
        for name, unit_id in plan.units.items():
            if name not in without_liaison:
                session.add(
                    Contact(
                        unit_id=unit_id,
                        role=ContactRole.LIAISON,
                        name=f"{name}联络员",
                        email=f"liaison{unit_id}@example.org",
                    )
                )
            session.add(
                Contact(
                    unit_id=unit_id,
                    role=ContactRole.HEAD,
                    name=f"{name}分管领导",
                    email=f"head{unit_id}@example.org",
                )
            )
    return plan


def open_september(engine: Engine, report_by: date = date(2022, 9, 9), lead_days: int = 2) -> int:
    """Round 九月督导, opened Monday 5 September, due `report_by`; cooperating units `lead_days`
    earlier."""
    with unit_of_work(engine) as session:
        return open_round(
            session,
            plan_key="2022",
            name="九月督导",
            report_by=report_by,
            actor=OFFICE,
            now=NOW,
            cooperating_lead_days=lead_days,
        ).round.id


def files_completion(engine: Engine, plan: Scenario, round_id: int, text: str) -> int:
    """市市场监管局 files its completion (100%) on its task 12 on Monday 5 September, 10:00; the
    filing's revision, for a review."""
    from models.checkins import submit_checkin

    with unit_of_work(engine) as session:
        return submit_checkin(
            session,
            round_id=round_id,
            assignment_id=plan.market,
            actor=plan.unit_actor("市市场监管局"),
            now=at("2022-09-05"),
            text=text,
            percent=100,
            completed=True,
        ).revision


def rendered(row: Notification, lang: str = "zh") -> Rendered:
    """The message as its recipient reads it, from the payload the domain queued (strict: a missing
    key fails)."""
    return render(
        row.kind,
        lang,
        row.payload,
        office=OFFICE_NAME,
        portal_url=PORTAL,
        recipient_name=row.recipient_name,
        created_at=row.created_at,
    )


def outbox(engine: Engine, *kinds: str) -> list[Notification]:
    with Session(engine) as session:
        rows = session.exec(select(Notification).order_by(Notification.id)).all()
        return [row for row in rows if not kinds or row.kind in kinds]


def payload_of(row: Notification) -> dict[str, Any]:
    return row.payload

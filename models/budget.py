"""The reminder budget (基层减负): at most `notify.max_per_person_per_day` messages reach one
person on one office day, across every kind and channel.

Enforced where messages are enqueued (`models.outbox.enqueue_new`), the one door every
reminder, escalation and notice passes, so that what would exceed the budget can be merged
rather than dropped: it joins the person's newest message of the day that no dispatcher has
taken yet (which becomes a `combined` digest), or else the person's combined digest of the
next working day, sent when that day's working hours open and counted against that day. Every
merged message keeps its own row (status `merged`, `merged_into` its carrier), so a rerun
finds its dedup key and merges nothing twice, and the office can see where each item went.

A person is the address the message goes to (`person_of`, lower-cased): the liaison of two units
is one person with one budget.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, update
from sqlmodel import Session, col, select

from models.clock import local_day, utc
from models.notification import Notification, NotificationStatus

if TYPE_CHECKING:
    from config.settings import Settings
    from models.calendar import WorkingCalendar

OPTION = "duban_budget"  # the engine execution option that carries the office's budget
COMBINED = "combined"  # the kind of a message that carries others


@dataclass(frozen=True)
class Budget:
    limit: int
    timezone: str
    calendar: WorkingCalendar
    opens_at: time  # the start of working hours: when a carried digest goes out

    @classmethod
    def from_settings(cls, settings: Settings) -> Budget:
        return cls(
            limit=settings.notify.max_per_person_per_day,
            timezone=settings.timezone,
            calendar=settings.working_calendar,
            opens_at=time.fromisoformat(settings.cycle.working_hours[0]),
        )

    def day(self, now: datetime) -> date:
        return local_day(now, self.timezone)

    def next_day(self, day: date) -> date:
        return self.calendar.add_working_days(day, 1)

    def opening(self, day: date) -> datetime:
        return datetime.combine(day, self.opens_at, ZoneInfo(self.timezone)).astimezone(UTC)


def attach(engine: Engine, settings: Settings) -> Engine:
    """The engine whose sessions enqueue under the office's budget."""
    return engine.execution_options(**{OPTION: Budget.from_settings(settings)})


def of(session: Session) -> Budget | None:
    budget: Budget | None = session.connection().get_execution_options().get(OPTION)
    return budget


def person_of(message: dict[str, Any]) -> str | None:
    """The person's e-mail, or the address of their first channel (a mobile) when they have none:
    one row per message and person, whichever channel carries it (its fallback moves the same
    row), so a digest is one message to one person."""
    address = message.get("recipient_email") or message.get("address")
    return address.strip().lower() if address else None


def spent(session: Session, persons: set[str], day: date) -> Counter[str]:
    """Messages each person already has on that day (merged ones ride inside another)."""
    if not persons:
        return Counter()
    rows = session.exec(
        select(Notification.person, func.count())
        .where(
            col(Notification.person).in_(persons),
            Notification.budget_day == day,
            Notification.status != NotificationStatus.MERGED,
        )
        .group_by(col(Notification.person))
    )
    return Counter({person: count for person, count in rows if person is not None})


def split(
    session: Session, budget: Budget, messages: list[dict[str, Any]], *, now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The new messages within each person's budget for today (stamped with person and day), and
    those over it."""
    today = budget.day(now)
    counts = spent(session, {p for m in messages if (p := person_of(m))}, today)
    within, over = [], []
    for m in messages:
        person = person_of(m)
        m = m | {"person": person, "budget_day": today if person else None}
        if person is None or counts[person] < budget.limit:
            counts[person or ""] += 1
            within.append(m)
        else:
            over.append(m)
    return within, over


def part(row_or_message: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": row_or_message["kind"],
        "key": row_or_message["dedup_key"],
        "unit_id": row_or_message.get("unit_id"),
        "payload": row_or_message["payload"],
    }


def parts_of(kind: str, payload: dict[str, Any], key: str, unit_id: int | None) -> list[Any]:
    if kind == COMBINED:
        return list(payload["parts"])
    return [part({"kind": kind, "payload": payload, "dedup_key": key, "unit_id": unit_id})]


def merge(session: Session, budget: Budget, message: dict[str, Any], *, now: datetime) -> int:
    """Put one over-budget message (its own row already stored as `merged`) into a carrier;
    return the carrier's id."""
    person, today = message["person"], message["budget_day"]
    carrier = _open_today(session, message, person, today) or _carrier(
        session, budget, message, now=now
    )
    session.execute(
        update(Notification)
        .where(col(Notification.dedup_key) == message["dedup_key"])
        .values(merged_into=carrier)
    )
    return carrier


def _open_today(session: Session, message: dict[str, Any], person: str, today: date) -> int | None:
    """Today's newest message to the person that no dispatcher has claimed, now carrying the
    message too; None when there is none (or a dispatcher took it meanwhile)."""
    query = (
        select(Notification)
        .where(
            Notification.person == person,
            Notification.budget_day == today,
            Notification.status == NotificationStatus.PENDING,
            col(Notification.attempts) == 0,
        )
        .order_by(col(Notification.id).desc())
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = session.exec(query).first()
    if row is None:
        return None
    return row.id if _absorb(session, row, message) else None


def _carrier(session: Session, budget: Budget, message: dict[str, Any], *, now: datetime) -> int:
    """The person's combined digest of the next working day (made on first need)."""
    day = budget.next_day(message["budget_day"])
    person = message["person"]
    key = f"{COMBINED}:{hashlib.sha256(person.encode()).hexdigest()[:20]}:{day.isoformat()}"
    query = select(Notification).where(Notification.dedup_key == key)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = session.exec(query).first()
    if row is not None and row.status == NotificationStatus.PENDING and row.attempts == 0:
        if _absorb(session, row, message):
            assert row.id is not None
            return row.id
    if row is not None:  # already on its way: the next day after it takes the message
        return _carrier(session, budget, message | {"budget_day": day}, now=now)
    at = utc(now)
    carrier = Notification(
        dedup_key=key,
        kind=COMBINED,
        unit_id=message.get("unit_id"),
        recipient_name=message.get("recipient_name"),
        recipient_email=message["recipient_email"],
        channel=message.get("channel", "email"),
        address=message.get("address", message["recipient_email"]),
        fallback=message.get("fallback", []),
        path=[],
        lang=message.get("lang", "zh"),
        payload={"parts": [part(message)]},
        next_attempt_at=max(at, budget.opening(day)),
        created_at=at,
        person=person,
        budget_day=day,
    )
    session.add(carrier)
    session.flush()
    assert carrier.id is not None
    return carrier.id


def _absorb(session: Session, row: Notification, message: dict[str, Any]) -> bool:
    """Turn the row into a combined digest that also holds the message; the update only lands
    while the row is still untouched by any dispatcher."""
    parts = [*parts_of(row.kind, row.payload, row.dedup_key, row.unit_id), part(message)]
    changed = session.execute(
        update(Notification)
        .where(
            col(Notification.id) == row.id,
            col(Notification.status) == NotificationStatus.PENDING,
            col(Notification.attempts) == 0,
        )
        .values(kind=COMBINED, payload={"parts": parts})
        .execution_options(synchronize_session=False)
    )
    session.expire(row)
    landed: int = changed.rowcount  # type: ignore[attr-defined]
    return landed == 1


def received_by_unit(session: Session, *, since: datetime, until: datetime) -> dict[int, int]:
    """Messages that reached each unit's people between the two moments (a combined digest is
    one message): what the 通报 and `duban status` show beside the budget."""
    rows = session.exec(
        select(Notification.unit_id, func.count())
        .where(
            Notification.status == NotificationStatus.SENT,
            col(Notification.unit_id).is_not(None),
            col(Notification.sent_at) >= utc(since),
            col(Notification.sent_at) <= utc(until),
        )
        .group_by(col(Notification.unit_id))
    )
    return {unit_id: count for unit_id, count in rows if unit_id is not None}


def held_until(engine: Engine, row: dict[str, Any], now: datetime) -> datetime | None:
    """The dispatcher's double check, right before a send: when the person has already received
    the day's budget (a retry of an earlier day's message, or two enqueuers that raced on
    PostgreSQL), the row waits for the next working day's opening instead."""
    budget: Budget | None = engine.get_execution_options().get(OPTION)
    person = row.get("person")
    if budget is None or not person:
        return None
    today = budget.day(now)
    zone_start = datetime.combine(today, time(), ZoneInfo(budget.timezone))
    with Session(engine) as session:
        received = session.exec(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.person == person,
                Notification.status == NotificationStatus.SENT,
                col(Notification.sent_at) >= utc(zone_start),
                col(Notification.id) != row["id"],
            )
        ).one()
    return budget.opening(budget.next_day(today)) if received >= budget.limit else None

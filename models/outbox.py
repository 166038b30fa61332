"""Enqueuing messages: an outbox row written in the caller's transaction, at most once per dedup
key.

The change that causes a message and the message itself commit together;
the dispatcher (`notifications.dispatch`) sends it afterwards. Enqueuing the
same dedup key twice is a no-op, so a rerun of a flow never doubles a message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from models.clock import utc
from models.notification import Notification, NotificationStatus


def enqueue_many(session: Session, messages: list[dict[str, Any]], *, now: datetime) -> int:
    """Insert the messages whose dedup key is new; return how many were new."""
    return len(enqueue_new(session, messages, now=now))


def enqueue_new(session: Session, messages: list[dict[str, Any]], *, now: datetime) -> set[str]:
    """Insert the messages whose dedup key is new; return those keys.

    Each message: kind, dedup_key, recipient_email, payload, and optionally
    recipient_name, unit_id, lang, and channel, address and fallback (models.recipients.message
    fills these from the person's route; without them the row is an e-mail to recipient_email).
    Under the office's reminder budget (`models.budget`, carried by the engine) a message over a
    person's day is stored as merged into another one.
    """
    if not messages:
        return set()
    from models import budget as budgets

    budget = budgets.of(session)
    if budget is None:
        return _insert(session, messages, now=now)
    within, over = budgets.split(session, budget, _unseen(session, messages), now=now)
    new = _insert(session, within, now=now)
    merged = _insert(session, over, now=now, status=NotificationStatus.MERGED)
    for m in over:
        if m["dedup_key"] in merged:  # a concurrent run may have stored it first
            budgets.merge(session, budget, m, now=now)
    return new | merged


def _unseen(session: Session, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages whose dedup key is not stored yet: a rerun spends no budget."""
    from sqlmodel import col, select

    from models.db import chunked_in

    keys = [m["dedup_key"] for m in messages]
    seen: set[str] = set()
    for among in chunked_in(col(Notification.dedup_key), keys):
        seen |= set(session.exec(select(Notification.dedup_key).where(among)))
    fresh: dict[str, dict[str, Any]] = {}
    for m in messages:
        if m["dedup_key"] not in seen:
            fresh.setdefault(m["dedup_key"], m)
    return list(fresh.values())


def _insert(
    session: Session,
    messages: list[dict[str, Any]],
    *,
    now: datetime,
    status: NotificationStatus = NotificationStatus.PENDING,
) -> set[str]:
    if not messages:
        return set()
    at = utc(now)
    rows = [
        {
            "dedup_key": m["dedup_key"],
            "kind": m["kind"],
            "unit_id": m.get("unit_id"),
            "recipient_name": m.get("recipient_name"),
            "recipient_email": m["recipient_email"],
            "channel": m.get("channel", "email"),
            "address": m.get("address", m["recipient_email"]),
            "fallback": m.get("fallback", []),
            "path": [],
            "lang": m.get("lang", "zh"),
            "subject": "",
            "body_text": "",
            "payload": m["payload"],
            "status": status.value,
            "attempts": 0,
            "next_attempt_at": at,
            "created_at": at,
            "person": m.get("person"),
            "budget_day": m.get("budget_day"),
        }
        for m in messages
    ]
    from sqlalchemy.dialects import postgresql, sqlite

    from models.db import table_of

    table = table_of(Notification)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(table.c.dedup_key)
    )
    # RETURNING yields only the rows actually inserted (drivers disagree on executemany's rowcount).
    return set(session.connection().execute(statement, rows).scalars())


def enqueue(session: Session, *, now: datetime, **message: Any) -> bool:
    """One message; False when its dedup key was already enqueued."""
    return enqueue_many(session, [message], now=now) == 1


def retry_dead(session: Session, *, ids: list[int] | None, actor: Any, now: datetime) -> list[int]:
    """Put dead-lettered messages (these, or all when `ids` is None) back in the queue with a fresh
    budget."""
    from sqlalchemy import update
    from sqlmodel import col, select

    from models import audit
    from models.notification import Notification, NotificationStatus

    query = select(Notification.id).where(Notification.status == NotificationStatus.DEAD)
    if ids is not None:
        query = query.where(col(Notification.id).in_(ids))
    chosen = [i for i in session.exec(query) if i is not None]  # a stored row always has its id
    if chosen:
        session.execute(
            update(Notification)
            .where(col(Notification.id).in_(chosen))
            .values(status=NotificationStatus.PENDING.value, attempts=0, next_attempt_at=now)
        )
        audit.record_many(
            session,
            [
                {
                    "at": now,
                    "actor": actor,
                    "action": "notification.retry",
                    "object_type": "notification",
                    "object_id": i,
                }
                for i in chosen
            ],
        )
    return chosen

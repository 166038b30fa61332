"""Reminder messages made in bulk for outbox and dispatch tests, and the outbox's statuses read back."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Engine
from sqlmodel import select

from models.db import reading
from models.notification import Notification
from notifications.samples import SAMPLES


def reminders(count: int, *, start: int = 0, email_of=lambda i: f"unit{i}@example.org") -> list[dict]:
    messages = []
    for i in range(start, start + count):
        payload = SAMPLES["reminder"] | {"unit": f"单位{i}", "items": [SAMPLES["reminder"]["items"][0] | {"checkin_id": 1000 + i, "assignment_id": 2000 + i}]}
        messages.append({"kind": "reminder", "dedup_key": f"reminder:round1:unit{i}:t-1:2022-09-29",
                         "recipient_email": email_of(i), "recipient_name": f"单位{i}联络员", "payload": payload})
    return messages


def statuses(engine: Engine) -> Counter:
    with reading(engine) as session:
        return Counter(session.exec(select(Notification.status)).all())

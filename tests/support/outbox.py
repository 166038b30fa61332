"""Reminder messages made in bulk for outbox and dispatch tests, and the outbox's statuses read
back."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import select

from config import Settings
from models.db import reading, unit_of_work
from models.notification import Notification
from models.outbox import enqueue_many
from notifications.samples import SAMPLES
from tests.support.smtp import MailServer


def reminders(
    count: int, *, start: int = 0, email_of=lambda i: f"unit{i}@example.org"
) -> list[dict]:
    messages = []
    for i in range(start, start + count):
        payload = SAMPLES["reminder"] | {
            "unit": f"单位{i}",
            "items": [
                SAMPLES["reminder"]["items"][0]
                | {"checkin_id": 1000 + i, "assignment_id": 2000 + i}
            ],
        }
        messages.append(
            {
                "kind": "reminder",
                "dedup_key": f"reminder:round1:unit{i}:t-1:2022-09-29",
                "recipient_email": email_of(i),
                "recipient_name": f"单位{i}联络员",
                "payload": payload,
            }
        )
    return messages


def statuses(engine: Engine) -> Counter:
    with reading(engine) as session:
        return Counter(session.exec(select(Notification.status)).all())


def smtp_settings(tmp_path: Path, server: MailServer, **extra) -> Settings:
    return Settings(
        home=tmp_path,
        mail_channel="smtp",
        smtp_host="127.0.0.1",
        smtp_port=server.port,
        mail_from="duban@office.example.org",
        mail_from_name="市未保办",
        office_name="市未成年人保护工作领导小组办公室",
        portal_url="http://portal.example.org",
        **{"dispatch_batch": 10, "retry_base_s": 60} | extra,
    )


def fill(engine: Engine, messages: list[dict], now: datetime) -> None:
    with unit_of_work(engine) as session:
        enqueue_many(session, messages, now=now)


def clock(moment: datetime):
    return lambda: moment

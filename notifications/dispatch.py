"""The dispatcher: claim due outbox rows, send them, mark each one.

A claim is a conditional UPDATE that takes due rows (pending and due, or
claimed by someone whose lease ran out) and stamps them with this run's
token; on PostgreSQL the candidate rows are picked FOR UPDATE SKIP LOCKED,
on SQLite the immediate transaction serialises claimers. Each row is
marked right after its send, with the token in the WHERE clause, so two
dispatchers never send one row twice, and a crash between a send and its
mark repeats at most that one message.

Transient failures come back with exponential backoff and jitter up to a
cap; permanent ones (and rows out of attempts) are dead-lettered with the
reason, for the office to see and retry.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, and_, or_, select, update
from sqlmodel import Session

from models import audit
from models.clock import utc
from models.db import table_of, unit_of_work
from models.lifecycle import SYSTEM_ACTOR
from models.notification import Notification, NotificationStatus
from notifications.channels import Channel, DeliveryError
from notifications.mime import Envelope, compose, message_id_for
from notifications.render import render

if TYPE_CHECKING:
    from config import Settings

N = table_of(Notification).c
PENDING, CLAIMED, SENT, DEAD = (s.value for s in NotificationStatus)


@dataclass(frozen=True)
class RetryPolicy:
    base_s: int = 60
    cap_s: int = 3600
    max_attempts: int = 10

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """Exponential with "equal jitter": half the step fixed, half random, never above the
        cap."""
        step = min(self.cap_s, self.base_s * 2 ** max(0, attempts - 1))
        return timedelta(seconds=step / 2 + rng.uniform(0, step / 2))

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(settings.retry_base_s, settings.retry_cap_s, settings.retry_max_attempts)


@dataclass
class DispatchReport:
    held: str | None = None  # why nothing was sent now (outside working hours)
    sent: int = 0
    retried: int = 0
    dead: int = 0
    lost: int = 0  # marks refused because the claim had expired and been taken over
    errors: list[str] = field(default_factory=list)


def claim(engine: Engine, *, token: str, now: datetime, limit: int, lease: timedelta) -> list[dict[str, Any]]:
    """Take up to `limit` due rows for this run; return them as plain rows."""
    at = utc(now)
    due = or_(
        and_(N.status == PENDING, N.next_attempt_at <= at),
        and_(N.status == CLAIMED, N.claim_expires_at < at),
    )
    candidates = select(N.id).where(due).order_by(N.next_attempt_at, N.id).limit(limit)
    if engine.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    with unit_of_work(engine) as session:
        session.execute(
            update(Notification)
            .where(N.id.in_(candidates.scalar_subquery()))
            .values(status=CLAIMED, claimed_by=token, claim_expires_at=at + lease, attempts=N.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        rows = session.execute(select(table_of(Notification)).where(N.claimed_by == token, N.status == CLAIMED)
                               .order_by(N.id)).mappings().all()
    return [dict(row) for row in rows]


def _plain(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None  # compose() always writes the plain part
    text: str = body.get_content()
    return text


def _mark(session: Session, row_id: int, token: str, **values: Any) -> bool:
    """A conditional update: only the holder of the claim may record the outcome."""
    result = session.exec(
        update(Notification).where(N.id == row_id, N.claimed_by == token, N.status == CLAIMED)
        .values(claimed_by=None, claim_expires_at=None, **values).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def prepare(row: dict[str, Any], settings: Settings) -> EmailMessage:
    """Render and compose one outbox row; a payload or address the templates cannot take is
    permanent."""
    try:
        rendered = render(row["kind"], row["lang"], row["payload"], office=settings.office_name,
                          portal_url=settings.portal_url, recipient_name=row["recipient_name"],
                          created_at=row["created_at"])
        envelope = Envelope(
            sender_email=settings.mail_from, sender_name=settings.mail_from_name,
            recipient_email=row["recipient_email"] or "", recipient_name=row["recipient_name"],
            message_id=message_id_for(row["id"], row["dedup_key"], settings.mail_from), dedup_key=row["dedup_key"],
        )
        return compose(rendered, envelope, date=row["created_at"])
    except Exception as error:  # noqa: BLE001 — a template or an address error: no retry will fix it
        raise DeliveryError(f"cannot compose: {type(error).__name__}: {error}", permanent=True) from error


def dispatch(
    engine: Engine,
    channel: Channel,
    settings: Settings,
    *,
    now: Callable[[], datetime],
    worker: str = "dispatcher",
    limit: int | None = None,
    rng: random.Random | None = None,
) -> DispatchReport:
    """Send what is due, batch by batch, until nothing due is left (or `limit` rows were tried)."""
    policy = RetryPolicy.from_settings(settings)
    rng = rng or random.Random()
    lease = timedelta(seconds=settings.dispatch_lease_s)
    report = DispatchReport()
    if settings.dispatch_in_working_hours:
        from models.calendar import in_working_hours

        report.held = in_working_hours(now(), settings)
        if report.held:
            return report
    tried = 0
    while limit is None or tried < limit:
        token = f"{worker}:{uuid.uuid4().hex[:12]}"
        batch = min(settings.dispatch_batch, limit - tried) if limit else settings.dispatch_batch
        rows = claim(engine, token=token, now=now(), limit=batch, lease=lease)
        if not rows:
            break
        tried += len(rows)
        opened = _open(channel)
        for row in rows:
            try:
                if opened is not None:
                    raise opened
                message = prepare(row, settings)
                channel.send(message)
            except DeliveryError as failure:
                _failed(engine, row, token, failure, policy, rng, now(), report)
                continue
            with unit_of_work(engine) as session:
                done = _mark(session, row["id"], token, status=SENT, sent_at=utc(now()), last_error=None,
                             message_id=message["Message-ID"], subject=str(message["Subject"]),
                             body_text=_plain(message))
            report.sent += done
            report.lost += not done
        channel.close()
    return report


def _open(channel: Channel) -> DeliveryError | None:
    """Open the channel once per batch; if it cannot open, every row of the batch fails the same
    way."""
    try:
        channel.open()
    except DeliveryError as failure:
        return failure
    return None


def _failed(engine: Engine, row: dict[str, Any], token: str, failure: DeliveryError, policy: RetryPolicy,
            rng: random.Random, at: datetime, report: DispatchReport) -> None:
    out_of_attempts = row["attempts"] >= policy.max_attempts
    with unit_of_work(engine) as session:
        if failure.permanent or out_of_attempts:
            reason = failure.reason if failure.permanent else f"gave up after {row['attempts']} attempts: {failure.reason}"
            if _mark(session, row["id"], token, status=DEAD, last_error=reason[:2000]):
                report.dead += 1
                audit.record(session, at=at, actor=SYSTEM_ACTOR, action="notification.dead",
                             object_type="notification", object_id=row["id"], unit_id=row["unit_id"],
                             after={"kind": row["kind"], "to": row["recipient_email"]}, reason=reason[:500],
                             outcome="failed")
        elif _mark(session, row["id"], token, status=PENDING, last_error=failure.reason[:2000],
                   next_attempt_at=utc(at) + policy.delay(row["attempts"], rng)):
            report.retried += 1
    report.errors.append(f"#{row['id']}: {failure.reason}")

"""The dispatcher: claim due outbox rows, send them, mark each one.

A claim is a conditional UPDATE that takes due rows (pending and due, or
claimed by someone whose lease ran out) and stamps them with this run's
token; on PostgreSQL the candidate rows are picked FOR UPDATE SKIP LOCKED,
on SQLite the immediate transaction serialises claimers.

A batch can take longer to send than the lease (a slow relay), so the claim
on the batch is renewed by a conditional UPDATE right before each send, in
the transaction that marks the row before it; a row whose claim has passed
to another dispatcher meanwhile (this one stalled longer than the lease) is
skipped, never sent. Each row is marked
right after its send, with the token in the WHERE clause, so two
dispatchers never send one row twice, and a crash between a send and its
mark repeats at most that one message.

Transient failures come back with exponential backoff and jitter up to a
cap; permanent ones (and rows out of attempts) are dead-lettered with the
reason, for the office to see and retry. A message the server may have
taken (its answer lost after DATA) waits for the backoff too and is counted
on its row (`maybe_sent`). After `dispatch_breaker_failures` consecutive
transient failures to the channel's destination the run stops trying it
(a circuit breaker): the rest of the batch goes back to wait one backoff
step, without using up an attempt, and the run ends.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from functools import partial
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
PENDING, CLAIMED, SENT, DEAD = (
    NotificationStatus.PENDING.value,
    NotificationStatus.CLAIMED.value,
    NotificationStatus.SENT.value,
    NotificationStatus.DEAD.value,
)  # a merged row (models.budget) is never claimed: it goes out inside another


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
    maybe_sent: int = (
        0  # the server took the whole message, its answer was lost; retried after the backoff
    )
    taken_over: int = (
        0  # claimed rows another dispatcher took over before their turn came: not sent here
    )
    overran: int = (
        0  # sent, but the send outlasted the lease and another dispatcher holds the row now
    )
    deferred: int = 0  # claimed rows not tried because the circuit breaker opened
    breaker: str | None = None  # why the run stopped early: the destination and its last error
    errors: list[str] = field(default_factory=list)


def running_from(moment: datetime) -> Callable[[], datetime]:
    """A clock that starts at `moment` and then runs with real time.

    A simulated start (`--now`) must still let leases run out and be renewed
    on a real clock, or a slow batch could outlive its claim unseen.
    """
    started = time.monotonic()
    return lambda: moment + timedelta(seconds=time.monotonic() - started)


@dataclass
class Breaker:
    """Counts consecutive transient failures to one destination; open once there were `limit`."""

    destination: str
    limit: int
    failures: int = 0
    last: str = ""

    def failed(self, failure: DeliveryError) -> None:
        if failure.permanent:  # the destination answered: it is up
            self.failures = 0
            return
        self.failures += 1
        self.last = failure.reason

    def succeeded(self) -> None:
        self.failures = 0

    @property
    def open(self) -> bool:
        return self.failures >= self.limit

    def reason(self) -> str:
        return f"{self.failures} consecutive failures to {self.destination}, last: {self.last}"


def claim(
    engine: Engine, *, token: str, now: datetime, limit: int, lease: timedelta
) -> list[dict[str, Any]]:
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
            .values(
                status=CLAIMED,
                claimed_by=token,
                claim_expires_at=at + lease,
                attempts=N.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        rows = (
            session.execute(
                select(table_of(Notification))
                .where(N.claimed_by == token, N.status == CLAIMED)
                .order_by(N.id)
            )
            .mappings()
            .all()
        )
    return [dict(row) for row in rows]


def _plain(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None  # compose() always writes the plain part
    text: str = body.get_content()
    return text


def _mark(session: Session, row_id: int, token: str, **values: Any) -> bool:
    """A conditional update: only the holder of the claim may record the outcome."""
    result = session.exec(
        update(Notification)
        .where(N.id == row_id, N.claimed_by == token, N.status == CLAIMED)
        .values(claimed_by=None, claim_expires_at=None, **values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def prepare(row: dict[str, Any], settings: Settings) -> EmailMessage:
    """Render and compose one outbox row; a payload or address the templates cannot take is
    permanent."""
    try:
        rendered = render(
            row["kind"],
            row["lang"],
            row["payload"],
            office=settings.office_name,
            portal_url=settings.portal_url,
            recipient_name=row["recipient_name"],
            created_at=row["created_at"],
        )
        envelope = Envelope(
            sender_email=settings.mail_from,
            sender_name=settings.mail_from_name,
            recipient_email=row["recipient_email"] or "",
            recipient_name=row["recipient_name"],
            message_id=message_id_for(row["id"], row["dedup_key"], settings.mail_from),
            dedup_key=row["dedup_key"],
        )
        return compose(rendered, envelope, date=row["created_at"])
    except Exception as error:
        raise DeliveryError(
            f"cannot compose: {type(error).__name__}: {error}", permanent=True
        ) from error


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
    breaker = Breaker(
        getattr(channel, "destination", channel.name), settings.dispatch_breaker_failures
    )
    tried = 0
    while limit is None or tried < limit:
        token = f"{worker}:{uuid.uuid4().hex[:12]}"
        batch = min(settings.dispatch_batch, limit - tried) if limit else settings.dispatch_batch
        rows = claim(engine, token=token, now=now(), limit=batch, lease=lease)
        if not rows:
            break
        tried += len(rows)
        try:
            _send_batch(
                engine,
                channel,
                settings,
                rows,
                token=token,
                now=now,
                lease=lease,
                policy=policy,
                rng=rng,
                breaker=breaker,
                report=report,
            )
        finally:
            channel.close()
        if breaker.open:
            report.breaker = breaker.reason()
            break
    return report


def _send_batch(
    engine: Engine,
    channel: Channel,
    settings: Settings,
    rows: list[dict[str, Any]],
    *,
    token: str,
    now: Callable[[], datetime],
    lease: timedelta,
    policy: RetryPolicy,
    rng: random.Random,
    breaker: Breaker,
    report: DispatchReport,
) -> None:
    """Send one claimed batch; each row's outcome and the next row's renewed claim commit
    together."""
    opened = False
    held = True  # the first row was claimed a moment ago
    for index, row in enumerate(rows):
        outcome: Callable[[Session], None] | None = None
        failure: DeliveryError | None = None
        if held and not opened:
            try:
                # Again for each row until it opens, so each try counts for the breaker.
                channel.open()
                opened = True
            except DeliveryError as error:
                failure = error
            else:
                with unit_of_work(
                    engine
                ) as session:  # connecting can take a while: is the row still ours?
                    held = row["id"] in _renew(session, token, at=now(), lease=lease)
        if not held:
            report.taken_over += 1
        else:
            outcome = _attempt(
                row,
                channel,
                settings,
                failure,
                token=token,
                now=now,
                policy=policy,
                rng=rng,
                breaker=breaker,
                report=report,
            )
        rest = rows[index + 1 :]
        if outcome is None and not rest:
            return
        with unit_of_work(engine) as session:
            if outcome is not None:
                outcome(session)
            if rest and breaker.open:
                _defer(
                    session,
                    rest,
                    token=token,
                    reason=breaker.reason(),
                    policy=policy,
                    rng=rng,
                    at=now(),
                    report=report,
                )
                return
            held = bool(rest) and rest[0]["id"] in _renew(session, token, at=now(), lease=lease)


def _attempt(
    row: dict[str, Any],
    channel: Channel,
    settings: Settings,
    failure: DeliveryError | None,
    *,
    token: str,
    now: Callable[[], datetime],
    policy: RetryPolicy,
    rng: random.Random,
    breaker: Breaker,
    report: DispatchReport,
) -> Callable[[Session], None]:
    """Send one row the run still holds (unless the channel failed to open); its outcome."""
    if failure is None:
        try:
            message = prepare(row, settings)
            channel.send(message)
        except DeliveryError as error:
            failure = error
    if failure is not None:
        breaker.failed(failure)
        return partial(
            _failed,
            row=row,
            token=token,
            failure=failure,
            policy=policy,
            rng=rng,
            at=now(),
            report=report,
        )
    breaker.succeeded()
    return partial(_sent, row=row, token=token, message=message, at=now(), report=report)


def _renew(session: Session, token: str, *, at: datetime, lease: timedelta) -> set[int]:
    """Extend this run's claim on every row of its batch it still holds; return their ids.

    Run before each send, so a live dispatcher keeps its whole batch however slow the relay; a row
    missing from the answer passed to another dispatcher (ours had run out meanwhile) and is not
    sent. An expired claim still stamped with our token is ours to renew: nobody has taken the row.
    """
    result = session.execute(
        update(Notification)
        .where(N.claimed_by == token, N.status == CLAIMED)
        .values(claim_expires_at=utc(at) + lease)
        .returning(N.id)
        .execution_options(synchronize_session=False)
    )
    return set(result.scalars())


def _sent(
    session: Session,
    *,
    row: dict[str, Any],
    token: str,
    message: EmailMessage,
    at: datetime,
    report: DispatchReport,
) -> None:
    report.sent += 1
    if not _mark(
        session,
        row["id"],
        token,
        status=SENT,
        sent_at=utc(at),
        last_error=None,
        message_id=message["Message-ID"],
        subject=str(message["Subject"]),
        body_text=message.get_body(("plain",)).get_content(),  # type: ignore[union-attr]  # built with a plain part
    ):
        report.overran += 1
        report.errors.append(
            f"#{row['id']}: sent after its claim had passed to another dispatcher "
            f"(a send longer than DUBAN_DISPATCH_LEASE_S); it may arrive twice"
        )


def _defer(
    session: Session,
    rows: list[dict[str, Any]],
    *,
    token: str,
    reason: str,
    policy: RetryPolicy,
    rng: random.Random,
    at: datetime,
    report: DispatchReport,
) -> None:
    """Give back claimed rows the run will not try: they wait one backoff step, their attempt not
    used up."""
    for row in rows:
        tries = row["attempts"] - 1
        if _mark(
            session,
            row["id"],
            token,
            status=PENDING,
            attempts=tries,
            next_attempt_at=utc(at) + policy.delay(max(1, tries), rng),
            last_error=f"not tried: circuit open after {reason}"[:2000],
        ):
            report.deferred += 1


def _failed(
    session: Session,
    *,
    row: dict[str, Any],
    token: str,
    failure: DeliveryError,
    policy: RetryPolicy,
    rng: random.Random,
    at: datetime,
    report: DispatchReport,
) -> None:
    out_of_attempts = row["attempts"] >= policy.max_attempts
    maybe_sent = {"maybe_sent": N.maybe_sent + 1} if failure.maybe_sent else {}
    report.maybe_sent += failure.maybe_sent
    if failure.permanent or out_of_attempts:
        reason = (
            failure.reason
            if failure.permanent
            else f"gave up after {row['attempts']} attempts: {failure.reason}"
        )
        if _mark(session, row["id"], token, status=DEAD, last_error=reason[:2000], **maybe_sent):
            report.dead += 1
            audit.record(
                session,
                at=at,
                actor=SYSTEM_ACTOR,
                action="notification.dead",
                object_type="notification",
                object_id=row["id"],
                unit_id=row["unit_id"],
                after={"kind": row["kind"], "to": row["recipient_email"]},
                reason=reason[:500],
                outcome="failed",
            )
    elif _mark(
        session,
        row["id"],
        token,
        status=PENDING,
        last_error=failure.reason[:2000],
        next_attempt_at=utc(at) + policy.delay(row["attempts"], rng),
        **maybe_sent,
    ):
        report.retried += 1
    report.errors.append(f"#{row['id']}: {failure.reason}")

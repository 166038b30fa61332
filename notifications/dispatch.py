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

from sqlalchemy import Engine, and_, bindparam, or_, select, update
from sqlalchemy.sql.elements import ClauseElement
from sqlmodel import Session

from models import audit
from models.clock import local_time, utc
from models.db import table_of, unit_of_work
from models.lifecycle import SYSTEM_ACTOR
from models.notification import Notification, NotificationStatus
from notifications.channels import EMAIL, Channel, Channels, DeliveryError
from notifications.mime import Envelope, compose, message_id_for
from notifications.render import Rendered, render_row
from notifications.wire import Wire, wire

if TYPE_CHECKING:
    from config import Settings

NOTIFICATION = table_of(Notification)
N = NOTIFICATION.c
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
    rate_limited: int = 0  # rows that wait for their robot's next free slot (no attempt used)
    fell_back: int = 0  # rows dead on one channel, moved to the next of the person's list
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


def _due(at: datetime) -> Any:
    return or_(
        and_(N.status == PENDING, N.next_attempt_at <= at),
        and_(N.status == CLAIMED, N.claim_expires_at < at),
    )


def due_channels(engine: Engine, now: datetime) -> list[str]:
    """The channels with rows due, e-mail first."""
    with unit_of_work(engine) as session:
        names = set(session.execute(select(N.channel).where(_due(utc(now))).distinct()).scalars())
    return sorted(names, key=lambda name: (name != EMAIL, name))


def claim(
    engine: Engine,
    *,
    token: str,
    now: datetime,
    limit: int,
    lease: timedelta,
    channel: str | None = None,
) -> list[dict[str, Any]]:
    """Take up to `limit` due rows (of one channel, when named) for this run; return them as plain
    rows."""
    at = utc(now)
    due = _due(at)
    if channel is not None:
        due = and_(due, N.channel == channel)
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


_MARKS: dict[tuple[str, ...], Any] = {}  # one statement per set of columns a mark writes


def _mark(session: Session, row_id: int, token: str, **values: Any) -> bool:
    """A conditional update: only the holder of the claim may record the outcome.

    Values that are plain data go through one prepared statement per set of columns (built once
    per process: building an ORM update per row cost more than running it, issue 19); an
    expression (`maybe_sent + 1`) builds its statement each time.
    """
    values = {"claimed_by": None, "claim_expires_at": None, **values}
    if any(isinstance(v, ClauseElement) for v in values.values()):
        result = session.connection().execute(
            update(NOTIFICATION)
            .where(N.id == row_id, N.claimed_by == token, N.status == CLAIMED)
            .values(**values)
        )
        return result.rowcount == 1
    columns = tuple(sorted(values))
    statement = _MARKS.get(columns)
    if statement is None:
        statement = _MARKS[columns] = (
            update(NOTIFICATION)
            .where(
                N.id == bindparam("w_id"),
                N.claimed_by == bindparam("w_token"),
                N.status == CLAIMED,
            )
            .values({c: bindparam(f"v_{c}", type_=N[c].type) for c in columns})
        )
    result = session.connection().execute(
        statement, {"w_id": row_id, "w_token": token, **{f"v_{c}": values[c] for c in columns}}
    )
    return result.rowcount == 1


def _parts(row: dict[str, Any], settings: Settings) -> tuple[Rendered, Envelope]:
    rendered = render_row(row, settings)
    envelope = Envelope(
        sender_email=settings.mail_from,
        sender_name=settings.mail_from_name,
        recipient_email=row["recipient_email"] or "",
        recipient_name=row["recipient_name"],
        message_id=message_id_for(row["id"], row["dedup_key"], settings.mail_from),
        dedup_key=row["dedup_key"],
    )
    return rendered, envelope


def _dated(row: dict[str, Any], settings: Settings) -> datetime:
    """The Date header: the moment the row was queued, on the office's clock (+0800 in Beijing),
    as a clerk reading the raw message or the .eml file expects, not the stored UTC."""
    return local_time(row["created_at"], settings.timezone)


def _cannot_compose(error: Exception) -> DeliveryError:
    return DeliveryError(f"cannot compose: {type(error).__name__}: {error}", permanent=True)


def prepare(row: dict[str, Any], settings: Settings) -> EmailMessage:
    """Render and compose one outbox row; a payload or address the templates cannot take is
    permanent."""
    try:
        rendered, envelope = _parts(row, settings)
        return compose(rendered, envelope, date=_dated(row, settings))
    except Exception as error:
        raise _cannot_compose(error) from error


def prepare_wire(row: dict[str, Any], settings: Settings) -> Wire | EmailMessage:
    """The row as SMTP bytes (`notifications.wire`), or composed when only `compose` can write
    it; the same errors as `prepare`."""
    try:
        rendered, envelope = _parts(row, settings)
        date = _dated(row, settings)
        written = wire(rendered, envelope, date=date)
        return written if written is not None else compose(rendered, envelope, date=date)
    except Exception as error:
        raise _cannot_compose(error) from error


def dispatch(
    engine: Engine,
    channel: Channel | Channels,
    settings: Settings,
    *,
    now: Callable[[], datetime],
    worker: str = "dispatcher",
    limit: int | None = None,
    rng: random.Random | None = None,
) -> DispatchReport:
    """Send what is due, channel by channel and batch by batch, until nothing due is left (or
    `limit` rows were tried).

    `channel` serves the e-mail rows (DUBAN_MAIL_CHANNEL's); the rows of other channels (a row's
    `channel`) go by the classes `Channels` builds from the settings.
    """
    policy = RetryPolicy.from_settings(settings)
    rng = rng or random.Random()
    lease = timedelta(seconds=settings.dispatch_lease_s)
    report = DispatchReport()
    if settings.dispatch_in_working_hours:
        from models.calendar import in_working_hours

        report.held = in_working_hours(now(), settings)
        if report.held:
            return report
    channels = channel if isinstance(channel, Channels) else Channels(settings, email=channel)
    breakers: dict[str, Breaker] = {}
    tried = 0
    while limit is None or tried < limit:
        names = [n for n in due_channels(engine, now()) if not _stopped(breakers.get(n))]
        if not names:
            break
        name = names[0]
        chosen = channels[name]
        breaker = breakers.setdefault(
            name,
            Breaker(
                getattr(chosen, "destination", chosen.name), settings.dispatch_breaker_failures
            ),
        )
        token = f"{worker}:{uuid.uuid4().hex[:12]}"
        batch = min(settings.dispatch_batch, limit - tried) if limit else settings.dispatch_batch
        rows = claim(engine, token=token, now=now(), limit=batch, lease=lease, channel=name)
        if not rows:
            continue  # another dispatcher took them meanwhile
        tried += len(rows)
        try:
            _send_batch(
                engine,
                chosen,
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
            chosen.close()
        if breaker.open:
            report.breaker = breaker.reason()
    return report


def _stopped(breaker: Breaker | None) -> bool:
    return breaker is not None and breaker.open


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
    renewed = now()  # when the whole batch's claim was last extended
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
                    renewed = now()
                    held = row["id"] in _renew(session, token, at=renewed, lease=lease)
        if not held:
            report.taken_over += 1
        else:
            outcome = _attempt(
                engine,
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
            if rest:
                at = now()
                if at - renewed >= lease / 4:
                    renewed = at
                    held = rest[0]["id"] in _renew(session, token, at=at, lease=lease)
                else:
                    held = _keep(session, token, rest[0]["id"], at=at, lease=lease)


def _attempt(
    engine: Engine,
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
    sent: dict[str, Any] = {}
    out = None
    if failure is None:
        from models.budget import held_until

        held = held_until(engine, row, now())
        if held is not None:  # the person's day is full (models.budget): tomorrow, no attempt used
            return partial(_wait, row=row, token=token, until=held, report=report)
        try:
            if hasattr(channel, "deliver"):
                out = prepare_outgoing(engine, row, channel, settings, at=now())
                wait = _rate_slot(engine, channel, out, at=now())
                if wait is not None:
                    return partial(_wait, row=row, token=token, until=wait, report=report)
                receipt = channel.deliver(out)  # an SMS gateway's id and cost, "m1（1条计费）"
                sent = {
                    "message_id": receipt if isinstance(receipt, str) else None,
                    "subject": out.title,
                    "body_text": out.text,
                }
            else:
                sent = _send_email(row, channel, settings)
        except DeliveryError as error:
            failure = error
            if out is not None and error.retry_after_s:
                _hold(engine, channel, out, until=now() + timedelta(seconds=error.retry_after_s))
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
    return partial(_sent, row=row, token=token, sent=sent, at=now(), report=report)


def _send_email(row: dict[str, Any], channel: Channel, settings: Settings) -> dict[str, Any]:
    """Send one e-mail row; what its row records. A channel that takes bytes (SMTP) gets them
    written directly, any other the composed `EmailMessage`."""
    send_wire = getattr(channel, "send_wire", None)
    message = prepare_wire(row, settings) if send_wire is not None else prepare(row, settings)
    if isinstance(message, Wire):
        assert send_wire is not None
        send_wire(message)
        return {
            "message_id": message.message_id,
            "subject": message.subject,
            "body_text": message.text,
        }
    channel.send(message)
    return {
        "message_id": message["Message-ID"],
        "subject": str(message["Subject"]),
        "body_text": _plain(message),
    }


def prepare_outgoing(
    engine: Engine, row: dict[str, Any], channel: Any, settings: Settings, *, at: datetime
) -> Any:
    """The row's channel-neutral message, with its unit's robot as the directory holds it now."""
    from dataclasses import replace

    from models.unit import Unit
    from notifications.outgoing import outgoing

    robot = None
    if row["unit_id"] is not None and hasattr(channel, "robot_for"):
        with unit_of_work(engine) as session:
            unit = session.get(Unit, row["unit_id"])
            robot = channel.robot_for(unit) if unit is not None else None
    try:
        out = outgoing(row, settings, robot)
    except Exception as error:
        raise DeliveryError(
            f"无法生成消息：{type(error).__name__}: {error}", permanent=True
        ) from error
    return replace(out, at=at)


def _rate_slot(engine: Engine, channel: Any, out: Any, *, at: datetime) -> datetime | None:
    """Take the destination's send slot in its own transaction, committed before the request
    goes out; or when the next frees."""
    per_minute = getattr(channel, "per_minute", None)
    if not per_minute or out.robot is None:
        return None
    from notifications.ratelimit import take_slot

    with unit_of_work(engine) as session:
        return take_slot(session, channel.destination_for(out), per_minute=per_minute, at=at)


def _hold(engine: Engine, channel: Any, out: Any, *, until: datetime) -> None:
    if not getattr(channel, "per_minute", None) or out.robot is None:
        return
    from notifications.ratelimit import hold

    with unit_of_work(engine) as session:
        hold(session, channel.destination_for(out), until=until)


def _wait(
    session: Session,
    *,
    row: dict[str, Any],
    token: str,
    until: datetime,
    report: DispatchReport,
) -> None:
    """The robot's minute is full: the row waits for its slot, its attempt given back."""
    if _mark(
        session,
        row["id"],
        token,
        status=PENDING,
        attempts=row["attempts"] - 1,
        next_attempt_at=utc(until),
    ):
        report.rate_limited += 1


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


_KEEP = (
    update(NOTIFICATION)
    .where(N.id == bindparam("w_id"), N.claimed_by == bindparam("w_token"), N.status == CLAIMED)
    .values(claim_expires_at=bindparam("v_until"))
)


def _keep(session: Session, token: str, row_id: int, *, at: datetime, lease: timedelta) -> bool:
    """Extend the claim on the one row about to be sent; whether it is still ours.

    Between the batch's renewals (every quarter lease), this is what stands between a row and a
    second sender: a row another dispatcher took over (our claim had run out by its clock) is not
    ours any more and is skipped. One row's update instead of the whole batch's before every send
    (issue 19); the rest of the batch keeps at least three quarters of a lease.
    """
    result = session.connection().execute(
        _KEEP, {"w_id": row_id, "w_token": token, "v_until": utc(at) + lease}
    )
    return bool(result.rowcount == 1)


def _sent(
    session: Session,
    *,
    row: dict[str, Any],
    token: str,
    sent: dict[str, Any],
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
        # Sent by another channel than one that failed: the failure stays, for the office's page.
        last_error=row["last_error"] if _fell_back(row) else None,
        path=[*row["path"], {"channel": row["channel"], "outcome": "sent"}],
        **sent,
    ):
        report.overran += 1
        report.errors.append(
            f"#{row['id']}: sent after its claim had passed to another dispatcher "
            f"(a send longer than DUBAN_DISPATCH_LEASE_S); it may arrive twice"
        )


def _fell_back(row: dict[str, Any]) -> bool:
    return any(leg.get("channel") != row["channel"] for leg in row["path"])


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
        if row["fallback"]:
            _fall_back(session, row=row, token=token, reason=reason, at=at, report=report)
        elif _mark(
            session,
            row["id"],
            token,
            status=DEAD,
            last_error=reason[:2000],
            path=[
                *row["path"],
                {"channel": row["channel"], "outcome": "dead", "reason": reason[:300]},
            ],
            **maybe_sent,
        ):
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
    else:
        delay = policy.delay(row["attempts"], rng)
        if failure.retry_after_s is not None:  # the service said how long: never sooner
            delay = max(delay, timedelta(seconds=failure.retry_after_s))
        if _mark(
            session,
            row["id"],
            token,
            status=PENDING,
            last_error=failure.reason[:2000],
            next_attempt_at=utc(at) + delay,
            **maybe_sent,
        ):
            report.retried += 1
    report.errors.append(f"#{row['id']}: {failure.reason}")


def _fall_back(
    session: Session,
    *,
    row: dict[str, Any],
    token: str,
    reason: str,
    at: datetime,
    report: DispatchReport,
) -> None:
    """Dead on this channel: the same row goes on by the next channel of the person's list, at once
    and with a fresh budget of attempts; the dead leg stays in its path."""
    (channel, address), *rest = row["fallback"]
    leg = {"channel": row["channel"], "outcome": "dead", "reason": reason[:300]}
    email = {"recipient_email": address} if channel == EMAIL else {}
    if _mark(
        session,
        row["id"],
        token,
        status=PENDING,
        channel=channel,
        address=address,
        fallback=rest,
        path=[*row["path"], leg],
        attempts=0,
        next_attempt_at=utc(at),
        last_error=reason[:2000],
        **email,
    ):
        report.fell_back += 1
        audit.record(
            session,
            at=at,
            actor=SYSTEM_ACTOR,
            action="notification.fallback",
            object_type="notification",
            object_id=row["id"],
            unit_id=row["unit_id"],
            before={"channel": row["channel"]},
            after={"channel": channel},
            reason=reason[:500],
            outcome="failed",
        )

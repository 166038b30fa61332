"""Login throttling that slows guessing and cannot be turned into a lock-out.

Two counters, each a row of `login_throttle`: one per (user name, address) pair and one per
address. After `login_max_failures` failures of a pair (`login_address_max_failures` of an
address) it waits `login_delay_base_s`, and each further failure doubles the wait up to
`login_delay_cap_s`. While a wait runs, attempts from there are answered 429 with Retry-After and
no password is checked, so guessing gets no faster by trying harder. There is deliberately no
counter per name across addresses: that is what let anyone lock the office out. The owner, from
another address, logs in as usual while the attacker's address waits.

Failures are forgotten (the row deleted) after `login_window_minutes` without one, once the wait
is over; a right password forgets its own pair at once, never the address (an attacker with one
account of his own must not reset his address between guesses). The rows are in the database
because the portal runs several worker processes that must count the same failures. The library
`limits` was considered: its storages are memory, Redis, Memcached and MongoDB, not our SQL
database, and it counts fixed windows rather than growing delays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, update
from sqlmodel import Session, col, select

from models.clock import utc
from models.errors import NotFound
from models.user import LoginThrottle

PAIR, ADDRESS = "pair", "address"
SCOPE_ZH = {PAIR: "用户名+地址", ADDRESS: "地址"}
PRUNE_BATCH = 500


@dataclass(frozen=True)
class Wait:
    """A throttle whose delay is running: who waits, until when."""

    throttle_id: int
    scope: str
    username: str
    ip: str
    until: datetime

    def retry_after(self, now: datetime) -> int:
        """Whole seconds for the Retry-After header (never 0: the wait is still on)."""
        return max(1, math.ceil((utc(self.until) - utc(now)).total_seconds()))


def delay_for(failures: int, *, free: int, base: float, cap: float) -> float:
    """Seconds to wait after the n-th failure: none before `free`, then base, 2×base, 4×base … up to
    cap."""
    if failures < free:
        return 0.0
    return min(cap, base * 2 ** min(failures - free, 64))


def key_name(username: str) -> str:
    """The name as counted: cut to the column, NUL (which PostgreSQL refuses) replaced."""
    return username.replace("\x00", "\ufffd")[:100]


def key_ip(ip: str | None) -> str:
    return (ip or "")[:64]


def waiting(session: Session, username: str, ip: str | None, *, now: datetime) -> Wait | None:
    """The running wait for this name from this address (or for the address), the longer one; None
    if free."""
    name, address = key_name(username), key_ip(ip)
    rows = session.exec(
        select(LoginThrottle).where(
            LoginThrottle.ip == address,
            col(LoginThrottle.blocked_until) > utc(now),
            or_(
                col(LoginThrottle.scope) == ADDRESS,
                (col(LoginThrottle.scope) == PAIR) & (col(LoginThrottle.username) == name),
            ),
        )
    ).all()
    if not rows:
        return None
    row = max(rows, key=lambda r: utc(r.blocked_until))
    return Wait(row.id, row.scope, row.username, row.ip, utc(row.blocked_until))


def note_failure(
    session: Session, username: str, ip: str | None, *, settings: Any, now: datetime
) -> None:
    """Count a failed login for the pair and the address; start or lengthen their waits."""
    now = utc(now)
    forgotten = now - timedelta(minutes=settings.login_window_minutes)
    counters = (
        (PAIR, key_name(username), settings.login_max_failures),
        (ADDRESS, "", settings.login_address_max_failures),
    )
    for scope, name, free in counters:
        row = _claim(session, scope, name, key_ip(ip), now)
        if utc(row.last_failure_at) < forgotten and (
            row.blocked_until is None or utc(row.blocked_until) <= now
        ):
            row.failures, row.first_failure_at = 0, now  # a quiet spell: start counting again
        row.failures += 1
        row.last_failure_at = now
        delay = delay_for(
            row.failures,
            free=free,
            base=settings.login_delay_base_s,
            cap=settings.login_delay_cap_s,
        )
        if delay:
            row.blocked_until = now + timedelta(seconds=delay)
        session.add(row)
    prune(session, settings=settings, now=now)


def _claim(session: Session, scope: str, name: str, ip: str, now: datetime) -> LoginThrottle:
    """The counter row, created if missing and locked for this transaction (another worker may race
    us)."""
    values = {
        "scope": scope,
        "username": name,
        "ip": ip,
        "failures": 0,
        "first_failure_at": now,
        "last_failure_at": now,
    }
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    session.execute(insert(LoginThrottle).values(**values).on_conflict_do_nothing())
    return session.exec(
        select(LoginThrottle)
        .where(LoginThrottle.scope == scope, LoginThrottle.username == name, LoginThrottle.ip == ip)
        .with_for_update()
    ).one()


def forget_pair(session: Session, username: str, ip: str | None) -> None:
    """The right password: this name from this address starts afresh (the address's count stays)."""
    session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.scope == PAIR,
            LoginThrottle.username == key_name(username),
            LoginThrottle.ip == key_ip(ip),
        )
    )


def prune(session: Session, *, settings: Any, now: datetime) -> None:
    """Delete throttles whose failures are forgotten and whose wait is over: the table stays
    small."""
    forgotten = utc(now) - timedelta(minutes=settings.login_window_minutes)
    # Rows another login holds are skipped (PostgreSQL's SKIP LOCKED): two logins pruning each
    # other's rows would otherwise deadlock. A batch at a time keeps each login's share of the work
    # small.
    stale = session.exec(
        select(LoginThrottle.id)
        .where(
            col(LoginThrottle.last_failure_at) < forgotten,
            or_(
                col(LoginThrottle.blocked_until).is_(None),
                col(LoginThrottle.blocked_until) <= utc(now),
            ),
        )
        .limit(PRUNE_BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    if stale:
        session.execute(delete(LoginThrottle).where(col(LoginThrottle.id).in_(stale)))


def claim_notice(session: Session, wait: Wait) -> bool:
    """True once per wait: the caller puts that wait on the audit trail, the next refusals in it do
    not.

    A conditional UPDATE, so that two workers refusing at the same moment write one event."""
    done = session.execute(
        update(LoginThrottle)
        .where(
            col(LoginThrottle.id) == wait.throttle_id,
            or_(
                col(LoginThrottle.noted_until).is_(None),
                col(LoginThrottle.noted_until) != wait.until,
            ),
        )
        .values(noted_until=wait.until)
    )
    return done.rowcount == 1


def current(session: Session, *, now: datetime) -> list[LoginThrottle]:
    """Every throttle still counting, those waiting first (the office's page)."""
    rows = session.exec(select(LoginThrottle)).all()
    return sorted(
        rows,
        key=lambda r: (
            r.blocked_until is None or utc(r.blocked_until) <= utc(now),
            -r.failures,
            r.ip,
            r.username,
        ),
    )


def clear(session: Session, throttle_id: int) -> LoginThrottle:
    """Forget one throttle (the office knows the address is its own); returns what was cleared."""
    row = session.get(LoginThrottle, throttle_id)
    if row is None:
        raise NotFound(kind="login throttle", kind_zh="登录限制", key=str(throttle_id))
    session.delete(row)
    return row

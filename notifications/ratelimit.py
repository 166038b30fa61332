"""A per-destination send limit shared by every dispatcher: a sliding-window log in the database.

A robot allows 20 messages a minute (DingTalk bans it for 10 minutes past that), counted by the
service over any minute. A token bucket refilling while it is drained would let 40 through in
one minute; the log counts the sends of the last window exactly. Each send takes its slot in the
dispatcher's own transaction before the request goes out (on PostgreSQL the destination's rows
are locked first, on SQLite the immediate transaction serialises dispatchers), so two
dispatchers never both take the twentieth slot. A slot is kept even when the send fails: the
service counted the request. When the service says to stop anyway (DingTalk's 10-minute ban,
WeCom's 45009) the destination is held until then, so the rest of the queue waits instead of
asking again row by row.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlmodel import Session

from models.clock import utc
from models.db import table_of
from models.notification import RateSlot

S = table_of(RateSlot).c
# The window, with a margin for the time between taking a slot and the service receiving the
# request, so that the service's minute never holds one more than ours.
WINDOW = timedelta(seconds=61)


def take_slot(
    session: Session, destination: str, *, per_minute: int, at: datetime
) -> datetime | None:
    """Take a send slot now (None), or say when the next one frees (nothing taken)."""
    at = utc(at)
    since = at - WINDOW
    if session.get_bind().dialect.name == "postgresql":
        # Serialise takers of one destination for this transaction.
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:d))"), {"d": f"rate:{destination}"}
        )
    held = session.execute(
        select(func.max(S.at)).where(S.destination == _HOLD + destination, S.at > at)
    ).scalar()
    if held is not None:
        return utc(held)
    session.execute(delete(RateSlot).where(S.destination == destination, S.at <= since))
    session.execute(delete(RateSlot).where(S.destination == _HOLD + destination, S.at <= at))
    taken = session.execute(
        select(func.count(), func.min(S.at)).where(S.destination == destination, S.at > since)
    ).one()
    count, oldest = taken
    if count >= per_minute:
        return utc(oldest) + WINDOW
    session.add(RateSlot(destination=destination, at=at))
    session.flush()
    return None


_HOLD = "hold:"


def hold(session: Session, destination: str, *, until: datetime) -> None:
    """The service said to stop (a ban, its own limit): no dispatcher sends there before `until`."""
    session.add(RateSlot(destination=_HOLD + destination, at=utc(until)))
    session.flush()

"""Time at the edges: the domain takes `now` as an argument and stores aware UTC.

SQLModel's UTCDateTime columns refuse naive datetimes and return aware UTC
ones (SQLite keeps no zone, so it stores the UTC wall time); `utc` is the one
place where a caller's moment becomes that.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def utc(moment: datetime) -> datetime:
    """The moment in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def utc_now() -> datetime:
    """The real clock, for the CLI's default `--now`."""
    return datetime.now(UTC)


def parse_moment(text: str, *, timezone: str) -> datetime:
    """A moment a person typed (`--now`, `--since`, a portal filter), in UTC: ISO 8601; a time
    without a zone, or a date alone (the start of that day), is the office's time, because a clerk
    who types 10:00 means 10:00 on the office's clock; an explicit offset or Z is honoured."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.astimezone(UTC)


def local_time(moment: datetime, timezone: str) -> datetime:
    """The moment on the office's clock; a naive datetime is taken to be UTC, as stored."""
    return utc(moment).astimezone(ZoneInfo(timezone))


def local_day(moment: datetime, timezone: str) -> date:
    """The office's calendar day at this moment (deadlines and ladders count in local days)."""
    return local_time(moment, timezone).date()

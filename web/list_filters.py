"""A list page's filters as the query string carries them: each one read and checked here, so that
a hostile value (a word not in the list, a date that is no date, a number of 400 digits) is refused
with a Chinese message naming the filter (422, the portal's error page with a way back) before any
query runs, and the page, its page links and its export all read the same values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from models.numbers import number_in_text
from web.bounds import INT32_MAX, InputRefused, label


def choice(name: str, value: str | None, choices: Mapping[str, str]) -> str | None:
    """One of `choices`' codes, or None when the filter is not set."""
    if not value:
        return None
    if value not in choices:
        raise InputRefused(f"“{label(name)}”的值“{value[:20]}”无效，请从列表中选择")
    return value


def number(name: str, value: str | None) -> int | None:
    """A positive whole number typed in a filter (a task's 序号, a unit's or a round's 编号)."""
    if not value:
        return None
    found = number_in_text(value.strip())
    if found is None or not 1 <= found <= INT32_MAX:
        raise InputRefused(f"“{label(name)}”应为正整数，收到“{value[:20]}”")
    return found


def day(name: str, value: str | None) -> date | None:
    """A day typed as YYYY-MM-DD (what a date input sends)."""
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InputRefused(
            f"“{label(name)}”应为日期 YYYY-MM-DD（如 2022-09-01），收到“{value[:20]}”"
        ) from None


def day_range(since: str | None, until: str | None) -> tuple[date | None, date | None]:
    """Both ends of a range of days, each included; an end before its start is refused."""
    start, end = day("since", since), day("until", until)
    if start and end and end < start:
        raise InputRefused(f"“{label('until')}”{end} 早于“{label('since')}”{start}，请重新选择")
    return start, end


def day_filters(since: str | None, until: str | None) -> dict[str, str]:
    """`day_range` as a list's filters: each end an ISO day, "" when open."""
    start, end = day_range(since, until)
    return {"since": start.isoformat() if start else "", "until": end.isoformat() if end else ""}

"""Time runs forwards: an action on an assignment is never dated before the assignment's last one.

The CLI's `--now` makes a simulated clock possible, and with it a typo that files a report after
its verification, which the 通报 as of a date would then show in the wrong order. So an action
earlier than the last one is refused, naming that moment in Beijing time, unless the office
forces it (`forced_clock()`, the CLI's `--force-time`), and then the audit event says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from models.clock import utc
from models.errors import DubanError

SHOWN_IN = ZoneInfo("Asia/Shanghai")  # people see Beijing time (DESIGN: storage is UTC)

_forced: ContextVar[bool] = ContextVar("duban_clock_forced", default=False)


class TimeBeforeLastAction(DubanError):
    zh = (
        "{subject_zh}：时间 {now} 早于上一次操作 {last}（北京时间），未做任何改动；确需补录请加 "
        "--force-time。"
    )
    en = (
        "{subject}: the time {now} is earlier than its last action at {last} (Beijing time); "
        "nothing changed. To record it anyway, pass --force-time"
    )
    exit_code = 4


@contextmanager
def forced_clock() -> Iterator[None]:
    """Within this block, actions dated before an assignment's last one are allowed (and audited as
    forced)."""
    token = _forced.set(True)
    try:
        yield
    finally:
        _forced.reset(token)


def check_order(
    last: datetime | None, now: datetime, names: Callable[[], dict[str, str]]
) -> dict[str, Any]:
    """Refuse `now` before `last`; when forced, return what the audit event records of it (else
    {})."""
    if last is None or utc(now) >= utc(last):
        return {}
    if _forced.get():
        return {
            "clock_forced": {"last_action_at": utc(last).isoformat(), "at": utc(now).isoformat()}
        }
    raise TimeBeforeLastAction(now=_shown(now), last=_shown(last), **names())


def _shown(moment: datetime) -> str:
    return utc(moment).astimezone(SHOWN_IN).strftime("%Y-%m-%d %H:%M")

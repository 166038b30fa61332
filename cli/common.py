"""What every command shares: options, settings, the clock, the actor, the database."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from config import Settings
    from models.lifecycle import Actor

NowOption = Annotated[
    str | None,
    typer.Option(
        "--now",
        help="当前时间（ISO 8601，默认系统时钟）/ the current time, ISO 8601; default: the clock",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="输出 JSON / machine-readable output")]
ForceTimeOption = Annotated[
    bool,
    typer.Option(
        "--force-time",
        help="补录：允许 --now 早于该事项上一次操作（审计记录注明）/ record an action dated "
        "before the item's last one (the audit event says so)",
    ),
]


def clock(force: bool):
    """The office's explicit `--force-time`, or the normal rule that time runs forwards."""
    from contextlib import nullcontext

    from models.timeline import forced_clock

    return forced_clock() if force else nullcontext()


def settings() -> Settings:
    from config import get_settings

    return get_settings()


# The simulated clock may run anywhere an office's work can be, but not to where date arithmetic
# overflows (year 1 or 9999) or a count of working days would take minutes.
FIRST_YEAR, LAST_YEAR = 2000, 2199


def now_from(text: str | None) -> datetime:
    from models.clock import parse_moment, utc_now

    if text is None:
        return utc_now()
    try:
        moment = parse_moment(text, timezone=settings().timezone)
    except (ValueError, OverflowError):
        raise typer.BadParameter(
            f"{text!r} — 应为 ISO 8601 时间 / expected an ISO 8601 time", param_hint="--now"
        ) from None
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise typer.BadParameter(
            f"{text!r} — 应在 {FIRST_YEAR} 年至 {LAST_YEAR} 年之间 / expected a time between "
            f"{FIRST_YEAR} and {LAST_YEAR}",
            param_hint="--now",
        )
    return moment


def numbers_from(text: str | None, option: str) -> list[int] | None:
    """A list of task numbers as an office types it: "1,5,12" or "1，5，12"; anything else names the
    bad part."""
    if not text:
        return None
    parts = [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]
    bad = [part for part in parts if not part.isascii() or not part.isdigit()]
    if bad or not parts:
        raise typer.BadParameter(
            f"“{bad[0] if bad else text}”不是任务序号，应如 1,5,12 / {bad[0] if bad else text!r} "
            "is not a task number: write e.g. 1,5,12",
            param_hint=option,
        )
    return [int(part) for part in parts]


def actor_for(config: Settings) -> Actor:
    """The CLI is the office's console: it acts as office admin, under the name DUBAN_ACTOR or the
    login."""
    import getpass

    from models.lifecycle import Actor, Role

    return Actor(name=config.actor or f"cli:{getpass.getuser()}", role=Role.OFFICE_ADMIN)


def engine_for(config: Settings, *, require_current: bool = True) -> Engine:
    from sqlalchemy.engine import make_url

    from models.db import engine_for as cached_engine
    from models.schema import require_current as check

    url = make_url(config.resolved_database_url)
    if (
        require_current
        and url.get_backend_name() == "sqlite"
        and url.database not in (None, "", ":memory:")
    ):
        from pathlib import Path

        from models.errors import DatabaseNotReady

        # Opening a SQLite file that is not there creates an empty one: only `duban init` may do
        # that.
        if not Path(url.database).exists():
            raise DatabaseNotReady(url=url.render_as_string(hide_password=True))
    engine = cached_engine(config.resolved_database_url, config.sqlite_busy_timeout_ms)
    if require_current:
        check(engine)
    from models.budget import attach

    return attach(engine, config)

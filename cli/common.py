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
    typer.Option("--now", help="当前时间（ISO 8601，默认系统时钟）/ the current time, ISO 8601; default: the clock"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="输出 JSON / machine-readable output")]


def settings() -> Settings:
    from config import get_settings

    return get_settings()


def now_from(text: str | None) -> datetime:
    from models.clock import parse_moment, utc_now

    if text is None:
        return utc_now()
    try:
        return parse_moment(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} — 应为 ISO 8601 时间 / expected an ISO 8601 time", param_hint="--now") from None


def actor_for(config: Settings) -> Actor:
    """The CLI is the office's console: it acts as office admin, under the name DUBAN_ACTOR or the
    login."""
    import getpass

    from models.lifecycle import Actor, Role

    return Actor(name=config.actor or f"cli:{getpass.getuser()}", role=Role.OFFICE_ADMIN)


def engine_for(config: Settings, *, require_current: bool = True) -> Engine:
    from models.db import engine_for as cached_engine
    from models.schema import require_current as check

    engine = cached_engine(config.resolved_database_url, config.sqlite_busy_timeout_ms)
    if require_current:
        check(engine)
    return engine

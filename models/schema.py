"""Creating and upgrading the database schema with Alembic.

`HEAD` names the newest migration so that everyday commands can check the
database is current with one small query, without importing Alembic
(a test keeps it equal to the migrations' real head).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, inspect, text

from models.errors import DatabaseNotReady

# 0008 → 0009 (filing versions) → 0010 (channels) → 0011 (budget) → 0013 (通报 numbers) → 0014
# (催办) → 0015 (reporting cadence) → 0016 (plan archive) → 0017 (暂停) → 0018 (退办) → 0020
# (notes on escalated items) → 0021 (领导批示) → 0022 (the desk's row of each escalated item) →
# 0023 (covering indexes for the pages) → 0024 (each 批示 its own desk item); no 0012 or 0019: set
# aside for work that needed no migration.
HEAD = "0024"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def current_revision(engine: Engine) -> str | None:
    """The schema's revision, read without the write lock: every command checks it at start-up,
    and a reader must not queue behind a writer for it (nor fail when the writer outlasts its
    wait)."""
    from models.db import read_only

    with read_only(engine).connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Create or upgrade to the newest schema; harmless when already there. Returns (before,
    after)."""
    from alembic import command
    from alembic.config import Config

    before = current_revision(engine)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return before, current_revision(engine)


def require_current(engine: Engine) -> None:
    """Refuse to work on a database that `duban init` has not brought up to date."""
    if current_revision(engine) != HEAD:
        raise DatabaseNotReady(url=engine.url.render_as_string(hide_password=True))

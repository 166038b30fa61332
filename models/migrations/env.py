"""Alembic environment: migrates the database named by duban's settings.

`duban init` passes its own connection in `config.attributes["connection"]`;
the Alembic command line falls back to DUBAN_DATABASE_URL / the SQLite default.
"""

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import models  # noqa: F401  (registers every table on the metadata)

target_metadata = SQLModel.metadata


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    from config import get_settings
    from models.db import make_engine

    settings = get_settings()
    engine = make_engine(
        settings.resolved_database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
    )
    with engine.connect() as connection:
        _migrate(connection)
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("duban migrations run online only")
run()

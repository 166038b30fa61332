"""Engines and units of work for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with a busy timeout, and every write transaction
starts with BEGIN IMMEDIATE: a deferred transaction that reads and then
writes fails at once with "database is locked" when another writer got in
between, whereas an immediate one waits its turn. Reads use plain BEGIN so
they never queue behind writers.

PostgreSQL lets writers run side by side, so a command that reads what is
there and then creates what is missing (open a round, raise escalations,
import a notice or a directory) first takes its turn (`take_turn`): a second
run of it waits for the first to commit, then finds the work done.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Date, Engine, Table, cast, create_engine, event, func, text
from sqlalchemy.engine import make_url
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.operators import ColumnOperators
from sqlmodel import Session, SQLModel

_BEGIN_OPTION = "duban_sqlite_begin"


class Stored(Protocol):
    id: int | None


def id_of(row: Stored) -> int:
    """The id of a row that has been flushed (SQLModel types every id as optional, for new rows)."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id before it is flushed")
    return row.id


def table_of(model: type[SQLModel]) -> Table:
    """The Core table behind a table model, for bulk statements."""
    table: Table = model.__table__  # type: ignore[attr-defined]  # SQLModel sets it but does not declare it
    return table


_V = TypeVar("_V")

# An IN list binds one parameter a value, and a database refuses a statement with too many: SQLite
# allows 32,766 (999 before 3.32), PostgreSQL 65,535. A province's worth of ids (100,000) is read
# in chunks of this many, which leaves room for the statement's other parameters.
IN_LIST_MAX = 5000


def chunks(values: Sequence[_V], size: int = IN_LIST_MAX) -> Iterator[Sequence[_V]]:
    """`values` in order, `size` at a time (the last chunk may be shorter; none if empty)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def chunked_in(column: ColumnOperators, values: Sequence[Any]) -> Iterator[ColumnElement[bool]]:
    """`column IN (...)` over `values`, one bounded IN list (`chunks`) at a time: a query run once
    with each finds what one unbounded IN would."""
    for chunk in chunks(values):
        condition: ColumnElement[bool] = column.in_(chunk)  # type: ignore[assignment]
        yield condition


def _to_json(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


# JSON columns (payloads of thousands of messages, check-in evidence) go through orjson.
JSON_OPTIONS = {"json_serializer": _to_json, "json_deserializer": orjson.loads}


def make_engine(url: str, *, busy_timeout_ms: int = 30_000, echo: bool = False) -> Engine:
    """An engine for `url`, with the per-backend settings duban relies on.

    `hide_parameters`: a database error's message and the SQL log never carry the bound values,
    which include CSRF tokens, session-token hashes and whatever a person typed.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            url, echo=echo, pool_pre_ping=True, hide_parameters=True, **JSON_OPTIONS
        )
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        hide_parameters=True,
        connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
        **JSON_OPTIONS,
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own
        # implicit BEGIN is always DEFERRED).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # SQLite knows no time zones: `local_day_sql` asks Python for the office's day.
        dbapi_connection.create_function(
            "duban_local_day", 2, _sqlite_local_day, deterministic=True
        )

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


@lru_cache(maxsize=4096)
def _sqlite_local_day(stored: str | None, timezone: str) -> str | None:
    """The local day (ISO) of a UTC wall time as SQLite stores it; cached, as days repeat."""
    if stored is None:
        return None
    moment = datetime.fromisoformat(stored).replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(timezone)).date().isoformat()


def local_day_sql(moment: Any, timezone: str, dialect: str) -> ColumnElement[Any]:
    """The office's calendar day of a UTC moment column, in SQL (to sort or group by)."""
    if dialect == "sqlite":
        return func.duban_local_day(moment, timezone)
    return cast(func.timezone(timezone, moment), Date)


@lru_cache(maxsize=8)
def engine_for(url: str, busy_timeout_ms: int = 30_000) -> Engine:
    """One engine per URL per process."""
    return make_engine(url, busy_timeout_ms=busy_timeout_ms)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """A write transaction: commits if the block succeeds, rolls back everything if not."""
    with Session(engine, expire_on_commit=False) as session:
        with session.begin():
            yield session


def read_only(engine: Engine) -> Engine:
    """The engine for reads: on SQLite its transactions begin DEFERRED, so they never take the write
    lock and, in WAL mode, never wait for a writer (a reader's snapshot is the last commit)."""
    return engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"}) if is_sqlite(engine) else engine


@contextmanager
def reading(engine: Engine) -> Iterator[Session]:
    """A read-only transaction that never waits for writers."""
    with Session(read_only(engine), expire_on_commit=False) as session:
        yield session  # closing the session rolls the transaction back


# SQLite's "database is locked" (the busy timeout ran out) and PostgreSQL's lock timeout, deadlock
# and serialisation failure: the change was not made, and the same request a moment later may be.
_BUSY_SQLSTATES = frozenset({"55P03", "40P01", "40001"})


def is_busy(error: BaseException) -> bool:
    """Whether a database error means "another writer holds the lock: try again shortly"."""
    from sqlalchemy.exc import OperationalError

    if not isinstance(error, OperationalError):
        return False
    original = error.orig
    if getattr(original, "sqlstate", None) in _BUSY_SQLSTATES:
        return True
    text_of = str(original).lower()
    return (
        "database is locked" in text_of
        or "database table is locked" in text_of
        or "database is busy" in text_of
    )


def take_turn(session: Session, command: str) -> None:
    """Wait until no other transaction runs `command`, then hold it until this one ends.

    PostgreSQL: a transaction-scoped advisory lock, taken before anything is read, so what this
    run reads includes everything an earlier run committed. SQLite: nothing to do, the write
    transaction (BEGIN IMMEDIATE) already excludes every other writer.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    key = int.from_bytes(
        hashlib.sha256(f"duban:{command}".encode()).digest()[:8], "big", signed=True
    )
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT many rows with one DBAPI executemany, in the session's transaction.

    For the few places that write a province's worth of rows at once (audit
    events, escalations): each column's bind processing is looked up once,
    and a moment shared by the whole batch is converted once, instead of
    SQLAlchemy processing every value of every row.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    processors = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    converting: list[tuple[int, Callable[[Any], Any], dict[Any, Any]]] = [
        (index, process, {}) for index, process in enumerate(processors) if process is not None
    ]
    fields = operator.itemgetter(*names)

    def bound(row: dict[str, Any]) -> tuple[Any, ...]:
        values = fields(row) if len(names) > 1 else (row[names[0]],)
        if not converting:
            return values
        values = list(values)
        for index, process, memo in converting:
            value = values[index]
            if value is None:
                continue
            # A moment or a day shared by the whole batch (opened at, due on), a flag, or an
            # empty JSON list (no evidence yet): converted once, not once per row.
            if isinstance(value, date | bool) or (isinstance(value, list) and not value):
                key = value if not isinstance(value, list) else ()
                if key not in memo:
                    memo[key] = process(value)
                values[index] = memo[key]
            else:
                values[index] = process(value)
        return tuple(values)

    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(n) for n in names)
    values = (bound(row) for row in rows)
    if dialect.name == "postgresql":
        # COPY is PostgreSQL's bulk path: several times faster than executemany for 100,000 rows.
        driver = connection.connection.driver_connection
        assert driver is not None  # None only once the connection is closed, and it is open here
        with driver.cursor() as cursor:
            with cursor.copy(f"COPY {quote(table.name)} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        return
    placeholder = "?" if dialect.paramstyle == "qmark" else "%s"
    connection.exec_driver_sql(
        f"INSERT INTO {quote(table.name)} ({columns}) VALUES "
        f"({', '.join([placeholder] * len(names))})",
        list(values),
    )

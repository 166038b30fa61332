"""Test set-up: every database test runs on a real SQLite file and on a real PostgreSQL server.

PostgreSQL comes from DUBAN_TEST_POSTGRES_URL (an admin URL of a server you
run) or, by default, a throwaway server this session starts on loopback
(tests/support/postgres.py). Without server binaries the PostgreSQL half is
skipped, unless DUBAN_TEST_REQUIRE_POSTGRES=1 (CI), which makes it an error.
Each test gets a fresh, fully migrated database: a copy of a template.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from models.db import make_engine
from models.schema import upgrade
from tests.support.browser import launched_chromium
from tests.support.postgres import ThrowawayPostgres, find_bindir

# Keep the developer's own settings and Prefect out of the tests.
os.environ.setdefault("DUBAN_LANG", "zh")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"

BACKENDS = ("sqlite", "postgresql")
_counter = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    given = os.environ.get("DUBAN_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("DUBAN_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(
                "DUBAN_TEST_REQUIRE_POSTGRES=1 but no PostgreSQL server binaries were found"
            )
        pytest.skip("no PostgreSQL server binaries (Debian: apt-get install postgresql)")
    server = ThrowawayPostgres(bindir)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


def _autocommit(url: str) -> Engine:
    return create_engine(url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_url: str) -> str:
    """A migrated database that each test's database is created from."""
    admin = _autocommit(postgres_admin_url)
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS duban_template"))
        connection.execute(text("CREATE DATABASE duban_template"))
    admin.dispose()
    template_url = postgres_admin_url.rsplit("/", 1)[0] + "/duban_template"
    engine = make_engine(template_url)
    upgrade(engine)
    engine.dispose()
    return template_url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "duban.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # closing the last connection folds the WAL into the file
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def empty_database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    """A database with no tables at all, for `duban init`."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    yield from _postgres_database(admin_url, template=None)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database on the backend under test."""
    if backend == "sqlite":
        target = tmp_path / "duban.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    template_url = request.getfixturevalue("postgres_template")
    yield from _postgres_database(
        template_url.rsplit("/", 1)[0] + "/postgres", template="duban_template"
    )


def _postgres_database(admin_url: str, *, template: str | None) -> Iterator[str]:
    name = f"duban_test_{os.getpid()}_{next(_counter)}"
    admin = _autocommit(admin_url)
    with admin.connect() as connection:
        connection.execute(
            text(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
        )
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, busy_timeout_ms=30_000)
    yield engine
    engine.dispose()


@pytest.fixture
def now() -> datetime:
    """A fixed moment: a Monday morning in Beijing."""
    return datetime(2022, 9, 5, 1, 30, tzinfo=UTC)


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium (tests/support/browser.py); the test module marks itself
    `needs_chromium`."""
    yield from launched_chromium()

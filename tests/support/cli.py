"""The real `duban` command in a subprocess, with its own home and database, what its errors must
look like, and the seed plan set up through it as an office sets it up."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

DUBAN = str(Path(sys.executable).parent / "duban")
ROOT = Path(__file__).parent.parent.parent
Run = Callable[..., str]


def duban(
    *args: str, home: Path, url: str | None = None, lang: str = "zh", **env: str
) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DUBAN_")}
    environment.update(DUBAN_HOME=str(home), DUBAN_LANG=lang, **env)
    if url:
        environment["DUBAN_DATABASE_URL"] = url
    return subprocess.run(
        [DUBAN, *args], capture_output=True, text=True, env=environment, timeout=120
    )


def assert_one_clean_line(result: subprocess.CompletedProcess, code: int, *fragments: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def office(home: Path, url: str) -> Run:
    """`run(*args, code=0)`: `duban *args` with this home and database, which must exit with `code`
    and never with a traceback; what it printed (its output, then its errors)."""

    def run(*args: str, code: int = 0) -> str:
        result = duban(*args, home=home, url=url)
        assert result.returncode == code, result.stdout + result.stderr
        assert "Traceback" not in result.stderr, result.stderr
        return result.stdout + result.stderr

    return run


def seeded_office(home: Path, url: str, *, round_name: str, due: str, opened: str) -> Run:
    """The office of `office` once it has loaded the Rugao directory, imported the seed notice as
    plan 2022 (16 tasks, 98 assignments; the importer's path, as production builds a plan) and
    opened the round `round_name`, due `due`, at `opened` (ISO, the office's clock)."""
    run = office(home, url)
    run("units", "import", str(ROOT / "config/units/rugao.yaml"))
    run("import", str(ROOT / "tests/fixtures/seed-notice.txt"), "--plan-key", "2022")
    run("round", "open", "--name", round_name, "--due", due, "--now", opened)
    return run


def stored(url: str, sql: str) -> list[tuple[Any, ...]]:
    """The rows `sql` reads from the database at `url`, as a command left it (an engine of its own,
    disposed of after)."""
    engine = create_engine(url)
    with engine.connect() as connection:
        found = [tuple(r) for r in connection.execute(text(sql))]
    engine.dispose()
    return found

"""The real `duban` command in a subprocess, with its own home and database, and what its errors
must look like."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DUBAN = str(Path(sys.executable).parent / "duban")


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

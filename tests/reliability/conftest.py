"""Prints the reliability table (tests/reliability/table.py) once the suite has run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import table


def pytest_collection_modifyitems(config, items):
    """Every scenario here carries the `reliability` marker (`pytest -m reliability`)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.reliability)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not table.ROWS:
        return
    text = table.markdown()
    terminalreporter.write_sep("=", "reliability: lost / duplicated / corrupted / tracebacks")
    terminalreporter.write(text)
    out = Path(config.rootpath) / "build" / "reliability.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")

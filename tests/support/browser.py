"""Headless Chromium for the browser tests: Debian's binary, driven by Playwright's Python package.

Playwright's own browser download fails on these machines, so the tests launch Debian's chromium
(scripts/system-packages installs it) with the flags a closed network needs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("DUBAN_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "build" / "artifacts"  # the screenshots
FLAGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Skipped where Chromium is missing, unless DUBAN_TEST_REQUIRE_BROWSER says it must run.
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("DUBAN_TEST_REQUIRE_BROWSER"),
    reason="Debian's chromium is not installed (scripts/system-packages installs it)",
)


def launched_chromium() -> Iterator[Any]:
    """A running headless Chromium, closed afterwards (the body of the `browser` fixture)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=FLAGS,
            headless=True,
            # The browser's own words (a date field's 年/月/日, 选择文件) come from the process's
            # message language (chromium-l10n, system-packages), LANGUAGE. The locale itself is
            # C.UTF-8, which every Debian has: a zh_CN.UTF-8 the machine lacks (or no LANG at all)
            # leaves file names ASCII (downloads named "download", Chinese uploads not found).
            env={**os.environ, "LANGUAGE": "zh_CN:zh", "LC_ALL": "C.UTF-8"},
        )
        try:
            yield launched
        finally:
            launched.close()

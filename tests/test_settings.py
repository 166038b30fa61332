"""Settings come from the environment over the site's file over the defaults; Prefect is told where
to live."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import Settings


def test_the_default_database_is_sqlite_in_duban_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DUBAN_HOME", str(tmp_path))
    monkeypatch.delenv("DUBAN_DATABASE_URL", raising=False)
    settings = Settings()
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'duban.db'}"
    assert settings.prefect_home == tmp_path / "prefect"


def test_environment_beats_site_file_beats_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DUBAN_HOME", str(tmp_path))
    monkeypatch.delenv("DUBAN_LANG", raising=False)
    assert Settings().sqlite_busy_timeout_ms == 30_000  # config/defaults.toml
    (tmp_path / "duban.toml").write_text(
        'lang = "en"\nsqlite_busy_timeout_ms = 5000\n', encoding="utf-8"
    )
    assert (Settings().lang, Settings().sqlite_busy_timeout_ms) == ("en", 5000)
    monkeypatch.setenv("DUBAN_SQLITE_BUSY_TIMEOUT_MS", "100")
    assert (Settings().lang, Settings().sqlite_busy_timeout_ms) == ("en", 100)


def test_prefect_lives_under_duban_home_with_analytics_off(tmp_path: Path) -> None:
    probe = (
        "import flows, prefect.settings as s; c = s.get_current_settings(); "
        "print(c.home); print(c.server.analytics_enabled)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUBAN_", "PREFECT_"))}
    env["DUBAN_HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    home, analytics = result.stdout.split()
    assert Path(home) == tmp_path / "prefect"
    assert analytics == "False"

"""Printing for the CLI: Chinese or English by DUBAN_LANG, JSON for scripts.

Everything the CLI prints goes through `show` (or `emit_json`), which writes control characters
out as escapes: a user name or a unit's text must never reach the terminal as a command.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO

from escaping.terminal import json_visible, visible


def lang() -> str:
    """The user's language, read without building Settings (which may be what failed)."""
    return "en" if os.environ.get("DUBAN_LANG", "zh").lower().startswith("en") else "zh"


def show(*parts: object, file: TextIO | None = None) -> None:
    """print(), with every terminal control character in the text shown as its escape."""
    print(visible(" ".join(str(p) for p in parts)), file=file or sys.stdout)


def named(table: str, code: object) -> str:
    """A code as people read it: its Chinese label in the named table of models/labels.py (as the
    portal shows it), or the code itself for DUBAN_LANG=en. The table goes by name so that a
    command imports the models package only when it prints (`duban --help` stays light)."""
    from models import labels

    entries: dict[str, str] = getattr(labels, table)
    return labels.label(entries, code) if lang() == "zh" else str(getattr(code, "value", code))


def who(actor: str) -> str:
    """Who acted, as the portal names them (cli:root -> 命令行（系统管理员）)."""
    from models.labels import actor_label

    return actor_label(actor) if lang() == "zh" else actor


def when(moment: object, zone: str, style: str = "minute") -> str:
    """A stored time in the office's zone (an ISO text or a datetime), as the portal shows it."""
    from datetime import datetime

    from models.labels import local_time

    if isinstance(moment, str):
        try:
            parsed: object = datetime.fromisoformat(moment)
        except ValueError:
            return moment
    else:
        parsed = moment
    return local_time(parsed, zone, style)  # type: ignore[arg-type]


def say(zh: str, en: str) -> None:
    show(zh if lang() == "zh" else en)


def fail(zh: str, en: str) -> None:
    show(f"错误：{zh}" if lang() == "zh" else f"error: {en}", file=sys.stderr)


def emit_json(value: Any) -> None:
    print(json_visible(json.dumps(value, ensure_ascii=False, indent=2, default=str)))


class _Visible:
    """A text stream that shows control characters as escapes (data for a person, not a file)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(visible(text))

    def flush(self) -> None:
        self.stream.flush()


def terminal_safe(stream: TextIO) -> TextIO:
    """The stream itself when it is a file or a pipe (exports stay exact); on a terminal, one that
    writes control characters out as escapes."""
    return _Visible(stream) if stream.isatty() else stream  # type: ignore[return-value]

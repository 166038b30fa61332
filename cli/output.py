"""Printing for the CLI: Chinese or English by DUBAN_LANG, JSON for scripts."""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def lang() -> str:
    """The user's language, read without building Settings (which may be what failed)."""
    return "en" if os.environ.get("DUBAN_LANG", "zh").lower().startswith("en") else "zh"


def say(zh: str, en: str) -> None:
    print(zh if lang() == "zh" else en)


def fail(zh: str, en: str) -> None:
    print(f"错误：{zh}" if lang() == "zh" else f"error: {en}", file=sys.stderr)


def emit_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))

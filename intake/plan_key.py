"""The plan key (计划代号): the office's own handle for a plan, typed as it likes, Chinese included
(`2022年未成年人保护`). One rule for the CLI, the portal import page and the round-open form."""

from __future__ import annotations

import unicodedata
from typing import ClassVar

from models.errors import DubanError

LONGEST = 100  # Plan.key's column


class BadPlanKey(DubanError):
    zh = "计划代号“{key}”不可用：{why_zh}"
    en = "plan key {key!r} is not usable: {why}"
    exit_code: ClassVar[int] = 2


def problem(key: str) -> tuple[str, str] | None:
    """Why `key` cannot name a plan (Chinese, English), or None when it can. Control and format
    characters are refused: they hide in a terminal and make two keys that look alike differ."""
    if not key:
        return "不能为空", "it is empty"
    if len(key) > LONGEST:
        return f"超过 {LONGEST} 个字符（现为 {len(key)} 个）", f"longer than {LONGEST} characters"
    if key != key.strip():
        return "首尾不能有空格", "it starts or ends with a space"
    if any(unicodedata.category(ch)[0] in "CZ" and ch != " " for ch in key):
        return (
            "含有控制字符、换行或不可见字符",
            "it holds a control, line-break or invisible character",
        )
    return None


def checked(key: str) -> str:
    """`key` when it can name a plan; BadPlanKey (exit 2) naming the reason otherwise."""
    found = problem(key)
    if found is not None:
        shown = "".join(ch if ch.isprintable() else "�" for ch in key[:LONGEST])
        raise BadPlanKey(key=shown, why_zh=found[0], why=found[1])
    return key

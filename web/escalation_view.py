"""The escalations page's list (督办事项) as the Excel export writes it, under Chinese headers, and
where a button pressed on that page leads back to (`desk_back`)."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlsplit

DESK: Final = "/escalations"

DESK_HEADERS = (
    "督办单号",
    "最高级别",
    "任务序号",
    "任务",
    "单位",
    "原因",
    "督办起于",
    "督办经过",
    "办公室备注",
    "会商结果",
)


def desk_row(item: dict[str, Any]) -> list[Any]:
    def said(notes: list[dict[str, Any]]) -> str:
        return "\n".join(f"{n['at']} {n['actor']}：{n['text']}" for n in notes)

    return [
        item["number"],
        item["level_label"],
        item["task_number"],
        item["task_title"],
        item["unit"],
        item["reason"],
        item["since"],
        "\n".join(f"{h['on']} {h['what']}" for h in item["history"]),
        said(item["notes"]),
        said(item["consultations"]),
    ]


def desk_back(value: object) -> str:
    """The desk page a posted `back` field names (its filters and item anchor kept), or the plain
    desk: only a path on this site, never another host (`//evil`), a scheme, a backslash or a
    control character (a header split)."""
    if not isinstance(value, str) or any(c < " " or c in "\\\x7f" for c in value):
        return DESK
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path != DESK:
        return DESK
    return value

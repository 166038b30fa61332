"""Recognising a task table's header row by the names offices give its columns."""

from __future__ import annotations

import re

from intake.wording import squash

# Column -> the header texts that mean it; longest are tried first.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "number": ("序号", "编号", "序"),
    "title": ("任务目录", "重点任务", "工作任务", "任务名称", "主要任务", "任务事项", "重点工作", "任务"),
    "content": ("具体内容", "具体措施", "工作措施", "主要内容", "任务内容", "工作内容", "主要措施", "工作举措", "内容"),
    "lead": ("牵头单位", "牵头部门"),
    "cooperating": ("配合单位", "配合部门", "协同单位", "协助单位", "参与单位"),
    "units": ("责任单位", "责任部门", "承办单位", "负责单位", "责任主体"),
    "deadline": ("完成时限", "时间节点", "完成时间", "时限要求", "进度安排", "时限"),
}
_ORDERED = sorted(((text, column) for column, texts in SYNONYMS.items() for text in texts), key=lambda p: -len(p[0]))


def column_of(cell: str) -> str | None:
    """Which column a header cell names: "责任单位(部门)" is units, "备注" is nothing."""
    text = re.sub(r"\(.*?\)", "", squash(cell))
    if not text or len(text) > 12:
        return None
    for synonym, column in _ORDERED:
        if text == synonym or (text.startswith(synonym) and len(text) <= len(synonym) + 2):
            return column
    return None


def header_columns(cells: list[str]) -> dict[int, str] | None:
    """Index -> column for a header row, or None when the row is not a task table's header."""
    columns: dict[int, str] = {}
    for index, cell in enumerate(cells):
        column = column_of(cell)
        if column and column not in columns.values():
            columns[index] = column
    found = set(columns.values())
    if {"title", "content"} & found and {"units", "lead"} & found:
        return columns
    return None

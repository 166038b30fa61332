"""Recognising a task table's header row by what its column names say (see `intake.roles`).

A header cell is classified into a kind: number, text (任务, 具体内容 …), group (类别 …),
lead, cooperating, units, person, scorer, remarks, deadline. Which text column is the
title, the content or a merged group is decided from the rows (`intake.grid`).
"""

from __future__ import annotations

from intake.roles import label_kind

UNIT_KINDS = frozenset({"units", "lead", "cooperating"})


def column_of(cell: str) -> str | None:
    """Which kind of column a header cell names: "责任单位(部门)" is units, "任务来源" is
    nothing."""
    return label_kind(cell)


def header_columns(cells: list[str]) -> dict[int, str] | None:
    """Index -> kind for a header row, or None when the row is not a task table's header.

    A header names at least one text column and one unit column; several text, unit or group
    columns may appear (重点任务 and 具体措施; 牵头单位 and 责任单位); a cell repeated beside
    itself (a header merged over two columns) is kept: its rows tell what it holds.
    """
    columns: dict[int, str] = {}
    for index, cell in enumerate(cells):
        column = column_of(cell)
        if column is None:
            continue
        repeatable = column in ("text", "group", "person", "scorer", "remarks")
        if repeatable or column not in columns.values():
            columns[index] = column
    found = set(columns.values())
    if "text" in found and UNIT_KINDS & found:
        return columns
    return None

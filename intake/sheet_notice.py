"""Notices as spreadsheets (.xlsx, .xls) and CSV files.

Workbooks are read with calamine (Rust; .xlsx and .xls alike), which also
gives the merged ranges: offices merge 牵头单位, 完成时限 and category cells
over the rows they cover, so a merged range's value is filled into every
cell under it. A merged 序号 over several rows makes those rows n.1, n.2
(the corpus convention). Hidden sheets are read only when no visible sheet
holds a task table, and the reader says which sheet it read.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from intake.grid import Table, find_header, read_table
from intake.notice import ImportFailed, Problem, Where

_WHOLE_NUMBER = re.compile(r"^\s*(\d+)\s*[.、．]?\s*$")


@dataclass
class SheetRead:
    """The task table of a workbook, the sheet it came from, and what the office should know about
    it."""

    table: Table
    sheet: str
    notes: list[str] = field(default_factory=list)


def _text(value: object) -> str:
    # Called once per cell (a million in a large sheet): the common kinds first, by exact type.
    kind = type(value)
    if kind is str:
        # The exact-type test is the fast path here, and mypy narrows only on isinstance.
        return value.replace("\r\n", "\n").strip() if value else ""  # type: ignore[attr-defined]
    if kind is float:
        return str(int(value)) if value.is_integer() else str(value)  # type: ignore[attr-defined, call-overload]
    if kind is int:
        return str(value)
    if value is None:
        return ""
    if kind is bool:
        return "是" if value else "否"
    if isinstance(value, _DATES):
        # A deadline typed as a date cell reads like one written out.
        return f"{value.year}年{value.month}月{value.day}日"
    if isinstance(value, time | timedelta):
        return ""
    return str(value).replace("\r\n", "\n").strip()


_DATES = (datetime, date)


# ((first row, first column), (last row, last column)), 0-based
Merge = tuple[tuple[int, int], tuple[int, int]]


def _grid(values: Sequence[Sequence[object]], merges: list[Merge]) -> list[list[str]]:
    """The sheet from A1 as text, with every merged range's value filled into the rows under it."""
    height = max([len(values), *(last[0] + 1 for _, last in merges)], default=0)
    width = max(
        [max((len(r) for r in values), default=0), *(last[1] + 1 for _, last in merges)], default=0
    )
    grid = [[_text(v) for v in row] + [""] * (width - len(row)) for row in values]
    grid.extend([""] * width for _ in range(height - len(grid)))
    for (r0, c0), (r1, _) in merges:
        # Down the rows only: a merge across columns (a title or category row) stays one cell, as
        # printed.
        for r in range(r0 + 1, r1 + 1):
            grid[r][c0] = grid[r0][c0]
    return grid


def _number_merges(grid: list[list[str]], merges: list[Merge]) -> None:
    """Rows under one merged 序号 cell are tasks n.1, n.2 … (found once the header says which column
    is 序号)."""
    found = find_header([(Where("row", i + 1), row) for i, row in enumerate(grid)])
    if found is None:
        return
    number_column = next((i for i, column in found[1].items() if column == "number"), None)
    if number_column is None:
        return
    for (r0, c0), (r1, c1) in merges:
        if c0 <= number_column <= c1 and r1 > r0 and r0 > found[0]:
            whole = _WHOLE_NUMBER.match(grid[r0][number_column])
            if whole:
                for part, r in enumerate(range(r0, r1 + 1), start=1):
                    grid[r][number_column] = f"{whole.group(1)}.{part}"


def _sheet_table(sheet: Any, name: str) -> Table | None:
    merges = list(sheet.merged_cell_ranges or [])
    # From A1, so that row numbers in messages are the ones the office sees.
    grid = _grid(sheet.to_python(skip_empty_area=False) if sheet.height else [], merges)
    _number_merges(grid, merges)
    return read_table(
        [(Where("row", number, name), cells) for number, cells in enumerate(grid, start=1)]
    )


def _sheet_notes(meta: Any, sheets: list[Any], hidden: list[Any]) -> list[str]:
    """What the office is told about the sheet read: a hidden one, or which of several."""
    if meta in hidden:
        return [
            f"读取的是隐藏的工作表“{meta.name}”（可见的工作表中没有任务清单）"
            f" / read the hidden sheet “{meta.name}”: no visible sheet holds a "
            "task list"
        ]
    if len(sheets) > 1:
        others = "、".join(
            f"“{s.name}”" + ("（隐藏）" if s in hidden else "") for s in sheets if s is not meta
        )
        return [
            f"工作簿共有 {len(sheets)} 个工作表，读取的是“{meta.name}”，未读取 {others}"
            f" / the workbook has {len(sheets)} sheets: read “{meta.name}”"
        ]
    return []


def read_workbook(data: bytes, source: str) -> SheetRead:
    """The first visible sheet that holds a task table (a hidden one only when no visible sheet
    does)."""
    from python_calamine import CalamineWorkbook, SheetVisibleEnum

    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    try:
        sheets = [s for s in workbook.sheets_metadata if str(s.typ).endswith("WorkSheet")]
        visible = [s for s in sheets if s.visible == SheetVisibleEnum.Visible]
        hidden = [s for s in sheets if s.visible != SheetVisibleEnum.Visible]
        for meta in visible + hidden:
            table = _sheet_table(workbook.get_sheet_by_name(meta.name), meta.name)
            if table is not None:
                return SheetRead(
                    table=table, sheet=meta.name, notes=_sheet_notes(meta, sheets, hidden)
                )
        names = "、".join(f"“{s.name}”" for s in sheets)
    finally:
        workbook.close()
    raise ImportFailed([_no_header(f"工作表 {names}", f"sheets {names}")], source)


def read_xlsx(data: bytes, source: str) -> Table:
    """The task table of a workbook (.xlsx or .xls)."""
    return read_workbook(data, source).table


def read_csv(text: str, source: str) -> Table:
    rows = [
        (Where("row", number), cells)
        for number, cells in enumerate(csv.reader(io.StringIO(text)), start=1)
    ]
    table = read_table(rows)
    if table is None:
        raise ImportFailed([_no_header("文件", "the file")], source)
    return table


def _no_header(where_zh: str, where_en: str) -> Problem:
    return Problem(
        None,
        f"{where_zh}中没有可识别的表头——表头应包含“序号”“任务”或“具体内容”以及“责任单位”或“牵头单位”等列",
        f"no recognisable header in {where_en}: the header row needs columns such as 序号, 任务 or "
        "具体内容, and 责任单位 or 牵头单位",
    )

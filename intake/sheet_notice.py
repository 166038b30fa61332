"""Notices as spreadsheets (.xlsx) and CSV files."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from openpyxl import load_workbook

from intake.grid import Table, read_table
from intake.notice import ImportFailed, Problem, Where


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        # A deadline typed as a date cell reads like one written out.
        return f"{value.year}年{value.month}月{value.day}日"
    return str(value).replace("\r\n", "\n").strip()


def read_xlsx(data: bytes, source: str) -> Table:
    # read_only streams rows; merged category rows show as one filled cell.
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        for sheet in workbook.worksheets:
            rows = [(Where("row", number, sheet.title), [_text(v) for v in values])
                    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)]
            table = read_table(rows)
            if table is not None:
                return table
        names = "、".join(s.title for s in workbook.worksheets)
    finally:
        workbook.close()
    raise ImportFailed([_no_header(f"工作表 {names}", f"sheets {names}")], source)


def read_csv(text: str, source: str) -> Table:
    rows = [(Where("row", number), cells) for number, cells in enumerate(csv.reader(io.StringIO(text)), start=1)]
    table = read_table(rows)
    if table is None:
        raise ImportFailed([_no_header("文件", "the file")], source)
    return table


def _no_header(where_zh: str, where_en: str) -> Problem:
    return Problem(
        None,
        f"{where_zh}中没有可识别的表头——表头应包含“序号”“任务”或“具体内容”以及“责任单位”或“牵头单位”等列",
        f"no recognisable header in {where_en}: the header row needs columns such as 序号, 任务 or 具体内容, and 责任单位 or 牵头单位",
    )

"""Notices as Word documents (.docx): a task table, or numbered paragraphs."""

from __future__ import annotations

import io

from docx import Document
from docx.table import Table as WordTable
from docx.table import _Cell
from docx.text.paragraph import Paragraph

from intake.grid import find_header, items_below_header
from intake.notice import RawItem, Where
from intake.text_notice import read_prose


def _cell_text(cell: _Cell) -> str:
    # Paragraphs and line breaks inside a cell both become newlines.
    return "\n".join(p.text for p in cell.paragraphs).strip()


def read_docx(data: bytes) -> tuple[list[str], list[RawItem], bool]:
    """(preface lines, items, renumber). Tables that continue the first task table are read as
    one."""
    document = Document(io.BytesIO(data))
    preface: list[str] = []
    paragraphs: list[str] = []
    items: list[RawItem] = []
    columns: dict[int, str] | None = None
    table_number = 0
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            paragraphs.extend(block.text.splitlines() or [""])
            if columns is None:
                preface.extend(block.text.splitlines())
            continue
        assert isinstance(block, WordTable)
        table_number += 1
        rows = [
            (Where("table", i, str(table_number)), [_cell_text(c) for c in row.cells])
            for i, row in enumerate(block.rows, start=1)
        ]
        found = find_header(rows)
        if found is not None:
            header_index, columns = found
            items.extend(items_below_header(rows[header_index + 1 :], columns))
        elif columns is not None and rows and len(rows[0][1]) > max(columns):
            items.extend(items_below_header(rows, columns))  # the table went on after a page break
    if columns is not None:
        return preface, items, "number" not in columns.values()
    prose_preface, prose_items = read_prose(paragraphs)
    for item in prose_items:  # read_prose counts lines; in Word they are paragraphs
        item.where = Where("paragraph", item.where.index)
    return prose_preface, prose_items, True

"""Task tables as rows of cells (spreadsheets, CSV, Word tables, pipe tables): find the header, read the rows."""

from __future__ import annotations

import re
from dataclasses import dataclass

from intake.columns import header_columns
from intake.notice import RawItem, Where
from intake.roles import first_is_lead_rule
from intake.wording import normalize, strip_end_punctuation

CATEGORY = re.compile(r"^(?:[一二三四五六七八九十]+[、.]|\([一二三四五六七八九十]+\)|第[一二三四五六七八九十]+[部分章节类])")
_NUMBER = re.compile(r"^\d+[.、]?$")
HEADER_SEARCH_ROWS = 30


@dataclass
class Table:
    """What a grid yields: the preface rows above the header, the task rows, and whether numbers are printed."""

    preface: list[str]
    items: list[RawItem]
    numbered: bool


def find_header(rows: list[tuple[Where, list[str]]]) -> tuple[int, dict[int, str]] | None:
    for index, (_, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns = header_columns(cells)
        if columns:
            return index, columns
    return None


def read_table(rows: list[tuple[Where, list[str]]]) -> Table | None:
    """The task rows below a recognised header; None when no header is found."""
    found = find_header(rows)
    if found is None:
        return None
    header_index, columns = found
    preface = [" ".join(c.strip() for c in cells if c.strip()) for _, cells in rows[:header_index]]
    items = items_below_header(rows[header_index + 1:], columns)
    if first_is_lead_rule(" ".join(rows[header_index][1])):
        for item in items:
            item.first_is_lead = True
    return Table(preface=preface, items=items, numbered="number" in columns.values())


def items_below_header(rows: list[tuple[Where, list[str]]], columns: dict[int, str]) -> list[RawItem]:
    items: list[RawItem] = []
    category: str | None = None
    numbered = "number" in columns.values()
    header_again = set(columns.values())
    for where, cells in rows:
        values = {column: (cells[i] if i < len(cells) else "") or "" for i, column in columns.items()}
        filled = [c.strip() for c in cells if c and c.strip()]
        if not filled:
            continue
        repeated = header_columns(cells)
        if repeated and set(repeated.values()) == header_again:
            continue  # the header repeated (a table split across pages)
        number = normalize(values.get("number", ""))
        distinct = set(filled)
        if len(distinct) == 1 and not _NUMBER.match(number) and (CATEGORY.match(normalize(filled[0])) or len(filled) == 1):
            # A merged row, or one lone cell, between task rows: a category heading.
            category = strip_end_punctuation(filled[0])
            continue
        items.append(RawItem(
            where=where,
            number_text=number if numbered else str(len(items) + 1),
            title=values.get("title"),
            content=values.get("content", ""),
            units={c: values[c] for c in ("lead", "units", "cooperating") if c in values},
            deadline_text=values.get("deadline") or None,
            category=category,
        ))
    return items

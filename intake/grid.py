"""Task tables as rows of cells (spreadsheets, CSV, Word tables, pipe tables): find the header, read
the rows."""

from __future__ import annotations

import re
from dataclasses import dataclass

from intake.columns import header_columns
from intake.notice import RawItem, Where
from intake.roles import first_is_lead_rule
from intake.wording import normalize, strip_end_punctuation

CATEGORY = re.compile(
    r"^(?:[一二三四五六七八九十]+[、.]|\([一二三四五六七八九十]+\)|第[一二三四五六七八九十]+[部分章节类])"
)
_NUMBER = re.compile(r"^\d+[.、]?$")
HEADER_SEARCH_ROWS = 30


@dataclass
class Table:
    """What a grid yields: the preface rows above the header, the task rows, and whether numbers are
    printed."""

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
    items = items_below_header(rows[header_index + 1 :], columns)
    numbered = "number" in columns.values() and all(item.number_text for item in items)
    if first_is_lead_rule(" ".join(rows[header_index][1])):
        for item in items:
            item.first_is_lead = True
    return Table(preface=preface, items=items, numbered=numbered)


def resolve_text_columns(
    rows: list[tuple[Where, list[str]]], columns: dict[int, str]
) -> dict[int, str]:
    """Turn the header's text columns into number, group, title and content by what the rows hold.

    A text column whose filled cells are all bare numbers is the number column (a header cell
    merged over the group and number columns). Leading text columns that are merged over several
    rows (a cell blank below a filled one, or repeated) are groups; of the rest, the first is the
    title when another follows (重点任务 | 具体措施), otherwise the only text column is the content
    and the title is its first sentence.
    """
    resolved = dict(columns)
    data = [cells for _, cells in rows if sum(1 for c in cells if c and c.strip()) > 1]

    def values(index: int) -> list[str]:
        return [
            normalize(cells[index]) if index < len(cells) and cells[index] else "" for cells in data
        ]

    for index, kind in columns.items():
        if kind == "text" and "number" not in resolved.values() and _all_numbers(values(index)):
            resolved[index] = "number"
    texts = [i for i in sorted(resolved) if resolved[i] == "text"]
    while len(texts) > 1 and _merged(values(texts[0])):
        resolved[texts.pop(0)] = "group"
    _title_and_content(resolved, texts)
    return resolved


def _all_numbers(values: list[str]) -> bool:
    filled = [v for v in values if v]
    return bool(filled) and all(_NUMBER.match(v) for v in filled)


def _title_and_content(resolved: dict[int, str], texts: list[int]) -> None:
    """Of the text columns left, the first is the title when another follows; a lone one is the
    content."""
    if len(texts) >= 2:
        resolved[texts[0]] = "title"
        for index in texts[1:]:
            resolved[index] = "content"
    elif texts:
        resolved[texts[0]] = "content"


def _merged(values: list[str]) -> bool:
    """A cell merged over rows: the same text as the row above, or blank below filled cells in more
    than a third of the rows (one blank title is a missing title, not a merge)."""
    blanks, seen = 0, False
    for before, value in zip(["", *values], values, strict=False):
        if value and value == before:
            return True
        blanks += not value and seen
        seen = seen or bool(value)
    return blanks * 3 > len(values)


def items_below_header(
    rows: list[tuple[Where, list[str]]], columns: dict[int, str]
) -> list[RawItem]:
    columns = resolve_text_columns(rows, columns)
    items: list[RawItem] = []
    category: str | None = None
    numbered = "number" in columns.values()
    header_again = set(columns.values())
    groups = [i for i in sorted(columns) if columns[i] == "group"]
    group_values: dict[int, str] = {}
    previous: RawItem | None = None
    for where, cells in rows:
        filled = [c.strip() for c in cells if c and c.strip()]
        if not filled:
            continue
        values = _row_values(cells, columns)
        number = normalize(values.get("number", ""))
        if _header_repeated(
            cells, filled, number=number, numbered=numbered, header_again=header_again
        ):
            continue  # the header repeated (a table split across pages)
        heading = _category_heading(filled, number)
        if heading is not None:
            category = heading
            group_values.clear()
            continue
        inner = _inner_group(cells, groups, group_values)
        units, number = _row_units(values, columns, previous if numbered else None, number)
        item = _item(
            where,
            values,
            columns,
            units=units,
            number=number if numbered else str(len(items) + 1),
            category=category if inner is None else inner,
        )
        items.append(item)
        previous = item
    return items


def _inner_group(cells: list[str], groups: list[int], group_values: dict[int, str]) -> str | None:
    """The innermost group the row sits in: group cells are merged down over their rows."""
    for index in groups:
        if _cell(cells, index).strip():
            group_values[index] = first_sentence(_cell(cells, index))
    inner = [group_values[i] for i in groups if i in group_values]
    return inner[-1] if inner else None


def _item(
    where: Where,
    values: dict[str, str],
    columns: dict[int, str],
    *,
    units: dict[str, str],
    number: str,
    category: str | None,
) -> RawItem:
    return RawItem(
        where=where,
        number_text=number,
        title=(values.get("title") or "") if "title" in columns.values() else None,
        content=values.get("content", ""),
        units=units,
        deadline_text=values.get("deadline") or None,
        category=category,
        people=[p for p in re.split(r"[、,，;；\n]", values.get("person", "")) if p.strip()],
    )


def _cell(cells: list[str], index: int) -> str:
    return (cells[index] if index < len(cells) else "") or ""


def _row_values(cells: list[str], columns: dict[int, str]) -> dict[str, str]:
    """The row's filled cells by column kind; two columns of one kind are joined, a line each."""
    values: dict[str, str] = {}
    for index, column in sorted(columns.items()):
        text = _cell(cells, index)
        if text.strip():
            values[column] = f"{values[column]}\n{text}" if column in values else text
    return values


def _header_repeated(
    cells: list[str], filled: list[str], *, number: str, numbered: bool, header_again: set[str]
) -> bool:
    # A row numbered like a task is not the header repeated: skip the costly test on most rows.
    repeated = None if numbered and _NUMBER.match(number) else header_columns(cells)
    return (
        repeated is not None
        and bool(repeated)
        and len(repeated) == len(filled)
        and set(repeated.values()) <= header_again | {"text"}
    )


def _category_heading(filled: list[str], number: str) -> str | None:
    """A merged row, or one lone cell, between task rows: a category heading."""
    if (
        len(set(filled)) == 1
        and not _NUMBER.match(number)
        and (CATEGORY.match(normalize(filled[0])) or len(filled) == 1)
    ):
        return first_sentence(filled[0])
    return None


def _row_units(
    values: dict[str, str], columns: dict[int, str], previous: RawItem | None, number: str
) -> tuple[dict[str, str], str]:
    """The row's unit cells, and its number; `previous` is the item above in a numbered table."""
    units = {
        c: _no_unit_blank(values.get(c, ""))
        for c in ("lead", "units", "cooperating")
        if c in columns.values()
    }
    if previous is not None and not number and not any(units.values()):
        units = dict(previous.units)  # a second row under a merged number and unit cell
    if (
        previous is not None
        and number
        and number == previous.number_text
        and any(units.values())
        and units == {k: v for k, v in previous.units.items() if k != "remarks"}
    ):
        # the same number and units as the row above: cells merged over two rows and filled
        # into both (as a workbook reader may do) — a second row, not a repeated number
        number = ""
    remarks = values.get("remarks", "")
    if remarks and _lists_units(remarks):
        units["remarks"] = remarks
    return units, number


def first_sentence(text: str) -> str:
    from intake.wording import sentences

    parts = sentences(text)
    return parts[0] if parts else strip_end_punctuation(text)


def _lists_units(text: str) -> bool:
    """A 备注 cell that names units (各区教育局、市局直属单位) rather than saying something."""
    from intake.unit_phrase import is_unit_cell

    return is_unit_cell(text)


def _no_unit_blank(text: str) -> str:
    """A unit cell saying "none" (协办单位: 无) is an empty cell."""
    from intake.unit_phrase import NO_UNIT

    return "" if NO_UNIT.match(normalize(text)) else text

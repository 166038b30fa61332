"""Tables copied from a web page one cell per line, with or without a "|" line between cells.

    序号          工作任务 | 1 | 对……清理。 | 办公室 | 年底前 | 深化…… | 2 | …
    民生实事
    责任单位      (one cell per line; blank lines or "|" lines between them)
    1
    启动建设……。
    县水务局      <- a cell with two units keeps one name per line
    县住建局
    12月底前

The header is the run of lines that name columns. Rows start at their printed number (the
next in sequence). Merged cells are simply absent and a cell may spread over several lines,
so the lines between two numbers are fitted to the columns by what they look like (a unit
list, a deadline, a sentence), by dynamic programming; lines left after the last column
form a second row under the same number (a row under a merged number cell), and lines
before the number belong to the columns printed before the 序号 column (a merged group).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from intake.columns import UNIT_KINDS, column_of
from intake.grid import Table, items_below_header
from intake.notice import Where
from intake.roles import column_name_like
from intake.unit_phrase import DEADLINE_WORDS, is_unit_cell
from intake.wording import normalize

_DIGITS = re.compile(r"^\d{1,5}$")
# A deadline cell may also be a recurring one (每季度): it still fills the deadline column.
_DEADLINE = re.compile(f"({DEADLINE_WORDS}|每[年季月])")


@dataclass(frozen=True)
class _Cell:
    text: str
    line: int


def _deadlineish(text: str) -> bool:
    return len(text) <= 20 and bool(_DEADLINE.search(text)) and not is_unit_cell(text)


def _cells(lines: list[str]) -> list[_Cell]:
    """The cells in order: the text between "|" lines when the page has them, else each line."""
    piped = sum(1 for line in lines if line.strip() == "|") >= 3
    cells: list[_Cell] = []
    buffer: list[str] = []
    first = 0
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if piped:
            if text == "|":
                if buffer:
                    cells.append(_Cell("\n".join(buffer), first))
                buffer = []
            elif text:
                first = first if buffer else number
                buffer.append(text)
        elif text:
            cells.append(_Cell(text, number))
    if buffer:
        cells.append(_Cell("\n".join(buffer), first))
    return cells


def _header(cells: list[_Cell]) -> tuple[int, list[str | None]] | None:
    """(index of the first header cell, the kind of each) for the first run of column names."""
    for start in range(len(cells)):
        kinds: list[str | None] = []
        index = start
        while index < len(cells):
            kind = column_of(cells[index].text)
            following = column_of(cells[index + 1].text) if index + 1 < len(cells) else None
            if kind is None and not (column_name_like(cells[index].text) and following and kinds):
                # an unknown column name is kept between known ones; after the last known one a
                # cell may as well be a group cell printed before the first row's number
                break
            kinds.append(kind)
            index += 1
        found = {k for k in kinds if k}
        if len(kinds) >= 3 and "text" in found and UNIT_KINDS & found:
            return start, kinds
    return None


def read_cell_lines(lines: list[str]) -> Table | None:
    """The task table of a one-cell-per-line page, or None when the text is not laid out so."""
    cells = _cells(lines)
    found = _header(cells)
    if found is None:
        return None
    start, kinds = found
    body = cells[start + len(kinds) :]
    numbers = _row_starts(body)
    if len(numbers) < 1:
        return None
    if "number" in kinds:
        split = kinds.index("number")
        before, after = kinds[:split], kinds[split + 1 :]
    else:  # the header cell over the number column names the group beside it (工作任务 over both)
        split = numbers[0]
        before, after = kinds[:split], kinds[split:]
    before = ["group" if k == "text" else k for k in before]
    columns = [*before, "number", *after]
    rows = _numbered_rows(body, numbers, before=before, after=after)
    header = {index: kind for index, kind in enumerate(columns) if kind}
    items = items_below_header(rows, header)
    preface = [line for line in lines[: cells[start].line - 1]]
    numbered = all(item.number_text for item in items)
    return Table(preface=preface, items=items, numbered=numbered)


def _numbered_rows(
    body: list[_Cell], numbers: list[int], *, before: list[str | None], after: list[str | None]
) -> list[tuple[Where, list[str]]]:
    """The rows: each number's cells fitted to the columns after 序号, the cells before the next
    number to the columns before it (and the cells before the first number to the first row's)."""
    width = len(before) + 1 + len(after)
    rows: list[tuple[Where, list[str]]] = []
    lead_in = body[: numbers[0]]  # the cells before the first number: its row's columns before 序号
    pending_before = _fit(lead_in, [], before)["next"] if before else []
    for at, position in enumerate(numbers):
        end = numbers[at + 1] if at + 1 < len(numbers) else len(body)
        last = at + 1 == len(numbers)
        fitted = _fit(body[position + 1 : end], after, [] if last else before)
        for sub, assigned in enumerate(fitted["rows"]):
            row = [""] * width
            for slot, texts in enumerate(pending_before if sub == 0 else [[] for _ in before]):
                row[slot] = "\n".join(texts)
            row[len(before)] = body[position].text if sub == 0 else ""
            for slot, texts in enumerate(assigned):
                row[len(before) + 1 + slot] = "\n".join(texts)
            rows.append((Where("line", body[position].line), row))
        pending_before = fitted["next"]
    return rows


def _row_starts(body: list[_Cell]) -> list[int]:
    """Positions of the printed row numbers 1, 2, 3 … (a value "0" or "42" in between is none)."""
    starts: list[int] = []
    expected = None
    for position, cell in enumerate(body):
        text = normalize(cell.text).rstrip(".、")
        if _DIGITS.match(text) and ((expected is None and int(text) <= 2) or int(text) == expected):
            starts.append(position)
            expected = int(text) + 1
    return starts


@lru_cache(maxsize=4096)
def _compat(kind: str | None, text: str) -> float:
    """How well a cell's text fits a column of `kind` (positive: fits; negative: belongs
    elsewhere)."""
    if not text:  # an empty cell (a merged one shows as two spaces)
        return 1.0 if kind == "group" else -1.0
    unit, deadline = is_unit_cell(text), _deadlineish(text)
    if kind in ("units", "lead", "cooperating"):
        # a unit list, or a word saying none (协办单位: 无; a dash may be any column's blank)
        return 3.0 if unit else 2.0 if re.fullmatch(r"无|暂无|没有", text.strip()) else -6.0
    if kind in _UNIT_LIKE:
        return _UNIT_LIKE[kind][0 if unit else 1]
    if kind == "deadline":
        return 3.0 if deadline else -6.0 if unit else -2.0
    if kind in ("text", "group"):
        return _text_fit(text, unit=unit, deadline=deadline)
    return -3.0 if unit else 1.0  # a column of another kind (单位, 年度目标 …)


# (a unit, anything else): a line that could be a scorer goes to the assignees before it; a unit in
# the last column is its own, not a second row.
_UNIT_LIKE = {"scorer": (2.5, -6.0), "remarks": (2.5, 0.5)}


def _text_fit(text: str, *, unit: bool, deadline: bool) -> float:
    if unit or deadline:
        return -2.0
    return 1.5 if len(text) > 15 or "。" in text else 1.0 if len(text) > 2 else 0.2


def _skip(kind: str | None, first_text: bool) -> float:
    if first_text:
        return -3.0
    if kind in ("units", "lead", "scorer"):
        return -1.0
    return 0.0 if kind == "group" else -0.3


Slot = tuple[
    int, int, str | None
]  # (part, column, kind): part 0 the row, 1 a second row under its number, 2 the next lead-in
Step = tuple[int, int, int | None]  # (next token, next slot, the slot the token went to)


def _fit(
    stretch: list[_Cell], after: list[str | None], before: list[str | None], wrapped: bool = False
) -> dict[str, list[Any]]:
    """Fit the cells between two row numbers to: the columns after 序号 (once, or again for a
    second row under the same number), then the columns before the next row's 序号."""
    first_text = next((i for i, k in enumerate(after) if k == "text"), None)
    slots = _slots(after, before)
    n, m = len(stretch), len(slots)
    best = [[float("-inf")] * (m + 1) for _ in range(n + 1)]
    choice: list[list[Step | None]] = [[None] * (m + 1) for _ in range(n + 1)]
    step: Step | None
    best[n][m] = 0.0
    for i in range(n, -1, -1):
        for j in range(m, -1, -1):
            if i == n and j == m:
                continue
            options = _options(
                i,
                j,
                stretch=stretch,
                slots=slots,
                best=best,
                first_text=first_text,
                wrapped=wrapped,
            )
            value, step = max(options, key=lambda o: o[0])
            best[i][j], choice[i][j] = value, step
    assigned = _trace(choice, stretch=stretch, slots=slots)
    rows = [[assigned[(0, c)] for c in range(len(after))]]
    second = [assigned[(1, c)] for c in range(len(after))]
    if any(second):
        rows.append(second)
    return {"rows": rows, "next": [assigned[(2, c)] for c in range(len(before))]}


def _slots(after: list[str | None], before: list[str | None]) -> list[Slot]:
    slots: list[Slot] = []
    for part in (0, 1):
        slots.extend((part, column, kind) for column, kind in enumerate(after))
    slots.extend((2, column, kind) for column, kind in enumerate(before))
    return slots


def _options(
    i: int,
    j: int,
    *,
    stretch: list[_Cell],
    slots: list[Slot],
    best: list[list[float]],
    first_text: int | None,
    wrapped: bool,
) -> list[tuple[float, Step]]:
    """The moves from token i and slot j, each with its score plus the best from where it leads."""
    n, m = len(stretch), len(slots)
    options: list[tuple[float, Step]] = []
    if j < m:
        part, column, kind = slots[j]
        skip = (
            0.0 if part == 1 else _skip(kind, column == first_text)
        )  # no second row: nothing to skip
        options.append((skip + best[i][j + 1], (i, j + 1, None)))
        if i < n:
            gain = _compat(kind, stretch[i].text) - (1.0 if part == 1 else 0.0)
            options.append((gain + best[i + 1][j + 1], (i + 1, j + 1, j)))
            if kind in UNIT_KINDS or kind in ("scorer", "remarks"):
                # a unit list goes on
                options.append((gain + best[i + 1][j], (i + 1, j, j)))
    if wrapped and i < n and j > 0 and slots[j - 1][2] in ("text", "group") and stretch[i].text:
        # a cell wrapped at the page's width: a short piece continues the cell before it
        more = 0.8 if len(stretch[i].text) <= 6 else -1.0
        options.append((more + best[i + 1][j], (i + 1, j, j - 1)))
    if j == m and i < n:
        options.append((-8.0 + best[i + 1][j], (i + 1, j, None)))  # a stray line: dropped
    return options


def _trace(
    choice: list[list[Step | None]], *, stretch: list[_Cell], slots: list[Slot]
) -> dict[tuple[int, int], list[str]]:
    """Follow the best choices from the start: the texts each (part, column) received."""
    assigned: dict[tuple[int, int], list[str]] = {(part, column): [] for part, column, _ in slots}
    i = j = 0
    while (i, j) != (len(stretch), len(slots)):
        step = choice[i][j]
        assert step is not None
        if step[2] is not None:
            part, column, _ = slots[step[2]]
            assigned[(part, column)].append(stretch[i].text)
        i, j = step[0], step[1]
    return assigned


def _space_header(lines: list[str]) -> tuple[int, list[str | None]] | None:
    """The header line and its columns: every cell a column name, known or not (资金来源: one
    unknown column keeps the table), with text, 序号 and units among them."""
    for start, line in enumerate(lines):
        names = line.split()
        kinds = [column_of(name) for name in names]
        found = {k for k in kinds if k}
        if (
            len(names) >= 3
            and all(k or column_name_like(n) for k, n in zip(kinds, names, strict=True))
            and {"text", "number"} <= found
            and UNIT_KINDS & found
        ):
            return start, kinds
    return None


def _heading_above(lines: list[str], start: int) -> list[tuple[Where, list[str]]]:
    """A heading just above the header ((一)…) is the first category."""
    for back in range(start - 1, -1, -1):
        text = lines[back].strip()
        if text:
            if re.match(r"^[(（][一二三四五六七八九十]+[)）]", normalize(text)) and len(text) <= 30:
                return [(Where("line", back + 1), [text])]
            break
    return []


def _space_row(
    text: str, number: int, *, kinds: list[str | None], number_at: int, after: list[str | None]
) -> list[str]:
    """One line's pieces fitted to the columns; a line without a number is a second row."""
    pieces = re.split(r"(?<=[、,，;；]) +| ", text)
    printed = pieces[0] if re.fullmatch(r"\d{1,5}", pieces[0]) else ""
    stretch = [_Cell(p, number) for p in (pieces[1:] if printed else pieces)]
    fitted = _fit(stretch, after, [], wrapped=True)["rows"][0]
    row = [""] * len(kinds)
    row[number_at] = printed
    for slot, texts in enumerate(fitted):
        row[number_at + 1 + slot] = "\n".join(texts)
    return row


def read_space_rows(lines: list[str]) -> Table | None:
    """A table copied as one line per row, cells separated by spaces ("1 任务…。 市某局 各区某局").

    Wrap spaces may split a cell ("加强水资源保 护"), an empty merged cell shows as two spaces, and
    a row without a number is a second row under the number above. The pieces of each row are
    fitted to the columns as in the one-cell-per-line layout.
    """
    found = _space_header(lines)
    if found is None:
        return None
    start, kinds = found
    number_at = kinds.index("number")
    after = kinds[number_at + 1 :]
    rows = _heading_above(lines, start)
    for number, line in enumerate(lines[start + 1 :], start=start + 2):
        text = line.strip()
        if text:
            rows.append(
                (
                    Where("line", number),
                    _space_row(text, number, kinds=kinds, number_at=number_at, after=after),
                )
            )
    header = {index: kind for index, kind in enumerate(kinds) if kind}
    items = items_below_header(rows, header)
    numbered = all(item.number_text for item in items)
    return Table(preface=lines[:start], items=items, numbered=numbered)

"""Notices as text (.txt, .md): pipe tables as copied from web pages, and prose notices.

Pipe tables come two ways: Markdown (one row per line, "| a | b |") and
the layout web pages copy into (the seed): each cell ends with " |" and may
wrap onto following lines, so a row spans several lines.

Prose notices number their tasks (1. / (1) / 一是 / (一)) under section
headings (二、工作任务; (一)加强家庭保护。) and name the units at the end in
brackets "(市委宣传部、市教育局按照职责分工负责)", in a sentence that only assigns units
("由X牵头,Y配合。" "X会同Y负责。") or on lines such as "牵头单位:X"; a paragraph whose
parts (一是…二是…) are each closed so holds one task per part. Sections such as 总体要求
or 保障措施 hold no tasks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise

from intake.columns import column_of, header_columns
from intake.grid import CATEGORY, Table, items_below_header, read_table
from intake.notice import RawItem, Where
from intake.preface import ISSUE_DATE
from intake.roles import column_name_like, first_is_lead_rule, label_kind, simplified
from intake.wording import chinese_number, normalize, sentences, strip_end_punctuation

_NUMBER = re.compile(r"^\d+[.、]?$")


def read_text(text: str) -> tuple[list[str], list[RawItem], bool]:
    """(preface lines, items, renumber) from a text notice."""
    lines = text.splitlines()
    table = _pipe_table(lines)
    if table is not None:
        return table.preface, table.items, not table.numbered
    from intake.cell_lines import read_cell_lines, read_space_rows

    table = read_cell_lines(lines) or read_space_rows(lines)
    if table is not None and table.items:
        return table.preface, table.items, not table.numbered
    preface, items = read_prose(lines)
    printed = [int(i.number_text) if i.number_text.isdigit() else None for i in items]
    # Keep the printed numbers when they run 1, 2, 3 ... through the notice; many
    # notices restart under each heading, and then tasks are numbered in order.
    numbers = [n for n in printed if n is not None]
    keep = len(numbers) == len(printed) and all(a < b for a, b in pairwise(numbers))
    return preface, items, not keep


# --- pipe tables -------------------------------------------------------------------------------


def _pipe_table(lines: list[str]) -> Table | None:
    for index, line in enumerate(lines):
        if "|" not in line:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not any(column_of(c) for c in cells if c):
            continue
        if line.lstrip().startswith("|"):
            rows = [
                (
                    Where("line", i + 1),
                    [c.strip().replace("<br>", "\n") for c in raw.strip().strip("|").split("|")],
                )
                for i, raw in enumerate(lines[index:], start=index)
                if raw.strip().startswith("|") and not re.fullmatch(r"[\s|:\-]+", raw)
            ]
            table = read_table(rows)
        else:
            table = _line_rows(lines, index) or _wrapped_table(lines, index)
        if table is not None:
            table.preface = lines[:index]
            return table
    return None


def _line_rows(lines: list[str], start: int) -> Table | None:
    """One row per line, "1 | a | b |", where a cell merged over rows (rowspan) is simply absent.

    A short row lacks first the trailing columns that were empty in the row above, then the
    leftmost text columns after 序号, which it shares with the row above (the merged cells).
    """
    header_cells = [c.strip() for c in lines[start].strip().strip("|").split("|")]
    columns = header_columns(header_cells)
    data = [
        (i + 1, row)
        for i, row in enumerate(lines[start + 1 :], start=start + 1)
        if row.strip() and row.strip() != "|"
    ]
    if columns is None or "number" not in columns.values() or not _mostly_numbered(data):
        return None
    width = len(header_cells)
    number_at = next(i for i, k in columns.items() if k == "number")
    texts = [i for i in sorted(columns) if columns[i] == "text" and i > number_at]
    rows: list[tuple[Where, list[str]]] = []
    above: list[str] = []
    for number, line in data:
        above = _spread(_line_cells(line), width=width, above=above, texts=texts)
        rows.append((Where("line", number), above))
    return Table(preface=[], items=items_below_header(rows, columns), numbered=True)


def _line_cells(line: str) -> list[str]:
    """A line's cells, without the empty ones it ends with."""
    cells = [c.strip() for c in line.strip().split("|")]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _mostly_numbered(data: list[tuple[int, str]]) -> bool:
    """Four rows in five or more begin with their number ("1 | ..."): one row per line."""
    return (
        bool(data)
        and sum(bool(re.match(r"^\s*\d+\s*\|", row)) for _, row in data) * 5 >= len(data) * 4
    )


def _spread(cells: list[str], *, width: int, above: list[str], texts: list[int]) -> list[str]:
    """A short row's cells put in their columns: trailing columns empty above stay empty, then the
    leftmost text columns after 序号 take the row above's (the merged cells)."""
    missing = width - len(cells)
    absent: set[int] = set()
    for index in range(width - 1, -1, -1):  # trailing columns empty above
        if missing <= len(absent) or not above or above[index]:
            break
        absent.add(index)
    inherited = [i for i in texts if above][: max(0, missing - len(absent))]
    row = [""] * width
    values = iter(cells)
    for index in range(width):
        if index in inherited:
            row[index] = above[index]
        elif index not in absent:
            row[index] = next(values, "")
    return row


def _wrapped_table(lines: list[str], start: int) -> Table | None:
    """The web-copy layout: cells end with "|", and a cell may continue on the next lines."""
    cells = _wrapped_cells(lines, start)
    header, width = _wrapped_header(cells)
    if not ("text" in header.values() and {"units", "lead", "cooperating"} & set(header.values())):
        return None
    numbered = "number" in header.values()
    rows = _wrapped_rows(cells[width:], width=width, numbered=numbered)
    return Table(preface=[], items=items_below_header(rows, header), numbered=numbered)


def _wrapped_cells(lines: list[str], start: int) -> list[tuple[str, int]]:
    """Every cell from `start` on, with the line it begins on: a "|" closes the cell before it."""
    cells: list[tuple[str, int]] = []
    buffer: list[str] = []
    first_line: int | None = None
    for number, line in enumerate(lines[start:], start=start + 1):
        for position, piece in enumerate(line.split("|")):
            if position > 0:  # a "|" closed the cell before it
                cells.append(("\n".join(buffer).strip(), first_line or number))
                buffer, first_line = [], None
            if piece.strip():
                first_line = first_line or number
                buffer.append(piece.strip())
    return cells


_REPEATABLE = ("text", "group", "person", "scorer", "remarks")


def _wrapped_header(cells: list[tuple[str, int]]) -> tuple[dict[int, str], int]:
    """The header's columns by position, and how many cells it spans."""
    header: dict[int, str] = {}
    width = 0
    for position, (text, _) in enumerate(cells):
        column = column_of(text)
        following = cells[position + 1][0] if position + 1 < len(cells) else ""
        if column is None and not (column_name_like(text) and column_of(following)):
            # The first data cell; an unknown column name between known ones is kept as a column.
            break
        if column is not None and column not in _REPEATABLE and column in header.values():
            break
        if column is not None:
            header[width] = column
        width += 1
    return header, width


def _wrapped_rows(
    cells: list[tuple[str, int]], *, width: int, numbered: bool
) -> list[tuple[Where, list[str]]]:
    """The cells after the header, `width` to a row; in a numbered table a category heading between
    rows is a row of its own and a blank cell before a row's number is dropped."""
    rows: list[tuple[Where, list[str]]] = []
    current: list[tuple[str, int]] = []
    for text, line_number in cells:
        if not current and numbered and not _NUMBER.match(normalize(text)):
            if text and CATEGORY.match(normalize(text)):
                rows.append((Where("line", line_number), [text]))  # a category heading between rows
                continue
            if not text:
                continue
        current.append((text, line_number))
        if len(current) == width:
            rows.append((Where("line", current[0][1]), [t for t, _ in current]))
            current = []
    if current:
        rows.append((Where("line", current[0][1]), [t for t, _ in current]))
    return rows


# --- prose ------------------------------------------------------------------------------------

CN = "一二三四五六七八九十"
SECTION = re.compile(rf"^([{CN}]+)[、.]\s*(.+)$")
CN_BRACKETED = re.compile(rf"^\(([{CN}]+)\)\s*(.+)$")
ITEM = re.compile(r"^(?:(\d+)\s*[.、]|\((\d+)\))\s*(.+)$")
SHI = re.compile(rf"^([{CN}]+)是\s*(.+)$")
UNIT_LINE = re.compile(
    r"^(牵头单位|牵头部门|责任单位|责任部门|配合单位|配合部门|协同单位|完成时限|时间节点|完成时间)\s*[:]\s*(.*)$"
)
NOT_TASKS = (
    "总体要求",
    "总体目标",
    "发展目标",
    "预期目标",
    "指导思想",
    "基本原则",
    "工作目标",
    "主要目标",
    "保障措施",
    "组织保障",
    "工作要求",
    "组织领导",
    "工作保障",
    "实施步骤",
    "工作步骤",
    "进度安排",
    "有关要求",
    "工作机制",
    "其他事项",
)
GENERIC_TASK_SECTIONS = (
    "工作任务",
    "重点任务",
    "主要任务",
    "任务分工",
    "重点工作",
    "具体任务",
    "工作内容",
)
UNITISH = re.compile(
    r"(牵头|负责|配合|单位|部门|局|委|办|部|院|会|府|街道|镇|团|联|社|中心|公司|队|所|行|处|厅)"
)
DEADLINE_WORDS = re.compile(r"(\d{4}\s*年|\d{1,2}\s*月|底前|年底|年内|长期|持续|常态)")
LINE_COLUMNS = {
    "牵头单位": "lead",
    "牵头部门": "lead",
    "责任单位": "units",
    "责任部门": "units",
    "配合单位": "cooperating",
    "配合部门": "cooperating",
    "协同单位": "cooperating",
    "完成时限": "deadline",
    "时间节点": "deadline",
    "完成时间": "deadline",
}


@dataclass
class _Block:
    where: Where
    marker: str  # "item", "shi", "cn" ((一) lines: an item if it names units, else a heading)
    text: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)


def trailing_brackets(text: str) -> tuple[str, str | None]:
    """Split "……。(市委宣传部负责)" into the text and what the last bracket holds, if it ends one.

    Every bracket form counts: (), （）, [], 〔〕, 【】.
    """
    stripped = text.rstrip().rstrip("。.;；")
    if not stripped.endswith((")", "）", "]", "】", "〕")):
        return text, None
    depth = 0
    for index in range(len(stripped) - 1, -1, -1):
        char = stripped[index]
        if char in ")）]】〕":
            depth += 1
        elif char in "(（[【〔":
            depth -= 1
            if depth == 0:
                return stripped[:index].rstrip(), stripped[index + 1 : -1]
    return text, None


def _unit_fields(inner: str) -> dict[str, str] | None:
    """What a trailing bracket says: units (and perhaps a deadline), or None if it is not about
    units."""
    from intake.unit_phrase import split_names

    if not UNITISH.search(inner):
        return None
    deadline = [
        part
        for part in split_names(inner)
        if DEADLINE_WORDS.search(part) and not UNITISH.search(part)
    ]
    units = inner
    for part in deadline:
        units = units.replace(part, "")
    fields = {"units": units.strip(" ,、;")}
    if deadline:
        fields["deadline"] = "，".join(deadline)
    return fields


def unit_sentence(sentence: str) -> dict[str, str] | None:
    """What a sentence that only assigns units says ("由A牵头，B、C配合。" "A会同B负责。"), else
    None.

    Every name it gives must be a body (`is_unit_name`) and it must say a role; a sentence
    that does anything else ("各单位要加强协调") is not one.
    """
    from intake.unit_phrase import ROLE_WORDS, is_unit_name, read_assignment

    text = strip_end_punctuation(normalize(sentence).strip())
    text = re.sub(r"^由", "", text)
    if (
        not text
        or len(text) > 120
        or (not any(word in text for word, _ in ROLE_WORDS) and "会同" not in text)
    ):
        return None
    said = read_assignment(text)
    if not said.units or said.people:  # (等 and a deadline in it are read as in any unit phrase)
        return None
    if not all(is_unit_name(unit.name) for unit in said.units):
        return None
    return {"units": text}


_ENUMERATOR = re.compile(rf"[{CN}]+是|\d+[.、]|\(\d+\)")


def bracketed_tasks(body: str) -> list[tuple[str, str]]:
    """(text, units) for each part of a paragraph closed by what names its units: a bracket
    ("…。(市某局负责)" or "一是…(牵头单位:A)。二是…") or a sentence that only assigns units
    ("…。由A牵头,B配合。"). Text after the last closing part is not a task of its own."""
    return closed_parts(body)[0]


def closed_parts(body: str) -> tuple[list[tuple[str, str]], str]:
    """`bracketed_tasks` and the text after the last closing part ("…。由A负责。年底前完成。")."""
    found: list[tuple[str, str]] = []
    flat = normalize(body)  # NFKC keeps positions for CJK text and full-width marks
    if len(flat) != len(body):
        return [], body
    start, depth, opened = 0, 0, 0
    for index, char in enumerate(flat):
        closed: tuple[str, str] | None = None
        if char in "([【〔":
            opened = index if depth == 0 else opened
            depth += 1
        elif char in ")]】〕" and depth:
            depth -= 1
            closed = _bracket_part(body, flat, start, opened, index) if depth == 0 else None
        elif char == "。" and depth == 0:
            closed = _sentence_part(body, flat, start, index)
        if closed is not None:
            found.append(closed)
            start = _part_start(flat, index)
    last = _unterminated_part(body, flat, start) if not found and depth == 0 else None
    if last is not None:  # a unit sentence left without its final 。
        found.append(last)
        start = len(body)
    return found, body[start:].strip() if found else body


def _unterminated_part(body: str, flat: str, start: int) -> tuple[str, str] | None:
    begin = max(flat.rfind("。", 0, len(flat.rstrip("。"))) + 1, start)
    said = unit_sentence(flat[begin:])
    if said is not None and begin > start and body[start:begin].strip():
        return body[start:begin].strip(), said["units"]
    return None


def _bracket_closes_part(flat: str, opened: int, index: int) -> bool:
    """A bracket closes a part when a sentence ended before it, or a new part (or nothing) follows
    it."""
    if flat[:opened].rstrip().endswith(("。", ";", "；")):
        return True
    rest = flat[index + 1 :].lstrip("。;；, ")
    return not rest or bool(_ENUMERATOR.match(rest))


def _bracket_part(
    body: str, flat: str, start: int, opened: int, index: int
) -> tuple[str, str] | None:
    """The part from `start` closed by the bracket opened at `opened`, if the bracket closes a part
    and names units."""
    if not _bracket_closes_part(flat, opened, index):
        return None
    inner = flat[opened + 1 : index]
    if _unit_fields(inner) is not None and body[start:opened].strip():
        return body[start:opened].strip(), inner
    return None


def _sentence_part(body: str, flat: str, start: int, index: int) -> tuple[str, str] | None:
    """The part from `start` closed by the sentence ending at `index`, if that sentence only assigns
    units."""
    begin = max(
        flat.rfind("。", 0, index) + 1, start
    )  # the sentence ending here, from the last 。 before it
    said = unit_sentence(flat[begin : index + 1])
    if said is not None and body[start:begin].strip():
        return body[start:begin].strip(), said["units"]
    return None


def _part_start(flat: str, index: int) -> int:
    """Where the next part starts after a close at `index`: past the punctuation that follows."""
    start = index + 1
    while start < len(flat) and flat[start] in "。;；, ":
        start += 1
    return start


def _enumerated_after_heading(block: _Block, text: str) -> bool:
    """A (一) paragraph whose heading sentence is followed by 一是 / 1.: its parts are the tasks."""
    flat = normalize(text)
    cut = flat.find("。")
    return block.marker == "cn" and cut >= 0 and bool(_ENUMERATOR.match(flat[cut + 1 :].lstrip()))


def _unfold(lines: list[str]) -> list[tuple[int, str]]:
    """(line number, text) with a long line of inline items and labels unfolded, one per line:
    "… 1.某项目。 牵头领导:甲 责任单位:市某局 配合单位:市某委 2.…" (a page that lost its line
    breaks)."""
    unfolded: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        labels = [m for m in _INLINE_LABEL.finditer(line) if label_kind(m.group(1))]
        if len(labels) < 2:
            unfolded.append((number, line))
            continue
        cuts = sorted({m.start(1) for m in _INLINE_LABEL.finditer(line)} | _item_starts(line))
        pieces = [line[a:b].strip() for a, b in zip([0, *cuts], [*cuts, len(line)], strict=True)]
        for piece in pieces:
            label = re.match(r"^([^\s:：]{2,8})[:：]\s*(.*)$", piece)
            if label and label_kind(label.group(1)) in ("units", "lead", "cooperating", "person"):
                # the value ends at the first space that no separator precedes (a table follows)
                value = re.split(r"(?<![、,，;；])\s+", label.group(2).strip(), maxsplit=1)[0]
                piece = f"{label.group(1)}:{value}"
            if piece:
                unfolded.append((number, piece))
    return unfolded


_INLINE_LABEL = re.compile(r"(?:^|\s)([^\s:：,，。]{2,8})[:：]")


def _item_starts(line: str) -> set[int]:
    """Where " 1." " 2." … begin inside a line, in sequence."""
    starts: set[int] = set()
    expected = 1
    for m in re.finditer(r"(?:^|\s)(\d{1,3})[.、](?=\S)", line):
        if int(m.group(1)) == expected:
            starts.add(m.start(1))
            expected += 1
    return starts


def _printed(block: _Block) -> int | None:
    """The number printed at the head of a block: 3 for "3." or "(3)", 14 for "(十四)"."""
    head = normalize(block.text[0]) if block.text else ""
    cn = CN_BRACKETED.match(head)
    if cn:
        return chinese_number(cn.group(1))
    item = ITEM.match(head)
    if item:
        return int(item.group(1) or item.group(2))
    section = SECTION.match(head)
    return chinese_number(section.group(1)) if section else None


def _label_line(line: str) -> tuple[str, str] | None:
    """A line "牵头责任单位:X" / "分 管 县领导:Y" / "完成时限:Z": (the field it fills, its
    value)."""
    found = re.match(r"^([^:：，,。;；]{2,14})[:：]\s*(.*)$", line)
    if not found:
        return None
    kind = label_kind(found.group(1))
    if kind in ("units", "lead", "cooperating", "deadline", "person", "scorer"):
        return kind, found.group(2).strip().rstrip("。.")
    return None


def _ends_with_units(text: str) -> bool:
    inner = trailing_brackets(text)[1]
    return inner is not None and _unit_fields(normalize(inner)) is not None


PAGE_FOOTER = re.compile(r"^[—–\-－\s]*(?:第\s*)?\d{1,3}(?:\s*页)?[—–\-－\s]*$")
_MARKER = re.compile(rf"^(?:[{CN}]+[、.]|\([{CN}]+\)|\(?\d+[.、)]|[^:：]{{2,12}}[:：])")


def unwrap_hard_breaks(lines: list[str]) -> list[str]:
    """PDF text: page footers ("— 3 —") dropped and lines broken at the page width joined again.

    A text is taken for PDF text when most of its full-width lines end without closing
    punctuation; then a line as long as the page is continued by the next one unless that
    starts a new item or label. Joined lines leave an empty line behind, so numbers stay.
    """
    text = [line.strip() for line in lines]
    width = _page_width(text)
    if width is None:
        return lines
    result = ["" if PAGE_FOOTER.match(t) else t for t in text]
    current = None
    for index, line in enumerate(result):
        if not line:
            continue
        if current is not None and not _MARKER.match(normalize(line)):
            result[current] += line
            result[index] = ""
            if len(line) < 0.8 * width or normalize(line).endswith("。"):
                current = None
            continue
        ends = normalize(line).endswith(("。", ";", ":", ")", "!", "?"))
        current = index if len(line) >= 0.8 * width and not ends else None
    return result


def _page_width(text: list[str]) -> int | None:
    """The page's width in characters if the text reads as PDF text (most full-width lines end
    without closing punctuation), else None."""
    lengths = sorted(len(t) for t in text if len(t) >= 15)
    if len(lengths) < 5:
        return None
    width = lengths[len(lengths) // 2]
    full = [t for t in text if len(t) >= 0.8 * width]
    open_ended = [
        t for t in full if not normalize(t).endswith(("。", ";", ":", ")", "!", "?", "|"))
    ]
    return width if len(open_ended) * 2 > len(full) else None


def read_prose(lines: list[str]) -> tuple[list[str], list[RawItem]]:
    lines = unwrap_hard_breaks(lines)
    prose = _Prose()
    for number, raw in _unfold(lines):
        prose.line(number, raw)
    prose.close()
    preface = prose.preface
    if not any(ISSUE_DATE.match(normalize(line)) for line in preface):
        # The date of issue printed at the end (落款), with the issuer on the line above it.
        for index, line in enumerate(prose.closing):
            if ISSUE_DATE.match(normalize(line)):
                preface.extend(prose.closing[max(0, index - 1) : index + 1])
    if first_is_lead_rule(normalize("\n".join(lines))):
        for item in prose.items:
            item.first_is_lead = True
    return preface, prose.items


@dataclass
class _Prose:
    """Reading prose line by line: the paragraph being gathered (`block`) is closed into items when
    the next one starts; section headings say whether items under them are tasks and their
    category."""

    items: list[RawItem] = field(default_factory=list)
    preface: list[str] = field(default_factory=list)
    closing: list[str] = field(default_factory=list)
    category: str | None = None
    in_tasks: bool = True
    started: bool = False
    block: _Block | None = None
    last: dict[str, int | None] = field(
        default_factory=dict
    )  # the printed number of the last task, per marker
    sections: int = 0  # 一、 headings seen so far

    def line(self, number: int, raw: str) -> None:
        line, written = normalize(raw), raw.strip()
        if not line:
            return
        where = Where("line", number)
        section = SECTION.match(line)
        if section and (len(section.group(2)) > 30 or line.endswith(")")):
            self.open(where, "section", written)  # a long 一、 paragraph: a task if it names units
        elif section:
            self.heading(section, written)
        elif (labelled := _label_line(line)) and self.block is not None:
            kind, value = labelled
            self.block.fields[kind] = (
                f"{self.block.fields[kind]}、{value}" if kind in self.block.fields else value
            )
        elif self.block is not None and self.measure_of_item(line):
            self.block.text.append(written)
        elif marker := _marker(line):
            self.open(where, marker, written)
        elif self.block is not None and not _ends_with_units("".join(self.block.text)):
            self.block.text.append(written)
        elif not self.started:
            self.preface.append(written)
        else:  # closing text after the items (署名, 日期)
            self.closing.append(written)

    def open(self, where: Where, marker: str, written: str) -> None:
        self.close()
        self.started = True
        self.block = _Block(where=where, marker=marker, text=[written])

    def heading(self, section: re.Match[str], written: str) -> None:
        """A 一、 heading: whether the items under it are tasks, and their category."""
        self.close()
        self.started = True
        self.sections += 1
        title = simplified(strip_end_punctuation(section.group(2)))  # 重點任務 is 重点任务
        # The heading is judged by what it starts with: "主要目标" is a goals section,
        # "确保完成全年主要预期目标" is not.
        self.in_tasks = not title.startswith(NOT_TASKS)
        self.category = None if title.startswith(GENERIC_TASK_SECTIONS) else written.rstrip("。")

    def measure_of_item(self, line: str) -> bool:
        """(1)(2) under a "1." that has named no unit yet: its measures; the level that carries
        the units (the unit line after them) is the task."""
        item = ITEM.match(line)
        block = self.block
        if not (item and item.group(2) and block is not None and block.marker == "item"):
            return False
        first = ITEM.match(normalize(block.text[0]))
        return (
            bool(first and first.group(1))
            and not block.fields
            and not _ends_with_units("".join(block.text))
        )

    def close(self) -> None:
        block, self.block = self.block, None
        if block is None:
            return
        body = "".join(block.text)  # as written; only matching looks at the normalised form
        groups, tail = closed_parts(body)
        several = len(groups) >= 2 or (
            len(groups) == 1 and _enumerated_after_heading(block, groups[0][0])
        )
        if several and self.in_tasks and not block.fields:
            self.split(block, groups)
            return
        body, fields = _closing_fields(block, body, groups, tail)
        self.file(block, body, fields)

    def split(self, block: _Block, groups: list[tuple[str, str]]) -> None:
        """Several tasks in one paragraph, each closed by its own unit bracket; a (一) paragraph's
        first sentence is then its heading, the category of the tasks in it."""
        first, inner_first = groups[0]
        here = self.category
        if block.marker == "cn":
            parts = sentences(first)
            here = parts[0] if parts else self.category
            cut = normalize(first).find("。")
            first = first[cut + 1 :] if cut >= 0 else ""
        for text, inner in [(first, inner_first), *groups[1:]]:
            if text.strip():
                piece = _Block(where=block.where, marker="split", text=[text])
                self.items.append(_item(piece, text, _unit_fields(normalize(inner)) or {}, here))

    def file(self, block: _Block, body: str, fields: dict[str, str]) -> None:
        """A closed paragraph: a heading (a (一) naming no units), a task, or neither."""
        has_units = any(k in fields for k in ("units", "lead", "cooperating"))
        if block.marker == "cn" and not has_units:
            heading = sentences("".join(block.text) or body)
            self.category = heading[0] if heading else None
        elif (self.in_tasks and (has_units or block.marker != "section")) or (
            has_units and self.continues(block)
        ):
            # Under a task heading an item is a task, with units or (to be assigned) without; a long
            # 一、 paragraph is a task only if it names units. Requirements sections hold no tasks,
            # unless their items carry units and go on with the tasks' numbering ((十三) → (十四)).
            if (
                has_units or self.sections
            ):  # a bare numbered line before any heading is the preface's (附件:1. 2.)
                self.items.append(_item(block, body, fields, self.category))
                self.last[block.marker] = _printed(block)

    def continues(self, block: _Block) -> bool:
        number = _printed(block)
        last = self.last.get(block.marker)
        return number is not None and last is not None and number == last + 1


def _marker(line: str) -> str | None:
    """The kind of item a line starts: (一), 1. / (1), 一是; None if it starts none."""
    if CN_BRACKETED.match(line):
        return "cn"
    if ITEM.match(line):
        return "item"
    if SHI.match(line):
        return "shi"
    return None


def _closing_fields(
    block: _Block, body: str, groups: list[tuple[str, str]], tail: str
) -> tuple[str, dict[str, str]]:
    """A paragraph's text and fields once what closes it (a unit bracket, or a sentence that only
    assigns units) is taken off; its own labelled lines win."""
    fields = dict(block.fields)
    rest, inner = trailing_brackets(body)
    bracket_fields = _unit_fields(normalize(inner)) if inner is not None else None
    if bracket_fields is None and len(groups) == 1 and not fields:
        # "…。由A牵头,B配合。": the sentence that assigns the units closes the task
        rest, inner = f"{groups[0][0]}{tail}", groups[0][1]  # what follows still says more
        bracket_fields = _unit_fields(inner) or {"units": inner}
    if bracket_fields:
        return rest, {**bracket_fields, **fields}
    return body, fields


def _item(block: _Block, body: str, fields: dict[str, str], category: str | None) -> RawItem:
    text, printed = body, ""
    for pattern in (SECTION, CN_BRACKETED, ITEM, SHI):
        found = pattern.match(normalize(text))
        if found:
            # NFKC maps full-width marks one to one, so the marker is as long in the text as
            # written.
            text = text.strip()[found.start(found.lastindex or 0) :]
            if pattern is ITEM:
                printed = found.group(1) or found.group(2)
            elif pattern is SECTION and block.marker == "section":
                printed = str(chinese_number(found.group(1)))
            break
    parts = sentences(text)
    title = parts[0] if parts else ""
    content = "。".join(parts[1:]) + "。" if len(parts) > 1 else (parts[0] + "。" if parts else "")
    return RawItem(
        where=block.where,
        number_text=printed,
        title=title,
        content=content,
        units={k: v for k, v in fields.items() if k in ("units", "lead", "cooperating")},
        people=[p for p in re.split(r"[、,，;；]", fields.get("person", "")) if p.strip()],
        deadline_text=fields.get("deadline"),
        category=category,
    )

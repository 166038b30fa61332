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
            rows = [(Where("line", i + 1), [c.strip().replace("<br>", "\n") for c in raw.strip().strip("|").split("|")])
                    for i, raw in enumerate(lines[index:], start=index)
                    if raw.strip().startswith("|") and not re.fullmatch(r"[\s|:\-]+", raw)]
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
    data = [(i + 1, raw) for i, raw in enumerate(lines[start + 1:], start=start + 1) if raw.strip() and raw.strip() != "|"]
    if columns is None or "number" not in columns.values() or not data:
        return None
    if sum(bool(re.match(r"^\s*\d+\s*\|", raw)) for _, raw in data) * 5 < len(data) * 4:
        return None
    width = len(header_cells)
    number_at = next(i for i, k in columns.items() if k == "number")
    texts = [i for i in sorted(columns) if columns[i] == "text" and i > number_at]
    rows: list[tuple[Where, list[str]]] = []
    above: list[str] = []
    for number, line in data:
        cells = [c.strip() for c in line.strip().split("|")]
        while cells and not cells[-1]:
            cells.pop()
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
        rows.append((Where("line", number), row))
        above = row
    return Table(preface=[], items=items_below_header(rows, columns), numbered=True)


def _wrapped_table(lines: list[str], start: int) -> Table | None:
    """The web-copy layout: cells end with "|", and a cell may continue on the next lines."""
    cells: list[tuple[str, int]] = []
    buffer: list[str] = []
    first_line: int | None = None
    for number, line in enumerate(lines[start:], start=start + 1):
        pieces = line.split("|")
        for position, piece in enumerate(pieces):
            if position > 0:  # a "|" closed the cell before it
                cells.append(("\n".join(buffer).strip(), first_line or number))
                buffer, first_line = [], None
            if piece.strip():
                first_line = first_line or number
                buffer.append(piece.strip())
    header: dict[int, str] = {}
    width = 0
    for position, (text, _) in enumerate(cells):
        column = column_of(text)
        following = cells[position + 1][0] if position + 1 < len(cells) else ""
        if column is None and not (column_name_like(text) and column_of(following)):
            # The first data cell; an unknown column name between known ones is kept as a column.
            break
        if column is not None and column not in ("text", "group", "person", "scorer", "remarks") \
                and column in header.values():
            break
        if column is not None:
            header[width] = column
        width += 1
    if not ("text" in header.values() and {"units", "lead", "cooperating"} & set(header.values())):
        return None
    rows: list[tuple[Where, list[str]]] = []
    current: list[tuple[str, int]] = []
    numbered = "number" in header.values()
    for text, line_number in cells[width:]:
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
    return Table(preface=[], items=items_below_header(rows, header), numbered=numbered)


# --- prose ------------------------------------------------------------------------------------

CN = "一二三四五六七八九十"
SECTION = re.compile(rf"^([{CN}]+)[、.]\s*(.+)$")
CN_BRACKETED = re.compile(rf"^\(([{CN}]+)\)\s*(.+)$")
ITEM = re.compile(r"^(?:(\d+)\s*[.、]|\((\d+)\))\s*(.+)$")
SHI = re.compile(rf"^([{CN}]+)是\s*(.+)$")
UNIT_LINE = re.compile(r"^(牵头单位|牵头部门|责任单位|责任部门|配合单位|配合部门|协同单位|完成时限|时间节点|完成时间)\s*[:]\s*(.*)$")
NOT_TASKS = ("总体要求", "总体目标", "发展目标", "预期目标", "指导思想", "基本原则", "工作目标", "主要目标", "保障措施", "组织保障", "工作要求",
             "组织领导", "工作保障", "实施步骤", "工作步骤", "进度安排", "有关要求", "工作机制", "其他事项")
GENERIC_TASK_SECTIONS = ("工作任务", "重点任务", "主要任务", "任务分工", "重点工作", "具体任务", "工作内容")
UNITISH = re.compile(r"(牵头|负责|配合|单位|部门|局|委|办|部|院|会|府|街道|镇|团|联|社|中心|公司|队|所|行|处|厅)")
DEADLINE_WORDS = re.compile(r"(\d{4}\s*年|\d{1,2}\s*月|底前|年底|年内|长期|持续|常态)")
LINE_COLUMNS = {"牵头单位": "lead", "牵头部门": "lead", "责任单位": "units", "责任部门": "units",
                "配合单位": "cooperating", "配合部门": "cooperating", "协同单位": "cooperating",
                "完成时限": "deadline", "时间节点": "deadline", "完成时间": "deadline"}


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
                return stripped[:index].rstrip(), stripped[index + 1:-1]
    return text, None


def _unit_fields(inner: str) -> dict[str, str] | None:
    """What a trailing bracket says: units (and perhaps a deadline), or None if it is not about
    units."""
    from intake.unit_phrase import split_names

    if not UNITISH.search(inner):
        return None
    deadline = [part for part in split_names(inner) if DEADLINE_WORDS.search(part) and not UNITISH.search(part)]
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
    if not text or len(text) > 120 or not any(word in text for word, _ in ROLE_WORDS) \
            and "会同" not in text:
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

    def next_starts_part(index: int) -> bool:
        rest = flat[index + 1:].lstrip("。;；, ")
        return not rest or bool(_ENUMERATOR.match(rest))

    def close_at(index: int) -> None:
        nonlocal start
        start = index + 1
        while start < len(flat) and flat[start] in "。;；, ":
            start += 1

    index = 0
    while index < len(flat):
        char = flat[index]
        if char in "([【〔":
            if depth == 0:
                opened = index
            depth += 1
        elif char in ")]】〕" and depth:
            depth -= 1
            if depth == 0 and (flat[:opened].rstrip().endswith(("。", ";", "；"))
                               or next_starts_part(index)):
                inner = flat[opened + 1:index]
                if _unit_fields(inner) is not None and body[start:opened].strip():
                    found.append((body[start:opened].strip(), inner))
                    close_at(index)
        elif char == "。" and depth == 0:
            # the sentence ending here, from the last 。 before it
            begin = max(flat.rfind("。", 0, index) + 1, start)
            said = unit_sentence(flat[begin:index + 1])
            if said is not None and body[start:begin].strip():
                found.append((body[start:begin].strip(), said["units"]))
                close_at(index)
        index += 1
    if not found and depth == 0:  # a unit sentence left without its final 。
        begin = max(flat.rfind("。", 0, len(flat.rstrip("。"))) + 1, start)
        said = unit_sentence(flat[begin:])
        if said is not None and begin > start and body[start:begin].strip():
            found.append((body[start:begin].strip(), said["units"]))
            start = len(body)
    return found, body[start:].strip() if found else body


def _enumerated_after_heading(block: _Block, text: str) -> bool:
    """A (一) paragraph whose heading sentence is followed by 一是 / 1.: its parts are the tasks."""
    flat = normalize(text)
    cut = flat.find("。")
    return block.marker == "cn" and cut >= 0 and bool(_ENUMERATOR.match(flat[cut + 1:].lstrip()))


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
    lengths = sorted(len(t) for t in text if len(t) >= 15)
    if len(lengths) < 5:
        return lines
    width = lengths[len(lengths) // 2]
    full = [t for t in text if len(t) >= 0.8 * width]
    open_ended = [t for t in full if not normalize(t).endswith(("。", ";", ":", ")", "!", "?", "|"))]
    if len(open_ended) * 2 <= len(full):
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


def read_prose(lines: list[str]) -> tuple[list[str], list[RawItem]]:
    lines = unwrap_hard_breaks(lines)
    items: list[RawItem] = []
    preface: list[str] = []
    category: str | None = None
    in_tasks = True
    started = False
    block: _Block | None = None
    last: dict[str, int | None] = {}  # the printed number of the last task, per kind of marker
    closing: list[str] = []
    sections = 0  # 一、 headings seen so far

    def close() -> None:
        nonlocal block, category, sections
        if block is None:
            return
        body = "".join(block.text)  # as written; only matching looks at the normalised form
        fields = dict(block.fields)
        groups, tail = closed_parts(body)
        several = len(groups) >= 2 or (
            len(groups) == 1 and _enumerated_after_heading(block, groups[0][0]))
        if several and in_tasks and not fields:
            # Several tasks in one paragraph, each closed by its own unit bracket; a (一)
            # paragraph's first sentence is then its heading, the category of the tasks in it.
            first, inner_first = groups[0]
            here = category
            if block.marker == "cn":
                parts = sentences(first)
                here = parts[0] if parts else category
                cut = normalize(first).find("。")
                first = first[cut + 1:] if cut >= 0 else ""
            for text, units_text in [(first, inner_first), *groups[1:]]:
                if text.strip():
                    piece = _Block(where=block.where, marker="split", text=[text])
                    items.append(_item(piece, text, _unit_fields(normalize(units_text)) or {}, here))
            block = None
            return
        rest, inner = trailing_brackets(body)
        bracket_fields = _unit_fields(normalize(inner)) if inner is not None else None
        if bracket_fields is None and len(groups) == 1 and not fields:
            # "…。由A牵头,B配合。": the sentence that assigns the units closes the task
            rest, inner = f"{groups[0][0]}{tail}", groups[0][1]  # what follows still says more
            bracket_fields = _unit_fields(inner) or {"units": inner}
        if bracket_fields:
            body = rest
            fields = {**bracket_fields, **fields}
        has_units = any(k in fields for k in ("units", "lead", "cooperating"))
        if block.marker == "cn" and not has_units:
            heading = sentences("".join(block.text) or body)
            category = heading[0] if heading else None
        elif (in_tasks and (has_units or block.marker != "section")) or (has_units and _continues(block)):
            # Under a task heading an item is a task, with units or (to be assigned) without; a long
            # 一、 paragraph is a task only if it names units. Requirements sections hold no tasks,
            # unless their items carry units and go on with the tasks' numbering ((十三) → (十四)).
            if has_units or sections:  # a bare numbered line before any heading is the preface's (附件:1. 2.)
                items.append(_item(block, body, fields, category))
                last[block.marker] = _printed(block)
        block = None

    def _continues(block: _Block) -> bool:
        number = _printed(block)
        previous = last.get(block.marker)
        return number is not None and previous is not None and number == previous + 1

    for number, raw in _unfold(lines):
        line, written = normalize(raw), raw.strip()
        if not line:
            continue
        where = Where("line", number)
        section = SECTION.match(line)
        if section and (len(section.group(2)) > 30 or line.endswith(")")):
            # A long 一、 paragraph: a task if it names units (the 一、 items are the tasks).
            close()
            started = True
            block = _Block(where=where, marker="section", text=[written])
            continue
        if section:
            close()
            started = True
            sections += 1
            title = simplified(strip_end_punctuation(section.group(2)))  # 重點任務 is 重点任务
            # The heading is judged by what it starts with: "主要目标" is a goals section,
            # "确保完成全年主要预期目标" is not.
            in_tasks = not title.startswith(NOT_TASKS)
            category = None if title.startswith(GENERIC_TASK_SECTIONS) else written.rstrip("。")
            continue
        labelled = _label_line(line)
        if labelled and block is not None:
            kind, value = labelled
            block.fields[kind] = f"{block.fields[kind]}、{value}" if kind in block.fields else value
            continue
        cn = CN_BRACKETED.match(line)
        item = ITEM.match(line)
        shi = SHI.match(line)
        if item and item.group(2) and block is not None and block.marker == "item" \
                and (head := ITEM.match(normalize(block.text[0]))) and head.group(1) \
                and not block.fields and not _ends_with_units("".join(block.text)):
            # (1)(2) under a "1." that has named no unit yet: its measures; the level that carries
            # the units (the unit line after them) is the task.
            block.text.append(written)
            continue
        if cn or item or shi:
            close()
            started = True
            marker = "cn" if cn else "item" if item else "shi"
            block = _Block(where=where, marker=marker, text=[written])
            continue
        if block is not None and not _ends_with_units("".join(block.text)):
            block.text.append(written)
        elif not started:
            preface.append(written)
        else:  # closing text after the items (署名, 日期)
            closing.append(written)
    close()
    if not any(ISSUE_DATE.match(normalize(line)) for line in preface):
        # The date of issue printed at the end (落款), with the issuer on the line above it.
        for index, line in enumerate(closing):
            if ISSUE_DATE.match(normalize(line)):
                preface.extend(closing[max(0, index - 1):index + 1])
    if first_is_lead_rule(normalize("\n".join(lines))):
        for found_item in items:
            found_item.first_is_lead = True
    return preface, items


def _item(block: _Block, body: str, fields: dict[str, str], category: str | None) -> RawItem:
    text, printed = body, ""
    for pattern in (SECTION, CN_BRACKETED, ITEM, SHI):
        found = pattern.match(normalize(text))
        if found:
            # NFKC maps full-width marks one to one, so the marker is as long in the text as
            # written.
            text = text.strip()[found.start(found.lastindex or 0):]
            if pattern is ITEM:
                printed = found.group(1) or found.group(2)
            elif pattern is SECTION and block.marker == "section":
                printed = str(chinese_number(found.group(1)))
            break
    parts = sentences(text)
    title = parts[0] if parts else ""
    content = "。".join(parts[1:]) + "。" if len(parts) > 1 else (parts[0] + "。" if parts else "")
    return RawItem(
        where=block.where, number_text=printed, title=title, content=content,
        units={k: v for k, v in fields.items() if k in ("units", "lead", "cooperating")},
        people=[p for p in re.split(r"[、,，;；]", fields.get("person", "")) if p.strip()],
        deadline_text=fields.get("deadline"), category=category,
    )

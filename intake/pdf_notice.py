"""Notices as PDF files with a text layer: a ruled task table, or the text of the notice.

Text comes from PDFium (fast: a 200-page notice in a second or two) line by
line with each line's position, so lines the typesetter wrapped are joined
again: a line that reaches the right margin and does not end a sentence
goes on in the next one. Pages with ruling lines are read as tables with
pdfplumber, where a line inside a cell that stops short of the cell's right
edge is a real line break (a new unit), the others are wraps. A PDF without
a text layer (a scan) or with an open password is refused with a message.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

from intake import limits
from intake.grid import find_header, items_below_header
from intake.notice import RawItem, Where

if TYPE_CHECKING:
    from pdfplumber.page import Page
    from pdfplumber.table import Table

_CJK = r"\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef"
_AUTOSPACE = re.compile(
    rf"(?<=[{_CJK}])[ \u00a0]+(?=[0-9A-Za-z%])|(?<=[0-9A-Za-z%])[ "
    rf"\u00a0]+(?=[{_CJK}])"
)
_SENTENCE_END = tuple("。；;！!？?：:）)】」》")
_ITEM_START = re.compile(
    r"^\s*(?:\d+[.、．]|[（(][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十]+、|第[一二三四五六七八九十]+)"
)
# A footer's page number: "- 3 -", "— 3 —", "3", "3/10", "第3页", "第 3 页 共 10 页".
_PAGE_NUMBER = re.compile(
    r"^\s*[-—–－]?\s*(?:第\s*)?\d+\s*(?:页)?\s*(?:(?:/|共)\s*\d+\s*页?)?\s*[-—"
    r"–－]?\s*$"
)
_MIN_CHARS_PER_PAGE = 10  # below this on average the PDF is a scan


def _unspace(text: str) -> str:
    """PDF text has the gap a typesetter leaves between Chinese and Latin as a space: not in the
    notice."""
    return _AUTOSPACE.sub("", text)


def read_pdf(data: bytes, source: str) -> tuple[list[str], list[RawItem], bool]:
    """(preface lines, items, renumber) from a PDF, as the text reader or the table reader sees
    them."""
    import pypdfium2 as pdfium

    if b"%PDF" not in data[:1024]:  # the header may follow a little junk, as readers allow
        raise limits.refuse(
            source,
            "文件不是有效的 PDF——请重新获取原文件，或用办公软件另存为 PDF",
            "the file is not a valid PDF",
        )
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if "password" in str(error).lower():
            raise limits.refuse(
                source,
                "PDF 已加密（设有打开密码）——请去掉密码后另存，或向发文单位索取未加密的文件",
                "the PDF is encrypted (has an open password): remove the password",
            ) from error
        raise limits.refuse(
            source,
            "PDF 不完整或已损坏（可能下载中断）——请重新获取原文件",
            f"the PDF is truncated or damaged ({error})",
        ) from error
    try:
        pages = len(document)
        if pages > limits.MAX_PDF_PAGES:
            raise limits.refuse(
                source,
                f"PDF 共 {pages} 页，超过上限 {limits.MAX_PDF_PAGES} 页——请只保留任务清单部分",
                f"the PDF has {pages} pages, above the limit of {limits.MAX_PDF_PAGES}",
            )
        lines, ruled = _text_lines(document, source)
    finally:
        document.close()
    if sum(len(line) for line in lines) < _MIN_CHARS_PER_PAGE * max(pages, 1):
        raise limits.refuse(
            source,
            "PDF 没有文字层（可能是扫描件或图片）——请向发文单位索取可复制文字的 PDF 或 Word 文件，"
            "或先做文字识别（OCR）",
            "the PDF has no text layer (a scan?): get a PDF with text or a Word "
            "file, or OCR it first",
        )
    if ruled:
        table = _read_tables(data, source)
        if table is not None:
            return table
    from intake.text_notice import read_text

    return read_text("\n".join(lines))


def _text_lines(document: Any, source: str) -> tuple[list[str], bool]:  # a pypdfium2 PdfDocument
    """Every page's lines with wraps joined and page numbers dropped; and whether the first pages
    have rules."""
    import pypdfium2.raw as pdfium_c

    lines: list[str] = []
    total = 0
    ruled = False
    for index in range(len(document)):
        page = document[index]
        if index < 3 and not ruled:
            ruled = (
                sum(1 for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_PATH], max_depth=1))
                >= 4
            )
        text_page = page.get_textpage()
        page_lines = _page_lines(text_page)
        text_page.close()
        page.close()
        while page_lines and _PAGE_NUMBER.match(page_lines[-1]):
            page_lines.pop()  # the footer's page number
        total += sum(len(line) for line in page_lines)
        limits.check_characters(total, source)
        lines.extend(page_lines)
    return lines, ruled


def _page_lines(text_page: Any) -> list[str]:  # a pypdfium2 PdfTextPage (pypdfium2 is untyped)
    """The page's lines, top to bottom, a wrapped line joined with the one it goes on in.

    PDFium's text has its own line breaks ("\\r\\n", counted as characters); the box of each line's
    last character says how far right the line reaches.
    """
    text = text_page.get_text_range()
    spans: list[tuple[float, float, str]] = []  # (right edge, character height, text)
    offset = 0
    for line in text.split("\r\n"):
        content = line.rstrip()
        if content.strip():
            _left, bottom, right, top = text_page.get_charbox(offset + len(content) - 1)
            spans.append((right, top - bottom, _unspace(content.strip())))
        offset += len(line) + 2
    if not spans:
        return []
    margin = max(right for right, _, _ in spans)
    lines: list[str] = []
    wrapped = False
    for right, height, content in spans:
        if wrapped and not _ITEM_START.match(content):
            lines[-1] += content
        else:
            lines.append(content)
        # A line reaching the margin goes on, unless it ends a sentence (a short one never reaches
        # it).
        wrapped = right >= margin - 1.5 * max(height, 6.0) and not content.endswith(_SENTENCE_END)
    return lines


def _read_tables(data: bytes, source: str) -> tuple[list[str], list[RawItem], bool] | None:
    """A ruled task table over one or more pages, or None when no table has a task header."""
    import pdfplumber

    preface: list[str] = []
    items: list[RawItem] = []
    columns: dict[int, str] | None = None
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page_number, page in enumerate(pdf.pages, start=1):
            tables = page.find_tables()
            if columns is None:  # the notice's own lines above its table: title, issuer, date
                preface.extend(_lines_above(page, tables))
            for table in tables:
                rows = [
                    (Where("row", i, f"第{page_number}页"), cells)
                    for i, cells in enumerate(_cells(page, table), start=1)
                ]
                columns = _table_items(rows, columns, preface=preface, items=items)
    if columns is None:
        return None
    return preface, items, "number" not in columns.values()


def _lines_above(page: Page, tables: list[Table]) -> list[str]:
    above = tables[0].bbox[1] if tables else page.height
    text = page.crop((0, 0, page.width, above)).extract_text() if above > 1 else ""
    return [_unspace(line) for line in (text or "").splitlines()]


def _table_items(
    rows: list[tuple[Where, list[str]]],
    columns: dict[int, str] | None,
    *,
    preface: list[str],
    items: list[RawItem],
) -> dict[int, str] | None:
    """One table's items: below its task header (the rows above it go to the preface), or all its
    rows when it goes on from the page before; the columns in force after it."""
    found = find_header(rows) if columns is None else None
    if found is not None:
        header_index, columns = found
        preface.extend(" ".join(c for c in cells if c) for _, cells in rows[:header_index])
        items.extend(items_below_header(rows[header_index + 1 :], columns))
    elif columns is not None and rows and len(rows[0][1]) > max(columns):
        # the table goes on over the page
        items.extend(items_below_header(rows, columns))
    return columns


def _cells(page: Page, table: Table) -> list[list[str]]:
    """Each row's cell texts; a cell merged down repeats the value above, a row-wide merge stays one
    cell."""
    grid: list[list[str]] = []
    for row in table.rows:
        boxes = row.cells
        texts = [_cell_text(page, box) if box is not None else None for box in boxes]
        spans_row = texts and texts[0] is not None and all(t is None for t in texts[1:])
        filled = []
        for column, text in enumerate(texts):
            if text is None:
                above = (
                    grid[-1][column] if grid and column < len(grid[-1]) and not spans_row else ""
                )
                filled.append(above)
            else:
                filled.append(text)
        grid.append(filled)
    return grid


def _cell_text(page: Page, box: tuple[float, float, float, float]) -> str:
    """The cell's lines: one that stops well short of the cell's right edge ends there, the others
    wrap."""
    x0, top, x1, bottom = box

    # by the character's centre: a neighbour's glyph may touch the rule
    def inside(obj: dict[str, float]) -> bool:
        return (
            x0 <= (obj["x0"] + obj["x1"]) / 2 <= x1
            and top <= (obj["top"] + obj["bottom"]) / 2 <= bottom
        )

    text = ""
    for line in page.filter(
        lambda obj: obj.get("object_type") != "char" or inside(obj)
    ).extract_text_lines(strip=True):
        size = max((c["size"] for c in line["chars"]), default=10)
        text += line["text"] + ("\n" if line["x1"] < x1 - 1.8 * size else "")
    return _unspace(text.strip())

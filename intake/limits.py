"""Caps on untrusted notice files, checked before any parser sees them.

A notice comes from outside (an upload, a mail attachment), so a file can be
built to exhaust the reader: a workbook declaring A1:XFD1048576, a zip whose
few kilobytes inflate to gigabytes, a 50 MB "text" file. Each check here
reads only sizes and headers (the zip's central directory, a sheet's
declared dimension and cell references), so a hostile file is refused in
well under a second with a message naming the limit it broke.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Final

from intake.notice import ImportFailed, Problem

MB: Final = 1024 * 1024
MAX_FILE_BYTES: Final = 20 * MB  # a real notice, even a province's 5,000-task sheet, is a few MB
MAX_TEXT_CHARS: Final = 3_000_000  # characters of text a notice may hold, whatever its format
MAX_ZIP_ENTRIES: Final = 3000
MAX_UNZIPPED_BYTES: Final = 100 * MB  # all entries of a .docx/.xlsx together, as declared
MAX_RATIO: Final = 100  # inflated/compressed, for entries above RATIO_FLOOR; zeros compress ~1000:1
RATIO_FLOOR: Final = 4 * MB
# one XML part (document.xml, a sheet): parsing takes ~10x its size in memory
MAX_PART_BYTES: Final = 40 * MB
MAX_SHEET_CELLS: Final = 1_000_000  # rows x columns of a sheet's used range
MAX_PDF_PAGES: Final = 1000
MAX_PROBLEMS_SHOWN: Final = 50  # a refusal lists this many problems, then says how many more
CONVERT_TIMEOUT_S: Final = 60  # one LibreOffice conversion
WORKER_TIMEOUT_S: Final = 60  # one parse in the worker process
# the worker's address space (Python and its libraries take ~600 MB)
WORKER_MEMORY_BYTES: Final = 2048 * MB
# LibreOffice's, started by the worker (it maps more than it uses)
CONVERT_MEMORY_BYTES: Final = 4096 * MB

# .doc, .xls, .wps, .et, and encrypted .docx/.xlsx
OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def refuse(source: str, zh: str, en: str) -> ImportFailed:
    """The one-problem ImportFailed that every limit raises."""
    return ImportFailed([Problem(None, zh, en)], source)


def _mb(size: int) -> str:
    return f"{size / MB:.1f}".rstrip("0").rstrip(".")


def check_file_size(path: Path, source: str) -> int:
    """The file's size, refused above MAX_FILE_BYTES before a byte of it is read."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise refuse(
            source,
            f"文件大小 {_mb(size)} MB，超过上限 {_mb(MAX_FILE_BYTES)} MB——请只保留任务清单部分"
            "后再导入",
            f"the file is {_mb(size)} MB, above the limit of {_mb(MAX_FILE_BYTES)} MB: "
            "keep only the task list",
        )
    if size == 0:
        raise refuse(source, "文件是空的（0 字节）", "the file is empty (0 bytes)")
    return size


def check_text_length(text: str, source: str) -> str:
    """Text (decoded, or extracted from Word or PDF) longer than MAX_TEXT_CHARS is refused."""
    check_characters(len(text), source)
    return text


def check_characters(count: int, source: str) -> None:
    """A count of characters read so far, refused above MAX_TEXT_CHARS (a reader stops there)."""
    if count > MAX_TEXT_CHARS:
        raise refuse(
            source,
            f"文件文字已超过 {MAX_TEXT_CHARS:,} 字的上限（读到 {count:,} 字）——请只保留任务清"
            "单部分后再导入",
            f"the file holds more than {MAX_TEXT_CHARS:,} characters ({count:,} read)",
        )


def open_zip(data: bytes, source: str, kind: str) -> zipfile.ZipFile:
    """The .docx/.xlsx container, after its central directory passes every cap (nothing is inflated
    yet)."""
    if data.startswith(OLE_MAGIC):
        raise refuse(
            source,
            f"文件已加密（设有打开密码），或是旧版 Office 文件改成了 {kind} 扩展名——请去掉密"
            f"码，或用办公软件另存为 {kind} "
            "后再导入",
            "the file is encrypted (has an open password) or is an old Office file "
            f"renamed {kind}: "
            f"remove the password or save it as {kind}",
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        raise refuse(
            source,
            f"文件已损坏或不完整，不是有效的 {kind} 文件（可能下载中断）——请重新获取原文件，或"
            "用办公软件打开后另存",
            f"the file is truncated or not a valid {kind} ({error})",
        ) from error
    if len(entries) > MAX_ZIP_ENTRIES:
        raise refuse(
            source,
            f"{kind} 文件内含 {len(entries)} 个部件，超过上限 {MAX_ZIP_ENTRIES} 个——文件可能是"
            "恶意构造的，"
            "已拒绝",
            f"the {kind} holds {len(entries)} parts, above the limit of {MAX_ZIP_ENTRIES}",
        )
    total = sum(e.file_size for e in entries)
    if total > MAX_UNZIPPED_BYTES:
        raise refuse(
            source,
            f"{kind} 文件解压后共 {_mb(total)} MB，超过上限 {_mb(MAX_UNZIPPED_BYTES)} MB——"
            "文件可能是压缩炸弹，已拒绝",
            f"the {kind} inflates to {_mb(total)} MB, above the limit "
            f"of {_mb(MAX_UNZIPPED_BYTES)} MB (a zip bomb?)",
        )
    for entry in entries:
        if entry.filename.endswith(".xml") and entry.file_size > MAX_PART_BYTES:
            raise refuse(
                source,
                f"{kind} 文件中“{entry.filename}”解压后 {_mb(entry.file_size)} MB，"
                f"超过上限 {_mb(MAX_PART_BYTES)} MB"
                "——请只保留任务清单部分后再导入",
                f"“{entry.filename}” in the {kind} inflates to {_mb(entry.file_size)} MB, "
                "above the limit of "
                f"{_mb(MAX_PART_BYTES)} MB",
            )
        if entry.file_size > RATIO_FLOOR and entry.file_size > MAX_RATIO * max(
            entry.compress_size, 1
        ):
            raise refuse(
                source,
                f"{kind} 文件中“{entry.filename}”的压缩比超过 {MAX_RATIO}:1——文件可能是压缩炸"
                "弹，已拒绝",
                f"“{entry.filename}” in the {kind} is compressed more than {MAX_RATIO}:1 "
                "(a zip bomb?)",
            )
        if entry.flag_bits & 0x1:
            raise refuse(
                source,
                f"{kind} 文件中的内容已加密——请去掉密码后再导入",
                f"the {kind}'s parts are encrypted: remove the password",
            )
    return archive


_DIMENSION = re.compile(
    rb"<(?:\w+:)?dimension\b[^>]*?\bref=\"([A-Z]{1,3})(\d{1,7})(?::"
    rb"([A-Z]{1,3})(\d{1,7}))?\""
)
# A cell's reference is the only attribute r="LETTERS DIGITS"; a row's is r="DIGITS". Plain
# patterns with a literal start: the scan of a 25 MB sheet takes a fraction of a second.
_CELL = re.compile(rb' r="([A-Z]{1,3})[0-9]')
_ROW_NUMBER = re.compile(rb' r="([0-9]{1,7})"')


def _column(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def check_sheets(archive: zipfile.ZipFile, source: str) -> None:
    """Every worksheet's declared dimension and the range its cells really use, capped at
    MAX_SHEET_CELLS.

    The declared <dimension> is read from the first kilobytes; the cell references are then scanned
    (a regular expression over the XML, no parser), because a reader allocates the used range
    whatever the declaration says: two cells at A1 and XFD1048576 are 17 billion in between.
    """
    for entry in archive.infolist():
        if not re.fullmatch(r"xl/worksheets/[^/]+\.xml", entry.filename):
            continue
        sheet = entry.filename.rsplit("/", 1)[-1].removesuffix(".xml")
        with archive.open(entry) as stream:
            head = stream.read(4096)
            declared = _DIMENSION.search(head)
            if declared and declared.group(3):
                rows = int(declared.group(4)) - int(declared.group(2)) + 1
                columns = _column(declared.group(3)) - _column(declared.group(1)) + 1
                _check_extent(
                    source,
                    sheet,
                    declared.group(0).split(b'"')[1].decode(),
                    rows,
                    columns,
                    declared=True,
                )
            xml = head + stream.read()
        column_letters = set(_CELL.findall(xml))
        rows = max((int(r) for r in _ROW_NUMBER.findall(xml)), default=0)
        if not column_letters and not rows:
            # Cells and rows numbered only by position (rare): their number bounds the range.
            rows, column_letters = xml.count(b"<c") + xml.count(b":c "), {b"A"}
        columns = max((_column(c) for c in column_letters), default=1)
        rows = max(rows, 1)
        _check_extent(source, sheet, f"A1:{_letters(columns)}{rows}", rows, columns, declared=False)


def _letters(column: int) -> str:
    text = ""
    while column:
        column, rest = divmod(column - 1, 26)
        text = chr(65 + rest) + text
    return text


def _check_extent(
    source: str, sheet: str, ref: str, rows: int, columns: int, *, declared: bool
) -> None:
    cells = rows * columns
    if cells > MAX_SHEET_CELLS:
        how_zh, how_en = (
            ("声明的范围", "declares the range")
            if declared
            else ("实际使用的范围", "uses the range")
        )
        raise refuse(
            source,
            f"工作表 {sheet} {how_zh}为 {ref}（{rows:,} 行 × {columns:,} 列 = {cells:,} "
            "个单元格），"
            f"超过上限 {MAX_SHEET_CELLS:,} 个单元格——请删除多余的行列后另存再导入",
            f"sheet {sheet} {how_en} {ref} ({cells:,} cells), above the limit "
            f"of {MAX_SHEET_CELLS:,} cells",
        )

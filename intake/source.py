"""Reading a notice file: check it against the limits, tell its format by content, hand it to a
reader.

Every reader yields (preface lines, items, renumber) and, for workbooks, notes
the office should see (which sheet was read). Whatever goes wrong — a file
too large, a zip bomb, a truncated or encrypted file, a format we cannot
read — becomes one ImportFailed with a Chinese message; nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from intake import limits
from intake.notice import ImportFailed, ParsedNotice, Problem, RawItem, build_notice
from intake.preface import read_preface

TEXT_SUFFIXES = (".txt", ".md", ".text", ".markdown")
WORD_SUFFIXES = (".docx", ".docm")
SHEET_SUFFIXES = (".xlsx", ".xlsm", ".xls")
LEGACY_SUFFIXES = (".doc", ".wps", ".rtf", ".et")  # converted by LibreOffice
NOTICE_SUFFIXES = (
    *TEXT_SUFFIXES,
    *WORD_SUFFIXES,
    *SHEET_SUFFIXES,
    ".csv",
    ".pdf",
    *LEGACY_SUFFIXES,
)
NOTICE_TYPES = tuple(s.lstrip(".") for s in NOTICE_SUFFIXES)  # what the portal's upload accepts
FORMATS = "、".join(
    (".txt", ".md", ".docx", ".xlsx", ".xls", ".csv", ".pdf", ".doc", ".wps", ".et", ".rtf")
)

# File signatures, to refuse a binary file named .txt with what it really is.
_SIGNATURES = (
    (b"PK\x03\x04", "Word/Excel（.docx/.xlsx）或 ZIP 压缩包"),
    (limits.OLE_MAGIC, "旧版 Office（.doc/.xls/.wps/.et）"),
    (b"%PDF", "PDF"),
    (b"\x89PNG", "PNG 图片"),
    (b"\xff\xd8\xff", "JPEG 图片"),
    (b"GIF8", "GIF 图片"),
    (b"Rar!", "RAR 压缩包"),
    (b"7z\xbc\xaf", "7z 压缩包"),
    (b"\x1f\x8b", "gzip 压缩包"),
    (b"MZ", "Windows 程序"),
    (b"\x7fELF", "程序文件"),
)


@dataclass
class Read:
    """What a reader found, before build_notice interprets it."""

    preface: list[str]
    items: list[RawItem]
    renumber: bool
    notes: list[str] = field(default_factory=list)


def decode(data: bytes, source: str) -> str:
    """UTF-8 (with or without BOM), else GB18030 (which includes GBK); binary is refused."""
    for signature, what in _SIGNATURES:
        if data.startswith(signature):
            raise limits.refuse(
                source,
                f"文件内容是{what}，不是文本——请用正确的扩展名上传，或另存为 UTF-8 文本",
                f"the file holds {what}, not text: give it its real extension or "
                "save it as UTF-8 text",
            )
    if b"\x00" in data[:4096]:
        raise ImportFailed(
            [
                Problem(
                    None,
                    "文件不是文本（可能是二进制或 UTF-16 编码）——请另存为 UTF-8 或 GBK 文本",
                    "the file is not text (binary or UTF-16): save it as UTF-8 or GBK text",
                )
            ],
            source,
        )
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _looks_binary(text):
            break
        return limits.check_text_length(text, source)
    raise ImportFailed(
        [
            Problem(
                None,
                "无法识别文本编码（文件可能不是文本）——请另存为 UTF-8 或 GBK 文本",
                "cannot tell the text encoding (the file may not be text): save it as UTF-8 or GBK",
            )
        ],
        source,
    )


def _looks_binary(text: str) -> bool:
    """Control characters other than tab, line breaks and form feed are not in any notice."""
    sample = text[:65536]
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\n\r\f\v")
    return controls > max(2, len(sample) // 200)


def read_notice(path: Path, *, partial: bool = True) -> ParsedNotice:
    """Parse a notice file; raise ImportFailed listing every problem.

    `partial` (the default): tasks whose units cannot be read are kept (待分工), their problems
    listed in `ParsedNotice.problems` and on each task, instead of refusing the notice (see
    `build_notice`); `resolve(strict=True)` refuses them later, and `partial=False` here.
    """
    source = path.name
    try:
        limits.check_file_size(path, source)
        data = path.read_bytes()
    except OSError as error:
        raise ImportFailed(
            [
                Problem(
                    None,
                    f"无法读取文件：{error.strerror or error}",
                    f"cannot read the file: {error.strerror or error}",
                )
            ],
            str(path),
        ) from error
    suffix = path.suffix.lower()
    try:
        read = read_bytes(data, suffix, source)
    except ImportFailed:
        raise
    except MemoryError as error:
        raise limits.refuse(
            source,
            "文件内容过大，读取时超出内存上限——请只保留任务清单部分后再导入",
            "the file needs more memory than allowed: keep only the task list",
        ) from error
    except Exception as error:  # a corrupt file: say so, do not crash
        raise ImportFailed(
            [
                Problem(
                    None,
                    f"文件已损坏或格式不符（{type(error).__name__}）——请用办公软件打开检查后另存",
                    f"the file is damaged or not really {suffix} ({type(error).__name__}: {error})",
                )
            ],
            source,
        ) from error
    notice = build_notice(
        read.items,
        read_preface(read.preface),
        source_name=source,
        data=data,
        renumber=read.renumber,
        partial=partial,
    )
    notice.warnings[:0] = read.notes
    return notice


def read_bytes(data: bytes, suffix: str, source: str) -> Read:
    """The reader for what the file is, after the checks that need no parsing."""
    suffix = _real_suffix(data, suffix, source)
    if suffix in TEXT_SUFFIXES:
        from intake.text_notice import read_text

        return Read(*read_text(decode(data, source)))
    if suffix in WORD_SUFFIXES:
        from intake.word_notice import read_docx

        limits.open_zip(data, source, ".docx")
        preface, items, renumber = read_docx(data)
        limits.check_text_length("\n".join(preface), source)
        return Read(preface, items, renumber)
    if suffix in SHEET_SUFFIXES:
        return _read_sheet(data, suffix, source)
    if suffix == ".csv":
        from intake.sheet_notice import read_csv

        table = read_csv(decode(data, source), source)
        return Read(table.preface, table.items, not table.numbered)
    if suffix == ".pdf":
        from intake.pdf_notice import read_pdf

        return Read(*read_pdf(data, source))
    if suffix in (*LEGACY_SUFFIXES, ".html-sheet"):
        from intake.legacy_office import convert

        converted, target = convert(data, suffix, source)
        return read_bytes(converted, target, source)
    raise ImportFailed(
        [
            Problem(
                None,
                f"不支持的文件格式“{suffix or '无扩展名'}”——支持的格式：{FORMATS}",
                f"unsupported format “{suffix or 'no extension'}”: use one of {FORMATS}",
            )
        ],
        source,
    )


_OFFICE = (*WORD_SUFFIXES, *SHEET_SUFFIXES, *LEGACY_SUFFIXES)
# the OLE stream Office writes for a password-protected file
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")


def _real_suffix(data: bytes, suffix: str, source: str) -> str:
    """The format the content says, where offices often get the name wrong: a .doc saved as .docx,
    a .docx named .doc, a web page saved as .xls."""
    if suffix not in _OFFICE:
        return suffix
    if data.startswith(limits.OLE_MAGIC):
        if _ENCRYPTED in data:
            raise limits.refuse(
                source,
                "文件已加密（设有打开密码）——请在办公软件中去掉密码后另存，再导入",
                "the file is encrypted (has an open password): remove the password "
                "and save it again",
            )
        return {".docx": ".doc", ".docm": ".doc", ".xlsx": ".xls", ".xlsm": ".xls"}.get(
            suffix, suffix
        )
    if data.startswith(b"PK"):
        return {".doc": ".docx", ".wps": ".docx", ".xls": ".xlsx", ".et": ".xlsx"}.get(
            suffix, suffix
        )
    if suffix in (".xls", ".et") and data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
        return ".html-sheet"  # a table exported from a web system as "Excel": LibreOffice reads it
    return suffix


def _read_sheet(data: bytes, suffix: str, source: str) -> Read:
    from intake.sheet_notice import read_workbook

    if data.startswith(b"PK"):
        limits.check_sheets(limits.open_zip(data, source, ".xlsx"), source)
    elif not data.startswith(limits.OLE_MAGIC):
        raise limits.refuse(
            source,
            f"文件已损坏，或不是有效的 {suffix} 工作簿——请用办公软件打开后另存为 .xlsx",
            f"the file is damaged or not a valid {suffix} workbook: save it as .xlsx",
        )
    read = read_workbook(data, source)
    return Read(read.table.preface, read.table.items, not read.table.numbered, read.notes)

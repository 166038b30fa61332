"""Reading a notice file: decide the format, decode the text, hand it to the right reader."""

from __future__ import annotations

from pathlib import Path

from intake.notice import ImportFailed, ParsedNotice, Problem, build_notice
from intake.preface import read_preface

TEXT_SUFFIXES = (".txt", ".md", ".text", ".markdown")
FORMATS = "、".join((".txt", ".md", ".docx", ".xlsx", ".csv"))


def decode(data: bytes, source: str) -> str:
    """UTF-8 (with or without BOM), else GB18030 (which includes GBK); binary is refused."""
    if b"\x00" in data[:4096]:
        raise ImportFailed([Problem(None, "文件不是文本（可能是二进制或 UTF-16 编码）——请另存为 UTF-8 或 GBK 文本",
                                    "the file is not text (binary or UTF-16): save it as UTF-8 or GBK text")], source)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFailed([Problem(None, "无法识别文本编码——请另存为 UTF-8 或 GBK",
                                "cannot tell the text encoding: save the file as UTF-8 or GBK")], source)


def read_notice(path: Path, *, partial: bool = False) -> ParsedNotice:
    """Parse a notice file; raise ImportFailed listing every problem.

    `partial`: tasks whose units cannot be read are kept (待分工), their problems listed
    in `ParsedNotice.problems`, instead of refusing the notice (see `build_notice`).
    """
    source = path.name
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImportFailed([Problem(None, f"无法读取文件：{error.strerror or error}",
                                    f"cannot read the file: {error.strerror or error}")], str(path)) from error
    suffix = path.suffix.lower()
    try:
        if suffix in TEXT_SUFFIXES:
            from intake.text_notice import read_text

            preface, items, renumber = read_text(decode(data, source))
        elif suffix == ".docx":
            from intake.word_notice import read_docx

            preface, items, renumber = read_docx(data)
        elif suffix in (".xlsx", ".xlsm"):
            from intake.sheet_notice import read_xlsx

            table = read_xlsx(data, source)
            preface, items, renumber = table.preface, table.items, not table.numbered
        elif suffix == ".csv":
            from intake.sheet_notice import read_csv

            table = read_csv(decode(data, source), source)
            preface, items, renumber = table.preface, table.items, not table.numbered
        else:
            hint = "请另存为 .docx 或 .xlsx" if suffix in (".doc", ".xls", ".wps", ".et") else f"支持的格式：{FORMATS}"
            raise ImportFailed([Problem(None, f"不支持的文件格式“{suffix or '无扩展名'}”——{hint}",
                                        f"unsupported format “{suffix or 'no extension'}”: use one of {FORMATS}"
                                        + (" (save .doc/.xls as .docx/.xlsx)" if suffix in (".doc", ".xls") else ""))],
                               source)
    except ImportFailed:
        raise
    except Exception as error:  # a corrupt .docx or .xlsx: say so, do not crash
        raise ImportFailed([Problem(None, f"文件已损坏或格式不符（{type(error).__name__}）——请用办公软件打开检查后另存",
                                    f"the file is damaged or not really {suffix} ({type(error).__name__}: {error})")],
                           source) from error
    return build_notice(items, read_preface(preface), source_name=source, data=data, renumber=renumber,
                        partial=partial)

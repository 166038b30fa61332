"""Hostile notice files, written by the tests themselves: each is built to exhaust or crash a
reader.

HOSTILE_FILES maps a case to (builder, a fragment the one Chinese message must contain). The
builders are cheap (well under a second each) and write into the folder they are given.
"""

from __future__ import annotations

import io
import random
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from tests.support import notices


def workbook_bomb(folder: Path) -> Path:
    """A 1.5 KB .xlsx whose sheet declares A1:XFD1048576 (17 billion cells)."""
    small = notices.write_xlsx(folder / "small.xlsx")
    return _rewrite_sheet(
        small,
        folder / "bomb.xlsx",
        lambda xml: re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:XFD1048576"', xml),
    )


def workbook_far_cell(folder: Path) -> Path:
    """No declared dimension, but one cell at XFD1048576: a reader allocating the used range builds
    17 billion."""
    small = notices.write_xlsx(folder / "small.xlsx")

    def far(xml: bytes) -> bytes:
        xml = re.sub(rb"<dimension [^>]*/>", b"", xml)
        return xml.replace(
            b"</sheetData>",
            b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c>'
            b"</row></sheetData>",
        )

    return _rewrite_sheet(small, folder / "far.xlsx", far)


def _rewrite_sheet(source: Path, target: Path, change: Callable[[bytes], bytes]) -> Path:
    with (
        zipfile.ZipFile(source) as original,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as rewritten,
    ):
        for entry in original.infolist():
            data = original.read(entry)
            if entry.filename.startswith("xl/worksheets/sheet"):
                data = change(data)
            rewritten.writestr(entry.filename, data)
    return target


def zip_bomb_docx(folder: Path) -> Path:
    """A .docx-shaped zip whose document.xml inflates to 256 MB of zeros (about 1 MB on disk)."""
    target = folder / "bomb.docx"
    chunk = b"\x00" * (1 << 20)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with archive.open("word/document.xml", "w", force_zip64=True) as stream:
            for _ in range(256):
                stream.write(chunk)
    return target


def big_text(folder: Path) -> Path:
    """A 50 MB text file (a real-looking notice line repeated)."""
    target = folder / "big.txt"
    line = "1. 完善儿童福利保障制度。提高孤儿基本生活保障标准。(市民政局牵头)\n".encode()
    with target.open("wb") as out:
        out.write(line * (50 * (1 << 20) // len(line) + 1))
    return target


def binary_as_text(folder: Path) -> Path:
    """Random bytes (no file signature, not a NUL in the first few) named .txt."""
    data = bytearray(random.Random(14).randbytes(200_000))
    data[:4096] = bytes(
        b or 1 for b in data[:4096]
    )  # no NUL up front: the simple check must not be the only one
    target = folder / "random.txt"
    target.write_bytes(bytes(data))
    return target


def truncated_docx(folder: Path) -> Path:
    whole = notices.write_docx_table(folder / "whole.docx").read_bytes()
    target = folder / "truncated.docx"
    target.write_bytes(whole[: len(whole) // 2])
    return target


def truncated_xlsx(folder: Path) -> Path:
    whole = notices.write_xlsx(folder / "whole.xlsx").read_bytes()
    target = folder / "truncated.xlsx"
    target.write_bytes(whole[: len(whole) // 2])
    return target


def encrypted_pdf(folder: Path) -> Path:
    """A PDF with an open password."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt(user_password="secret", owner_password="owner")
    buffer = io.BytesIO()
    writer.write(buffer)
    target = folder / "encrypted.pdf"
    target.write_bytes(buffer.getvalue())
    return target


def scanned_pdf(folder: Path) -> Path:
    """Three pages with an image and no text layer, as a scanner makes them."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(3):
        writer.add_blank_page(width=595, height=842)
    target = folder / "scan.pdf"
    with target.open("wb") as out:
        writer.write(out)
    return target


def encrypted_xlsx(folder: Path) -> Path:
    """What Excel saves with an open password: an OLE container (EncryptedPackage), not a zip, named
    .xlsx."""
    target = folder / "encrypted.xlsx"
    entry = "EncryptedPackage".encode("utf-16-le")  # the directory entry of the encrypted stream
    target.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1016) + entry + bytes(3040))
    return target


HOSTILE_FILES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "workbook bomb": (workbook_bomb, "A1:XFD1048576"),
    "workbook with one far cell": (workbook_far_cell, "XFD1048576"),
    "zip bomb as docx": (zip_bomb_docx, "解压后"),
    "50 MB text": (big_text, "超过上限 20 MB"),
    "binary as txt": (binary_as_text, "不是文本"),
    "truncated docx": (truncated_docx, "不完整"),
    "truncated xlsx": (truncated_xlsx, "不完整"),
    "encrypted pdf": (encrypted_pdf, "已加密"),
    "encrypted xlsx": (encrypted_xlsx, "已加密"),
    "scanned pdf": (scanned_pdf, "没有文字层"),
}

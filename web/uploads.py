"""Evidence uploads: the type is read from the content (magic numbers), never trusted from the name.

Allowed: PDF and OFD (the national layout format), images (PNG, JPEG, GIF, BMP, WebP, TIFF, HEIC
from phones), Word, Excel and WPS documents in both the old binary form (.doc/.xls/.wps/.et, an
OLE2 compound file) and the newer zip form (.docx/.xlsx), and plain text in UTF-8 or GB18030 (which
contains GBK and GB2312: what Chinese Windows' Notepad saves). The name's extension must agree with
what the content is.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from dataclasses import dataclass

import filetype

ALLOWED = {  # detected kind -> (accepted name extensions, media type)
    "pdf": ({"pdf"}, "application/pdf"),
    "ofd": ({"ofd"}, "application/ofd"),
    "png": ({"png"}, "image/png"),
    "jpg": ({"jpg", "jpeg"}, "image/jpeg"),
    "gif": ({"gif"}, "image/gif"),
    "bmp": ({"bmp"}, "image/bmp"),
    "webp": ({"webp"}, "image/webp"),
    "tif": ({"tif", "tiff"}, "image/tiff"),
    "heic": ({"heic", "heif"}, "image/heic"),
    "ole": ({"doc", "xls", "wps", "et"}, "application/octet-stream"),
    "docx": (
        {"docx", "wps"},
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    "xlsx": ({"xlsx", "et"}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}
# The old binary formats by the name's extension, once the content is an OLE2 compound file.
OLE_TYPES = {
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "wps": "application/vnd.ms-works",
    "et": "application/vnd.ms-excel",
}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ALLOWED_ZH = "PDF、OFD、图片、Word、Excel、WPS、文本"


@dataclass(frozen=True)
class Refused(Exception):
    name: str
    why_zh: str
    why: str


def _kind(data: bytes) -> str | None:
    if data.startswith(OLE_MAGIC):
        return "ole"
    guess = filetype.guess(data)
    if guess is None:
        return None
    if guess.extension == "zip" and _is_ofd(data):
        return "ofd"
    return guess.extension


def _is_ofd(data: bytes) -> bool:
    """An OFD file is a zip whose root holds OFD.xml (GB/T 33190)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "OFD.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def checked(name: str, data: bytes) -> str:
    """The media type of an acceptable file; raises Refused naming the file otherwise."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    kind = _kind(data)
    if kind is None:
        charset = text_charset(data) if extension == "txt" else None
        if charset is not None:
            return f"text/plain; charset={charset}"
        raise Refused(
            name,
            f"文件类型无法识别或不在允许范围内（{ALLOWED_ZH}）",
            "unrecognised or disallowed type (PDF, OFD, images, Word, Excel, WPS, TXT)",
        )
    allowed = ALLOWED.get(kind)
    if allowed is None:
        raise Refused(
            name,
            f"不允许上传 {kind} 类型的文件（允许：{ALLOWED_ZH}）",
            f"files of type {kind} are not accepted",
        )
    if extension not in allowed[0]:
        shown = "Office/WPS 旧版文档" if kind == "ole" else kind
        raise Refused(
            name,
            f"文件名后缀 .{extension} 与内容（{shown}）不符",
            f"the name says .{extension} but the content is {kind}",
        )
    return OLE_TYPES[extension] if kind == "ole" else allowed[1]


TEXT_CHARSETS = (
    "utf-8",
    "gb18030",
)  # tried in this order: valid UTF-8 is rarely valid GBK by accident
# Binary content that happens to decode (GB18030 gives almost any pair of high bytes a meaning)
# shows itself by characters no text holds: controls other than tab, newlines and form feed,
# private-use and unassigned code points.
_NOT_TEXT = frozenset({"Cc", "Co", "Cn", "Cs"})
_TEXT_CONTROLS = frozenset("\t\n\r\f")


def _reads_as_text(text: str) -> bool:
    return all(c in _TEXT_CONTROLS or unicodedata.category(c) not in _NOT_TEXT for c in text)


def text_charset(data: bytes) -> str | None:
    """The charset plain text is in (UTF-8, or GB18030/GBK), or None for anything that is not
    text."""
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data  # Notepad's UTF-8 byte-order mark
    for charset in TEXT_CHARSETS:
        try:
            text = body.decode(charset)
        except UnicodeDecodeError:
            continue
        return charset if _reads_as_text(text) else None
    return None

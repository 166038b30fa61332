"""Evidence uploads: the type is read from the content (magic numbers), never trusted from the name.

Allowed: PDF, PNG, JPEG, Word and Excel (.docx/.xlsx), and plain text in UTF-8 or
GB18030 (which contains GBK and GB2312: what Chinese Windows' Notepad saves).
The name's extension must agree with what the content is.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import filetype

ALLOWED = {  # detected extension -> (accepted name extensions, media type)
    "pdf": ({"pdf"}, "application/pdf"),
    "png": ({"png"}, "image/png"),
    "jpg": ({"jpg", "jpeg"}, "image/jpeg"),
    "docx": ({"docx"}, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": ({"xlsx"}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


@dataclass(frozen=True)
class Refused(Exception):
    name: str
    why_zh: str
    why: str


def checked(name: str, data: bytes) -> str:
    """The media type of an acceptable file; raises Refused naming the file otherwise."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    kind = filetype.guess(data)
    if kind is None:
        charset = text_charset(data) if extension == "txt" else None
        if charset is not None:
            return f"text/plain; charset={charset}"
        raise Refused(
            name,
            "文件类型无法识别或不在允许范围内（PDF、图片、Word、Excel、文本）",
            "unrecognised or disallowed type (PDF, PNG, JPEG, DOCX, XLSX, TXT)",
        )
    allowed = ALLOWED.get(kind.extension)
    if allowed is None:
        raise Refused(
            name,
            f"不允许上传 {kind.extension} 类型的文件",
            f"files of type {kind.extension} are not accepted",
        )
    if extension not in allowed[0]:
        raise Refused(
            name,
            f"文件名后缀 .{extension} 与内容（{kind.extension}）不符",
            f"the name says .{extension} but the content is {kind.extension}",
        )
    return allowed[1]


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

"""Evidence uploads: the type is read from the content (magic numbers), never trusted from the name.

Allowed: PDF, PNG, JPEG, Word and Excel (.docx/.xlsx), and plain UTF-8 text.
The name's extension must agree with what the content is.
"""

from __future__ import annotations

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
        if extension == "txt" and _is_text(data):
            return "text/plain; charset=utf-8"
        raise Refused(name, "文件类型无法识别或不在允许范围内（PDF、图片、Word、Excel、文本）",
                      "unrecognised or disallowed type (PDF, PNG, JPEG, DOCX, XLSX, TXT)")
    allowed = ALLOWED.get(kind.extension)
    if allowed is None:
        raise Refused(name, f"不允许上传 {kind.extension} 类型的文件", f"files of type {kind.extension} are not accepted")
    if extension not in allowed[0]:
        raise Refused(name, f"文件名后缀 .{extension} 与内容（{kind.extension}）不符",
                      f"the name says .{extension} but the content is {kind.extension}")
    return allowed[1]


def _is_text(data: bytes) -> bool:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return "\x00" not in text

"""Evidence files of every kind an office receives, built by the tests themselves (small, in
memory): what each is, by content, and a few that lie about what they are."""

from __future__ import annotations

import io
import zipfile

from PIL import Image

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def png(colour: str = "red", size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg(colour: str = "blue") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def pdf(colour: str = "green") -> bytes:
    """A one-page PDF a renderer can draw (Pillow writes a real page holding the image)."""
    buffer = io.BytesIO()
    Image.new("RGB", (200, 280), colour).save(buffer, format="PDF")
    return buffer.getvalue()


def heic() -> bytes:
    """The start of an iPhone photo: an ISO media 'ftyp' box naming the heic brand."""
    box = b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic"
    return (len(box) + 4).to_bytes(4, "big") + box + b"\x00" * 64


def ole(body: bytes = b"") -> bytes:
    """An OLE2 compound file's header: what .doc, .xls, .wps and .et files are."""
    return OLE_MAGIC + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff\x09\x00" + b"\x00" * 480 + body


def ofd() -> bytes:
    """An OFD document (GB/T 33190): a zip whose root holds OFD.xml."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("OFD.xml", '<?xml version="1.0" encoding="UTF-8"?><ofd:OFD/>')
        archive.writestr("Doc_0/Document.xml", "<ofd:Document/>")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a document")
    return buffer.getvalue()


GBK_TEXT = "本单位已完成全部整改，附工作台账。".encode("gbk")
UTF8_TEXT = "本单位已完成全部整改。".encode()
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
EXE = b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00"

# (file name, content, media type it is stored with) for each accepted kind.
ACCEPTED: tuple[tuple[str, bytes, str], ...] = (
    ("台账.doc", ole(b"doc"), "application/msword"),
    ("台账.xls", ole(b"xls"), "application/vnd.ms-excel"),
    ("报告.wps", ole(b"wps"), "application/vnd.ms-works"),
    ("统计.et", ole(b"et"), "application/vnd.ms-excel"),
    ("签章件.ofd", ofd(), "application/ofd"),
    ("现场.png", png(), "image/png"),
    ("现场.jpg", jpeg(), "image/jpeg"),
    ("手机照片.heic", heic(), "image/heic"),
    ("报告.pdf", pdf(), "application/pdf"),
    ("说明.txt", GBK_TEXT, "text/plain; charset=gb18030"),
    ("说明-utf8.txt", UTF8_TEXT, "text/plain; charset=utf-8"),
)

# (file name, content, a fragment of the refusal) for files that lie or are not allowed.
REFUSED: tuple[tuple[str, bytes, str], ...] = (
    ("伪装.pdf", EXE, "不允许上传"),
    ("图标.png", SVG, "无法识别"),
    ("照片.png", jpeg(), "与内容"),
    ("台账.docx", ole(), "与内容"),
    ("压缩包.ofd", plain_zip(), "不允许上传"),
    ("文档.doc", pdf(), "与内容"),
)

"""Text an XML document (the DOCX 通报) can hold.

XML 1.0 forbids most C0 control characters, so lxml refuses a task title holding ESC or NUL
and the whole 通报 would fail. Such a character is written as its escape (\x1b), the same
notation the terminal uses, so the reader sees it was there.
"""

from __future__ import annotations

import re

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def xml_text(text: str) -> str:
    """The text with every character XML cannot hold written as its escape."""
    return _NOT_XML.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"
        ),
        text,
    )

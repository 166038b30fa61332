"""Text made safe for a terminal: control characters a terminal would act on are shown, not sent.

A user name such as "\x1b]0;owned\x07" would retitle the window, "\x1b[2J" clear it, and a
right-to-left override would reorder what the office reads. Each such character is written as
its escape (\x1b, \u202e) instead, so the reader sees that it was there. Line feeds and tabs
stay: the CLI's own layout uses them.
"""

from __future__ import annotations

import re

# C0 controls but tab and line feed, DEL, C1 controls (0x9b is CSI on 8-bit terminals), and the
# Unicode bidirectional controls and isolates.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """The text with every terminal control character written out as its escape."""
    return _CONTROL.sub(_escape, text)


def json_visible(text: str) -> str:
    """JSON text with the same controls as JSON escapes (the value decodes unchanged)."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)

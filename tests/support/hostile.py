"""One corpus of hostile values, pushed through every input a person or a file can reach.

Every test that puts user- or file-supplied text into duban takes its values from here, so a
new page, message or export is checked against the same attacks as the old ones. The checks
below say what "came out safe" means for each kind of output.
"""

from __future__ import annotations

import re

# Each value is tagged with a marker (HX0 … HXn) so a check can find where it landed.
HOSTILE: tuple[str, ...] = (
    '<script>alert("HX0")</script>',
    '<form action="/extensions/1/approve" method="post">HX1',
    "<meta http-equiv=refresh content=0;url=//elsewhere.example/HX2>",
    "<!--HX3",
    '"><img src=x onerror=alert(1)>HX4',
    "javascript:alert('HX5')",
    '=HYPERLINK("http://elsewhere.example/HX6","点击")',
    "@SUM(1+1)*cmd|' /C calc'!A0 HX7",
    "\x1b[31mHX8\x1b[0m\x1b]0;owned\x07",
    "HX9\x00空字节",
    "\u202eHX10\u202d从右到左",
    "HX11" + "长" * 3996,
    "+1+1 HX12",
    "-2+3 HX13",
    "[点我](javascript:alert('HX14')) <b>HX14</b>",
    "'; DROP TABLE assignment; -- HX15",
    "{{ 7*7 }}{% raw %}HX16",
)

# The values without characters a database or a form may legitimately refuse (NUL), for inputs
# whose refusal of NUL is tested separately.
STORABLE: tuple[str, ...] = tuple(v for v in HOSTILE if "\x00" not in v)

# Raw markup that must never reach an HTML page or message unescaped.
_RAW_MARKUP = ("<script", "<form", "<meta", "<!--HX3", "<img", "<b>HX14")


def raw_markup_in(html: str) -> list[str]:
    """The hostile tags that appear unescaped in an HTML document (empty when it is safe)."""
    return [tag for tag in _RAW_MARKUP if tag in html]


def formula_cells(values: list[object]) -> list[str]:
    """Cells a spreadsheet would evaluate: text starting with = + - @ (or a tab / CR before one)."""
    return [v for v in values if isinstance(v, str) and re.match(r"^[\t\r]*[=+\-@]", v)]


def terminal_escapes_in(text: str) -> bool:
    """True when text holds a control character a terminal would act on (ESC, BEL, CSI, NUL)."""
    return bool(re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x9b]", text))


# A page or message has markup of its own (<form>, <meta charset>, comments), so raw_markup_in
# suits only text that has none. These are the corpus's own tags exactly as written: only an
# unescaped value can put one of them into a document.
_INJECTED = (
    '<script>alert("HX0")',
    '<form action="/extensions/1/approve"',
    "<meta http-equiv=refresh",
    "<!--HX3",
    "<img src=x onerror",
    "<b>HX14",
)


def injected_markup_in(document: str) -> list[str]:
    """The corpus's tags that appear unescaped in an HTML document with markup of its own."""
    return [tag for tag in _INJECTED if tag in document]


def marker_of(value: str) -> str:
    """The HXn marker of a corpus value, to find where it landed."""
    found = re.search(r"HX\d+", value)
    assert found, value
    return found.group()


# Malformed values for typed inputs (ids, versions, percentages, dates, tokens): what a careless
# script or a hostile visitor puts where a number, a date or a choice belongs.
MALFORMED: tuple[str, ...] = (
    "99999999999999999999",
    "2147483648",
    "-1",
    "0",
    "abc",
    "1.5",
    "1e9",
    "0x10",
    "NaN",
    "",
    " ",
    "１２",
    "2022-02-30",
    "0001-01-01T00:00:00+08:00",
    "9999-12-31T23:59:59-12:00",
    "\x00",
    "令牌",
    "../../etc/passwd",
    "%00",
    "9" * 400,
)


def raw_values_in(html: str, values: tuple[str, ...] = HOSTILE) -> list[str]:
    """The values holding markup that appear verbatim (unescaped) in a whole page, whose own
    <form> and <meta> tags `raw_markup_in` would count as well."""
    return [v for v in values if "<" in v and v[:60] in html]

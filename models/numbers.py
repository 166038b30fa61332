"""A number as a person types it: an id in a form field, a 督办单 reference on the command line.

ASCII digits only (a full-width "１２" is not quietly read as 12) and at most nine of them, so that
any database's integer column holds it; anything else is not a number and the caller says so.
"""

from __future__ import annotations

MAX_DIGITS = 9


def number_in_text(value: object) -> int | None:
    """The number `value` spells, or None when it is not one by the rule above."""
    text = str(value or "").strip()
    if text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS:
        return int(text)
    return None

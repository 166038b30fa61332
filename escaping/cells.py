"""Spreadsheet cells that never start a formula (CSV and XLSX written by duban).

The OWASP rule for CSV injection: a cell whose text starts with = + - @, a tab or a carriage
return is prefixed with a single quote, so Excel, WPS and LibreOffice show it as text. A number
is written as a number and needs no quote; only text cells are touched.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutral(value: Any) -> Any:
    """The value as a spreadsheet may safely hold it: text that would start a formula gets a
    quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutral_row(values: list[Any]) -> list[Any]:
    return [neutral(v) for v in values]


def neutral_record(record: dict[str, Any]) -> dict[str, Any]:
    """A CSV row (csv.DictWriter's shape) with every text cell neutral."""
    return {key: neutral(value) for key, value in record.items()}


def read_back(value: str) -> str:
    """The text a neutral cell was made from (for files duban writes and reads again)."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value

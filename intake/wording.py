"""The language of notices: normalising text, sentences, quantitative targets, deadlines.

Pure functions over strings; the readers and the unit-phrase parser use them.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable
from datetime import date

SENTENCE_END = re.compile(r"(?<=[。！？!?])")


def normalize(text: str) -> str:
    """NFKC (full-width letters, digits, brackets and commas become half-width) and trimmed.

    Notices mix （ and (, ， and , freely; comparing and splitting after NFKC
    treats them alike.
    """
    return unicodedata.normalize("NFKC", text).replace("\u3000", " ").strip()


_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


def chinese_number(text: str) -> int | None:
    """一 -> 1, 十五 -> 15, 二十三 -> 23, 一百零二 -> 102; None when the text is not a Chinese
    numeral."""
    text = text.strip()
    if not text or any(c not in _DIGITS and c not in "十百" for c in text):
        return None
    total, digit = 0, None
    for char in text:
        if char in _DIGITS:
            digit = _DIGITS[char]
        else:
            total += (1 if digit is None else digit) * (10 if char == "十" else 100)
            digit = None
    return total + (digit or 0)


def squash(text: str) -> str:
    """Normalised, with all white space removed: for comparing names and headers."""
    return re.sub(r"\s+", "", normalize(text))


def strip_end_punctuation(text: str) -> str:
    return text.strip().rstrip("。.;；,，、！!？? ")


def sentences(text: str) -> list[str]:
    """One measure per sentence, as written but without the closing 。; line breaks inside a cell
    join up."""
    flat = re.sub(r"\s*\n\s*", "", text.strip())
    return [s for s in (strip_end_punctuation(part) for part in SENTENCE_END.split(flat)) if s]


_COUNTED = (
    r"\d+(?:\.\d+)?\s*(?:个|家|所|次|场|支|项|名|人|户|件|处|期|批|篇|部|座|类|条|间|万"
    r"人|万元|亿元|万|小时|天|课时|节|门|套|台)"
)
_VERBS = (
    r"(?:新建|建成|建设|建立|打造|培育|开展|创建|设立|新增|完成|实现|达到|举办|组织|培训"
    r"|覆盖|招募|评选|认定|选树|不少于|不低于|至少|每年|每季度|每月)"
)
TARGET = re.compile(
    rf"(?:{_VERBS}\s*)?{_COUNTED}(?![\d委门])"
    r"|\d+(?:\.\d+)?\s*%"
    r"|(?:全面)?全覆盖"
)


def targets(text: str) -> list[str]:
    """Quantitative targets named in a measure: "新建1个", "100%", "全覆盖", "不少于2次",
    "200个"."""
    found: list[str] = []
    for match in TARGET.finditer(normalize(text)):
        start = match.start()
        # A long digit run (a telephone number) is not a target.
        if start > 0 and normalize(text)[start - 1].isdigit():
            continue
        value = re.sub(r"\s+", "", match.group())
        if value not in found:
            found.append(value)
    return found


def _plain_dates(phrase: str) -> str:
    """Deadline wording made regular: 十二月 -> 12月, 2024327 -> 2024年3月27日, 全年 -> 年内 (year
    end)."""
    phrase = re.sub(
        r"([一二三四五六七八九十]{1,3})(?=月)",
        lambda m: str(chinese_number(m.group(1)) or m.group(1)),
        phrase,
    )
    phrase = re.sub(
        r"(?<!\d)(20\d{2})(1[0-2]|0[1-9]|[1-9])([0-3]\d)(?!\d)",
        lambda m: f"{m.group(1)}年{int(m.group(2))}月{int(m.group(3))}日",
        phrase,
    )
    return phrase.replace("全年", "年内")


ONGOING = re.compile(r"长期|持续|常态|经常性|全年|每年|贯穿")

_FULL_DATE = re.compile(r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]")
_MONTH = re.compile(r"(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月(?:\s*(?:底|末|份|中旬|上旬|下旬))?")
_HALF_YEAR = re.compile(r"(?:(\d{4})\s*年\s*)?(上半年|年中|下半年|年底|年末|底前|年内)")
_YEAR_ONLY = re.compile(r"(\d{4})\s*年(?!\s*\d)")


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _month_dates(
    masked: str, year_of: Callable[[str | None], int | None]
) -> list[tuple[int, date]]:
    """(where it ends, the month's last day) for each month named (全日期 already masked)."""
    found: list[tuple[int, date]] = []
    for m in _MONTH.finditer(masked):
        year = year_of(m.group(1))
        month = int(m.group(2))
        if year is None or not 1 <= month <= 12:
            continue
        if masked[m.end() : m.end() + 1] == "前" and m.group().endswith("月"):
            # "8月前" is read as written: before August, so by the end of July.
            found.append(
                (m.end(), _month_end(year, month - 1) if month > 1 else date(year - 1, 12, 31))
            )
            continue
        found.append((m.end(), _month_end(year, month)))
    return found


def _half_year_dates(
    masked: str, year_of: Callable[[str | None], int | None]
) -> list[tuple[int, date]]:
    found: list[tuple[int, date]] = []
    for m in _HALF_YEAR.finditer(masked):
        year = year_of(m.group(1))
        if year is None:
            continue
        month = 6 if m.group(2) in ("上半年", "年中") else 12
        found.append((m.end(), _month_end(year, month)))
    return found


def parse_deadline(text: str | None, plan_year: int | None) -> tuple[date | None, str | None]:
    """A deadline phrase as a date (the last one named, i.e. completion), or None for ongoing work.

    Returns (date, warning). "2023年6月底前" -> 2023-06-30; "9月底前" -> the
    plan's year; "长期坚持" -> None. A phrase that names no date is None with
    a warning unless it says the work is ongoing.
    """
    if not text or not text.strip():
        return None, None
    phrase = _plain_dates(normalize(text))
    candidates: list[tuple[int, date]] = []
    # "2022年9月底前启动，12月底前完成": a month without a year takes the phrase's year.
    first_year = re.search(r"(\d{4})\s*年", phrase)
    default_year = int(first_year.group(1)) if first_year else plan_year

    def year_of(written: str | None) -> int | None:
        return int(written) if written else default_year

    for m in _FULL_DATE.finditer(phrase):
        year = year_of(m.group(1))
        if year is None:
            return (
                None,
                f"“{text}”没有年份，计划也没有年份 / no year in “{text}” and none in the plan",
            )
        try:
            candidates.append((m.end(), date(year, int(m.group(2)), int(m.group(3)))))
        except ValueError:
            return None, f"“{text}”不是有效日期 / “{text}” is not a valid date"
    masked = _FULL_DATE.sub(lambda m: "#" * len(m.group()), phrase)
    candidates.extend(_month_dates(masked, year_of))
    masked = _MONTH.sub(lambda m: "#" * len(m.group()), masked)
    candidates.extend(_half_year_dates(masked, year_of))
    masked = _HALF_YEAR.sub(lambda m: "#" * len(m.group()), masked)
    for m in _YEAR_ONLY.finditer(masked):
        candidates.append((m.end(), date(int(m.group(1)), 12, 31)))
    if candidates:
        return max(candidates)[1], None
    if ONGOING.search(phrase):
        return None, None
    return None, f"无法识别完成时限“{text}” / cannot read the deadline “{text}”"


# "于2021年6月底前完成", "12月底前", "年底前": an explicit deadline attached to a task in its text.
_BEFORE = re.compile(
    r"(?:(\d{4})\s*年\s*)?(?:(\d{1,2})\s*月\s*(?:(\d{1,2})\s*日|底|末)?|(年底|年末))\s*(?:以)?前"
)
_RELATIVE = re.compile(r"(?:印发|发布|下发|公布)之日起\s*(\d+)\s*(个工作日|日|天|个月)内")


def deadline_in_text(text: str, plan_year: int | None, issued_on: date | None) -> date | None:
    """The last explicit "…前" deadline, or one counted from the notice's date
    ("印发之日起30日内")."""
    from datetime import timedelta

    phrase = re.sub(
        r"(\d{4}\s*年)\s*(底|末)", r"\1年\2", _plain_dates(normalize(text))
    )  # 2012年底前
    found: list[tuple[int, date]] = []
    for m in _BEFORE.finditer(phrase):
        year = int(m.group(1)) if m.group(1) else plan_year
        if year is None:
            continue
        if m.group(4):
            found.append((m.end(), date(year, 12, 31)))
            continue
        month = int(m.group(2))
        if not 1 <= month <= 12:
            continue
        if m.group(3):
            try:
                found.append((m.end(), date(year, month, int(m.group(3)))))
            except ValueError:
                continue
        elif phrase[m.start(2) : m.end()].rstrip("以前").endswith(("底", "末")):
            found.append((m.end(), _month_end(year, month)))
        else:  # "X月前": before month X, so by the end of the month before it
            found.append(
                (m.end(), _month_end(year, month - 1) if month > 1 else date(year - 1, 12, 31))
            )
    if issued_on is not None:
        for m in _RELATIVE.finditer(phrase):
            count, unit = int(m.group(1)), m.group(2)
            if unit == "个月":
                month = issued_on.month - 1 + count
                year, month = issued_on.year + month // 12, month % 12 + 1
                day = min(issued_on.day, calendar.monthrange(year, month)[1])
                found.append((m.end(), date(year, month, day)))
            else:
                found.append((m.end(), issued_on + timedelta(days=count)))
    return max(found)[1] if found else None

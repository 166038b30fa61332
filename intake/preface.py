"""Plan metadata from the text around the task list: title, issuer, date of issue."""

from __future__ import annotations

import re
from datetime import date

from intake.notice import Preface
from intake.wording import normalize

ISSUE_DATE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日$")
ATTACHMENT = re.compile(r"^附\s*件\s*\d*\s*[:]?$")
TITLE_WORDS = (
    "清单",
    "任务",
    "要点",
    "方案",
    "计划",
    "通知",
    "安排",
    "分工",
    "意见",
    "分解",
    "台账",
    "公示",
    "計劃",
)
TITLE_END = re.compile(
    r"(清单|要点|方案|计划|計劃|通知|安排|分工|意见|分解|表|台账|公示|决定|办法|细则)$"
)
# A line wholly in brackets is an aside or a rule ("(各项任务中,列第一位的为牵头单位)"), never a
# title.
ASIDE = re.compile(r"^[(\[【〔].*[)\]】〕]$")
DOCUMENT_NUMBER = re.compile(r"[〔\[(]\s*\d{4}\s*[〕\])]\s*\d+\s*[号號]")
ORGANISATION = re.compile(r"(办公室|政府|委员会|小组|局|部|办|委|厅|院|会|中心|管委会|街道|镇)$")


def _table_header(line: str) -> bool:
    """A table's header row copied as text ("序号 重点任务 牵头单位 完成时限"): never the plan's
    title."""
    from intake.roles import label_kind

    cells = [c for c in re.split(r"\s+|\|", line) if c]
    return len(cells) >= 3 and sum(1 for c in cells if label_kind(c)) * 2 >= len(cells)


def _is_heading(line: str) -> bool:
    return bool(line) and not line.endswith(("。", ":", ",", ";")) and len(line) <= 80


def read_preface(lines: list[str]) -> Preface:
    """Title, issuer and date of issue from the lines before the task list (any may be missing)."""
    text = [normalize(line).lstrip("#").strip() for line in lines]  # Markdown headings
    text = [line for line in text if line]
    preface = Preface()
    for index, line in enumerate(text):
        found = ISSUE_DATE.match(line)
        if not found:
            continue
        try:
            preface.issued_on = date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
        except ValueError:
            continue
        if index > 0 and ORGANISATION.search(text[index - 1]) and _is_heading(text[index - 1]):
            preface.issuer = text[index - 1]
    preface.title = _title(text)
    return preface


def _clean(line: str) -> str:
    """A title line without what surrounds it: "【栏目】…", "附件:1.…", a trailing "|" of a table
    copy."""
    line = re.sub(r"^【[^】]{1,20}】", "", line.strip().strip("|").strip())
    return re.sub(r"^附\s*件\s*\d*\s*[:：]?\s*(?:\d+\s*[.．、])?", "", line).strip()


def joined_titles(lines: list[str]) -> list[str]:
    """A title printed over two lines is one: "…关于做好当前和今后一个时期" +
    "促进就业工作的若干意见"."""
    result: list[str] = []
    for line in lines:
        previous = result[-1] if result else ""
        if previous and _title_goes_on(previous, line):
            result[-1] = previous + line
        else:
            result.append(line)
    return result


def _title_goes_on(previous: str, line: str) -> bool:
    """`line` ends the title `previous` began: both headings, only `line` ends as a title does, and
    `previous` is neither the issuer, a document number nor a date but plainly unfinished."""
    if not (_is_heading(previous) and _is_heading(line) and TITLE_END.search(line)):
        return False
    if (
        TITLE_END.search(previous)
        or ORGANISATION.search(previous)
        or DOCUMENT_NUMBER.search(previous)
        or ISSUE_DATE.match(previous)
    ):
        return False
    unfinished = (
        previous.count("《") > previous.count("》")
        or "关于" in previous
        or re.search(r"\d{4}\s*年", previous)
        or len(line) <= 12
    )
    return bool(unfinished) and len(previous) + len(line) <= 80


def _title_lines(lines: list[str]) -> list[str]:
    """The preface's lines that could be the title: not a document number, an aside, a table header
    or a numbered item."""
    return [
        c
        for c in (_clean(line) for line in lines)
        if c
        and not DOCUMENT_NUMBER.search(c)
        and not ASIDE.match(c)
        and not _table_header(c)
        and not re.match(
            r"^(?:[一二三四五六七八九十]+[、.]|\([一二三四五六七八九十]+\)|\d+[.、])", c
        )
    ]


def _title(lines: list[str]) -> str | None:
    lines = joined_titles(_title_lines(lines))
    for index, line in enumerate(lines[:-1]):
        if ATTACHMENT.match(line) and _is_heading(lines[index + 1]):
            return lines[index + 1]
    named = [
        line
        for line in lines
        if _is_heading(line)
        and (any(w in line for w in TITLE_WORDS) or TITLE_END.search(line))
        and not ISSUE_DATE.match(line)
    ]
    if named:
        return named[-1]
    headings = [line for line in lines if _is_heading(line) and not ISSUE_DATE.match(line)]
    return headings[0] if headings else None

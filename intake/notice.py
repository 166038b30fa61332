"""What a notice says, independent of its file format, and the problems found in it.

Readers (text, Word, spreadsheets) produce `RawItem`s: a task as written,
with where it stands in the file. `build_notice` turns them into
`ParsedTask`s (measures, targets, deadline, units and roles) and collects
every problem, so that the user gets one report rather than one error at a time.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from intake.unit_phrase import NamedUnit, read_assignment, strongest_roles
from intake.wording import (
    chinese_number,
    deadline_in_text,
    normalize,
    parse_deadline,
    sentences,
    strip_end_punctuation,
    targets,
)
from models.assignment import AssignmentRole
from models.errors import DubanError


@dataclass(frozen=True)
class Where:
    """A place in the source: a line of text, a row of a sheet, a row of a Word table."""

    kind: str  # "line", "paragraph", "row", "table"
    index: int
    sheet: str | None = None  # sheet name, or table number for Word

    def zh(self) -> str:
        if self.kind == "line":
            return f"第 {self.index} 行"
        if self.kind == "paragraph":
            return f"第 {self.index} 段"
        if self.kind == "table":
            return f"表格 {self.sheet} 第 {self.index} 行"
        return f"工作表“{self.sheet}”第 {self.index} 行" if self.sheet else f"第 {self.index} 行"

    def en(self) -> str:
        if self.kind in ("line", "paragraph"):
            return f"{self.kind} {self.index}"
        if self.kind == "table":
            return f"table {self.sheet} row {self.index}"
        return f"sheet '{self.sheet}' row {self.index}" if self.sheet else f"row {self.index}"


@dataclass(frozen=True)
class Problem:
    where: Where | None
    zh: str
    en: str

    def message(self, lang: str) -> str:
        place = (self.where.zh() if lang == "zh" else self.where.en()) if self.where else ""
        text = self.zh if lang == "zh" else self.en
        return (
            f"{place}：{text}" if place and lang == "zh" else f"{place}: {text}" if place else text
        )


class ImportFailed(DubanError):
    """The notice cannot be imported; every problem is listed, nothing was written."""

    exit_code = 2

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = problems
        self.source = source
        super().__init__()

    def message(self, lang: str = "zh") -> str:
        from intake.limits import MAX_PROBLEMS_SHOWN

        # A person reads the first problems, not 78,000 lines: the rest are counted (all are in
        # .problems).
        lines = [f"  - {p.message(lang)}" for p in self.problems[:MAX_PROBLEMS_SHOWN]]
        more = len(self.problems) - MAX_PROBLEMS_SHOWN
        if more > 0:
            lines.append(
                f"  ……另有 {more:,} 条问题未列出"
                if lang == "zh"
                else f"  ... and {more:,} more problems"
            )
        if lang == "zh":
            head = (
                f"无法导入{('“' + self.source + '”') if self.source else ''}，共 "
                f"{len(self.problems)} 个问题，未写入任何数据："
            )
        else:
            head = (
                f"cannot import {self.source}: {len(self.problems)} problem(s), nothing "
                "was written:"
            )
        return "\n".join([head, *lines])


@dataclass
class RawItem:
    """One task as the file has it."""

    where: Where
    number_text: str
    title: (
        str | None
    )  # None when the layout has no title column: the content's first sentence is used
    content: str = ""
    units: dict[str, str] = field(
        default_factory=dict
    )  # column -> phrase; columns: units, lead, cooperating
    deadline_text: str | None = None
    category: str | None = None
    people: list[str] = field(default_factory=list)  # 牵头领导 and the like: kept, never assigned
    first_is_lead: bool = (
        False  # the notice prints 列第一位者为牵头单位: each list's first unit leads
    )


@dataclass
class ParsedTask:
    number: int
    title: str
    category: str | None
    content: str
    measures: list[str]
    targets: list[str]
    deadline: date | None
    deadline_text: str | None
    units_text: str
    units: list[NamedUnit]
    where: Where
    # What kept the reader from reading the task's units: the task is imported as 待分工 (no
    # assignment yet) unless the import is --strict, which refuses it.
    problems: list[Problem] = field(default_factory=list)
    # People named for the task (牵头领导, 分管县领导 …): kept, never assigned.
    people: list[str] = field(default_factory=list)
    unassigned: bool = False  # no unit could be read: 待分工

    def as_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "title": self.title,
            "category": self.category,
            "content": self.content,
            "measures": self.measures,
            "targets": self.targets,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "deadline_text": self.deadline_text,
            "units": [
                {"name": u.name, "role": u.role.value} for u in self.units if not u.placeholder
            ],
            "people": self.people,
            "unassigned": self.unassigned,
        }


@dataclass
class ParsedNotice:
    title: str | None
    issuer: str | None
    issued_on: date | None
    tasks: list[ParsedTask]
    warnings: list[str]
    source_name: str
    source_sha256: str
    # Problems of tasks kept as 待分工 (read with `partial=True`); empty otherwise.
    problems: list[Problem] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "plan": {
                "title": self.title,
                "issuer": self.issuer,
                "issued_on": self.issued_on.isoformat() if self.issued_on else None,
                "source_name": self.source_name,
                "source_sha256": self.source_sha256,
            },
            "tasks": [t.as_json() for t in self.tasks],
            "warnings": self.warnings,
            "problems": [p.message("zh") for p in self.problems],
        }


@dataclass
class Preface:
    """Plan metadata read from the text around the task list."""

    title: str | None = None
    issuer: str | None = None
    issued_on: date | None = None


_NUMBER = re.compile(r"^\s*(\d+)\s*[.．、]?\s*$")
_SUB_NUMBER = re.compile(r"^\s*\d+\s*[.．]\s*\d+\s*$")


def plan_year(preface: Preface) -> int | None:
    if preface.title:
        year = re.search(r"(20\d{2})\s*年", preface.title)
        if year:
            return int(year.group(1))
    return preface.issued_on.year if preface.issued_on else None


def build_notice(
    items: Iterable[RawItem],
    preface: Preface,
    *,
    source_name: str,
    data: bytes,
    renumber: bool = False,
    partial: bool = True,
) -> ParsedNotice:
    """Parse every item; raise ImportFailed listing all problems, or return the notice.

    `renumber`: prose notices often restart 1. 2. 3. under each heading; their
    tasks are then numbered in order of appearance.
    `partial`: a task whose units cannot be read is kept with no units
    (`unassigned`, 待分工) and its problem goes to `ParsedNotice.problems`; the
    notice is refused only for other problems or when no task has a unit.
    `partial=False` refuses every 待分工 task too.
    """
    items = list(items)
    problems: list[Problem] = []
    warnings: list[str] = []
    if not items:
        raise ImportFailed(
            [
                Problem(
                    None,
                    "没有找到任务清单（表格表头或编号条目）——请确认文件包含“序号、任务、责任单位”等列或编号的任务条目",
                    "no task list found (a table header or numbered items): the file needs "
                    "columns such as 序号, 任务, 责任单位, or numbered items",
                )
            ],
            source_name,
        )
    year = plan_year(preface)
    if not renumber and any(_SUB_NUMBER.match(normalize(item.number_text)) for item in items):
        # Rows under one merged 序号 (5.1, 5.2) are tasks of their own: a task number is a whole
        # number, so the tasks are numbered in order of appearance, and the office is told.
        renumber = True
        warnings.append(
            "序号中有分项（如 5.1、5.2），任务按出现顺序重新编号 / the list has sub-numbers "
            "such as 5.1: "
            "tasks are numbered in order of appearance"
        )
    tasks = _tasks(
        items,
        renumber=renumber,
        year=year,
        issued_on=preface.issued_on,
        problems=problems,
        warnings=warnings,
    )
    kept = [p for t in tasks for p in t.problems]
    nothing_assigned = bool(tasks) and all(t.unassigned for t in tasks)  # no task to import at all
    if problems or (
        kept and (not partial or nothing_assigned)
    ):  # every problem listed, 待分工 ones too
        lead = [NOTHING_ASSIGNED] if nothing_assigned and not problems else []
        raise ImportFailed(lead + sorted(problems + kept, key=_place), source_name)
    return ParsedNotice(
        title=preface.title,
        issuer=preface.issuer,
        issued_on=preface.issued_on,
        tasks=tasks,
        warnings=warnings,
        source_name=source_name,
        source_sha256=hashlib.sha256(data).hexdigest(),
        problems=kept,
    )


def _tasks(
    items: list[RawItem],
    *,
    renumber: bool,
    year: int | None,
    issued_on: date | None,
    problems: list[Problem],
    warnings: list[str],
) -> list[ParsedTask]:
    """Every item with a number of its own as a task; a number seen twice is a problem."""
    tasks: list[ParsedTask] = []
    seen: dict[int, Where] = {}
    for ordinal, item in enumerate(items, start=1):
        number = ordinal if renumber else _number(item, problems)
        if number is None:
            continue
        if number in seen:
            problems.append(
                Problem(
                    item.where,
                    f"任务序号 {number} 重复（{seen[number].zh()}已有）——请改正序号",
                    f"task number {number} appears twice (also at {seen[number].en()}): "
                    "correct the numbers",
                )
            )
            continue
        seen[number] = item.where
        tasks.append(_task(item, number, year, problems, warnings, issued_on))
    return tasks


# Nothing in the file reads as a task list with units: more likely not a notice than one to fill in
# by hand.
NOTHING_ASSIGNED = Problem(
    None,
    "没有一项任务读出责任单位——请确认文件是任务清单，并含“责任单位”等列或单位行",
    "no task has readable units: make sure the file is a task list with a 责任单位 column "
    "or unit lines",
)


def _place(problem: Problem) -> tuple[str, int]:
    return (problem.where.kind, problem.where.index) if problem.where else ("", 0)


def _number(item: RawItem, problems: list[Problem]) -> int | None:
    match = _NUMBER.match(normalize(item.number_text))
    if match:
        return int(match.group(1))
    written = chinese_number(
        normalize(item.number_text).rstrip("、.．")
    )  # 序号 printed 一、二 … 三十
    if written is not None:
        return written
    problems.append(
        Problem(
            item.where,
            f"序号“{item.number_text}”不是数字——请填写任务序号",
            f"the number “{item.number_text}” is not a number: give the task a number",
        )
    )
    return None


def _task(
    item: RawItem,
    number: int,
    year: int | None,
    problems: list[Problem],
    warnings: list[str],
    issued_on: date | None = None,
) -> ParsedTask:
    # Title and content are kept as written (full-width punctuation and all);
    # normalising is only for reading numbers, names and dates.
    content = item.content.strip()
    title = _title_of(item, content)
    if not title:
        problems.append(
            Problem(
                item.where,
                f"任务 {number} 没有标题——请填写任务名称",
                f"task {number} has an empty title: give it a title",
            )
        )
    measures = sentences(content) if content else ([title] if title else [])
    units, people = _units_of(item, number, warnings)
    deadline = _deadline_of(
        item, number, content, year=year, issued_on=issued_on, warnings=warnings
    )
    for unit in units:
        if unit.placeholder:
            warnings.append(
                f"任务 {number}：“{unit.name}”是泛指，不生成任务分工 / task {number}: "
                f"“{unit.name}” names no unit, no assignment is made"
            )
    unassigned = not any(not u.placeholder for u in units)
    task_problems: list[Problem] = []
    if unassigned:
        task_problems.append(
            Problem(
                item.where,
                f"任务 {number}“{title}”没有责任单位——请填写牵头或责任单位",
                f"task {number} “{title}” has no units: name its lead or responsible units",
            )
        )
    units_text = "；".join(
        f"{k}:{v}" if len(item.units) > 1 else v for k, v in item.units.items() if v.strip()
    )
    return ParsedTask(
        number=number,
        title=title,
        category=item.category,
        content=content,
        measures=measures,
        targets=[t for m in measures for t in targets(m)],
        deadline=deadline,
        deadline_text=item.deadline_text.strip() if item.deadline_text else None,
        units_text=units_text,
        units=units,
        where=item.where,
        problems=task_problems,
        people=people,
        unassigned=unassigned,
    )


def _title_of(item: RawItem, content: str) -> str:
    """The title as written; without a title column, the content's first sentence."""
    if item.title is None:
        return sentences(content)[0] if sentences(content) else ""
    return strip_end_punctuation(re.sub(r"\s*\n\s*", "", item.title.strip()))


# A 牵头单位 column gives lead, 配合单位 cooperating; a 责任单位 column
# (alone, or beside 牵头单位) responsible unless its phrase says otherwise.
UNIT_COLUMNS = (
    ("lead", AssignmentRole.LEAD),
    ("units", AssignmentRole.RESPONSIBLE),
    ("cooperating", AssignmentRole.COOPERATING),
    ("remarks", AssignmentRole.RESPONSIBLE),
)


def _units_of(item: RawItem, number: int, warnings: list[str]) -> tuple[list[NamedUnit], list[str]]:
    """The units the item's unit cells name, each with its strongest role, and the people they name.
    A deadline written in a unit cell becomes the item's when it has none of its own."""
    units: list[NamedUnit] = []
    people = list(item.people)
    for column, default_role in UNIT_COLUMNS:
        phrase = item.units.get(column, "")
        if not phrase.strip():
            continue
        said = read_assignment(phrase, default_role)
        named = said.units
        if (
            (item.first_is_lead or said.first_is_lead)
            and column != "remarks"
            and named
            and not any(u.role is AssignmentRole.LEAD for u in units + named)
        ):
            named = [
                NamedUnit(named[0].name, AssignmentRole.LEAD, named[0].placeholder),
                *named[1:],
            ]
        units.extend(named)
        people.extend(said.people)
        if said.deadline_text and not item.deadline_text:
            item.deadline_text = said.deadline_text
        warnings.extend(f"任务 {number}：{w}" for w in said.warnings)
    return strongest_roles(units), people


def _deadline_of(
    item: RawItem,
    number: int,
    content: str,
    *,
    year: int | None,
    issued_on: date | None,
    warnings: list[str],
) -> date | None:
    """The deadline cell read; without one, a date the title or content gives."""
    deadline, deadline_warning = parse_deadline(item.deadline_text, year)
    if not item.deadline_text:
        deadline = deadline_in_text(f"{item.title or ''}。{content}", year, issued_on)
    if deadline_warning:
        warnings.append(f"任务 {number}（{item.where.zh()}）：{deadline_warning}")
    return deadline

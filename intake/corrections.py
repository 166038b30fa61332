"""The office's corrections to a notice before it is applied, and where they come from.

Two sources, one meaning (`intake.plan_import.Correction`, applied by `resolve`):

- an edited plan file: `duban import notice.txt --dry-run --json > plan.json`, edit the title,
  deadline or units of a task, `duban import plan.json --apply`. The file names the notice it was
  read from and its SHA-256; the notice is read again and must be the same bytes. Every problem
  of the file is reported at once, with its JSON path;
- the portal's preview form: per task a title, a deadline and one field per role.

A correction that says what the notice already says is no correction: `resolve` keeps only the
effective ones, and those go into the import's audit event.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from intake.notice import ImportFailed, ParsedNotice, ParsedTask, Problem
from intake.plan_import import Correction
from intake.unit_phrase import split_names
from models.assignment import AssignmentRole

ROLE_NAMES: dict[str, AssignmentRole] = {
    "lead": AssignmentRole.LEAD,
    "responsible": AssignmentRole.RESPONSIBLE,
    "cooperating": AssignmentRole.COOPERATING,
    "牵头": AssignmentRole.LEAD,
    "负责": AssignmentRole.RESPONSIBLE,
    "配合": AssignmentRole.COOPERATING,
}
FIXED = {"content": "具体内容", "category": "类别", "measures": "措施"}  # read from the notice only
NAME_MAX = 100
TITLE_MAX = 500  # for a title typed in the preview


@dataclass
class PlanFile:
    """An edited `--dry-run --json` document and the notice it was read from."""

    path: Path
    document: dict[str, Any]
    source: Path
    plan_key: str | None


def _problem(where: str, zh: str, en: str) -> Problem:
    return Problem(None, f"{where}：{zh}", f"{where}: {en}")


def read_plan_file(path: Path) -> PlanFile:
    """The plan file and its notice, refused (exit 2) if it is not one or the notice has changed."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ImportFailed(
            [
                Problem(
                    None,
                    f"无法读取文件（{type(error).__name__}）——请确认是 UTF-8 的 JSON 文件",
                    f"cannot read the file ({type(error).__name__}): it must be UTF-8 JSON",
                )
            ],
            path.name,
        ) from error
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ImportFailed(
            [
                Problem(
                    None,
                    f"第 {error.lineno} 行第 {error.colno} 列：不是有效的 JSON（{error.msg}）"
                    "——请检查引号、逗号和括号",
                    f"line {error.lineno} column {error.colno}: not valid JSON ({error.msg})",
                )
            ],
            path.name,
        ) from None
    plan = document.get("plan") if isinstance(document, dict) else None
    problems: list[Problem] = []
    if not isinstance(plan, dict):
        raise ImportFailed(
            [
                _problem(
                    "plan",
                    "缺少 plan 部分——请用 duban import 通知文件 --dry-run --json 生成",
                    "no plan object: make the file with duban import NOTICE --dry-run --json",
                )
            ],
            path.name,
        )
    source_path, sha, key = (
        plan.get("source_path"),
        plan.get("source_sha256"),
        document.get("plan_key"),
    )
    _check_plan_fields(source_path, sha, key, problems)
    if problems:
        raise ImportFailed(problems, path.name)
    assert isinstance(source_path, str)  # else a problem above was raised
    assert isinstance(sha, str)
    source = Path(source_path)
    if not source.is_absolute():
        source = path.parent / source
    _check_source(source, sha, path)
    return PlanFile(path=path, document=document, source=source, plan_key=key)


def _check_plan_fields(source_path: Any, sha: Any, key: Any, problems: list[Problem]) -> None:
    if not isinstance(source_path, str) or not source_path:
        problems.append(
            _problem(
                "plan.source_path", "缺少原通知文件的路径", "the path of the notice is missing"
            )
        )
    if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
        problems.append(
            _problem(
                "plan.source_sha256",
                "缺少或不是有效的文件指纹（SHA-256）",
                "missing or not a SHA-256",
            )
        )
    if key is not None and not (
        isinstance(key, str) and re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", key)
    ):
        problems.append(
            _problem(
                "plan_key",
                "计划代号只能含字母、数字、.、-、_（1 至 100 个字符）",
                "a plan key has 1 to 100 letters, digits, '.', '-' or '_'",
            )
        )


def _check_source(source: Path, sha: str, path: Path) -> None:
    """The notice the plan file was made from, still there and unchanged."""
    try:
        data = source.read_bytes()
    except OSError:
        raise ImportFailed(
            [
                _problem(
                    "plan.source_path",
                    f"找不到原通知文件“{source}”——请把它放回原处，或改正此路径",
                    f"the notice “{source}” is gone: put it back or correct the path",
                )
            ],
            path.name,
        ) from None
    if hashlib.sha256(data).hexdigest() != sha:
        raise ImportFailed(
            [
                _problem(
                    "plan.source_sha256",
                    f"原通知文件“{source.name}”在生成此文件后已改动——请重新生成（--dry-run "
                    "--json）后再修改",
                    f"the notice “{source.name}” changed after this file was made: make it again",
                )
            ],
            path.name,
        )


def _task_number(
    number: Any, where: str, *, read: dict[int, ParsedTask], seen: set[int], problems: list[Problem]
) -> int | None:
    """The entry's task number if the notice has it and no earlier entry took it; else None, a
    problem listed (its other fields are still checked, so that one report lists everything)."""
    if isinstance(number, bool) or not isinstance(number, int) or number not in read:
        shown = "（缺少）" if number is None else f"“{number}”"
        problems.append(
            _problem(
                f"{where}.number",
                f"{shown}不是通知中的任务序号——不能新增或改动序号",
                f"{number!r} is not a task number of the notice: numbers cannot be added or "
                "changed",
            )
        )
        return None
    if number in seen:
        problems.append(
            _problem(f"{where}.number", f"任务 {number} 出现了两次", f"task {number} appears twice")
        )
        return None
    seen.add(number)
    return number


def _fixed_unchanged(
    entry: dict[str, Any], parsed: ParsedTask | None, where: str, problems: list[Problem]
) -> None:
    for name, zh in FIXED.items():
        if parsed is not None and name in entry and entry[name] != parsed.as_json()[name]:
            problems.append(
                _problem(
                    f"{where}.{name}",
                    f"{zh}不能在此修改（只能改标题、时限和单位）——请改原通知后重新导入",
                    f"{name} cannot be corrected here (only title, deadline, units): correct the "
                    "notice",
                )
            )


def _entry_corrections(
    entry: dict[str, Any], number: int | None, where: str, problems: list[Problem]
) -> list[Correction]:
    """The title, deadline and units the entry gives, each checked; none for an entry without a
    number."""
    corrections: list[Correction] = []
    if "title" in entry:
        title = entry["title"]
        if not isinstance(title, str) or not title.strip():
            problems.append(_problem(f"{where}.title", "标题不能为空", "the title cannot be empty"))
        elif number is not None:
            corrections.append(Correction(number, "title", title.strip()))
    if "deadline" in entry:
        deadline = _deadline(entry["deadline"], f"{where}.deadline", problems)
        if deadline is not False and number is not None:
            corrections.append(Correction(number, "deadline", deadline))
    if "units" in entry:
        units = _units(entry["units"], f"{where}.units", problems)
        if units is not None and number is not None:
            corrections.append(Correction(number, "units", units))
    return corrections


def corrections_from_plan(plan_file: PlanFile, notice: ParsedNotice) -> list[Correction]:
    """Every task's title, deadline and units as the file gives them; one report of every
    problem."""
    problems: list[Problem] = []
    read = {t.number: t for t in notice.tasks}
    tasks = plan_file.document.get("tasks")
    if not isinstance(tasks, list):
        raise ImportFailed(
            [_problem("tasks", "缺少任务列表", "the task list is missing")], plan_file.path.name
        )
    corrections: list[Correction] = []
    seen: set[int] = set()
    for i, entry in enumerate(tasks):
        where = f"tasks[{i}]"
        if not isinstance(entry, dict):
            problems.append(_problem(where, "应为一个任务对象", "must be a task object"))
            continue
        number = _task_number(entry.get("number"), where, read=read, seen=seen, problems=problems)
        _fixed_unchanged(entry, None if number is None else read.get(number), where, problems)
        corrections.extend(_entry_corrections(entry, number, where, problems))
    for number in sorted(set(read) - seen):
        problems.append(
            _problem(
                "tasks",
                f"缺少任务 {number}——不能在此删除任务，请改原通知后重新导入",
                f"task {number} is missing: tasks cannot be removed here, correct the notice",
            )
        )
    if problems:
        raise ImportFailed(problems, plan_file.path.name)
    return corrections


def _deadline(value: Any, where: str, problems: list[Problem]) -> date | bool | None:
    """A date, None (no deadline), or False when the value is wrong (its problem recorded)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    problems.append(
        _problem(
            where,
            f"“{value}”不是日期——请写成 YYYY-MM-DD，或 null 表示无时限",
            f"“{value}” is not a date: write YYYY-MM-DD, or null for none",
        )
    )
    return False


def _units(
    value: Any, where: str, problems: list[Problem]
) -> tuple[tuple[str, AssignmentRole], ...] | None:
    if not isinstance(value, list):
        problems.append(
            _problem(
                where,
                '应为单位列表，如 [{"name": "市民政局", "role": "lead"}]',
                'must be a list such as [{"name": "市民政局", "role": "lead"}]',
            )
        )
        return None
    units: list[tuple[str, AssignmentRole]] = []
    names: set[str] = set()
    wrong = False
    for j, unit in enumerate(value):
        here = f"{where}[{j}]"
        name = unit.get("name") if isinstance(unit, dict) else None
        role = unit.get("role") if isinstance(unit, dict) else None
        if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX:
            problems.append(
                _problem(
                    f"{here}.name",
                    f"单位名称应为 1 至 {NAME_MAX} 个字",
                    f"a unit name has 1 to {NAME_MAX} characters",
                )
            )
            wrong = True
            continue
        if role not in ROLE_NAMES:
            problems.append(
                _problem(
                    f"{here}.role",
                    f"角色“{role}”无效——应为 lead（牵头）、responsible（负责）或 cooperating（"
                    "配合）",
                    f"role “{role}” is not one of lead, responsible, cooperating",
                )
            )
            wrong = True
            continue
        if name.strip() in names:
            problems.append(
                _problem(
                    f"{here}.name",
                    f"单位“{name.strip()}”列了两次",
                    f"unit “{name.strip()}” is listed twice",
                )
            )
            wrong = True
            continue
        names.add(name.strip())
        units.append((name.strip(), ROLE_NAMES[role]))
    return None if wrong else tuple(units)


# --- the portal's preview form ------------------------------------------------------------------

FORM_ROLES = (
    ("lead", AssignmentRole.LEAD),
    ("responsible", AssignmentRole.RESPONSIBLE),
    ("cooperating", AssignmentRole.COOPERATING),
)


def names_in(text: str) -> list[str]:
    """Unit names typed in one field: separated by 、，,；; or line breaks, never inside
    brackets."""
    return split_names(re.sub(r"[，；;\s]+", "、", text.strip())) if text.strip() else []


def units_from_fields(fields: dict[str, str]) -> tuple[tuple[str, AssignmentRole], ...]:
    """`{"lead": "市教育局", "cooperating": "市公安局、市检察院"}` -> the units with their roles."""
    units: dict[str, AssignmentRole] = {}
    for name, role in FORM_ROLES:
        for unit in names_in(fields.get(name, "")):
            units.setdefault(unit, role)  # named twice: the first (strongest) role
    return tuple(units.items())


def corrections_from_form(
    form: Any, notice: ParsedNotice
) -> tuple[list[Correction], list[Problem]]:
    """The preview form's fields of every task (`title-3`, `deadline-3`, `lead-3` ...) as
    corrections."""
    corrections: list[Correction] = []
    problems: list[Problem] = []
    for task in notice.tasks:
        n = task.number
        if f"title-{n}" not in form:
            continue  # a task the form did not show is left as read
        title = str(form.get(f"title-{n}", "")).strip()
        if not title:
            problems.append(
                Problem(None, f"任务 {n}：标题不能为空", f"task {n}: the title cannot be empty")
            )
        elif (
            len(title) > TITLE_MAX and title != task.title
        ):  # a long title as the notice has it stays
            problems.append(
                Problem(
                    None,
                    f"任务 {n}：标题过长（最多 {TITLE_MAX} 字）",
                    f"task {n}: the title is too long ({TITLE_MAX} at most)",
                )
            )
        else:
            corrections.append(Correction(n, "title", title))
        deadline = _deadline(str(form.get(f"deadline-{n}", "")), f"任务 {n} 的时限", problems)
        if deadline is not False:
            corrections.append(Correction(n, "deadline", deadline))
        fields = {name: str(form.get(f"{name}-{n}", "")) for name, _ in FORM_ROLES}
        units = units_from_fields(fields)
        long = [u for u, _ in units if len(u) > NAME_MAX]
        if long:
            problems.append(
                Problem(
                    None,
                    f"任务 {n}：单位名称过长（最多 {NAME_MAX} 字）",
                    f"task {n}: a unit name is too long",
                )
            )
        else:
            corrections.append(Correction(n, "units", units))
    return corrections, problems

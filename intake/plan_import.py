"""From a parsed notice to a plan in the database.

`resolve` maps every unit the notice names to the unit directory (aliases,
groups expanded to their members, unknown names created with a warning or
refused with --strict), after the office's corrections from the preview or an
edited plan JSON. A task whose units cannot be read is kept as 待分工 (no
assignment yet) with its problem listed; --strict refuses it instead.

`reconcile` compares the result with the plan already stored under the same
key as ONE list of changes, the list the office is shown, and when asked
applies exactly that list: a first import creates everything, a repeated one
changes nothing, a changed notice adds, rewords, re-roles, re-dates and
withdraws, never deleting an assignment's history and never moving a due date
that an extension moved. Everything happens in the caller's transaction.

`assign_pending` completes a 待分工 task after the import.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from intake.directory import UnitIndex
from intake.notice import ImportFailed, ParsedNotice, ParsedTask, Problem
from intake.unit_phrase import NamedUnit
from intake.wording import targets
from models import audit
from models.archive import refuse_if_archived
from models.assignment import ROLE_STRENGTH as PRIORITY
from models.assignment import ROLE_ZH, Assignment, AssignmentRole
from models.clock import utc
from models.db import bulk_insert, id_of, table_of
from models.errors import DubanError, NotFound
from models.lifecycle import Actor, State
from models.plan import Measure, Plan, Task
from models.unit import Unit, UnitKind

PENDING_ZH = "待分工"


@dataclass(frozen=True)
class Assigned:
    unit: str  # canonical name
    role: AssignmentRole
    written: str  # as the notice named it (an alias, or the group it came from)


@dataclass(frozen=True)
class Correction:
    """The office's fix of one field of one task before applying: `title` (str), `deadline`
    (date or None) or `units` (a tuple of (name, role); names as typed, resolved like imported
    ones)."""

    task: int
    field: str
    value: Any


CORRECTABLE = ("title", "deadline", "units")


@dataclass
class ResolvedNotice:
    notice: ParsedNotice  # the corrections applied
    units: dict[int, list[Assigned]]  # task number -> units
    new_units: dict[str, UnitKind]
    warnings: list[str]
    pending: dict[int, list[str]] = field(
        default_factory=dict
    )  # 待分工: task number -> its problems
    unread: set[int] = field(
        default_factory=set
    )  # the notice gave no units and nobody corrected them
    corrections: list[dict[str, Any]] = field(
        default_factory=list
    )  # {task, field, from, to}, as applied

    def as_json(self) -> dict[str, Any]:
        document = self.notice.as_json()
        for task in document["tasks"]:
            task["units"] = [
                {
                    "name": a.unit,
                    "role": a.role.value,
                    **({"written": a.written} if a.written != a.unit else {}),
                }
                for a in self.units[task["number"]]
            ]
            task["pending"] = task["number"] in self.pending
            task["problems"] = self.pending.get(task["number"], [])
        document["warnings"] = self.warnings
        document["new_units"] = list(self.new_units)
        document["corrections"] = self.corrections
        return document


@dataclass
class _Names:
    """Names resolved against the directory, with what the import must say about them."""

    assigned: list[Assigned]
    unknown: list[NamedUnit]
    memberless: list[str]


def _resolve_names(named: Iterable[NamedUnit], index: UnitIndex) -> _Names:
    found = _Names([], [], [])
    for unit_named in named:
        if unit_named.placeholder:
            continue
        unit = index.find(unit_named.name)
        if unit is None:
            found.unknown.append(unit_named)
            found.assigned.append(Assigned(unit_named.name, unit_named.role, unit_named.name))
        elif unit.kind == UnitKind.GROUP and index.members.get(id_of(unit)):
            found.assigned.extend(
                Assigned(m.name, unit_named.role, unit_named.name)
                for m in index.members[id_of(unit)]
            )
        else:
            if unit.kind == UnitKind.GROUP:
                found.memberless.append(unit.name)
            found.assigned.append(Assigned(unit.name, unit_named.role, unit_named.name))
    found.assigned = _strongest(found.assigned)
    return found


def _pairs(assigned: list[Assigned]) -> set[tuple[str, AssignmentRole]]:
    return {(a.unit, a.role) for a in assigned}


def unit_labels(assigned: Iterable[Assigned]) -> list[str]:
    """`市教育局（牵头）`: how a unit and its role are written in the trail and the diff."""
    return [f"{a.unit}（{ROLE_ZH[a.role]}）" for a in assigned]


def resolve(
    session: Session,
    notice: ParsedNotice,
    *,
    strict: bool = False,
    corrections: Sequence[Correction] = (),
) -> ResolvedNotice:
    """Every task's units as directory units, after the office's corrections; unknown names are
    new units (or problems with `strict`); a task left without units is 待分工 (a problem with
    `strict`)."""
    fixes: dict[int, dict[str, Any]] = {}
    for correction in corrections:
        fixes.setdefault(correction.task, {})[correction.field] = correction.value
    run = _Resolving(UnitIndex(session), strict=strict, warnings=list(notice.warnings))
    numbers = {t.number for t in notice.tasks}
    for number in sorted(set(fixes) - numbers):
        run.problems.append(
            Problem(
                None,
                f"修改的任务 {number} 不在通知中",
                f"the corrected task {number} is not in the notice",
            )
        )
    tasks = [run.task(task, fixes.get(task.number, {})) for task in notice.tasks]
    if not strict and notice.tasks and len(run.pending) == len(notice.tasks):
        # Also after the office's corrections (an edited plan JSON): intake.notice.NOTHING_ASSIGNED.
        from intake.notice import NOTHING_ASSIGNED

        run.problems.insert(0, NOTHING_ASSIGNED)
        run.problems.extend(p for t in notice.tasks for p in t.problems)
    if run.problems:
        raise ImportFailed(run.problems, notice.source_name)
    return ResolvedNotice(
        notice=replace(notice, tasks=tasks),
        units=run.resolved,
        new_units=run.new_units,
        warnings=list(dict.fromkeys(run.warnings)),
        pending=run.pending,
        unread=run.unread,
        corrections=run.applied,
    )


MEMBERLESS = (
    "“{name}”是单位组，但通讯录未列出其成员，暂作为一个单位交办 / "
    "group “{name}” has no members in the directory: assigned as one unit"
)


@dataclass
class _Resolving:
    """What `resolve` gathers task by task: the units, problems, warnings and corrections
    applied."""

    index: UnitIndex
    strict: bool
    warnings: list[str]
    problems: list[Problem] = field(default_factory=list)
    new_units: dict[str, UnitKind] = field(default_factory=dict)
    resolved: dict[int, list[Assigned]] = field(default_factory=dict)
    applied: list[dict[str, Any]] = field(default_factory=list)
    pending: dict[int, list[str]] = field(default_factory=dict)
    unread: set[int] = field(default_factory=set)

    def task(self, task: ParsedTask, fix: dict[str, Any]) -> ParsedTask:
        """One task: its units resolved (or the office's), its fields corrected, 待分工 if it has no
        units."""
        names = _resolve_names(task.units, self.index)
        units_fixed = False
        if "units" in fix:
            corrected = _resolve_names(
                (NamedUnit(name, role) for name, role in fix["units"]), self.index
            )
            if _pairs(corrected.assigned) != _pairs(names.assigned):
                self.applied.append(
                    {
                        "task": task.number,
                        "field": "units",
                        "from": unit_labels(names.assigned),
                        "to": unit_labels(corrected.assigned),
                    }
                )
                names, units_fixed = corrected, True
        for unit_named in names.unknown:
            self.unknown(task, unit_named)
        self.warnings.extend(MEMBERLESS.format(name=group) for group in names.memberless)
        for name in ("title", "deadline"):
            if name in fix and fix[name] != getattr(task, name):
                self.applied.append(
                    {
                        "task": task.number,
                        "field": name,
                        "from": getattr(task, name),
                        "to": fix[name],
                    }
                )
                task = replace(task, **{name: fix[name]})
        if units_fixed:
            task = replace(
                task, problems=[]
            )  # the office named the units the reader could not read
        if not names.assigned:
            self.unassigned(task, read=units_fixed)
        self.resolved[task.number] = names.assigned
        return task

    def unknown(self, task: ParsedTask, unit_named: NamedUnit) -> None:
        """A name the directory lacks: a problem with --strict, else a new unit, said once."""
        suggestions = self.index.suggest(unit_named.name)
        near_zh = f"（相近的已有单位：{'、'.join(suggestions)}）" if suggestions else ""
        near_en = f" (did you mean: {', '.join(suggestions)}?)" if suggestions else ""
        if self.strict:
            self.problems.append(
                Problem(
                    task.where,
                    f"任务 {task.number}："
                    f"未知单位“{unit_named.name}”{near_zh}——请先加入单位通讯录（duban units "
                    "import）",
                    f"task {task.number}: unknown unit “{unit_named.name}”{near_en}: add it to the "
                    "unit directory first (duban units import)",
                )
            )
        elif unit_named.name not in self.new_units:
            self.new_units[unit_named.name] = (
                UnitKind.GROUP if unit_named.group else UnitKind.DEPARTMENT
            )
            self.warnings.append(
                f"任务 {task.number}：单位“{unit_named.name}”不在通讯录中，将新建{near_zh} / "
                f"unknown unit “{unit_named.name}” will be created{near_en}"
            )
            if unit_named.group:
                self.warnings.append(MEMBERLESS.format(name=unit_named.name))

    def unassigned(self, task: ParsedTask, *, read: bool) -> None:
        """A task left without units: 待分工 (a problem with --strict); `read` when the office
        emptied them."""
        reasons = task.problems or [
            Problem(
                task.where,
                f"任务 {task.number}“{task.title}”没有责任单位",
                f"task {task.number} “{task.title}” has no units",
            )
        ]
        if self.strict:
            self.problems.extend(reasons)
        self.pending[task.number] = [p.message("zh") for p in reasons]
        if not read:
            self.unread.add(task.number)
        self.warnings.append(
            f"任务 {task.number}“{task.title}”未读出责任单位：作为{PENDING_ZH}导入，"
            "请在预览中指定单位或导入后分工"
            f" / task {task.number} has no readable units: imported awaiting its units"
        )


def _strongest(assigned: list[Assigned]) -> list[Assigned]:
    """A unit named twice (itself and through its group) keeps its strongest role."""
    best: dict[str, Assigned] = {}
    for a in assigned:
        if a.unit not in best or PRIORITY[a.role] < PRIORITY[best[a.unit].role]:
            best[a.unit] = a
    return [best[name] for name in dict.fromkeys(a.unit for a in assigned)]


# --- the one list of changes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One line of the diff the office approves, and what applying it does.

    kind: plan, add_task, restore_task, change_task, withdraw_task, add_unit, restore_unit,
    change_role, change_due, keep_extension, withdraw_unit."""

    task: int | None
    kind: str
    zh: str
    en: str
    unit: str | None = None
    row: Any = field(default=None, compare=False, repr=False)  # the stored Plan, Task or Assignment
    value: Any = field(default=None, compare=False, repr=False)  # what it becomes

    def as_json(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "kind": self.kind,
            "zh": self.zh,
            "en": self.en,
            **({"unit": self.unit} if self.unit else {}),
        }

    def basis(self) -> dict[str, Any]:
        """The line and the stored values it starts from: two previews that would do different
        things to different rows never have the same basis, even when their lines read alike."""
        row: dict[str, Any] = {}
        if isinstance(self.row, Task):
            row = {name: getattr(self.row, name) for name in TASK_FIELDS} | {
                "withdrawn": self.row.withdrawn_at
            }
        elif isinstance(self.row, Assignment):
            row = {
                "id": self.row.id,
                "role": str(self.row.role),
                "due_on": self.row.due_on,
                "original_due_on": self.row.original_due_on,
                "withdrawn": self.row.withdrawn_at,
            }
        return {"kind": self.kind, "task": self.task, "unit": self.unit, "zh": self.zh, "row": row}


@dataclass
class Outcome:
    plan_id: int | None
    created: bool
    changes: list[Change] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    pending: list[int] = field(default_factory=list)  # 待分工 task numbers
    new_units: list[str] = field(default_factory=list)  # created by this import: no contacts yet


TASK_FIELDS = ("title", "category", "content", "deadline", "deadline_text", "units_text")
FIELD_ZH = {
    "title": "标题",
    "category": "类别",
    "content": "具体内容",
    "deadline": "时限",
    "deadline_text": "时限原文",
    "units_text": "责任单位原文",
    "units": "单位",
}


def _task_values(parsed: ParsedTask) -> dict[str, Any]:
    return {name: getattr(parsed, name) for name in TASK_FIELDS}


def _day(value: date | None) -> str:
    return value.isoformat() if value else "无"


def _day_en(value: date | None) -> str:
    return value.isoformat() if value else "none"


def _field_changes(task: Task, parsed: ParsedTask) -> tuple[list[str], list[str]]:
    zh, en = [], []
    for name, value in _task_values(parsed).items():
        if getattr(task, name) == value:
            continue
        if name == "deadline":
            zh.append(f"时限由 {_day(task.deadline)} 改为 {_day(value)}")
            en.append(f"deadline from {_day_en(task.deadline)} to {_day_en(value)}")
        elif name == "title":
            zh.append(f"标题由“{task.title}”改为“{value}”")
            en.append(f"title from “{task.title}” to “{value}”")
        else:
            zh.append(FIELD_ZH[name])
            en.append(name)
    return zh, en


def _due_change(number: int, name: str, held: Assignment, deadline: date | None) -> Change | None:
    """The notice's date against the assignment's: a date an extension moved stays where it is."""
    if held.original_due_on == deadline:
        return None
    if held.due_on != held.original_due_on:  # an approved extension (or a suspension) moved it
        return Change(
            number,
            "keep_extension",
            f"任务 {number}：{name} 原定时限由 {_day(held.original_due_on)} 改为 {_day(deadline)}；"
            f"已批准延期至 {_day(held.due_on)}，延期后的时限不变",
            f"task {number}: {name} original deadline from {_day_en(held.original_due_on)} to "
            f"{_day_en(deadline)}; extended to {_day_en(held.due_on)}, which stays",
            unit=name,
            row=held,
            value=deadline,
        )
    return Change(
        number,
        "change_due",
        f"任务 {number}：{name} 时限由 {_day(held.due_on)} 改为 {_day(deadline)}",
        f"task {number}: {name} due date from {_day_en(held.due_on)} to {_day_en(deadline)}",
        unit=name,
        row=held,
        value=deadline,
    )


def compare(
    session: Session, key: str, resolved: ResolvedNotice, *, now: datetime
) -> tuple[Plan, list[Change]]:
    """The plan `key` as stored (or a new, unsaved one) and every change the notice makes to it."""
    notice = resolved.notice
    plan = session.exec(select(Plan).where(Plan.key == key)).first()
    if plan is None:
        plan = Plan(
            key=key,
            title=notice.title or key,
            issuer=notice.issuer,
            issued_on=notice.issued_on,
            source_name=notice.source_name,
            source_sha256=notice.source_sha256,
            created_at=utc(now),
        )
        changes: list[Change] = []
    else:
        changes = _plan_changes(plan, notice)
    tasks = (
        {t.number: t for t in session.exec(select(Task).where(Task.plan_id == plan.id))}
        if plan.id
        else {}
    )
    by_task = _held_by_task(session, tasks)
    for parsed in notice.tasks:
        task = tasks.get(parsed.number)
        wanted = {a.unit: a for a in resolved.units[parsed.number]}
        held = by_task.get(id_of(task), {}) if task is not None else {}
        changes.extend(_task_changes(task, parsed, len(wanted)))
        changes.extend(_unit_changes(parsed, wanted, held, unread=parsed.number in resolved.unread))
    listed = {t.number for t in notice.tasks}
    for number, task in sorted(tasks.items()):
        if number not in listed and task.withdrawn_at is None:
            active = [a for a in by_task.get(id_of(task), {}).values() if a.withdrawn_at is None]
            changes.append(
                Change(
                    number,
                    "withdraw_task",
                    f"撤销任务 {number}“{task.title}”（保留记录）",
                    f"withdraw task {number} “{task.title}” (history kept)",
                    row=task,
                    value=active,
                )
            )
    return plan, changes


PLAN_LABELS = {
    "title": ("标题", "title"),
    "issuer": ("发文单位", "issuer"),
    "issued_on": ("发文日期", "date of issue"),
}


def _plan_changes(plan: Plan, notice: ParsedNotice) -> list[Change]:
    meta = {
        "title": notice.title or plan.title,
        "issuer": notice.issuer,
        "issued_on": notice.issued_on,
    }
    changes = []
    for name, value in meta.items():
        if getattr(plan, name) != value:
            zh, en = PLAN_LABELS[name]
            changes.append(
                Change(
                    None,
                    "plan",
                    f"计划{zh}由“{getattr(plan, name) or '无'}”改为“{value or '无'}”",
                    f"plan {en} changes from “{getattr(plan, name)}” to “{value}”",
                    row=name,
                    value=value,
                )
            )
    return changes


def _held_by_task(session: Session, tasks: dict[int, Task]) -> dict[int, dict[str, Assignment]]:
    """The stored assignments of the tasks, withdrawn ones too: task id -> unit name -> row."""
    by_task: dict[int, dict[str, Assignment]] = {}
    if not tasks:
        return by_task
    unit_names = {
        id_: name for id_, name in session.exec(select(Unit.id, Unit.name)) if id_ is not None
    }
    for a in session.exec(
        select(Assignment).where(col(Assignment.task_id).in_([t.id for t in tasks.values()]))
    ):
        by_task.setdefault(a.task_id, {})[unit_names[a.unit_id]] = a
    return by_task


def _task_changes(task: Task | None, parsed: ParsedTask, units: int) -> list[Change]:
    """The task itself: new, back from withdrawn, or its fields reworded."""
    number = parsed.number
    shown = f"（{units} 个单位）" if units else f"（{PENDING_ZH}）"
    if task is None:
        return [
            Change(
                number,
                "add_task",
                f"新增任务 {number}“{parsed.title}”{shown}",
                f"add task {number} “{parsed.title}” ({units} units)",
                value=parsed,
            )
        ]
    if task.withdrawn_at is not None:
        return [
            Change(
                number,
                "restore_task",
                f"恢复任务 {number}“{parsed.title}”{shown}",
                f"restore task {number} “{parsed.title}” ({units} units)",
                row=task,
                value=parsed,
            )
        ]
    zh, en = _field_changes(task, parsed)
    if not zh:
        return []
    return [
        Change(
            number,
            "change_task",
            f"任务 {number} 修改：{'、'.join(zh)}",
            f"task {number} changes: {', '.join(en)}",
            row=task,
            value=parsed,
        )
    ]


def _unit_changes(
    parsed: ParsedTask, wanted: dict[str, Assigned], held: dict[str, Assignment], *, unread: bool
) -> list[Change]:
    """The task's units: the wanted ones assigned, restored, re-roled and re-dated; the others
    withdrawn, unless the notice said nothing readable about its units (what the office assigned
    stays)."""
    number = parsed.number
    changes = []
    for name, a in wanted.items():
        current = held.get(name)
        if current is None:
            changes.append(
                Change(
                    number,
                    "add_unit",
                    f"任务 {number}：交办 {name}（{ROLE_ZH[a.role]}）",
                    f"task {number}: assign {name} ({a.role.value})",
                    unit=name,
                    value=(a, parsed.deadline),
                )
            )
            continue
        changes.extend(_role_change(number, name, current, a.role))
        changes.extend(_due_changes(number, name, current, parsed.deadline))
    for name, current in held.items():
        if current.withdrawn_at is not None or name in wanted:
            continue
        if unread:  # kept, on the notice's date
            changes.extend(_due_changes(number, name, current, parsed.deadline))
        else:
            changes.append(
                Change(
                    number,
                    "withdraw_unit",
                    f"任务 {number}：撤销 {name} 的分工（保留记录）",
                    f"task {number}: withdraw {name} (history kept)",
                    unit=name,
                    row=current,
                )
            )
    return changes


def _role_change(number: int, name: str, current: Assignment, role: AssignmentRole) -> list[Change]:
    if current.withdrawn_at is not None:
        return [
            Change(
                number,
                "restore_unit",
                f"任务 {number}：恢复 {name} 的分工（{ROLE_ZH[role]}）",
                f"task {number}: restore {name} ({role.value})",
                unit=name,
                row=current,
                value=role,
            )
        ]
    if current.role != role:
        return [
            Change(
                number,
                "change_role",
                f"任务 {number}：{name} "
                f"由{ROLE_ZH[AssignmentRole(current.role)]}改为{ROLE_ZH[role]}",
                f"task {number}: {name} from {current.role} to {role.value}",
                unit=name,
                row=current,
                value=role,
            )
        ]
    return []


def _due_changes(number: int, name: str, held: Assignment, deadline: date | None) -> list[Change]:
    due = _due_change(number, name, held, deadline)
    return [due] if due is not None else []


def reconcile(
    session: Session,
    key: str,
    resolved: ResolvedNotice,
    *,
    actor: Actor,
    now: datetime,
    write: bool,
) -> Outcome:
    """The difference between the notice and the stored plan `key`; that same list applied when
    `write`."""
    plan, changes = compare(session, key, resolved, now=now)
    outcome = Outcome(
        plan_id=plan.id,
        created=plan.id is None,
        changes=changes,
        pending=_still_pending(session, plan, resolved),
    )
    if write and (outcome.created or outcome.changes):
        if plan.id is not None:  # a new version of an archived plan's notice changes nothing
            refuse_if_archived(session, plan_id=plan.id)
        _apply(session, plan, resolved, actor=actor, at=utc(now), outcome=outcome)
    return outcome


def _still_pending(session: Session, plan: Plan, resolved: ResolvedNotice) -> list[int]:
    """The notice's 待分工 tasks, but for those the office has since given units (they keep
    them)."""
    if plan.id is None or not resolved.pending:
        return sorted(resolved.pending)
    assigned = set(
        session.exec(
            select(Task.number)
            .join(Assignment, col(Assignment.task_id) == col(Task.id))
            .where(Task.plan_id == plan.id, col(Assignment.withdrawn_at).is_(None))
        ).all()
    )
    return sorted(n for n in resolved.pending if n not in assigned or n not in resolved.unread)


class _Trail:
    """The import's audit events, appended in one batch; one event per touched assignment."""

    def __init__(self, actor: Actor, at: datetime) -> None:
        self.actor, self.at = actor, at
        self.events: list[dict[str, Any]] = []
        self.touched: dict[int, tuple[Assignment, str, dict[str, Any]]] = {}

    def event(self, action: str, object_type: str, object_id: int, **details: Any) -> None:
        self.events.append(
            {
                "at": self.at,
                "actor": self.actor,
                "action": action,
                "object_type": object_type,
                "object_id": object_id,
                **details,
            }
        )

    def touch(self, assignment: Assignment, action: str) -> None:
        held = self.touched.get(id_of(assignment))
        if held is None:
            before = {
                "role": str(assignment.role),
                "withdrawn": assignment.withdrawn_at is not None,
                "due_on": assignment.due_on,
                "original_due_on": assignment.original_due_on,
            }
            self.touched[id_of(assignment)] = (assignment, action, before)
        elif action != "assignment.update":  # restore and withdraw name the event
            self.touched[id_of(assignment)] = (assignment, action, held[2])

    def flush_touched(self, session: Session) -> None:
        for assignment, action, before in self.touched.values():
            session.add(assignment)
            self.event(
                action,
                "assignment",
                id_of(assignment),
                task_id=assignment.task_id,
                unit_id=assignment.unit_id,
                before=before,
                after={
                    "role": str(assignment.role),
                    "withdrawn": assignment.withdrawn_at is not None,
                    "due_on": assignment.due_on,
                    "original_due_on": assignment.original_due_on,
                },
            )


def _apply(
    session: Session,
    plan: Plan,
    resolved: ResolvedNotice,
    *,
    actor: Actor,
    at: datetime,
    outcome: Outcome,
) -> None:
    """Apply exactly the listed changes. New rows go in as one executemany per table (a province's
    plan has thousands of tasks); the audit events of the whole import are appended in one batch."""
    notice = resolved.notice
    trail = _Trail(actor, at)
    of_kind: dict[str, list[Change]] = {}
    for change in outcome.changes:
        of_kind.setdefault(change.kind, []).append(change)

    for change in of_kind.get("plan", []):
        setattr(plan, change.row, change.value)
    plan.source_name, plan.source_sha256 = notice.source_name, notice.source_sha256
    session.add(plan)
    session.flush()
    unit_ids, outcome.new_units = _insert_units(
        session, of_kind.get("add_unit", []), resolved, trail=trail
    )
    task_ids = _apply_tasks(session, plan, of_kind, resolved, trail=trail)
    _apply_assignments(session, of_kind, trail=trail)
    _insert_assignments(
        session,
        plan,
        of_kind.get("add_unit", []),
        task_ids=task_ids,
        unit_ids=unit_ids,
        trail=trail,
    )

    outcome.plan_id = plan.id
    outcome.counts = _counts(resolved, new_units=len(outcome.new_units))
    trail.event(
        "plan.import" if outcome.created else "plan.update",
        "plan",
        id_of(plan),
        after={
            "key": plan.key,
            "source": notice.source_name,
            "sha256": notice.source_sha256,
            "changes": len(outcome.changes),
            **outcome.counts,
            "pending": sorted(resolved.pending),
            "corrections": resolved.corrections,
        },
    )
    audit.record_many(session, trail.events)


def new_units_notice(names: list[str]) -> str:
    """What the office is told after an import that created units: they lack contacts. Ten names
    at most: the units page lists every one."""
    shown = "、".join(names[:10]) + ("等" if len(names) > 10 else "")
    return f"新建单位 {len(names)} 个，尚无联系人：{shown}。请在单位通讯录中补充联系人"


def _counts(resolved: ResolvedNotice, *, new_units: int) -> dict[str, int]:
    notice = resolved.notice
    return {
        "tasks": len(notice.tasks),
        "measures": sum(len(t.measures) for t in notice.tasks),
        "units": len({a.unit for units_ in resolved.units.values() for a in units_}),
        "assignments": sum(len(units_) for units_ in resolved.units.values()),
        "new_units": new_units,
        "warnings": len(resolved.warnings),
    }


def _insert_units(
    session: Session, adds: list[Change], resolved: ResolvedNotice, *, trail: _Trail
) -> tuple[dict[str, int], list[str]]:
    """Every unit's id by name, and the names of the units the notice names that the directory
    lacked, created here."""
    unit_ids = _unit_ids(session)
    needed = dict.fromkeys(c.unit for c in adds if c.unit is not None and c.unit not in unit_ids)
    new_units = [(name, resolved.new_units.get(name, UnitKind.DEPARTMENT)) for name in needed]
    if not new_units:
        return unit_ids, []
    bulk_insert(
        session,
        table_of(Unit),
        [{"name": n, "kind": str(k), "active": True, "created_at": trail.at} for n, k in new_units],
    )
    unit_ids = _unit_ids(session)
    for name, kind in new_units:
        trail.event(
            "unit.create",
            "unit",
            unit_ids[name],
            unit_id=unit_ids[name],
            after={"name": name, "kind": str(kind), "from": resolved.notice.source_name},
        )
    return unit_ids, list(needed)


def _unit_ids(session: Session) -> dict[str, int]:
    """Every stored unit's id by name."""
    return {name: id_ for id_, name in session.exec(select(Unit.id, Unit.name)) if id_ is not None}


def _apply_tasks(
    session: Session,
    plan: Plan,
    of_kind: dict[str, list[Change]],
    resolved: ResolvedNotice,
    *,
    trail: _Trail,
) -> dict[int, int]:
    """Tasks: new ones in bulk; changed and restored ones in place; dropped ones withdrawn with
    their assignments; the measures of every new or rewritten task written afresh. Every task's id
    by number."""
    new_tasks: list[ParsedTask] = [c.value for c in of_kind.get("add_task", [])]
    bulk_insert(
        session,
        table_of(Task),
        [
            {"plan_id": plan.id, "number": t.number, "withdrawn_at": None, **_task_values(t)}
            for t in new_tasks
        ],
    )
    # Ids by natural key: RETURNING in parameter order makes SQLite insert row by row.
    task_ids = {
        number: id_
        for id_, number in session.exec(select(Task.id, Task.number).where(Task.plan_id == plan.id))
        if id_ is not None
    }
    rewritten: list[tuple[ParsedTask, dict[str, Any] | None]] = [(t, None) for t in new_tasks]
    for change in of_kind.get("restore_task", []) + of_kind.get("change_task", []):
        task, parsed = change.row, change.value
        before: dict[str, Any] | None = {k: getattr(task, k) for k in TASK_FIELDS} | {
            "withdrawn": task.withdrawn_at is not None
        }
        for name, value in _task_values(parsed).items():
            setattr(task, name, value)
        task.withdrawn_at = None
        session.add(task)
        rewritten.append((parsed, before))
    source = resolved.notice.source_name
    for change in of_kind.get("withdraw_task", []):
        task = change.row
        task.withdrawn_at = trail.at
        session.add(task)
        trail.event(
            "task.withdraw",
            "task",
            id_of(task),
            task_id=task.id,
            reason=f"不在 {source} 中 / not in {source}",
        )
        for (
            assignment
        ) in change.value:  # a task dropped from the notice takes its assignments with it
            assignment.withdrawn_at = trail.at
            trail.touch(assignment, "assignment.withdraw")
    session.flush()
    _write_measures(session, rewritten, task_ids)
    for parsed, before in rewritten:
        task_id = task_ids[parsed.number]
        trail.event(
            "task.create" if before is None else "task.update",
            "task",
            task_id,
            task_id=task_id,
            before=before,
            after=_task_values(parsed)
            | {
                "number": parsed.number,
                "measures": len(parsed.measures),
                **({"pending": True} if parsed.number in resolved.pending else {}),
            },
        )
    return task_ids


def _write_measures(
    session: Session,
    rewritten: list[tuple[ParsedTask, dict[str, Any] | None]],
    task_ids: dict[int, int],
) -> None:
    changed_ids = [task_ids[p.number] for p, before in rewritten if before is not None]
    if changed_ids:
        session.execute(delete(Measure).where(col(Measure.task_id).in_(changed_ids)))
    bulk_insert(
        session,
        table_of(Measure),
        [
            {"task_id": task_ids[p.number], "seq": i, "text": text, "targets": targets(text)}
            for p, _ in rewritten
            for i, text in enumerate(p.measures, start=1)
        ],
    )


def _apply_assignments(
    session: Session, of_kind: dict[str, list[Change]], *, trail: _Trail
) -> None:
    """Stored assignments changed in place, one event per row whatever changed on it."""
    for change in of_kind.get("restore_unit", []):
        change.row.withdrawn_at, change.row.role = None, change.value
        trail.touch(change.row, "assignment.restore")
    for change in of_kind.get("change_role", []):
        change.row.role = change.value
        trail.touch(change.row, "assignment.update")
    for change in of_kind.get("change_due", []):
        change.row.due_on = change.row.original_due_on = change.value
        trail.touch(change.row, "assignment.update")
    for change in of_kind.get("keep_extension", []):
        change.row.original_due_on = change.value  # due_on stays where the extension put it
        trail.touch(change.row, "assignment.update")
    for change in of_kind.get("withdraw_unit", []):
        change.row.withdrawn_at = trail.at
        trail.touch(change.row, "assignment.withdraw")
    trail.flush_touched(session)
    session.flush()


def _insert_assignments(
    session: Session,
    plan: Plan,
    adds: list[Change],
    *,
    task_ids: dict[int, int],
    unit_ids: dict[str, int],
    trail: _Trail,
) -> None:
    """New assignments in bulk, due by their task's deadline, each with its assignment.create
    event."""
    new_rows = [
        {
            "task_id": task_ids[c.task],  # type: ignore[index]  # an add_unit names its task
            "unit_id": unit_ids[c.unit],  # type: ignore[index]  # and its unit
            "role": str(c.value[0].role),
            "state": str(State.ASSIGNED),
            "version": 1,
            "rework_count": 0,
            "due_on": c.value[1],
            "original_due_on": c.value[1],
            "created_at": trail.at,
        }
        for c in adds
    ]
    if not new_rows:
        return
    bulk_insert(session, table_of(Assignment), new_rows)
    assignment_ids = {
        (task_id, unit_id): id_
        for id_, task_id, unit_id in session.exec(
            select(Assignment.id, Assignment.task_id, Assignment.unit_id)
            .join(Task, col(Task.id) == col(Assignment.task_id))
            .where(Task.plan_id == plan.id)
        )
        if id_ is not None
    }
    for row in new_rows:
        trail.event(
            "assignment.create",
            "assignment",
            assignment_ids[row["task_id"], row["unit_id"]],
            task_id=row["task_id"],
            unit_id=row["unit_id"],
            after={"state": row["state"], "role": row["role"], "version": 1},
        )


# --- completing a 待分工 task after the import
# ------------------------------------------------------


class TaskAlreadyAssigned(DubanError):
    zh = "计划“{plan}”的任务 {number} 已有分工，不是待分工任务——要改分工请修改通知后重新导入。"
    en = (
        "task {number} of plan '{plan}' already has units; change them by re-importing the "
        "corrected notice"
    )
    exit_code = 4


class UnitsRequired(DubanError):
    zh = "请至少指定一个单位（牵头、负责或配合）。"
    en = "name at least one unit (lead, responsible or cooperating)"
    exit_code = 2


class UnknownUnits(DubanError):
    zh = (
        "任务 {number}：通讯录中没有单位 {names}{near_zh}——请改正名称，或先加入单位通讯录（duban "
        "units import），未作任何分工。"
    )
    en = (
        "task {number}: {names} not in the unit directory{near_en}; correct the names or add "
        "them first; nothing was assigned"
    )
    exit_code = 2


def pending_tasks(session: Session, plan_id: int | None = None) -> list[tuple[Plan, Task]]:
    """Tasks in force with no assignment in force: 待分工."""
    assigned = select(Assignment.task_id).where(col(Assignment.withdrawn_at).is_(None))
    query = (
        select(Plan, Task)
        .join(Task, col(Task.plan_id) == col(Plan.id))
        .where(col(Task.withdrawn_at).is_(None), col(Task.id).not_in(assigned))
    )
    if plan_id is not None:
        query = query.where(Plan.id == plan_id)
    return list(session.exec(query.order_by(col(Plan.key), col(Task.number))).all())


def _refuse_unknown(task: Task, unknown: list[NamedUnit], index: UnitIndex) -> None:
    """After the import only directory units are assigned: unknown names are refused, with the
    closest ones."""
    if not unknown:
        return
    near = {n.name: index.suggest(n.name) for n in unknown}
    raise UnknownUnits(
        number=task.number,
        names="、".join(f"“{n}”" for n in near),
        near_zh="".join(f"（“{n}”相近的已有单位：{'、'.join(s)}）" for n, s in near.items() if s),
        near_en="".join(f" (for {n}, did you mean: {', '.join(s)}?)" for n, s in near.items() if s),
    )


def assign_pending(
    session: Session,
    *,
    task_id: int,
    units: Sequence[tuple[str, AssignmentRole]],
    actor: Actor,
    now: datetime,
) -> list[Assignment]:
    """Give a 待分工 task its units (names or aliases from the directory; groups expand), due by its
    deadline."""
    task = session.get(Task, task_id)
    if task is None or task.withdrawn_at is not None:
        raise NotFound(kind="task", kind_zh="任务", key=f"#{task_id}")
    plan = session.get_one(Plan, task.plan_id)  # the task's plan is there (foreign key)
    refuse_if_archived(session, plan_id=task.plan_id)
    held = session.exec(select(Assignment).where(Assignment.task_id == task.id)).all()
    if any(a.withdrawn_at is None for a in held):
        raise TaskAlreadyAssigned(plan=plan.key, number=task.number)
    if not units:
        raise UnitsRequired()
    index = UnitIndex(session)
    names = _resolve_names((NamedUnit(name, role) for name, role in units), index)
    _refuse_unknown(task, names.unknown, index)
    by_unit = {a.unit_id: a for a in held}
    at = utc(now)
    trail = _Trail(actor, at)
    made: list[Assignment] = []
    for a in names.assigned:
        unit = index.find(a.unit)
        assert unit is not None  # _refuse_unknown raised for names not in the directory
        assignment = by_unit.get(id_of(unit))
        if (
            assignment is not None
        ):  # withdrawn earlier: the same row comes back, its history with it
            assignment.withdrawn_at, assignment.role = None, a.role
            trail.touch(assignment, "assignment.restore")
        else:
            assignment = Assignment(
                task_id=id_of(task),
                unit_id=id_of(unit),
                role=a.role,
                due_on=task.deadline,
                original_due_on=task.deadline,
                created_at=at,
            )
            session.add(assignment)
        made.append(assignment)
    session.flush()
    trail.flush_touched(session)
    restored = set(trail.touched)
    for assignment in made:
        if assignment.id not in restored:
            trail.event(
                "assignment.create",
                "assignment",
                id_of(assignment),
                task_id=task.id,
                unit_id=assignment.unit_id,
                after={
                    "state": str(assignment.state),
                    "role": str(assignment.role),
                    "version": assignment.version,
                },
            )
    trail.event(
        "task.assign",
        "task",
        id_of(task),
        task_id=task.id,
        before={"units": []},
        after={"plan": plan.key, "number": task.number, "units": unit_labels(names.assigned)},
    )
    audit.record_many(session, trail.events)
    return made

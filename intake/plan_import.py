"""From a parsed notice to a plan in the database.

`resolve` maps every unit the notice names to the unit directory (aliases,
groups expanded to their members, unknown names created with a warning or
refused with --strict). `reconcile` compares the result with the plan
already stored under the same key and, when asked, writes the difference:
a first import creates everything, a repeated one changes nothing, a
changed notice adds, rewords, re-roles and withdraws, never deleting an
assignment's history. Everything happens in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from intake.directory import UnitIndex
from intake.notice import ImportFailed, ParsedNotice, ParsedTask, Problem
from intake.wording import targets
from models import audit
from models.assignment import Assignment, AssignmentRole
from models.clock import utc
from models.lifecycle import Actor, State
from models.plan import Measure, Plan, Task
from models.unit import Unit, UnitKind

PRIORITY = {AssignmentRole.LEAD: 0, AssignmentRole.RESPONSIBLE: 1, AssignmentRole.COOPERATING: 2}
ROLE_ZH = {AssignmentRole.LEAD: "牵头", AssignmentRole.RESPONSIBLE: "负责", AssignmentRole.COOPERATING: "配合"}


@dataclass(frozen=True)
class Assigned:
    unit: str  # canonical name
    role: AssignmentRole
    written: str  # as the notice named it (an alias, or the group it came from)


@dataclass
class ResolvedNotice:
    notice: ParsedNotice
    units: dict[int, list[Assigned]]  # task number -> units
    new_units: dict[str, UnitKind]
    warnings: list[str]

    def as_json(self) -> dict[str, Any]:
        document = self.notice.as_json()
        for task in document["tasks"]:
            task["units"] = [
                {"name": a.unit, "role": a.role.value, **({"written": a.written} if a.written != a.unit else {})}
                for a in self.units[task["number"]]
            ]
        document["warnings"] = self.warnings
        document["new_units"] = list(self.new_units)
        return document


def resolve(session: Session, notice: ParsedNotice, *, strict: bool = False) -> ResolvedNotice:
    """Every task's units as directory units; unknown names are new units (or problems with `strict`)."""
    index = UnitIndex(session)
    problems: list[Problem] = []
    warnings = list(notice.warnings)
    new_units: dict[str, UnitKind] = {}
    resolved: dict[int, list[Assigned]] = {}
    for task in notice.tasks:
        assigned: list[Assigned] = []
        for named in task.units:
            if named.placeholder:
                continue
            unit = index.find(named.name)
            if unit is None:
                suggestions = index.suggest(named.name)
                near_zh = f"（相近的已有单位：{'、'.join(suggestions)}）" if suggestions else ""
                near_en = f" (did you mean: {', '.join(suggestions)}?)" if suggestions else ""
                if strict:
                    problems.append(Problem(task.where, f"任务 {task.number}：未知单位“{named.name}”{near_zh}——请先加入单位通讯录（duban units import）",
                                            f"task {task.number}: unknown unit “{named.name}”{near_en}: add it to the unit directory first (duban units import)"))
                    continue
                if named.name not in new_units:
                    new_units[named.name] = UnitKind.GROUP if named.group else UnitKind.DEPARTMENT
                    warnings.append(f"任务 {task.number}：单位“{named.name}”不在通讯录中，将新建{near_zh} / unknown unit “{named.name}” will be created{near_en}")
                    if named.group:
                        warnings.append(f"“{named.name}”是单位组，但通讯录未列出其成员，暂作为一个单位交办 / group “{named.name}” has no members in the directory: assigned as one unit")
                assigned.append(Assigned(named.name, named.role, named.name))
            elif unit.kind == UnitKind.GROUP and index.members.get(unit.id):
                assigned.extend(Assigned(m.name, named.role, named.name) for m in index.members[unit.id])
            else:
                if unit.kind == UnitKind.GROUP:
                    warnings.append(f"“{unit.name}”是单位组，但通讯录未列出其成员，暂作为一个单位交办 / group “{unit.name}” has no members in the directory: assigned as one unit")
                assigned.append(Assigned(unit.name, named.role, named.name))
        resolved[task.number] = _strongest(assigned)
    if problems:
        raise ImportFailed(problems, notice.source_name)
    return ResolvedNotice(notice=notice, units=resolved, new_units=new_units, warnings=list(dict.fromkeys(warnings)))


def _strongest(assigned: list[Assigned]) -> list[Assigned]:
    """A unit named twice (itself and through its group) keeps its strongest role."""
    best: dict[str, Assigned] = {}
    for a in assigned:
        if a.unit not in best or PRIORITY[a.role] < PRIORITY[best[a.unit].role]:
            best[a.unit] = a
    return [best[name] for name in dict.fromkeys(a.unit for a in assigned)]


@dataclass(frozen=True)
class Change:
    task: int | None
    kind: str  # plan, add_task, change_task, withdraw_task, add_unit, change_role, withdraw_unit
    zh: str
    en: str


@dataclass
class Outcome:
    plan_id: int | None
    created: bool
    changes: list[Change] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


TASK_FIELDS = ("title", "category", "content", "deadline", "deadline_text", "units_text")


def _task_values(parsed: ParsedTask) -> dict[str, Any]:
    return {name: getattr(parsed, name) for name in TASK_FIELDS}


def reconcile(session: Session, key: str, resolved: ResolvedNotice, *, actor: Actor, now: datetime,
              write: bool) -> Outcome:
    """The difference between the notice and the stored plan `key`; written when `write`."""
    notice = resolved.notice
    plan = session.exec(select(Plan).where(Plan.key == key)).first()
    outcome = Outcome(plan_id=plan.id if plan else None, created=plan is None)
    at = utc(now)
    if plan is None:
        plan = Plan(key=key, title=notice.title or key, issuer=notice.issuer, issued_on=notice.issued_on,
                    source_name=notice.source_name, source_sha256=notice.source_sha256, created_at=at)
    else:
        meta = {"title": notice.title or plan.title, "issuer": notice.issuer, "issued_on": notice.issued_on}
        labels = {"title": ("标题", "title"), "issuer": ("发文单位", "issuer"), "issued_on": ("发文日期", "date of issue")}
        for name, value in meta.items():
            if getattr(plan, name) != value:
                zh, en = labels[name]
                outcome.changes.append(Change(None, "plan", f"计划{zh}由“{getattr(plan, name)}”改为“{value}”",
                                              f"plan {en} changes from “{getattr(plan, name)}” to “{value}”"))
    tasks = {t.number: t for t in session.exec(select(Task).where(Task.plan_id == plan.id))} if plan.id else {}
    by_task: dict[int, dict[str, Assignment]] = {}
    unit_names: dict[int, str] = {u.id: u.name for u in session.exec(select(Unit))}
    if tasks:
        rows = session.exec(select(Assignment).where(col(Assignment.task_id).in_([t.id for t in tasks.values()])))
        for a in rows:
            by_task.setdefault(a.task_id, {})[unit_names[a.unit_id]] = a

    listed = {t.number for t in notice.tasks}
    for parsed in notice.tasks:
        task = tasks.get(parsed.number)
        wanted = {a.unit: a for a in resolved.units[parsed.number]}
        if task is None or task.withdrawn_at is not None:
            verb = "新增" if task is None else "恢复"
            outcome.changes.append(Change(parsed.number, "add_task", f"{verb}任务 {parsed.number}“{parsed.title}”（{len(wanted)} 个单位）",
                                          f"{'add' if task is None else 'restore'} task {parsed.number} “{parsed.title}” ({len(wanted)} units)"))
        else:
            differs = [name for name, value in _task_values(parsed).items() if getattr(task, name) != value]
            if differs:
                outcome.changes.append(Change(parsed.number, "change_task", f"任务 {parsed.number} 修改：{'、'.join(differs)}",
                                              f"task {parsed.number} changes: {', '.join(differs)}"))
        held = by_task.get(task.id, {}) if task is not None else {}
        for name, a in wanted.items():
            current = held.get(name)
            if current is None or current.withdrawn_at is not None:
                outcome.changes.append(Change(parsed.number, "add_unit", f"任务 {parsed.number}：交办 {name}（{ROLE_ZH[a.role]}）",
                                              f"task {parsed.number}: assign {name} ({a.role.value})"))
            elif current.role != a.role:
                outcome.changes.append(Change(parsed.number, "change_role", f"任务 {parsed.number}：{name} 由{ROLE_ZH[AssignmentRole(current.role)]}改为{ROLE_ZH[a.role]}",
                                              f"task {parsed.number}: {name} from {current.role} to {a.role.value}"))
        for name, current in held.items():
            if name not in wanted and current.withdrawn_at is None:
                outcome.changes.append(Change(parsed.number, "withdraw_unit", f"任务 {parsed.number}：撤销 {name} 的分工（保留记录）",
                                              f"task {parsed.number}: withdraw {name} (history kept)"))
    for number, task in sorted(tasks.items()):
        if number not in listed and task.withdrawn_at is None:
            outcome.changes.append(Change(number, "withdraw_task", f"撤销任务 {number}“{task.title}”（保留记录）",
                                          f"withdraw task {number} “{task.title}” (history kept)"))
    if write and (outcome.created or outcome.changes):
        _write(session, plan, tasks, by_task, resolved, actor=actor, at=at, outcome=outcome)
    return outcome


def _write(session: Session, plan: Plan, tasks: dict[int, Task], by_task: dict[int, dict[str, Assignment]],
           resolved: ResolvedNotice, *, actor: Actor, at: datetime, outcome: Outcome) -> None:
    """Write the difference. New rows go in as bulk inserts (a province's plan has thousands of
    tasks); the audit events of the whole import are appended in one batch."""
    notice = resolved.notice
    events: list[dict[str, Any]] = []

    def event(action: str, object_type: str, object_id: int, **details: Any) -> None:
        events.append({"at": at, "actor": actor, "action": action, "object_type": object_type,
                       "object_id": object_id, **details})

    plan.title, plan.issuer, plan.issued_on = notice.title or plan.title, notice.issuer, notice.issued_on
    plan.source_name, plan.source_sha256 = notice.source_name, notice.source_sha256
    session.add(plan)
    session.flush()

    unit_ids = {name: id_ for id_, name in session.exec(select(Unit.id, Unit.name))}
    new_units = [(name, kind) for name, kind in resolved.new_units.items() if name not in unit_ids]
    if new_units:
        session.execute(insert(Unit), [{"name": n, "kind": str(k), "active": True, "created_at": at} for n, k in new_units])
        unit_ids = {name: id_ for id_, name in session.exec(select(Unit.id, Unit.name))}
        for name, kind in new_units:
            event("unit.create", "unit", unit_ids[name], unit_id=unit_ids[name],
                  after={"name": name, "kind": str(kind), "from": notice.source_name})

    # Tasks: new ones in bulk; changed, restored and dropped ones in place.
    listed = {t.number for t in notice.tasks}
    new_tasks = [t for t in notice.tasks if t.number not in tasks]
    if new_tasks:
        session.execute(insert(Task), [{"plan_id": plan.id, "number": t.number, "withdrawn_at": None, **_task_values(t)}
                                       for t in new_tasks])
    # Ids by natural key: RETURNING in parameter order makes SQLite insert row by row.
    task_ids = {number: id_ for id_, number in session.exec(select(Task.id, Task.number).where(Task.plan_id == plan.id))}
    rewritten: list[tuple[ParsedTask, dict[str, Any] | None]] = [(t, None) for t in new_tasks]
    for parsed in notice.tasks:
        task = tasks.get(parsed.number)
        values = _task_values(parsed)
        if task is None or (task.withdrawn_at is None and all(getattr(task, k) == v for k, v in values.items())):
            continue
        before = {k: getattr(task, k) for k in TASK_FIELDS} | {"withdrawn": task.withdrawn_at is not None}
        for name, value in values.items():
            setattr(task, name, value)
        task.withdrawn_at = None
        session.add(task)
        rewritten.append((parsed, before))
    for number, task in tasks.items():
        if number not in listed and task.withdrawn_at is None:
            task.withdrawn_at = at
            session.add(task)
            event("task.withdraw", "task", task.id, task_id=task.id,
                  reason=f"不在 {notice.source_name} 中 / not in {notice.source_name}")
    session.flush()

    changed_ids = [task_ids[p.number] for p, before in rewritten if before is not None]
    if changed_ids:
        session.execute(delete(Measure).where(col(Measure.task_id).in_(changed_ids)))
    measures = [{"task_id": task_ids[p.number], "seq": i, "text": text, "targets": targets(text)}
                for p, _ in rewritten for i, text in enumerate(p.measures, start=1)]
    if measures:
        session.execute(insert(Measure), measures)
    for parsed, before in rewritten:
        task_id = task_ids[parsed.number]
        event("task.create" if before is None else "task.update", "task", task_id, task_id=task_id, before=before,
              after=_task_values(parsed) | {"number": parsed.number, "measures": len(parsed.measures)})

    # Assignments: new ones in bulk; role changes, withdrawals and restorations in place.
    new_rows: list[dict[str, Any]] = []
    for parsed in notice.tasks:
        task_id = task_ids[parsed.number]
        held = by_task.get(task_id, {})
        for name, a in {a.unit: a for a in resolved.units[parsed.number]}.items():
            current = held.get(name)
            if current is None:
                new_rows.append({"task_id": task_id, "unit_id": unit_ids[name], "role": str(a.role),
                                 "state": str(State.ASSIGNED), "version": 1, "rework_count": 0,
                                 "due_on": parsed.deadline, "original_due_on": parsed.deadline, "created_at": at})
            elif current.withdrawn_at is not None or current.role != a.role or current.due_on != parsed.deadline:
                before = {"role": str(current.role), "withdrawn": current.withdrawn_at is not None, "due_on": current.due_on}
                action = "assignment.restore" if current.withdrawn_at is not None else "assignment.update"
                current.role, current.withdrawn_at = a.role, None
                current.due_on = current.original_due_on = parsed.deadline
                _touched(session, current, action, before, event)
        wanted = {a.unit for a in resolved.units[parsed.number]}
        for name, current in held.items():
            if name not in wanted and current.withdrawn_at is None:
                _withdraw(session, current, at, event)
    for number, task in tasks.items():  # a task dropped from the notice takes its assignments with it
        if number not in listed:
            for current in by_task.get(task.id, {}).values():
                if current.withdrawn_at is None:
                    _withdraw(session, current, at, event)
    session.flush()
    if new_rows:
        session.execute(insert(Assignment), new_rows)
        assignment_ids = {
            (task_id, unit_id): id_ for id_, task_id, unit_id in session.exec(
                select(Assignment.id, Assignment.task_id, Assignment.unit_id)
                .join(Task, col(Task.id) == col(Assignment.task_id)).where(Task.plan_id == plan.id))
        }
        for row in new_rows:
            event("assignment.create", "assignment", assignment_ids[row["task_id"], row["unit_id"]],
                  task_id=row["task_id"], unit_id=row["unit_id"],
                  after={"state": row["state"], "role": row["role"], "version": 1})

    outcome.plan_id = plan.id
    outcome.counts = {
        "tasks": len(notice.tasks),
        "measures": sum(len(t.measures) for t in notice.tasks),
        "units": len({a.unit for units_ in resolved.units.values() for a in units_}),
        "assignments": sum(len(units_) for units_ in resolved.units.values()),
        "new_units": len(new_units),
        "warnings": len(resolved.warnings),
    }
    event("plan.import" if outcome.created else "plan.update", "plan", plan.id,
          after={"key": plan.key, "source": notice.source_name, "sha256": notice.source_sha256,
                 "changes": len(outcome.changes), **outcome.counts})
    audit.record_many(session, events)


def _withdraw(session: Session, assignment: Assignment, at: datetime, event: Any) -> None:
    assignment.withdrawn_at = at
    _touched(session, assignment, "assignment.withdraw", {"role": str(assignment.role), "withdrawn": False}, event)


def _touched(session: Session, assignment: Assignment, action: str, before: dict[str, Any], event: Any) -> None:
    session.add(assignment)
    event(action, "assignment", assignment.id, task_id=assignment.task_id, unit_id=assignment.unit_id, before=before,
          after={"role": str(assignment.role), "withdrawn": assignment.withdrawn_at is not None, "due_on": assignment.due_on})

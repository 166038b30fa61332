"""Use cases that build a plan: plans, tasks, units and their assignments.

The importer and the unit directory call these; each writes its audit event.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from models import audit
from models.assignment import Assignment, AssignmentRole
from models.clock import utc
from models.db import id_of
from models.errors import NotFound
from models.lifecycle import Actor
from models.plan import Measure, Plan, Task
from models.unit import Unit, UnitAlias, UnitKind


def create_plan(session: Session, *, key: str, title: str, actor: Actor, now: datetime,
                issuer: str | None = None, issued_on: date | None = None) -> Plan:
    plan = Plan(key=key, title=title, issuer=issuer, issued_on=issued_on, created_at=utc(now))
    session.add(plan)
    session.flush()
    audit.record(session, at=now, actor=actor, action="plan.create", object_type="plan", object_id=plan.id,
                 after={"key": key, "title": title})
    return plan


def add_task(session: Session, *, plan: Plan, number: int, title: str, actor: Actor, now: datetime,
             content: str = "", measures: list[str] | None = None, deadline: date | None = None) -> Task:
    task = Task(plan_id=id_of(plan), number=number, title=title, content=content, deadline=deadline)
    session.add(task)
    session.flush()
    session.add_all(Measure(task_id=id_of(task), seq=i, text=text) for i, text in enumerate(measures or [], 1))
    audit.record(session, at=now, actor=actor, action="task.create", object_type="task", object_id=task.id,
                 task_id=task.id, after={"plan": plan.key, "number": number, "title": title})
    return task


def add_unit(session: Session, *, name: str, actor: Actor, now: datetime,
             kind: UnitKind = UnitKind.DEPARTMENT, aliases: tuple[str, ...] = ()) -> Unit:
    unit = Unit(name=name, kind=kind, created_at=utc(now))
    session.add(unit)
    session.flush()
    session.add_all(UnitAlias(alias=alias, unit_id=id_of(unit)) for alias in aliases)
    audit.record(session, at=now, actor=actor, action="unit.create", object_type="unit", object_id=unit.id,
                 unit_id=unit.id, after={"name": name, "kind": str(kind), "aliases": list(aliases)})
    return unit


def find_unit(session: Session, name: str) -> Unit:
    """A unit by canonical name or alias."""
    unit = session.exec(select(Unit).where(Unit.name == name)).first()
    if unit is None:
        unit = session.exec(
            select(Unit).join(UnitAlias, col(UnitAlias.unit_id) == col(Unit.id)).where(UnitAlias.alias == name)
        ).first()
    if unit is None:
        raise NotFound(kind="unit", kind_zh="单位", key=name)
    return unit


def assign(session: Session, *, task: Task, unit: Unit, role: AssignmentRole, actor: Actor, now: datetime) -> Assignment:
    """One task for one unit: the workflow starts as assigned, due by the task's deadline."""
    assignment = Assignment(
        task_id=id_of(task), unit_id=id_of(unit), role=role, due_on=task.deadline, original_due_on=task.deadline,
        created_at=utc(now),
    )
    session.add(assignment)
    session.flush()
    audit.record(session, at=now, actor=actor, action="assignment.create", object_type="assignment",
                 object_id=assignment.id, task_id=task.id, unit_id=unit.id,
                 after={"state": str(assignment.state), "role": str(role), "version": assignment.version})
    return assignment

"""A directory adopting a unit nobody has curated (`models.unit.uncurated`): a notice import made
市政法委 from the notice's words, then the directory lists 市委政法委 with the alias 市政法委.

If the directory's unit does not exist yet, the notice's unit is renamed to it: the same row, so its
assignments, check-ins and escalations stay where they are. If it exists, the notice's unit is
merged into it: every row that names the notice's unit (every foreign key to `unit.id`, found on the
metadata, so a new table is never forgotten) names the directory's unit instead, and the notice's
unit is deleted. The audit trail keeps the ids it was written with (it is hashed, and has no
foreign keys); the one `unit.adopt` event per adoption links the old id to the new.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, update
from sqlmodel import Session, SQLModel, col, func, select

from models import audit
from models.assignment import Assignment
from models.db import id_of
from models.lifecycle import Actor
from models.plan import Plan, Task
from models.unit import Unit


@dataclass(frozen=True)
class Adoption:
    """One unit a directory adopted: `old_name` (id `old_id`) is now `name` (id `unit_id`)."""

    old_name: str
    old_id: int
    name: str
    unit_id: int
    merged: bool
    assignments: int

    def zh(self) -> str:
        if self.merged:
            return (
                f"已并入：“{self.old_name}”并入“{self.name}”（{self.assignments} 项分工随之转入），"
                f"“{self.old_name}”作为简称保留"
            )
        return f"已改名：“{self.old_name}”改名为“{self.name}”，原名作为简称保留"

    def en(self) -> str:
        if self.merged:
            return f"merged: “{self.old_name}” into “{self.name}” ({self.assignments} assignments)"
        return f"renamed: “{self.old_name}” to “{self.name}”"


def unit_references() -> list[Column[int]]:
    """Every column with a foreign key to `unit.id`, on every table (importing `models` registers
    them all)."""
    target = Unit.__table__.c.id  # type: ignore[attr-defined]
    return [
        column
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        if any(key.column is target for key in column.foreign_keys)
    ]


def shared_tasks(session: Session, first: Unit, second: Unit) -> list[tuple[str, int]]:
    """(plan key, task number) of every task both units are assigned: merging them would give the
    task the same unit twice."""
    both = (
        select(Assignment.task_id)
        .where(col(Assignment.unit_id).in_([id_of(first), id_of(second)]))
        .group_by(col(Assignment.task_id))
        .having(func.count() > 1)
    )
    rows = session.exec(
        select(Plan.key, Task.number)
        .join(Task, col(Task.plan_id) == col(Plan.id))
        .where(col(Task.id).in_(both))
        .order_by(col(Plan.key), col(Task.number))
    )
    return [(key, number) for key, number in rows]


def _assignments(session: Session, unit: Unit) -> int:
    return session.exec(
        select(func.count()).select_from(Assignment).where(Assignment.unit_id == unit.id)
    ).one()


def rename_unit(
    session: Session, unit: Unit, *, name: str, actor: Actor, now: datetime, reason: str
) -> Adoption:
    """The unit, kept with its id and everything it holds, takes the directory's name."""
    adoption = Adoption(
        old_name=unit.name,
        old_id=id_of(unit),
        name=name,
        unit_id=id_of(unit),
        merged=False,
        assignments=_assignments(session, unit),
    )
    unit.name = name
    session.add(unit)
    session.flush()
    _record(session, adoption, actor=actor, now=now, reason=reason)
    return adoption


def merge_unit(
    session: Session, unit: Unit, *, into: Unit, actor: Actor, now: datetime, reason: str
) -> Adoption:
    """Every row naming `unit` names `into` instead, and `unit` is deleted. The caller has made
    sure that no task has both (`shared_tasks`): an assignment is unique per task and unit."""
    adoption = Adoption(
        old_name=unit.name,
        old_id=id_of(unit),
        name=into.name,
        unit_id=id_of(into),
        merged=True,
        assignments=_assignments(session, unit),
    )
    session.flush()
    for column in unit_references():
        session.execute(
            update(column.table)
            .where(column == adoption.old_id)
            .values({column.name: adoption.unit_id})
        )
    session.delete(unit)
    session.flush()
    _record(session, adoption, actor=actor, now=now, reason=reason)
    return adoption


def _record(
    session: Session, adoption: Adoption, *, actor: Actor, now: datetime, reason: str
) -> None:
    after: dict[str, object] = {"name": adoption.name, "unit_id": adoption.unit_id}
    if adoption.merged:
        after["assignments"] = adoption.assignments
    audit.record(
        session,
        at=now,
        actor=actor,
        action="unit.adopt",
        object_type="unit",
        object_id=adoption.unit_id,
        unit_id=adoption.unit_id,
        before={"name": adoption.old_name, "unit_id": adoption.old_id},
        after=after,
        reason=reason,
    )

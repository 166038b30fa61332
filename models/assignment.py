"""An assignment is one task for one unit: the stateful workflow.

Its `state` can only change through `models.lifecycle` moves applied by
`models.workflow`; a plain attribute write raises, so no code path can skip
the table. `version` is the optimistic lock: SQLAlchemy adds
`WHERE version = :seen` to every UPDATE and raises when another writer won.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import Column, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import validates
from sqlmodel import Field, SQLModel

from models.lifecycle import State


class AssignmentRole(StrEnum):
    LEAD = "lead"  # 牵头
    RESPONSIBLE = "responsible"  # 负责 / 按照职责分工负责 / listed without a role
    COOPERATING = "cooperating"  # 配合


# The one role table: how each role is written (Chinese, English) and how strong it is. A unit named
# twice on one task (itself and through its group, or twice in a phrase) keeps its strongest role.
ROLE_LABELS: Final[dict[AssignmentRole, tuple[str, str]]] = {
    AssignmentRole.LEAD: ("牵头", "lead"),
    AssignmentRole.RESPONSIBLE: ("负责", "responsible"),
    AssignmentRole.COOPERATING: ("配合", "cooperating"),
}
ROLE_ZH: Final = {
    role: labels[0] for role, labels in ROLE_LABELS.items()
}  # keys match "lead" as well
ROLE_EN: Final = {role: labels[1] for role, labels in ROLE_LABELS.items()}
ROLE_STRENGTH: Final[
    dict[AssignmentRole, int]
] = {  # lower is stronger: lead > responsible > cooperating
    AssignmentRole.LEAD: 0,
    AssignmentRole.RESPONSIBLE: 1,
    AssignmentRole.COOPERATING: 2,
}


def stronger(role: AssignmentRole | str, than: AssignmentRole | str) -> bool:
    """Whether `role` beats `than` when one unit is named with both."""
    return ROLE_STRENGTH[AssignmentRole(role)] < ROLE_STRENGTH[AssignmentRole(than)]


_moving: ContextVar[bool] = ContextVar("assignment_state_moving", default=False)

_version = Column("version", Integer, nullable=False, default=1)


class DirectStateWrite(AttributeError):
    """Raised when code assigns `Assignment.state` outside a lifecycle move."""


class Assignment(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("task_id", "unit_id"),
        Index("ix_assignment_state_due", "state", "due_on"),
        Index("ix_assignment_unit_state", "unit_id", "state"),
        # The dashboard's count by state reads only the index (migration 0023).
        Index("ix_assignment_state_live_task", "state", "withdrawn_at", "task_id"),
    )
    __mapper_args__ = {"version_id_col": _version}

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    unit_id: int = Field(foreign_key="unit.id")
    role: AssignmentRole = Field(sa_type=String(16))
    state: State = Field(default=State.ASSIGNED, sa_type=String(16))
    version: int = Field(default=1, sa_column=_version)
    rework_count: int = Field(default=0, description="times the office returned the report")
    due_on: date | None = Field(default=None, description="current due date, extensions included")
    original_due_on: date | None = Field(
        default=None, description="on-time rates count against this"
    )
    signed_at: datetime | None = None
    reported_at: datetime | None = None
    verified_at: datetime | None = None
    closed_at: datetime | None = None
    last_activity_at: datetime | None = None
    withdrawn_at: datetime | None = Field(
        default=None, description="dropped by a re-import or reassigned after a 退办; history kept"
    )
    sign_from: datetime | None = Field(
        default=None,
        description="the 签收 window starts again here (reassigned, re-roled, 退办 rejected)",
    )
    created_at: datetime

    @validates("state")
    def _only_through_lifecycle(self, key: str, value: Any) -> Any:
        # A new row may start as assigned; every later change must be a move.
        if self.__dict__.get("state") is None and value == State.ASSIGNED:
            return value
        if not _moving.get():
            raise DirectStateWrite(
                f"assignment #{self.id}: state is changed only through models.workflow"
            )
        return value


@contextmanager
def lifecycle_move() -> Iterator[None]:
    """Open the door for one state write; used by models.workflow only."""
    token = _moving.set(True)
    try:
        yield
    finally:
        _moving.reset(token)

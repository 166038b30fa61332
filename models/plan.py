"""A plan is one imported notice; its tasks and their measures."""

from datetime import date, datetime

from sqlalchemy import JSON, Column, ColumnElement, UniqueConstraint
from sqlmodel import Field, SQLModel, col, select


class Plan(SQLModel, table=True):
    """One notice (通知) with its key-task list, as imported."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=100, unique=True, description="short handle used on the CLI")
    title: str
    issuer: str | None = None
    issued_on: date | None = None
    source_name: str | None = None
    source_sha256: str | None = Field(default=None, max_length=64, index=True)
    created_at: datetime
    # The reporting cadence (models/cadence.py): None, or once / monthly / quarterly / half_yearly,
    # due on `cadence_day` of the period's month, moved off rest days by `cadence_adjust`.
    cadence: str | None = Field(default=None, max_length=16)
    cadence_day: int | None = None
    cadence_adjust: str | None = Field(default=None, max_length=16)
    cadence_from: date | None = Field(default=None, description="no period due before this")
    cadence_until: date | None = Field(default=None, description="no period due after this")
    # Archived (models/archive.py): read-only from then on, off the dashboards and the flows.
    archived_at: datetime | None = None
    archived_by: str | None = Field(default=None, max_length=100)


class Task(SQLModel, table=True):
    """One key task (重点任务) of a plan."""

    __table_args__ = (UniqueConstraint("plan_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    number: int = Field(description="序号 as printed in the notice")
    category: str | None = Field(default=None, description="e.g. (一)加强家庭保护")
    title: str
    content: str = ""
    deadline: date | None = Field(default=None, index=True)
    deadline_text: str | None = Field(default=None, description="the deadline as written")
    units_text: str | None = Field(default=None, description="the 责任单位 cell as written")
    withdrawn_at: datetime | None = Field(
        default=None, description="dropped by a later version of the notice"
    )
    cadence: str | None = Field(
        default=None,
        max_length=16,
        description="sparser than the plan's (e.g. quarterly); None: the plan's",
    )


class Measure(SQLModel, table=True):
    """One sentence of a task's content, with the quantitative targets found in it."""

    __table_args__ = (UniqueConstraint("task_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    seq: int
    text: str
    targets: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def live_plan() -> ColumnElement[bool]:
    """A plan not archived: what the dashboards and the scheduled flows work on."""
    return col(Plan.archived_at).is_(None)


def in_live_plan(plan_id: object) -> ColumnElement[bool]:
    """A row whose plan (the column `plan_id`, e.g. Task.plan_id) is not archived: one subquery."""
    archived = select(Plan.id).where(col(Plan.archived_at).is_not(None))
    return col(plan_id).not_in(archived)

"""Compiled supervision results (通报): which files were written for a round or plan, as of when."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel


class ResultsReport(SQLModel, table=True):
    __tablename__ = "results_report"

    id: int | None = Field(default=None, primary_key=True)
    # One record per scope and moment: compiling again replaces the files and updates the record.
    key: str = Field(max_length=200, unique=True, description="p{plan}:r{round or *}:{as_of}")
    plan_id: int = Field(foreign_key="plan.id", index=True)
    round_id: int | None = Field(default=None, foreign_key="supervision_round.id", index=True)
    as_of: datetime
    compiled_at: datetime
    compiled_by: str
    out_dir: str
    files: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    figures: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    published_at: datetime | None = None

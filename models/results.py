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
    # The state (models/report_state.py) reads these; only that module's moves set them.
    published_at: datetime | None = None
    issue_year: int | None = Field(default=None, description="the year the 期号 counts in")
    issue_no: int | None = Field(default=None, description="第N期 within plan and year")
    doc_no: str | None = Field(default=None, max_length=60, unique=True, description="文号")
    withdrawn_at: datetime | None = None
    withdrawn_by: str | None = Field(default=None, max_length=100)
    withdraw_reason: str | None = Field(default=None, max_length=500)

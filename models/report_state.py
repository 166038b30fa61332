"""The 通报's own lifecycle: draft → published → withdrawn, one table of (state, action) -> state.

A published 通报 carries its 期号 (第N期, counted per plan and year) and 文号; withdrawing keeps
both, so a number once issued is never issued again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from sqlmodel import Session, col, func, select

from models.clock import local_time, utc
from models.errors import DubanError, TransitionNotAllowed
from models.results import ResultsReport


class ReportState(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class ReportAction(StrEnum):
    PUBLISH = "publish"
    WITHDRAW = "withdraw"


TRANSITIONS: Final[dict[tuple[ReportState, ReportAction], ReportState]] = {
    (ReportState.DRAFT, ReportAction.PUBLISH): ReportState.PUBLISHED,
    (ReportState.PUBLISHED, ReportAction.WITHDRAW): ReportState.WITHDRAWN,
}

STATE_ZH: Final = {
    ReportState.DRAFT: "草稿",
    ReportState.PUBLISHED: "已发布",
    ReportState.WITHDRAWN: "已撤回",
}
ACTION_ZH: Final = {ReportAction.PUBLISH: "发布", ReportAction.WITHDRAW: "撤回"}
DOC_NO_MAX = 60
REASON_MAX = 500


class DocNumberTaken(DubanError):
    zh = "文号“{doc_no}”已被第 {other} 号通报使用，请换一个文号或留空自动编号。"
    en = "the document number {doc_no!r} is already used by report #{other}"
    exit_code = 4


class BadReportField(DubanError):
    zh = "{field_zh}{problem_zh}"
    en = "{field}: {problem}"
    exit_code = 2


def state_of(report: ResultsReport) -> ReportState:
    if report.withdrawn_at is not None:
        return ReportState.WITHDRAWN
    return ReportState.PUBLISHED if report.published_at is not None else ReportState.DRAFT


def check(report: ResultsReport, action: ReportAction) -> None:
    state = state_of(report)
    if (state, action) not in TRANSITIONS:
        raise TransitionNotAllowed(
            subject_zh=f"第 {report.id} 号通报",
            subject=f"report #{report.id}",
            state_zh=STATE_ZH[state],
            state=state.value,
            action_zh=ACTION_ZH[action],
            action=action.value,
        )


def _clean(text: str | None, *, field: str, field_zh: str, limit: int) -> str | None:
    value = " ".join((text or "").split())
    if not value:
        return None
    if len(value) > limit:
        raise BadReportField(
            field=field,
            field_zh=field_zh,
            problem=f"longer than {limit} characters",
            problem_zh=f"不能超过 {limit} 个字",
        )
    if any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise BadReportField(
            field=field,
            field_zh=field_zh,
            problem="has control characters",
            problem_zh="含有不可见的控制字符",
        )
    return value


def next_issue(session: Session, plan_id: int, year: int) -> int:
    """第N期: one more than the highest issued for this plan and year (withdrawn ones count)."""
    top = session.exec(
        select(func.max(ResultsReport.issue_no)).where(
            ResultsReport.plan_id == plan_id, ResultsReport.issue_year == year
        )
    ).one()
    return (top or 0) + 1


@dataclass(frozen=True)
class Issue:
    """The numbers a published 通报 carries: 第N期 of its plan's year, and its 文号."""

    year: int
    number: int
    doc_no: str

    @property
    def label(self) -> str:
        return f"第 {self.number} 期"


def issue_of(report: ResultsReport) -> Issue | None:
    """The numbers a report was published under (kept when withdrawn); None for a draft."""
    if report.issue_year is None or report.issue_no is None or report.doc_no is None:
        return None
    return Issue(year=report.issue_year, number=report.issue_no, doc_no=report.doc_no)


def numbers(
    session: Session,
    *,
    plan_id: int,
    report_id: int | None,
    now: datetime,
    timezone: str,
    prefix: str,
    doc_no: str | None = None,
) -> Issue:
    """The 期号 and 文号 a draft publishing now gets: the files are rendered with them before the
    write, and `publish` counts them again in it (a race lost shows as different numbers)."""
    entered = _clean(doc_no, field="doc_no", field_zh="文号", limit=DOC_NO_MAX)
    year = local_time(now, timezone).year
    issue = next_issue(session, plan_id, year)
    number = entered or f"{prefix}〔{year}〕{issue}号"
    query = select(ResultsReport.id).where(ResultsReport.doc_no == number)
    if report_id is not None:
        query = query.where(col(ResultsReport.id) != report_id)
    other = session.exec(query).first()
    if other is not None:
        raise DocNumberTaken(doc_no=number, other=other)
    return Issue(year=year, number=issue, doc_no=number)


def publish(
    session: Session,
    report: ResultsReport,
    *,
    now: datetime,
    timezone: str,
    prefix: str,
    doc_no: str | None = None,
) -> Issue:
    """Draft → published: the 期号 counted here, the 文号 as entered or numbered from it."""
    check(report, ReportAction.PUBLISH)
    issue = numbers(
        session,
        plan_id=report.plan_id,
        report_id=report.id,
        now=now,
        timezone=timezone,
        prefix=prefix,
        doc_no=doc_no,
    )
    report.issue_year, report.issue_no, report.doc_no = issue.year, issue.number, issue.doc_no
    report.published_at = utc(now)
    session.add(report)
    return issue


def withdraw(
    session: Session, report: ResultsReport, *, now: datetime, actor_name: str, reason: str | None
) -> None:
    """Published → withdrawn, with the reason; the record and its numbers stay."""
    check(report, ReportAction.WITHDRAW)
    why = _clean(reason, field="reason", field_zh="撤回理由", limit=REASON_MAX)
    if why is None:
        raise BadReportField(
            field="reason", field_zh="撤回理由", problem="is required", problem_zh="不能为空"
        )
    report.withdrawn_at, report.withdrawn_by, report.withdraw_reason = utc(now), actor_name, why
    session.add(report)

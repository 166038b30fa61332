"""Filings as versions: every submission of a check-in is kept (`CheckInVersion`), a unit may amend
or withdraw it until the office has reviewed it, and the office sees what changed.

"Started reviewing" has one definition here (`AMENDABLE`): the office has given its verdict
(accepted or returned). Until then the filing is the unit's own; the office's review names the
revision it read (`models.checkins.review_checkin`), so an amendment made while the office reads
refuses that review instead of slipping past it.

A completion report cannot be withdrawn: it carried the assignment to 已报结, and only the
office's return takes it back (the lifecycle has no move for a unit to undo it). The unit amends it
instead, which the office sees as a new version.

A draft (`FilingDraft`) keeps what a liaison typed when the session had expired, server-side and
keyed to that user and assignment, so it is there again after signing in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, delete, select

from models import audit, workflow
from models.archive import refuse_if_archived_assignment
from models.clock import utc
from models.db import id_of
from models.errors import DubanError
from models.lifecycle import Actor
from models.round import CheckIn, CheckInState

AMENDABLE: Final = frozenset({CheckInState.SUBMITTED})


class CheckInVersion(SQLModel, table=True):
    """One submission (or withdrawal) of a check-in, as it was: never changed afterwards."""

    __tablename__ = "checkin_version"
    __table_args__ = (UniqueConstraint("checkin_id", "revision"),)

    id: int | None = Field(default=None, primary_key=True)
    checkin_id: int = Field(foreign_key="check_in.id", index=True)
    revision: int
    kind: str = Field(default="filed", sa_type=String(16), description="filed / withdrawn")
    prior_state: str = Field(sa_type=String(16), description="the check-in's state before it")
    text: str | None = None
    percent: int | None = None
    milestone: str | None = None
    problems: str | None = None
    evidence: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    completed: bool = False
    filed_at: datetime
    filed_by: str = Field(max_length=200)


class FilingDraft(SQLModel, table=True):
    """What a liaison typed into the filing form when the session had expired."""

    __tablename__ = "filing_draft"
    __table_args__ = (UniqueConstraint("user_id", "assignment_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    assignment_id: int = Field(foreign_key="assignment.id")
    text: str | None = None
    percent: int | None = None
    problems: str | None = None
    completed: bool = False
    saved_at: datetime


class FilingNotAmendable(DubanError):
    zh = "{subject_zh}的报送已{state_zh}，不能再{what_zh}。"
    en = "{subject}: the filing is {state}; it can no longer be {what}"
    exit_code = 4


class CompletionNotWithdrawable(DubanError):
    zh = (
        "{subject_zh}的办结报告已报送，不能撤回（任务已报结，只有办公室退回才能改回办理中）；"
        "如需更正，请修改后重新报送。"
    )
    en = (
        "{subject}: a completion report cannot be withdrawn (only the office's return undoes it); "
        "amend it instead"
    )
    exit_code = 4


def previous_filing(checkins: Sequence[CheckIn], current: CheckIn) -> CheckIn | None:
    """沿用上期: the unit's latest filing in an earlier round of the same assignment, which a new
    period's filing may start from so that the unit does not retype it; None when it has none."""
    earlier = [
        c
        for c in checkins
        if c.assignment_id == current.assignment_id and c.round_id < current.round_id and c.revision
    ]
    return max(earlier, key=lambda c: c.round_id, default=None)


def amendable(checkin: CheckIn) -> bool:
    """The unit may still amend or withdraw this filing: the office has not reviewed it."""
    return checkin.state in AMENDABLE


def record_version(
    session: Session, checkin: CheckIn, *, prior_state: str, kind: str, actor: Actor, now: datetime
) -> CheckInVersion:
    """Keep the check-in's content as it is now, under its current revision."""
    version = CheckInVersion(
        checkin_id=id_of(checkin),
        revision=checkin.revision,
        kind=kind,
        prior_state=prior_state,
        text=checkin.text,
        percent=checkin.percent,
        milestone=checkin.milestone,
        problems=checkin.problems,
        evidence=list(checkin.evidence),
        completed=checkin.completed,
        filed_at=utc(now),
        filed_by=actor.name,
    )
    session.add(version)
    return version


def versions_of(session: Session, checkin_ids: list[int]) -> dict[int, list[CheckInVersion]]:
    """Each check-in's versions, oldest first (one query)."""
    found: dict[int, list[CheckInVersion]] = {i: [] for i in checkin_ids}
    if not checkin_ids:
        return found
    rows = session.exec(
        select(CheckInVersion)
        .where(col(CheckInVersion.checkin_id).in_(checkin_ids))
        .order_by(col(CheckInVersion.checkin_id), col(CheckInVersion.revision))
    )
    for row in rows:
        found[row.checkin_id].append(row)
    return found


@dataclass(frozen=True)
class Change:
    """One field that differs between two versions, in the words the office reads."""

    label: str
    before: str
    after: str


FIELD_LABELS: Final = (
    ("text", "进展情况"),
    ("percent", "完成百分比"),
    ("problems", "需协调解决的问题"),
    ("completed", "报送类型"),
)


def _shown(field: str, value: Any) -> str:
    if field == "percent":
        return "" if value is None else f"{value}%"
    if field == "completed":
        return "办结报告" if value else "进展"
    return value or ""


def changes(before: CheckInVersion | None, after: CheckInVersion) -> list[Change]:
    """What changed from one version to the next: text, percent, problems, kind, evidence."""
    found = []
    for field, label in FIELD_LABELS:
        old = _shown(field, getattr(before, field) if before else None)
        new = _shown(field, getattr(after, field))
        if before is None and field == "completed":
            continue
        if old != new:
            found.append(Change(label, old, new))
    old_files = {e["sha256"]: e["name"] for e in (before.evidence if before else [])}
    new_files = {e["sha256"]: e["name"] for e in after.evidence}
    added = [name for sha, name in new_files.items() if sha not in old_files]
    removed = [name for sha, name in old_files.items() if sha not in new_files]
    if added:
        found.append(Change("新增佐证材料", "", "、".join(added)))
    if removed:
        found.append(Change("删除佐证材料", "、".join(removed), ""))
    return found


def latest_changes(versions: list[CheckInVersion]) -> list[Change] | None:
    """What the latest version changed against the one before; None for a first filing."""
    if len(versions) < 2:
        return None
    return changes(versions[-2], versions[-1])


def withdraw_filing(
    session: Session,
    *,
    round_id: int,
    assignment_id: int,
    actor: Actor,
    now: datetime,
    revision: int,
) -> CheckIn:
    """The unit takes back a progress filing the office has not reviewed: the check-in is as it was
    before that filing (owed again, or its earlier review), and the withdrawal is a version too."""
    from models.checkins import CheckInChanged, get_checkin

    refuse_if_archived_assignment(session, assignment_id=assignment_id)  # read-only once archived
    checkin = get_checkin(session, round_id=round_id, assignment_id=assignment_id, for_update=True)
    assignment = workflow.get_assignment(session, assignment_id)
    if actor.unit_id is not None and actor.unit_id != assignment.unit_id:
        raise workflow.not_permitted(
            session, assignment, actor, action="withdraw", action_zh="撤回"
        )
    if not amendable(checkin):
        state = str(checkin.state)
        from models.checkins import CHECKIN_STATES_ZH

        raise FilingNotAmendable(
            state=state,
            state_zh=CHECKIN_STATES_ZH[state],
            what="withdrawn",
            what_zh="撤回",
            **workflow.describe(session, assignment),
        )
    if checkin.revision != revision:
        raise CheckInChanged(
            seen=revision, current=checkin.revision, **workflow.describe(session, assignment)
        )
    if checkin.completed:
        raise CompletionNotWithdrawable(**workflow.describe(session, assignment))
    versions = versions_of(session, [id_of(checkin)])[id_of(checkin)]
    restored_state, restored = _before_unreviewed_run(versions)
    checkin.state = CheckInState(restored_state)
    checkin.text = restored.text if restored else None
    checkin.percent = restored.percent if restored else None
    checkin.milestone = restored.milestone if restored else None
    checkin.problems = restored.problems if restored else None
    checkin.evidence = list(restored.evidence) if restored else []
    checkin.completed = restored.completed if restored else False
    checkin.submitted_at = restored.filed_at if restored else None
    checkin.submitted_by = restored.filed_by if restored else None
    checkin.revision += 1  # a review of the withdrawn filing is refused
    session.add(checkin)
    record_version(
        session, checkin, prior_state="submitted", kind="withdrawn", actor=actor, now=now
    )
    audit.record(
        session,
        at=now,
        actor=actor,
        action="checkin.withdraw",
        object_type="checkin",
        object_id=checkin.id,
        task_id=assignment.task_id,
        unit_id=assignment.unit_id,
        before={"state": "submitted", "revision": revision},
        after={"state": restored_state, "revision": checkin.revision},
    )
    return checkin


def _before_unreviewed_run(
    versions: list[CheckInVersion],
) -> tuple[str, CheckInVersion | None]:
    """The state the check-in had before its current unreviewed filing (with all its amendments),
    and the version it showed then (None: nothing filed)."""
    start = len(versions) - 1
    while start > 0 and versions[start].prior_state == CheckInState.SUBMITTED.value:
        start -= 1
    if start < 0:  # filed before versions were kept: owed again, with nothing to show
        return CheckInState.PENDING.value, None
    prior = versions[start].prior_state
    if prior == CheckInState.PENDING.value:
        return prior, None
    return prior, versions[start - 1] if start > 0 else None


def save_draft(
    session: Session,
    *,
    user_id: int,
    assignment_id: int,
    text: str | None,
    percent: int | None,
    problems: str | None,
    completed: bool,
    now: datetime,
) -> None:
    """Keep (or replace) what this user typed for this assignment."""
    refuse_if_archived_assignment(session, assignment_id=assignment_id)  # read-only once archived
    draft = session.exec(
        select(FilingDraft).where(
            FilingDraft.user_id == user_id, FilingDraft.assignment_id == assignment_id
        )
    ).first() or FilingDraft(user_id=user_id, assignment_id=assignment_id, saved_at=utc(now))
    draft.text, draft.percent, draft.problems = text, percent, problems
    draft.completed, draft.saved_at = completed, utc(now)
    session.add(draft)


def draft_for(session: Session, *, user_id: int, assignment_id: int) -> FilingDraft | None:
    return session.exec(
        select(FilingDraft).where(
            FilingDraft.user_id == user_id, FilingDraft.assignment_id == assignment_id
        )
    ).first()


def drop_draft(session: Session, *, user_id: int, assignment_id: int) -> None:
    """The filing went in: the kept text has done its job."""
    session.exec(
        delete(FilingDraft).where(
            col(FilingDraft.user_id) == user_id, col(FilingDraft.assignment_id) == assignment_id
        )
    )

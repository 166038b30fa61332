"""Check-ins: a unit files progress or its completion report; the office accepts or returns it.

A first check-in counts as signing; a completion report moves the
assignment to reported (a lead unit only after its cooperating units);
accepting a completion report verifies the assignment, returning it sends
it back for rework with the reason, to the unit's liaison.

A filing is the only way to progress or reported (`lifecycle.FILED`): the
check-in carries the move. Each filing is a new revision; the office's review
names the revision it read, so a unit that files again while its report is
under review is never verified on the strength of what the office did not read.
The check-in's row is locked by both, so a filing and a review never interleave.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from models import audit, escalations, filings, workflow
from models.archive import refuse_if_archived_assignment
from models.assignment import Assignment
from models.audit import AuditEvent
from models.clock import utc
from models.errors import DubanError, NotFound, ReasonRequired
from models.evidence import check_quota
from models.lifecycle import OFFICE, Action, Actor, State
from models.outbox import enqueue_many
from models.plan import Task
from models.recipients import message, unit_contacts
from models.round import (
    CheckIn,
    CheckInState,
    RoundState,
    SupervisionRound,
    fileable,
    in_open_round,
    takes_filing,
)
from models.rounds import RoundClosed, item_payload, round_payload
from models.unit import ContactRole, Unit


class CheckInTextRequired(DubanError):
    """A filing says what was done: the office reviews words, not a blank."""

    zh = "请填写进展情况（报送内容不能为空）。"
    en = "write what was done: a check-in's text cannot be empty"
    exit_code = 2


class CheckInNotOpen(DubanError):
    zh = "{subject_zh}本轮的报送已{state_zh}，不能再{what_zh}。"
    en = "{subject}: this round's check-in is {state}; cannot {what}"
    exit_code = 4


CHECKIN_STATES_ZH = {
    "pending": "待报送",
    "submitted": "已报送待审核",
    "accepted": "审核通过",
    "returned": "已退回",
}


class CheckInChanged(DubanError):
    """The unit filed again after the office opened the review: the office has not read what is
    there now."""

    zh = (
        "{subject_zh}的报送已被修改，请刷新后重新审核（您看到的是第 {seen} 次报送，现在是第 "
        "{current} 次）。"
    )
    en = (
        "{subject}: the check-in has changed (you read filing {seen}, it is now filing "
        "{current}); reload and review again"
    )
    exit_code = 5


def get_checkin(
    session: Session, *, round_id: int, assignment_id: int, for_update: bool = False
) -> CheckIn:
    """The check-in; `for_update` locks its row (PostgreSQL) so a filing and a review never
    interleave."""
    query = select(CheckIn).where(
        CheckIn.round_id == round_id, CheckIn.assignment_id == assignment_id
    )
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    checkin = session.exec(query).first()
    if checkin is None:
        raise NotFound(
            kind="check-in",
            kind_zh="本轮报送",
            key=f"round {round_id}, assignment #{assignment_id}",
        )
    return checkin


def checkins_to_file(
    session: Session, *, unit_id: int | None = None, assignment_id: int | None = None
) -> dict[int, CheckIn]:
    """Per assignment, the check-in a new filing goes to: in its latest open round that still takes
    one (`takes_filing`: owed, filed and not yet reviewed, or accepted while the work is still
    open). The portal's form, its inbox and the API all ask this."""
    # Selected by assignment only, the rule checked on each row: a filter on the state and the round
    # as well would lead SQLite to walk every open check-in of the province (their index) for one
    # unit's few.
    query = select(CheckIn, in_open_round() & fileable()).order_by(col(CheckIn.round_id))
    if assignment_id is not None:
        query = query.where(CheckIn.assignment_id == assignment_id)
    if unit_id is not None:
        query = query.where(
            col(CheckIn.assignment_id).in_(
                select(Assignment.id).where(Assignment.unit_id == unit_id)
            )
        )
    return {
        c.assignment_id: c for c, takes_one in session.exec(query) if takes_one
    }  # the latest round's wins


def checkin_to_file(session: Session, assignment_id: int) -> CheckIn | None:
    """The check-in a new filing for this assignment goes to, if any (`checkins_to_file`)."""
    return checkins_to_file(session, assignment_id=assignment_id).get(assignment_id)


def submit_checkin(
    session: Session,
    *,
    round_id: int,
    assignment_id: int,
    actor: Actor,
    now: datetime,
    text: str,
    percent: int | None = None,
    milestone: str | None = None,
    problems: str | None = None,
    evidence: list[dict[str, Any]] | None = None,
    completed: bool = False,
    evidence_quota_bytes: int | None = None,
    keep: set[str] | None = None,
) -> CheckIn:
    """File progress (or, `completed`, the completion report) for this round: a new version.

    `evidence` is what `models.evidence.described` says of the files; they are written only after
    this returns, so a refused filing leaves none. Files count against the unit's quota; a file
    already in the filing (same SHA-256) is not added twice. `keep` names (by SHA-256) the files of
    an unreviewed filing that stay; the others are removed from it (None keeps them all).
    """
    refuse_if_archived_assignment(session, assignment_id=assignment_id)  # read-only once archived
    checkin = get_checkin(session, round_id=round_id, assignment_id=assignment_id, for_update=True)
    assignment = workflow.get_assignment(session, assignment_id)
    _check_fileable(session, checkin, assignment, text=text, percent=percent)
    if evidence:
        if evidence_quota_bytes is None:
            raise ValueError(
                "a filing with evidence files needs the unit's quota (settings.evidence_quota_mb)"
            )
        unit = session.get_one(Unit, assignment.unit_id)
        check_quota(
            session,
            unit_id=assignment.unit_id,
            unit_name=unit.name,
            adding=evidence,
            quota_bytes=evidence_quota_bytes,
        )
    prior_state = str(checkin.state)
    # An unreviewed completion report amended: the report already carried the assignment to
    # reported, so the new version moves nothing (`filings.AMENDABLE`).
    amends_report = (
        completed
        and checkin.completed
        and filings.amendable(checkin)
        and State(assignment.state) == State.REPORTED
    )
    before = {"state": prior_state, "revision": checkin.revision}
    kept = _kept_evidence(session, checkin, assignment, keep)
    checkin.text, checkin.percent, checkin.milestone = text, percent, milestone
    checkin.problems = problems or None
    checkin.evidence = _without_duplicates([*kept, *(evidence or [])])
    checkin.completed = completed
    checkin.state = CheckInState.SUBMITTED
    checkin.revision += 1  # a review that read an earlier filing is refused
    checkin.submitted_at, checkin.submitted_by = utc(now), actor.name
    session.add(checkin)
    filings.record_version(
        session, checkin, prior_state=prior_state, kind="filed", actor=actor, now=now
    )
    if not amends_report:
        _move(session, assignment, checkin, completed=completed, actor=actor, now=now)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="checkin.submit",
        object_type="checkin",
        object_id=checkin.id,
        task_id=assignment.task_id,
        unit_id=assignment.unit_id,
        before=before,
        after={
            "state": "submitted",
            "revision": checkin.revision,
            "completed": completed,
            "percent": percent,
            "text": text,
            "milestone": milestone,
            "problems": checkin.problems,
            "evidence": len(checkin.evidence),
        },
    )
    escalations.resolve(
        session,
        assignment_id=assignment_id,
        round_id=round_id,
        stalls=escalations.ENDED_BY_REPORT,
        resolution="单位已报送 / the unit reported",
        actor=actor,
        now=now,
    )
    return checkin


def _check_fileable(
    session: Session, checkin: CheckIn, assignment: Any, *, text: str, percent: int | None
) -> None:
    """Refuse a filing the round, the check-in or its text does not allow."""
    round_ = session.get(SupervisionRound, checkin.round_id)
    assert round_ is not None  # the check-in exists, so its round does
    if round_.state != RoundState.OPEN:
        raise RoundClosed(name=round_.name, what="file a check-in", what_zh="报送")
    if not takes_filing(checkin, assignment.state):  # accepted, and the work is done
        state = str(checkin.state)
        raise CheckInNotOpen(
            state=state,
            state_zh=CHECKIN_STATES_ZH[state],
            what="file again",
            what_zh="重复报送",
            **workflow.describe(session, assignment),
        )
    if percent is not None and not 0 <= percent <= 100:
        raise DubanError(detail=f"percent must be 0..100, got {percent}")
    if not (text or "").strip():
        raise CheckInTextRequired()


def _kept_evidence(
    session: Session, checkin: CheckIn, assignment: Any, keep: set[str] | None
) -> list[dict[str, Any]]:
    """The filing's files that stay: all of them, or (`keep`, by SHA-256) those of an unreviewed
    filing the unit did not remove."""
    kept = list(checkin.evidence)
    if keep is None or all(e["sha256"] in keep for e in kept):
        return kept
    if not filings.amendable(checkin):
        prior_state = str(checkin.state)
        raise filings.FilingNotAmendable(
            state=prior_state,
            state_zh=CHECKIN_STATES_ZH[prior_state],
            what="have files removed",
            what_zh="删除已审核的佐证材料",
            **workflow.describe(session, assignment),
        )
    return [e for e in kept if e["sha256"] in keep]


def _move(
    session: Session,
    assignment: Any,
    checkin: CheckIn,
    *,
    completed: bool,
    actor: Actor,
    now: datetime,
) -> None:
    """The filing carries the move; the table decides: progress from assigned or in progress,
    completion from in progress only."""
    if completed and State(assignment.state) == State.ASSIGNED:
        # Reporting completion straight away also signs for the assignment.
        workflow.take_action(
            session,
            assignment_id=assignment.id,
            action=Action.PROGRESS,
            actor=actor,
            now=now,
            filing=checkin,
        )
    workflow.take_action(
        session,
        assignment_id=assignment.id,
        action=Action.REPORT if completed else Action.PROGRESS,
        actor=actor,
        now=now,
        filing=checkin,
    )


def _without_duplicates(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per content: the same file chosen twice (or again in an amendment) counts once."""
    seen: set[str] = set()
    unique = []
    for entry in entries:
        if entry["sha256"] not in seen:
            seen.add(entry["sha256"])
            unique.append(entry)
    return unique


def awaiting_review(session: Session) -> int:
    """How many filings wait for the office's review: the review queue's length unfiltered (a
    filing of a closed round still waits; it is never stranded)."""
    return session.exec(
        select(func.count(col(CheckIn.id))).where(CheckIn.state == CheckInState.SUBMITTED)
    ).one()


def review_checkin(
    session: Session,
    *,
    round_id: int,
    assignment_id: int,
    accept: bool,
    actor: Actor,
    now: datetime,
    revision: int,
    reason: str | None = None,
) -> CheckIn:
    """The office accepts a check-in (verifying a completion report) or returns it with a reason.

    `revision` is the filing the office read (on the review page, in `round show`); if the unit
    has filed again since, the review is refused and nothing changes.
    """
    refuse_if_archived_assignment(session, assignment_id=assignment_id)  # read-only once archived
    checkin = get_checkin(session, round_id=round_id, assignment_id=assignment_id, for_update=True)
    assignment = workflow.get_assignment(session, assignment_id)
    _check_reviewable(session, checkin, assignment, actor=actor, revision=revision)
    reason = (reason or "").strip() or None
    if not accept and reason is None:
        raise ReasonRequired(action="return", action_zh="退回")
    if checkin.completed and State(assignment.state) == State.REPORTED:
        workflow.take_action(
            session,
            assignment_id=assignment_id,
            action=Action.VERIFY if accept else Action.RETURN,
            actor=actor,
            now=now,
            reason=reason,
        )
    checkin.state = CheckInState.ACCEPTED if accept else CheckInState.RETURNED
    checkin.reviewed_at, checkin.reviewed_by, checkin.review_reason = utc(now), actor.name, reason
    session.add(checkin)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="checkin.accept" if accept else "checkin.return",
        object_type="checkin",
        object_id=checkin.id,
        task_id=assignment.task_id,
        unit_id=assignment.unit_id,
        before={"state": "submitted", "revision": revision},
        after={"state": str(checkin.state)},
        reason=reason,
    )
    ended = (
        escalations.ENDED_BY_VERIFY if accept and checkin.completed else escalations.ENDED_BY_REVIEW
    )
    escalations.resolve(
        session,
        assignment_id=assignment_id,
        round_id=round_id,
        stalls=ended,
        resolution="办公室已审核 / reviewed by the office",
        actor=actor,
        now=now,
    )
    if not accept:
        _notify_returned(session, checkin, assignment, reason or "", now)
    return checkin


def times_returned(session: Session, checkin: CheckIn) -> int:
    """How often the office has returned this check-in, the return just made included: counted from
    the trail, since a returned progress report moves no counter on the assignment (its
    `rework_count` counts returned completion reports only) and a unit told "第0次退回" was."""
    session.flush()
    query = select(func.count()).where(
        AuditEvent.object_type == "checkin",
        AuditEvent.object_id == str(checkin.id),
        AuditEvent.action == "checkin.return",
    )
    return int(session.exec(query).one())


def _check_reviewable(
    session: Session, checkin: CheckIn, assignment: Assignment, *, actor: Actor, revision: int
) -> None:
    """Refuse a review by anyone but the office, of a replaced filing, or of one not submitted."""
    if actor.role not in OFFICE:
        raise workflow.not_permitted(session, assignment, actor, action="review", action_zh="审核")
    if checkin.revision != revision:
        raise CheckInChanged(
            seen=revision, current=checkin.revision, **workflow.describe(session, assignment)
        )
    if checkin.state != CheckInState.SUBMITTED:
        state = str(checkin.state)
        raise CheckInNotOpen(
            state=state,
            state_zh=CHECKIN_STATES_ZH[state],
            what="review it",
            what_zh="审核",
            **workflow.describe(session, assignment),
        )


def _notify_returned(
    session: Session, checkin: CheckIn, assignment: Assignment, reason: str, now: datetime
) -> None:
    task = session.get_one(Task, assignment.task_id)
    round_ = session.get_one(SupervisionRound, checkin.round_id)
    liaison = unit_contacts(session, [assignment.unit_id], ContactRole.LIAISON).get(
        assignment.unit_id
    )
    if liaison is None:
        return
    unit = session.get_one(Unit, assignment.unit_id)
    payload = {
        "unit": unit.name,
        "item": item_payload(task, assignment, checkin),
        "reason": reason,
        "completed": checkin.completed,  # a completion report, or a progress report
        "rework_count": times_returned(session, checkin),
        "round": round_payload(round_.name, round_.report_by),
    }
    assert checkin.reviewed_at is not None  # the review has just set it
    key = f"returned:c{checkin.id}:{checkin.reviewed_at.isoformat()}:liaison"
    enqueue_many(session, [message("report_returned", key, liaison, payload)], now=now)

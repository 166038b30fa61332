"""Extensions (延期): a unit asks, the office decides. The original due date is kept for on-time
rates."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from models import audit, escalations, workflow
from models.archive import refuse_if_archived_assignment
from models.assignment import Assignment
from models.clock import local_day, utc
from models.db import id_of
from models.errors import DubanError, NotFound, ReasonRequired
from models.escalation import ExtensionRequest, ExtensionState
from models.lifecycle import OFFICE, Action, Actor, may_act
from models.outbox import enqueue_many
from models.plan import Task
from models.recipients import message, unit_contacts
from models.round import CheckIn, RoundState, SupervisionRound
from models.rounds import item_payload
from models.unit import ContactRole, Unit


class ExtensionRefused(DubanError):
    zh = "延期申请 #{id} 已{state_zh}，不能再次处理。"
    en = "extension request #{id} is already {state}"
    exit_code = 4


class ExtensionDateRefused(DubanError):
    """The date a unit asks for must move its due date later, and by a believable amount."""

    zh = "{subject_zh}：申请延至 {until} {why_zh}"
    en = "{subject}: an extension until {until} {why}"
    exit_code = 2


class ExtensionPending(DubanError):
    zh = "{subject_zh}已有待审批的延期申请 #{id}（申请延至 {until}），请等待办公室审批后再申请。"
    en = "{subject} already has extension request #{id} (until {until}) waiting for the office"
    exit_code = 4


def current_due_on(session: Session, assignment: Assignment) -> date | None:
    """The date an extension moves: the assignment's own deadline, or else the one its open round
    set, whether or not the unit has filed there yet (a unit that filed progress may still need
    more time for completion)."""
    if assignment.due_on is not None:
        return assignment.due_on
    return session.exec(
        select(col(CheckIn.due_on))
        .join(SupervisionRound, col(SupervisionRound.id) == col(CheckIn.round_id))
        .where(
            CheckIn.assignment_id == assignment.id,
            SupervisionRound.state == RoundState.OPEN,
        )
        .order_by(col(CheckIn.due_on).desc())
    ).first()


def check_until(
    until: date, *, due_on: date | None, today: date, max_days: int
) -> tuple[str, str] | None:
    """Why this date cannot be asked for (Chinese, English), or None: after the due date and today,
    not absurdly far."""
    if due_on is not None and until <= due_on:
        return (
            f"不晚于当前截止日期 {due_on}：延期日期须晚于当前截止日期。",
            f"is not after the current due date {due_on}: it must be later",
        )
    if until <= today:
        return f"不晚于今天 {today}：延期日期须在今天之后。", f"is not after today, {today}"
    start = max(due_on or today, today)
    if (until - start).days > max_days:
        return (
            f"比当前截止日期 {start} 晚 {(until - start).days} 天，超过允许的 {max_days} 天，"
            "请核对日期。",
            f"is {(until - start).days} days after {start}, more than the {max_days} allowed; "
            "check the date",
        )
    return None


def request_extension(
    session: Session,
    *,
    assignment_id: int,
    until: date,
    reason: str,
    actor: Actor,
    now: datetime,
    timezone: str,
    max_days: int,
) -> ExtensionRequest:
    """A unit asks to move its due date to `until`: later than the current one, one request pending
    at a time."""
    refuse_if_archived_assignment(session, assignment_id=assignment_id)  # read-only once archived
    # The row lock makes two requests sent at once wait for each other, so only one is pending.
    session.exec(
        select(Assignment.id).where(Assignment.id == assignment_id).with_for_update()
    ).first()
    assignment = workflow.get_assignment(session, assignment_id)
    if not may_act(actor, Action.PROGRESS, assignment.unit_id):
        raise workflow.not_permitted(
            session, assignment, actor, action="request an extension for", action_zh="申请延期"
        )
    if not reason.strip():
        raise ReasonRequired(action="extension", action_zh="申请延期")
    pending = session.exec(
        select(ExtensionRequest).where(
            ExtensionRequest.assignment_id == assignment_id,
            ExtensionRequest.state == ExtensionState.PENDING,
        )
    ).first()
    if pending is not None:
        raise ExtensionPending(
            id=pending.id, until=pending.requested_due_on, **workflow.describe(session, assignment)
        )
    due_on = current_due_on(session, assignment)
    why = check_until(until, due_on=due_on, today=local_day(now, timezone), max_days=max_days)
    if why is not None:
        raise ExtensionDateRefused(
            until=until, why_zh=why[0], why=why[1], **workflow.describe(session, assignment)
        )
    request = ExtensionRequest(
        assignment_id=assignment_id,
        requested_by=actor.name,
        requested_at=utc(now),
        original_due_on=assignment.original_due_on or due_on,
        requested_due_on=until,
        reason=reason.strip(),
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        at=now,
        actor=actor,
        action="extension.request",
        object_type="extension",
        object_id=request.id,
        task_id=assignment.task_id,
        unit_id=assignment.unit_id,
        after={"until": until, "due_on": assignment.due_on},
        reason=request.reason,
    )
    return request


def decide_extension(
    session: Session,
    *,
    request_id: int,
    approve: bool,
    actor: Actor,
    now: datetime,
    reason: str | None = None,
) -> ExtensionRequest:
    """Approve (the assignment and its open check-ins move to the new date) or reject, with a
    reason."""
    request = session.get(ExtensionRequest, request_id)
    if request is None:
        raise NotFound(kind="extension request", kind_zh="延期申请", key=f"#{request_id}")
    refuse_if_archived_assignment(session, assignment_id=request.assignment_id)
    assignment = workflow.get_assignment(session, request.assignment_id)
    if actor.role not in OFFICE:
        raise workflow.not_permitted(
            session, assignment, actor, action="decide an extension for", action_zh="审批延期"
        )
    if request.state != ExtensionState.PENDING:
        state = str(request.state)
        raise ExtensionRefused(
            id=request_id, state=state, state_zh={"approved": "批准", "rejected": "驳回"}[state]
        )
    reason = (reason or "").strip() or None
    if not approve and reason is None:
        raise ReasonRequired(action="reject", action_zh="驳回延期")
    due_on = current_due_on(session, assignment)
    if approve and due_on is not None and request.requested_due_on <= due_on:
        # The due date moved since the unit asked (a re-import): approving would bring it forward.
        raise ExtensionDateRefused(
            until=request.requested_due_on,
            why_zh=f"已不晚于当前截止日期 {due_on}，不能批准，请驳回。",
            why=f"is no longer after the current due date {due_on}; reject it",
            **workflow.describe(session, assignment),
        )
    request.state = ExtensionState.APPROVED if approve else ExtensionState.REJECTED
    request.decided_by, request.decided_at, request.decision_reason = actor.name, utc(now), reason
    session.add(request)
    before = {"due_on": assignment.due_on}
    moved = []
    if approve:
        moved = _apply_extension(session, request, assignment, actor=actor, now=now)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="extension.approve" if approve else "extension.reject",
        object_type="extension",
        object_id=request.id,
        task_id=assignment.task_id,
        unit_id=assignment.unit_id,
        before=before,
        after={"due_on": assignment.due_on, "checkins_moved": len(moved)},
        reason=reason,
    )
    _notify(session, request, assignment, moved[0] if moved else None, now)
    return request


def _apply_extension(
    session: Session,
    request: ExtensionRequest,
    assignment: Assignment,
    *,
    actor: Actor,
    now: datetime,
) -> list[CheckIn]:
    """Move the assignment and its check-ins in open rounds to the new date; those moved."""
    assignment.due_on = (
        request.requested_due_on
    )  # original_due_on stays: on-time rates count against it
    session.add(assignment)
    moved = list(
        session.exec(
            select(CheckIn)
            .join(SupervisionRound, col(SupervisionRound.id) == col(CheckIn.round_id))
            .where(
                CheckIn.assignment_id == assignment.id,
                SupervisionRound.state == RoundState.OPEN,
            )
        )
    )
    # Filed ones too: a filing returned after the approval is owed by the new date, not the old.
    for checkin in moved:
        checkin.due_on = max(checkin.due_on, request.requested_due_on)
        session.add(checkin)
    escalations.resolve(
        session,
        assignment_id=id_of(assignment),
        stalls=escalations.ENDED_BY_REPORT,
        resolution="延期已批准 / extension approved",
        actor=actor,
        now=now,
    )
    return moved


def _notify(
    session: Session,
    request: ExtensionRequest,
    assignment: Assignment,
    checkin: CheckIn | None,
    now: datetime,
) -> None:
    liaison = unit_contacts(session, [assignment.unit_id], ContactRole.LIAISON).get(
        assignment.unit_id
    )
    if liaison is None:
        return
    task = session.get_one(Task, assignment.task_id)
    unit = session.get_one(Unit, assignment.unit_id)
    checkin = (
        checkin
        or session.exec(
            select(CheckIn)
            .where(CheckIn.assignment_id == assignment.id)
            .order_by(col(CheckIn.id).desc())
        ).first()
    )
    item = (
        item_payload(task, assignment, checkin)
        if checkin
        else {
            "task_number": task.number,
            "task_title": task.title,
            "role": str(assignment.role),
            "due_on": (assignment.due_on or request.requested_due_on).isoformat(),
            "checkin_id": 0,
            "assignment_id": assignment.id,
        }
    )
    approved = request.state == ExtensionState.APPROVED
    payload = {
        "unit": unit.name,
        "item": item,
        "approved": approved,
        "original_due_on": request.original_due_on.isoformat() if request.original_due_on else None,
        "requested_due_on": request.requested_due_on.isoformat(),
        "new_due_on": request.requested_due_on.isoformat() if approved else None,
        "reason": request.decision_reason or ("同意" if approved else ""),
    }
    enqueue_many(
        session,
        [message("extension_decided", f"extension:{request.id}:liaison", liaison, payload)],
        now=now,
    )

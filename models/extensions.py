"""Extensions (延期): a unit asks, the office decides. The original due date is kept for on-time rates."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from models import audit, escalations, workflow
from models.clock import utc
from models.errors import DubanError, NotFound, NotPermitted, ReasonRequired
from models.escalation import ExtensionRequest, ExtensionState
from models.lifecycle import OFFICE, ROLE_LABELS, Action, Actor, may_act
from models.outbox import enqueue_many
from models.plan import Task
from models.recipients import message, unit_contacts
from models.round import CheckIn, CheckInState, RoundState, SupervisionRound
from models.rounds import item_payload
from models.unit import ContactRole, Unit


class ExtensionRefused(DubanError):
    zh = "延期申请 #{id} 已{state_zh}，不能再次处理。"
    en = "extension request #{id} is already {state}"
    exit_code = 4


def request_extension(session: Session, *, assignment_id: int, until: date, reason: str, actor: Actor,
                      now: datetime) -> ExtensionRequest:
    assignment = workflow.get_assignment(session, assignment_id)
    if not may_act(actor, Action.PROGRESS, assignment.unit_id):
        raise NotPermitted(actor=actor.name, role=actor.role.value, role_zh=ROLE_LABELS[actor.role][0],
                           action="request an extension for", action_zh="申请延期",
                           **workflow.describe(session, assignment))
    if not reason.strip():
        raise ReasonRequired(action="extension", action_zh="申请延期")
    request = ExtensionRequest(assignment_id=assignment_id, requested_by=actor.name, requested_at=utc(now),
                               original_due_on=assignment.original_due_on or assignment.due_on,
                               requested_due_on=until, reason=reason.strip())
    session.add(request)
    session.flush()
    audit.record(session, at=now, actor=actor, action="extension.request", object_type="extension",
                 object_id=request.id, task_id=assignment.task_id, unit_id=assignment.unit_id,
                 after={"until": until, "due_on": assignment.due_on}, reason=request.reason)
    return request


def decide_extension(session: Session, *, request_id: int, approve: bool, actor: Actor, now: datetime,
                     reason: str | None = None) -> ExtensionRequest:
    """Approve (the assignment and its open check-ins move to the new date) or reject, with a reason."""
    request = session.get(ExtensionRequest, request_id)
    if request is None:
        raise NotFound(kind="extension request", kind_zh="延期申请", key=f"#{request_id}")
    assignment = workflow.get_assignment(session, request.assignment_id)
    if actor.role not in OFFICE:
        raise NotPermitted(actor=actor.name, role=actor.role.value, role_zh=ROLE_LABELS[actor.role][0],
                           action="decide an extension for", action_zh="审批延期", **workflow.describe(session, assignment))
    if request.state != ExtensionState.PENDING:
        state = str(request.state)
        raise ExtensionRefused(id=request_id, state=state, state_zh={"approved": "批准", "rejected": "驳回"}[state])
    reason = (reason or "").strip() or None
    if not approve and reason is None:
        raise ReasonRequired(action="reject", action_zh="驳回延期")
    request.state = ExtensionState.APPROVED if approve else ExtensionState.REJECTED
    request.decided_by, request.decided_at, request.decision_reason = actor.name, utc(now), reason
    session.add(request)
    before = {"due_on": assignment.due_on}
    moved = []
    if approve:
        assignment.due_on = request.requested_due_on  # original_due_on stays: on-time rates count against it
        session.add(assignment)
        moved = list(session.exec(
            select(CheckIn).join(SupervisionRound, col(SupervisionRound.id) == col(CheckIn.round_id))
            .where(CheckIn.assignment_id == assignment.id, SupervisionRound.state == RoundState.OPEN,
                   col(CheckIn.state).in_([CheckInState.PENDING.value, CheckInState.RETURNED.value]))))
        for checkin in moved:
            checkin.due_on = max(checkin.due_on, request.requested_due_on)
            session.add(checkin)
        escalations.resolve(session, assignment_id=assignment.id, stalls=escalations.ENDED_BY_REPORT,
                            resolution="延期已批准 / extension approved", actor=actor, now=now)
    audit.record(session, at=now, actor=actor, action="extension.approve" if approve else "extension.reject",
                 object_type="extension", object_id=request.id, task_id=assignment.task_id, unit_id=assignment.unit_id,
                 before=before, after={"due_on": assignment.due_on, "checkins_moved": len(moved)}, reason=reason)
    _notify(session, request, assignment, moved[0] if moved else None, now)
    return request


def _notify(session: Session, request: ExtensionRequest, assignment, checkin, now: datetime) -> None:  # noqa: ANN001
    liaison = unit_contacts(session, [assignment.unit_id], ContactRole.LIAISON).get(assignment.unit_id)
    if liaison is None:
        return
    task = session.get(Task, assignment.task_id)
    unit = session.get(Unit, assignment.unit_id)
    checkin = checkin or session.exec(select(CheckIn).where(CheckIn.assignment_id == assignment.id)
                                      .order_by(col(CheckIn.id).desc())).first()
    item = item_payload(task, assignment, checkin) if checkin else {
        "task_number": task.number, "task_title": task.title, "role": str(assignment.role),
        "due_on": (assignment.due_on or request.requested_due_on).isoformat(), "checkin_id": 0,
        "assignment_id": assignment.id}
    approved = request.state == ExtensionState.APPROVED
    payload = {"unit": unit.name, "item": item, "approved": approved,
               "original_due_on": request.original_due_on.isoformat() if request.original_due_on else None,
               "requested_due_on": request.requested_due_on.isoformat(),
               "new_due_on": request.requested_due_on.isoformat() if approved else None,
               "reason": request.decision_reason or ("同意" if approved else "")}
    enqueue_many(session, [message("extension_decided", f"extension:{request.id}:liaison", liaison, payload)], now=now)

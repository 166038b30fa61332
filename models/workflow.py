"""Use cases that move an assignment through its lifecycle.

One function per action, each taking the session, the actor and `now`.
Each checks the transition table (`models.lifecycle`), the actor's rights
and the office's rules, then changes the assignment and writes one audit
event in the caller's transaction. A refused action raises and changes
nothing; the caller's unit of work commits or rolls back as a whole.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, func, select

from models import audit
from models.archive import PlanArchived, archived_assignments
from models.assignment import Assignment, AssignmentRole, lifecycle_move
from models.audit import AuditEvent
from models.clock import utc
from models.db import id_of
from models.errors import (
    ConcurrentChange,
    DubanError,
    FilingRequired,
    GuardFailed,
    NotFound,
    NotPermitted,
    ReasonRequired,
    TransitionNotAllowed,
)
from models.lifecycle import (
    ACTION_LABELS,
    FILED,
    HELD_BACK_BY_RULE,
    IN_TABLE,
    NEEDS_REASON,
    NOT_ARCHIVED,
    PERMITTED_ACTOR,
    ROLE_LABELS,
    STATE_LABELS,
    Action,
    Actor,
    Context,
    Guard,
    State,
    next_state,
    refusal,
)
from models.plan import Plan, Task
from models.round import CheckIn, CheckInState, RoundState, SupervisionRound, fileable
from models.timeline import check_order
from models.unit import Unit


def get_assignment(session: Session, assignment_id: int) -> Assignment:
    assignment = session.get(Assignment, assignment_id, populate_existing=True)
    if assignment is None:
        raise NotFound(kind="assignment", kind_zh="任务分工", key=f"#{assignment_id}")
    return assignment


def describe(session: Session, assignment: Assignment) -> dict[str, str]:
    """How messages name an assignment: its id, task number and unit."""
    task = session.get(Task, assignment.task_id)
    unit = session.get(Unit, assignment.unit_id)
    number = task.number if task else "?"
    unit_name = unit.name if unit else "?"
    return {
        "subject": f"assignment #{assignment.id} (task {number}, {unit_name})",
        "subject_zh": f"任务分工 #{assignment.id}（任务{number}／{unit_name}）",
    }


def not_permitted(
    session: Session, assignment: Assignment, actor: Actor, *, action: str, action_zh: str
) -> NotPermitted:
    """The one way to refuse an actor whose role may not do this to this assignment: who, in which
    role, what."""
    return NotPermitted(
        actor=actor.name,
        role=actor.role.value,
        role_zh=ROLE_LABELS[actor.role][0],
        action=action,
        action_zh=action_zh,
        **describe(session, assignment),
    )


def _labels(assignment: Assignment, action: Action) -> dict[str, str]:
    state = State(assignment.state)
    return {
        "state": state.value,
        "state_zh": STATE_LABELS[state][0],
        "action": action.value,
        "action_zh": ACTION_LABELS[action][0],
    }


def _snapshot(assignment: Assignment) -> dict[str, Any]:
    return {
        "state": str(assignment.state),
        "version": assignment.version,
        "rework_count": assignment.rework_count,
    }


def contexts_of(session: Session, assignments: list[Assignment]) -> dict[int, Context]:
    """What the guards read beyond each assignment's row, in three set-based queries."""
    ids = [a.id for a in assignments]
    lead_tasks = {a.task_id for a in assignments if a.role == AssignmentRole.LEAD}
    cooperating: dict[int, list[tuple[str, State]]] = {}
    if lead_tasks:
        # A withdrawn cooperating assignment is gone from the task: its lead does not wait for it.
        for task_id, name, state in session.exec(
            select(Assignment.task_id, Unit.name, Assignment.state)
            .join(Unit, col(Unit.id) == col(Assignment.unit_id))
            .where(
                col(Assignment.task_id).in_(lead_tasks),
                Assignment.role == AssignmentRole.COOPERATING,
                col(Assignment.withdrawn_at).is_(None),
            )
            .order_by(Unit.name)
        ):
            cooperating.setdefault(task_id, []).append((name, State(state)))
    # A filing goes to the latest open round's check-in, while it takes one (`round.fileable`).
    latest = (
        select(CheckIn.assignment_id, func.max(CheckIn.round_id).label("round_id"))
        .join(SupervisionRound, col(SupervisionRound.id) == col(CheckIn.round_id))
        .where(col(CheckIn.assignment_id).in_(ids), SupervisionRound.state == RoundState.OPEN)
        .group_by(col(CheckIn.assignment_id))
        .subquery()
    )
    open_for_filing = (
        set(
            session.exec(
                select(CheckIn.assignment_id)
                .join(
                    latest,
                    (latest.c.assignment_id == col(CheckIn.assignment_id))
                    & (latest.c.round_id == col(CheckIn.round_id)),
                )
                .where(fileable())
            )
        )
        if ids
        else set()
    )
    archived = archived_assignments(session, [id_of(a) for a in assignments])
    from models.declines import Decline, DeclineState

    declined = (
        set(
            session.exec(
                select(Decline.assignment_id).where(
                    col(Decline.assignment_id).in_(ids), Decline.state == DeclineState.PENDING
                )
            )
        )
        if ids
        else set()
    )
    return {
        id_of(a): Context(
            cooperating=tuple(cooperating.get(a.task_id, ()))
            if a.role == AssignmentRole.LEAD
            else (),
            filing_open=a.id in open_for_filing,
            archived=a.id in archived,
            decline_pending=a.id in declined,
        )
        for a in assignments
    }


def context_of(session: Session, assignment: Assignment) -> Context:
    """The guards' context of one assignment."""
    return contexts_of(session, [assignment])[id_of(assignment)]


def carried_by(filing: CheckIn | None, assignment: Assignment, action: Action) -> bool:
    """Whether this check-in, filed for this assignment, carries the move (completion needs a
    completion report)."""
    return (
        filing is not None
        and filing.id is not None
        and filing.assignment_id == assignment.id
        and filing.state == CheckInState.SUBMITTED
        and (action != Action.REPORT or filing.completed)
    )


def take_action(
    session: Session,
    *,
    assignment_id: int,
    action: Action,
    actor: Actor,
    now: datetime,
    reason: str | None = None,
    expected_version: int | None = None,
    filing: CheckIn | None = None,
) -> AuditEvent:
    """Apply one lifecycle action; raise a named error and change nothing if it is not allowed.

    `expected_version` is the version the actor saw (on the page, in the
    CLI's `show`); if someone else changed the assignment since, the action
    is refused rather than applied to a state the actor never saw.
    `filing` is the check-in that carries a progress or completion move
    (`FILED`): without one, from anyone, those moves are refused.
    """
    assignment = get_assignment(session, assignment_id)
    if expected_version is not None and assignment.version != expected_version:
        raise ConcurrentChange(expected=expected_version, **describe(session, assignment))
    forced = check_order(assignment.last_activity_at, now, lambda: describe(session, assignment))
    # The one door: the guards declared beside the table (`lifecycle.GUARDS`) and what the request
    # must bring. A move that is not there at all is named first, then a missing reason or filing,
    # then the rule of the office that holds it back.
    context = context_of(session, assignment)
    guard = refusal(assignment, actor, action, context)
    if guard is not None and guard.name not in HELD_BACK_BY_RULE:
        raise _refused(session, assignment, actor, action, guard, context)
    reason = (reason or "").strip() or None
    if action in NEEDS_REASON and reason is None:
        raise ReasonRequired(action=action.value, action_zh=ACTION_LABELS[action][0])
    if action in FILED and not carried_by(filing, assignment, action):
        what = (
            ("completion report", "办结情况")
            if action == Action.REPORT
            else ("progress", "进展情况")
        )
        raise FilingRequired(
            what=what[0],
            what_zh=what[1],
            **_labels(assignment, action),
            **describe(session, assignment),
        )
    if guard is not None:
        raise _refused(session, assignment, actor, action, guard, context)
    target = next_state(assignment.state, action)
    assert target is not None  # the in_table guard held

    before = _snapshot(assignment)
    names = describe(session, assignment)  # now: after a lost race the session can no longer query
    at = utc(now)
    with lifecycle_move():
        assignment.state = target
    _stamp(assignment, action, at)
    # Every action is a new version, even one that leaves every column as it
    # was (a second progress report in the same second): force the UPDATE.
    flag_modified(assignment, "last_activity_at")
    session.add(assignment)
    try:
        session.flush()
    except StaleDataError as lost_race:
        raise ConcurrentChange(expected=before["version"], **names) from lost_race
    return audit.record(
        session,
        at=at,
        actor=actor,
        action=f"assignment.{action.value}",
        object_type="assignment",
        object_id=assignment.id,
        before=before,
        after={**_snapshot(assignment), **forced},
        reason=reason,
        task_id=assignment.task_id,
        unit_id=assignment.unit_id,
    )


def _refused(
    session: Session,
    assignment: Assignment,
    actor: Actor,
    action: Action,
    guard: Guard,
    context: Context,
) -> DubanError:
    """The named error for a refusing guard: an archived plan, no such move, not this user's, or
    an office rule."""
    if guard is NOT_ARCHIVED:
        return PlanArchived(plan=_plan_key(session, assignment))
    if guard is IN_TABLE:
        return TransitionNotAllowed(**_labels(assignment, action), **describe(session, assignment))
    if guard is PERMITTED_ACTOR:
        return not_permitted(
            session, assignment, actor, action=action.value, action_zh=ACTION_LABELS[action][0]
        )
    why, why_zh = guard.why(assignment, context)
    return GuardFailed(
        why=why, why_zh=why_zh, **_labels(assignment, action), **describe(session, assignment)
    )


def _plan_key(session: Session, assignment: Assignment) -> str:
    task = session.get_one(Task, assignment.task_id)
    return session.get_one(Plan, task.plan_id).key


def _stamp(assignment: Assignment, action: Action, at: datetime) -> None:
    """The timestamps each action leaves on the row, so flows poll only what is due."""
    assignment.last_activity_at = at
    if action in (Action.SIGN, Action.PROGRESS) and assignment.signed_at is None:
        assignment.signed_at = at
    elif action == Action.REPORT:
        assignment.reported_at = at
    elif action == Action.VERIFY:
        assignment.verified_at = at
    elif action == Action.RETURN:
        assignment.rework_count += 1
        assignment.reported_at = None
    elif action == Action.CLOSE:
        assignment.closed_at = at
    elif action == Action.REOPEN:
        assignment.closed_at = None
        assignment.verified_at = None
        assignment.reported_at = None


def sign(
    session: Session,
    *,
    assignment_id: int,
    actor: Actor,
    now: datetime,
    expected_version: int | None = None,
) -> AuditEvent:
    """The unit signs for its assignment (签收)."""
    return take_action(
        session,
        assignment_id=assignment_id,
        action=Action.SIGN,
        actor=actor,
        now=now,
        expected_version=expected_version,
    )


def record_progress(
    session: Session,
    *,
    assignment_id: int,
    actor: Actor,
    now: datetime,
    filing: CheckIn,
    expected_version: int | None = None,
) -> AuditEvent:
    """The unit's progress check-in moves it; a first one also counts as signing."""
    return take_action(
        session,
        assignment_id=assignment_id,
        action=Action.PROGRESS,
        actor=actor,
        now=now,
        expected_version=expected_version,
        filing=filing,
    )


def report_completion(
    session: Session,
    *,
    assignment_id: int,
    actor: Actor,
    now: datetime,
    filing: CheckIn,
    expected_version: int | None = None,
) -> AuditEvent:
    """The unit's completion report moves it to reported; a lead unit only after its cooperating
    units."""
    return take_action(
        session,
        assignment_id=assignment_id,
        action=Action.REPORT,
        actor=actor,
        now=now,
        expected_version=expected_version,
        filing=filing,
    )


def verify(
    session: Session,
    *,
    assignment_id: int,
    actor: Actor,
    now: datetime,
    expected_version: int | None = None,
) -> AuditEvent:
    """The office accepts a unit's completion report."""
    return take_action(
        session,
        assignment_id=assignment_id,
        action=Action.VERIFY,
        actor=actor,
        now=now,
        expected_version=expected_version,
    )


def return_report(
    session: Session,
    *,
    assignment_id: int,
    actor: Actor,
    now: datetime,
    reason: str,
    expected_version: int | None = None,
) -> AuditEvent:
    """The office sends a report back for rework, with a reason."""
    return take_action(
        session,
        assignment_id=assignment_id,
        action=Action.RETURN,
        actor=actor,
        now=now,
        reason=reason,
        expected_version=expected_version,
    )


def close(
    session: Session,
    *,
    assignment_id: int,
    actor: Actor,
    now: datetime,
    expected_version: int | None = None,
) -> AuditEvent:
    """The office closes (销号) a verified assignment."""
    return take_action(
        session,
        assignment_id=assignment_id,
        action=Action.CLOSE,
        actor=actor,
        now=now,
        expected_version=expected_version,
    )


def reopen(
    session: Session,
    *,
    assignment_id: int,
    actor: Actor,
    now: datetime,
    reason: str,
    expected_version: int | None = None,
) -> AuditEvent:
    """The office reopens a closed assignment, with a reason."""
    return take_action(
        session,
        assignment_id=assignment_id,
        action=Action.REOPEN,
        actor=actor,
        now=now,
        reason=reason,
        expected_version=expected_version,
    )

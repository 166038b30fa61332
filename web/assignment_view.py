"""What the assignment page shows, gathered once for its GET and for a refused form shown again.

The task as issued (content, measures and their targets, deadline), this unit's part in it, the
other units on the task and where they stand (a lead unit also sees its cooperating units' latest
filings, so it can compile the task's report), the office's comments, the escalations against it,
the extension requests and the rules that hold a move back, all before the filing form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from models.assignment import Assignment, AssignmentRole
from models.checkins import checkin_to_file
from models.clock import local_day, utc_now
from models.escalation import Escalation, ExtensionRequest, ExtensionState, has_notice
from models.extensions import current_due_on
from models.history import assignment_history
from models.lifecycle import (
    ACTION_LABELS,
    COOPERATING_HANDED_IN,
    FILED,
    HANDED_IN,
    NEEDS_REASON,
    OFFICE,
    REVIEWED,
    Action,
    Role,
    State,
    available_actions,
    filing_moves,
    held_back,
)
from models.nudges import counts_for as nudge_counts
from models.plan import Measure, Task
from models.round import CheckIn, SupervisionRound
from models.rounds import OPEN_STATES
from models.suspensions import available as pause_actions
from models.suspensions import facts as pause_facts
from models.unit import Unit
from models.urgency import assignment_item
from models.workflow import context_of
from web.auth import Principal
from web.directive_view import directive_facts
from web.filing_view import filing_view


@dataclass(frozen=True)
class OtherUnit:
    """Another unit on the same task: its part, its state, and (for the lead) its latest filing."""

    name: str
    role: str
    state: str
    checkin: CheckIn | None
    filing_shown: bool  # the viewer may read this unit's filing and evidence


def may_read_filings_of(viewer_role: str, viewer_is_lead: bool, other_role: str) -> bool:
    """The office reads every filing; a lead unit those of its task's cooperating units (it
    compiles the task's report from them); a unit no other's."""
    if viewer_role != Role.UNIT:
        return True
    return viewer_is_lead and other_role == AssignmentRole.COOPERATING


def lead_sees(session: Session, me: Principal, assignment: Assignment) -> bool:
    """Whether a unit user may read this (another unit's) assignment's filings: it leads the task
    and this one cooperates."""
    if me.role != Role.UNIT or assignment.role != AssignmentRole.COOPERATING:
        return False
    return (
        session.exec(
            select(Assignment.id).where(
                Assignment.task_id == assignment.task_id,
                Assignment.unit_id == me.unit_id,
                Assignment.role == AssignmentRole.LEAD,
                col(Assignment.withdrawn_at).is_(None),
            )
        ).first()
        is not None
    )


def other_units(session: Session, me: Principal, assignment: Assignment) -> list[OtherUnit]:
    rows = session.exec(
        select(Assignment, Unit)
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .where(
            Assignment.task_id == assignment.task_id,
            Assignment.id != assignment.id,
            col(Assignment.withdrawn_at).is_(None),
        )
    ).all()
    latest: dict[int, CheckIn] = {}
    for checkin in session.exec(
        select(CheckIn)
        .where(col(CheckIn.assignment_id).in_([a.id for a, _ in rows]))
        .order_by(col(CheckIn.round_id))
    ):
        latest[checkin.assignment_id] = checkin  # the latest round's wins
    order = {AssignmentRole.LEAD: 0, AssignmentRole.RESPONSIBLE: 1, AssignmentRole.COOPERATING: 2}
    is_lead = assignment.role == AssignmentRole.LEAD
    return [
        OtherUnit(
            name=unit.name,
            role=str(other.role),
            state=str(other.state),
            checkin=latest.get(other.id or 0),
            filing_shown=may_read_filings_of(me.role, is_lead, other.role),
        )
        for other, unit in sorted(rows, key=lambda r: (order[r[0].role], r[1].name))
    ]


def _extension_facts(session: Session, me: Principal, assignment: Assignment) -> dict[str, Any]:
    """The extension requests of the assignment, newest first, and whether the unit may ask."""
    extensions = session.exec(
        select(ExtensionRequest)
        .where(ExtensionRequest.assignment_id == assignment.id)
        .order_by(col(ExtensionRequest.id).desc())
    ).all()
    pending = next((e for e in extensions if e.state == ExtensionState.PENDING), None)
    return {
        "extensions": extensions,
        "pending_extension": pending,
        "may_ask_extension": me.role == Role.UNIT
        and pending is None
        and State(assignment.state) not in HANDED_IN,
        "extension_due_on": current_due_on(session, assignment),
    }


def _decline_facts(
    session: Session, me: Principal, assignment: Assignment, settings: Any
) -> dict[str, Any]:
    """退办 (models/declines.py): the requests that concern this assignment, whether the form is
    offered now, and the last day of the 签收 window."""
    from models.declines import (
        DECLINE_STATE_LABELS,
        history_of,
        may_decline,
        window_ends,
        window_start,
    )

    start = window_start(session, assignment)
    offered = State(assignment.state) == State.ASSIGNED and may_decline(
        session,
        assignment,
        me.actor,
        now=utc_now(),
        rules=settings.cycle,
        timezone=settings.timezone,
    )
    return {
        "declines": history_of(session, assignment.id or 0),
        "decline_labels": DECLINE_STATE_LABELS,
        "may_decline": offered,
        "sign_window_ends": window_ends(start, settings.cycle, settings.timezone)
        if start
        else None,
    }


def assignment_facts(
    session: Session,
    me: Principal,
    assignment: Assignment,
    settings: Any,
    *,
    extension_error: str | None = None,
    typed: dict[str, str] | None = None,
    from_previous: bool = False,
    decline_error: str | None = None,
    directive_error: str | None = None,
    directive_typed: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The assignment page's context; `extension_error` and `typed` (a 批示's: `directive_error`
    and `directive_typed`) show a refused request again with what was typed."""
    today = local_day(utc_now(), settings.timezone)
    task = session.get_one(Task, assignment.task_id)
    checkins = session.exec(
        select(CheckIn, SupervisionRound)
        .join(SupervisionRound, col(SupervisionRound.id) == col(CheckIn.round_id))
        .where(CheckIn.assignment_id == assignment.id)
        .order_by(col(CheckIn.round_id))
    ).all()
    context = context_of(session, assignment)
    # A filing carries progress and completion, the review page the verdict: buttons for the rest.
    offered = available_actions(assignment, me.actor, context)
    held = {
        a: guard.why(assignment, context)[1]
        for a, guard in held_back(assignment, me.actor, context).items()
    }
    # The lead's standing rule, said before it writes its report even while another rule (no
    # round open) is the one that holds the report back now.
    standing = (
        [COOPERATING_HANDED_IN.why(assignment, context)[1]]
        if not COOPERATING_HANDED_IN.holds(assignment, context, me.actor, Action.REPORT)
        and COOPERATING_HANDED_IN.why(assignment, context)[1] not in held.values()
        else []
    )
    open_checkin = checkin_to_file(session, assignment.id or 0)
    return {
        "assignment": assignment,
        "task": task,
        "unit": session.get_one(Unit, assignment.unit_id),
        "measures": session.exec(
            select(Measure).where(Measure.task_id == task.id).order_by(col(Measure.seq))
        ).all(),
        "item": assignment_item(
            session, assignment, today=today, rules=settings.cycle, timezone=settings.timezone
        ),
        "others": other_units(session, me, assignment),
        "comments": [(c, r) for c, r in checkins if c.review_reason],
        **_escalation_facts(session, assignment),
        **_extension_facts(session, me, assignment),
        **_decline_facts(session, me, assignment, settings),
        "decline_error": decline_error,
        "extension_error": extension_error,
        "typed": typed or {},
        "checkins": checkins,
        "open_checkin": open_checkin,
        "history": assignment_history(session, assignment, viewer=me.role),
        "buttons": [a for a in offered if a not in FILED | REVIEWED],
        "reviewable": bool(REVIEWED & set(offered)),
        "filing": filing_moves(assignment, me.actor, context),
        "held": held,
        "standing": standing,
        "labels": ACTION_LABELS,
        "needs_reason": NEEDS_REASON,
        "today": today,
        "local_day": lambda moment: local_day(moment, settings.timezone),
        # 一键催办 (models/nudges.py): how often and when last, and the office's button.
        "nudged": nudge_counts(session, assignment),
        "may_nudge": me.role in OFFICE
        and assignment.withdrawn_at is None
        and str(assignment.state) in OPEN_STATES,
        # 暂停 (models/suspensions.py): whether paused, each pause, and the office's legal buttons.
        "pause": pause_facts(session, assignment.id or 0, settings.timezone)
        | {"actions": [str(a) for a in pause_actions(session, assignment, me.actor)]},
        # 领导批示 (models/directives.py): this item's, the reply forms, the write form.
        **directive_facts(
            session,
            me,
            timezone=settings.timezone,
            assignment_id=assignment.id,
            error=directive_error,
            typed=directive_typed,
        ),
        # The filings' versions, the form's values and whether it amends (web/filing_view.py).
        **filing_view(
            session,
            me,
            assignment,
            checkins,
            open_checkin,
            folder=settings.home / "evidence",
            from_previous=from_previous,
        ),
    }


def _escalation_facts(session: Session, assignment: Assignment) -> dict[str, Any]:
    """The escalations against it, and which print as a 督办通知单 (reports/notice.py)."""
    escalations = session.exec(
        select(Escalation)
        .where(Escalation.assignment_id == assignment.id)
        .order_by(col(Escalation.opened_at))
    ).all()
    return {
        "escalations": escalations,
        "notices": {e.id for e in escalations if has_notice(e.level, e.stall)},
    }

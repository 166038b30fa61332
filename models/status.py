"""The numbers behind `duban status`: one grouped query per table.

The JSON keys built here are a stable interface (documented in the README);
add keys, never rename them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.assignment import Assignment
from models.escalation import Escalation, Level
from models.lifecycle import State
from models.notification import Notification, NotificationStatus
from models.plan import Plan, Task
from models.round import RoundState, SupervisionRound


def _grouped(session: Session, column: Any, *where: Any) -> dict[Any, int]:
    query = select(column, func.count()).group_by(column)
    for condition in where:
        query = query.where(condition)
    return {key: count for key, count in session.exec(query)}


def status(session: Session) -> dict[str, Any]:
    """Counts of everything an office wants to see at a glance."""
    by_state = _grouped(session, Assignment.state, col(Assignment.withdrawn_at).is_(None))
    by_level = _grouped(session, Escalation.level, col(Escalation.resolved_at).is_(None))
    by_status = _grouped(session, Notification.status)
    open_rounds = session.exec(
        select(SupervisionRound.id, SupervisionRound.name, SupervisionRound.report_by, Plan.key)
        .join(Plan, col(Plan.id) == col(SupervisionRound.plan_id))
        .where(SupervisionRound.state == RoundState.OPEN)
        .order_by(SupervisionRound.id)
    ).all()
    return {
        "plans": session.exec(select(func.count()).select_from(Plan)).one(),
        "tasks": session.exec(select(func.count()).select_from(Task).where(col(Task.withdrawn_at).is_(None))).one(),
        "assignments": {
            "total": sum(by_state.values()),
            "by_state": {state.value: by_state.get(state.value, 0) for state in State},
        },
        "open_rounds": [
            {"id": id_, "name": name, "plan": plan_key, "report_by": report_by.isoformat()}
            for id_, name, report_by, plan_key in open_rounds
        ],
        "open_escalations": {
            "total": sum(by_level.values()),
            "by_level": {str(level.value): by_level.get(level.value, 0) for level in Level},
        },
        "notifications": {status.value: by_status.get(status.value, 0) for status in NotificationStatus},
    }

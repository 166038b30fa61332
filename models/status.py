"""The numbers behind `duban status`: one grouped query per table.

The JSON keys built here are a stable interface (documented in the README);
add keys, never rename them.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.assignment import Assignment
from models.escalation import Level
from models.escalations import open_counts
from models.lifecycle import State
from models.lights import counts, lights
from models.notification import Notification, NotificationStatus
from models.plan import Plan, Task
from models.recipients import unreachable, without_contacts
from models.round import CheckIn, CheckInState, RoundState, SupervisionRound, owed
from models.rounds import OPEN_STATES

if TYPE_CHECKING:  # the domain reads settings, never loads them
    pass


def _grouped(session: Session, column: Any, *where: Any) -> dict[Any, int]:
    query = select(column, func.count()).group_by(column)
    for condition in where:
        query = query.where(condition)
    return {key: count for key, count in session.exec(query)}


def rounds_overview(session: Session, plan_key: str | None = None) -> list[dict[str, Any]]:
    """Every round with its check-ins by state."""
    query = (
        select(SupervisionRound, Plan.key)
        .join(Plan, col(Plan.id) == col(SupervisionRound.plan_id))
        .order_by(col(SupervisionRound.id))
    )
    if plan_key:
        query = query.where(Plan.key == plan_key)
    by_round: dict[int, dict[str, int]] = {}
    for round_id, state, count in session.exec(
        select(CheckIn.round_id, CheckIn.state, func.count()).group_by(
            col(CheckIn.round_id), col(CheckIn.state)
        )
    ):
        by_round.setdefault(round_id, {})[state] = count
    return [
        {
            "id": r.id,
            "plan": key,
            "name": r.name,
            "state": str(r.state),
            "report_by": r.report_by.isoformat(),
            "checkins": {
                s.value: by_round.get(r.id or 0, {}).get(s.value, 0) for s in CheckInState
            },
        }
        for r, key in session.exec(query)
    ]


def status(
    session: Session,
    *,
    today: date | None = None,
    rules: Any = None,
    timezone: str = "Asia/Shanghai",
) -> dict[str, Any]:
    """Counts of everything an office wants to see at a glance."""
    by_state = _grouped(session, Assignment.state, col(Assignment.withdrawn_at).is_(None))
    by_level = open_counts(session)
    by_status = _grouped(session, Notification.status)
    open_rounds = session.exec(
        select(
            col(SupervisionRound.id),
            SupervisionRound.name,
            col(SupervisionRound.report_by),
            Plan.key,
        )
        .join(Plan, col(Plan.id) == col(SupervisionRound.plan_id))
        .where(SupervisionRound.state == RoundState.OPEN)
        .order_by(col(SupervisionRound.id))
    ).all()
    return {
        "plans": session.exec(select(func.count()).select_from(Plan)).one(),
        "tasks": session.exec(
            select(func.count()).select_from(Task).where(col(Task.withdrawn_at).is_(None))
        ).one(),
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
            "by_level": {str(level.value): by_level[level.value] for level in Level},
        },
        "notifications": {
            status.value: by_status.get(status.value, 0) for status in NotificationStatus
        }
        # Messages the server took without its answer reaching us: each may have arrived twice.
        | {
            "maybe_sent": session.exec(
                select(func.count()).select_from(Notification).where(Notification.maybe_sent > 0)
            ).one()
        },
        "checkins": _checkins(session, today),
        "unreachable_units": _unreachable(session),
        "units_without_contacts": _named([u.name for u in without_contacts(session)]),
        **({"messages_received": _messages(session, today, timezone)} if today else {}),
        "rounds": rounds_overview(session),
        **(
            {"lights": counts(lights(session, today=today, rules=rules, timezone=timezone))}
            if today and rules
            else {}
        ),
    }


def _named(names: list[str]) -> dict[str, Any]:
    return {"total": len(names), "units": names}


def _unreachable(session: Session) -> dict[str, Any]:
    """Units with open work whose liaison has no e-mail: every message to them would be lost."""
    owing = (
        select(Assignment.unit_id)
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .where(
            col(Task.withdrawn_at).is_(None),
            col(Assignment.withdrawn_at).is_(None),
            col(Assignment.state).in_(OPEN_STATES),
        )
        .distinct()
    )
    names = unreachable(session, session.exec(owing))
    return {"total": len(names), "units": names}


MESSAGE_DAYS = 7  # the period `duban status` counts messages over: this office week


def _messages(session: Session, today: date, timezone: str) -> dict[str, Any]:
    """Messages each unit's people received over the last MESSAGE_DAYS office days (基层减负)."""
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from models.budget import received_by_unit
    from models.unit import Unit

    zone = ZoneInfo(timezone)
    since = today - timedelta(days=MESSAGE_DAYS - 1)
    counts = received_by_unit(
        session,
        since=datetime.combine(since, time(), zone),
        until=datetime.combine(today + timedelta(days=1), time(), zone),
    )
    names = dict(session.exec(select(Unit.id, Unit.name).where(col(Unit.id).in_(counts))).all())
    by_unit = {names[u]: n for u, n in counts.items() if u in names}
    return {
        "since": since.isoformat(),
        "until": today.isoformat(),
        "by_unit": dict(sorted(by_unit.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def _checkins(session: Session, today: date | None) -> dict[str, int]:
    """Check-ins of open rounds by state, and how many of those still owed are past due."""
    open_round = select(SupervisionRound.id).where(SupervisionRound.state == RoundState.OPEN)
    by_state = _grouped(session, CheckIn.state, col(CheckIn.round_id).in_(open_round))
    figures = {s.value: by_state.get(s.value, 0) for s in CheckInState}
    overdue = 0
    if today is not None:
        overdue = session.exec(
            select(func.count())
            .select_from(CheckIn)
            .where(col(CheckIn.round_id).in_(open_round), CheckIn.due_on < today, owed())
        ).one()
    return figures | {"overdue": overdue}

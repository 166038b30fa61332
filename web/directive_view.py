"""What the pages show of 领导批示 (models/directives.py): the 批示 on an assignment with each
part's reply form where the viewer may reply, and the write form where the viewer may write."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from models.clock import local_day, utc_now
from models.directives import (
    DirectiveState,
    DirectiveView,
    ReplyState,
    leader_names,
    may_write,
    views,
)
from models.lifecycle import OFFICE, Role
from models.user import User
from web.auth import Principal


def leader_choices(session: Session) -> list[str]:
    """Whom the office may name as the 批示's leader: the leaders' display names (else user
    names)."""
    return [
        u.display_name or u.username
        for u in session.exec(
            select(User)
            .where(User.role == Role.LEADER, col(User.disabled).is_(False))
            .order_by(col(User.username))
        )
    ]


def replies_for(me: Principal, view: DirectiveView) -> list[int]:
    """The parts this viewer may answer now: a unit its own, the office any (on the unit's
    behalf)."""
    if view.state != DirectiveState.OPEN:
        return []
    return [
        p.id
        for p in view.parts
        if p.state != ReplyState.REPLIED
        and (me.role in OFFICE or (me.role == Role.UNIT and me.unit_id == p.unit_id))
    ]


def closable(session: Session, me: Principal, view: DirectiveView) -> bool:
    return view.state == DirectiveState.OPEN and (
        me.role in OFFICE or view.leader in leader_names(session, me.actor)
    )


def directive_facts(
    session: Session,
    me: Principal,
    *,
    timezone: str,
    assignment_id: int | None = None,
    task_id: int | None = None,
    error: str | None = None,
    typed: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The 批示 shown on a page and its write form; `error` and `typed` show a refused 批示 again
    with what was typed."""
    today = local_day(utc_now(), timezone)
    found = views(session, today=today, assignment_id=assignment_id, task_id=task_id)
    return {
        "directives": found,
        "directive_replies": {v.id: replies_for(me, v) for v in found},
        "directive_closable": {v.id: closable(session, me, v) for v in found},
        "may_write_directive": may_write(me.actor),
        "leader_choices": leader_choices(session) if me.role in OFFICE else [],
        "directive_error": error,
        "directive_typed": typed or {},
    }

"""An assignment's history as people read it: what happened, by whom, in words.

The office reads its own trail in full (user names included, refused probes
too). A unit reads only what happened to its assignment, by the unit, the
office or the system: never another unit's probes, user names or internal
ids; the audit trail itself keeps everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlmodel import Session, col, select

from models.assignment import Assignment
from models.audit import AuditEvent
from models.labels import AUDIT_ACTIONS
from models.lifecycle import OFFICE, Role
from models.round import CheckIn
from models.user import User

# The trail's actions a page's history shows, in the trail's own words (models/labels.py).
WORDS: Final[dict[str, str]] = {
    action: AUDIT_ACTIONS[action]
    for action in (
        "assignment.create",
        "assignment.update",
        "assignment.restore",
        "assignment.withdraw",
        "assignment.sign",
        "assignment.progress",
        "assignment.report",
        "assignment.verify",
        "assignment.return",
        "assignment.close",
        "assignment.reopen",
        "checkin.submit",
        "checkin.accept",
        "checkin.return",
        "suspension.suspend",
        "suspension.resume",
    )
}
OFFICE_ONLY_WORDS: Final[dict[str, str]] = {"access.refused": AUDIT_ACTIONS["access.refused"]}
# Reasons a unit is meant to read: why its report came back, why its item was reopened or paused.
REASONS_FOR_UNITS: Final = frozenset(
    {"assignment.return", "assignment.reopen", "checkin.return", "suspension.suspend"}
)


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    who: str
    what: str
    reason: str | None


def assignment_history(
    session: Session, assignment: Assignment, *, viewer: Role
) -> list[HistoryLine]:
    """The assignment's events (its own and its check-ins'), in order, as this viewer may read
    them."""
    checkin_ids = [
        str(i)
        for i in session.exec(select(CheckIn.id).where(CheckIn.assignment_id == assignment.id))
    ]
    events = session.exec(
        select(AuditEvent)
        .where(
            (
                (col(AuditEvent.object_type) == "assignment")
                & (col(AuditEvent.object_id) == str(assignment.id))
            )
            | (
                (col(AuditEvent.object_type) == "checkin")
                & col(AuditEvent.object_id).in_(checkin_ids)
            )
        )
        .order_by(col(AuditEvent.seq))
    ).all()
    if viewer in OFFICE:
        words = {**WORDS, **OFFICE_ONLY_WORDS}
        return [HistoryLine(e.at, e.actor, words.get(e.action, e.action), e.reason) for e in events]
    shown = [e for e in events if e.action in WORDS and e.outcome != "refused"]
    names = sorted({e.actor for e in shown})
    roles = (
        {
            name: role
            for name, role in session.exec(
                select(User.username, User.role).where(col(User.username).in_(names))
            ).all()
        }
        if names
        else {}
    )
    return [
        HistoryLine(
            e.at,
            _who(e.actor, roles.get(e.actor)),
            WORDS[e.action],
            e.reason if e.action in REASONS_FOR_UNITS else None,
        )
        for e in shown
    ]


def _who(actor: str, role: str | None) -> str:
    if role == Role.UNIT:
        return "本单位"  # only the unit's own users act on its assignment
    if actor == "system":
        return "系统"
    return "办公室"  # office users, and the office's console (the CLI)

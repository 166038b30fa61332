"""An assignment's history as people read it: what happened, by whom, in words.

The office reads its own trail in full (user names included, refused probes
too). A unit reads only what happened to its assignment, by the unit, the
office or the system: never another unit's probes, user names or internal
ids; the audit trail itself keeps everything.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlmodel import Session, col, or_, select

from models.assignment import Assignment
from models.audit import AuditEvent
from models.declines import Decline
from models.escalation import ExtensionRequest
from models.labels import AUDIT_ACTIONS
from models.lifecycle import OFFICE, Role
from models.round import CheckIn
from models.user import User

# A unit's requests (延期, 退办) and the office's answers: each with its reason, for both sides.
REQUESTS: Final = (
    "extension.request",
    "extension.approve",
    "extension.reject",
    "decline.request",
    "decline.reassign",
    "decline.change_role",
    "decline.reject",
)
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
        *REQUESTS,
    )
}
OFFICE_ONLY_WORDS: Final[dict[str, str]] = {"access.refused": AUDIT_ACTIONS["access.refused"]}
# Reasons a unit is meant to read: why its report came back, why its item was reopened or paused,
# and its requests' reasons with the office's answers.
REASONS_FOR_UNITS: Final = frozenset(
    {"assignment.return", "assignment.reopen", "checkin.return", "suspension.suspend", *REQUESTS}
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
    declines = select(Decline.id).where(Decline.assignment_id == assignment.id)
    if viewer not in OFFICE:  # a unit given the item after a 退办 does not read the other's reason
        declines = declines.where(Decline.unit_id == assignment.unit_id)
    owned = {
        "assignment": [assignment.id],
        "checkin": session.exec(select(CheckIn.id).where(CheckIn.assignment_id == assignment.id)),
        "extension": session.exec(
            select(ExtensionRequest.id).where(ExtensionRequest.assignment_id == assignment.id)
        ),
        "decline": session.exec(declines),
    }
    events = _one_line_per_step(
        session.exec(
            select(AuditEvent)
            .where(
                or_(
                    *(
                        (col(AuditEvent.object_type) == kind)
                        & col(AuditEvent.object_id).in_([str(i) for i in ids])
                        for kind, ids in owned.items()
                    )
                )
            )
            .order_by(col(AuditEvent.seq))
        ).all()
    )
    if viewer in OFFICE:
        words = {**WORDS, **OFFICE_ONLY_WORDS}
        return [
            HistoryLine(e.at, e.actor, _what(e, words.get(e.action, e.action)), e.reason)
            for e in events
        ]
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
            _what(e, WORDS[e.action]),
            e.reason if e.action in REASONS_FOR_UNITS else None,
        )
        for e in shown
    ]


def _one_line_per_step(events: Sequence[AuditEvent]) -> list[AuditEvent]:
    """A filing or a review moves the assignment and its check-in in one transaction, recorded
    as two events (报送办结 and 填报本轮报送; 退回办结报告 and 本轮报送被退回): a person reads
    it as one step, so a check-in's event right after its assignment's, at the same moment by
    the same actor, is left out. A check-in event alone (a second progress filing) stays."""
    kept: list[AuditEvent] = []
    for e in events:
        previous = kept[-1] if kept else None
        if (
            e.object_type == "checkin"
            and previous is not None
            and previous.object_type == "assignment"
            and (previous.at, previous.actor) == (e.at, e.actor)
        ):
            continue
        kept.append(e)
    return kept


def _what(event: AuditEvent, words: str) -> str:
    """The step's words, with the date an extension asks for or was given."""
    after: dict[str, object] = json.loads(event.after) if event.after else {}
    if event.action == "extension.request" and after.get("until"):
        return f"{words}至 {after['until']}"
    if event.action == "extension.approve" and after.get("due_on"):
        return f"{words}，截止日期改为 {after['due_on']}"
    return words


def _who(actor: str, role: str | None) -> str:
    if role == Role.UNIT:
        return "本单位"  # only the unit's own users act on its assignment
    if actor == "system":
        return "系统"
    return "办公室"  # office users, and the office's console (the CLI)

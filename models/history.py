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
from models.lifecycle import OFFICE, Role
from models.round import CheckIn
from models.user import User

WORDS: Final[dict[str, str]] = {
    "assignment.create": "交办",
    "assignment.update": "通知重新导入，分工调整",
    "assignment.restore": "通知重新导入，恢复分工",
    "assignment.withdraw": "通知重新导入，撤销分工",
    "assignment.sign": "签收",
    "assignment.progress": "报送进展",
    "assignment.report": "报送办结",
    "assignment.verify": "核验通过",
    "assignment.return": "退回办结报告",
    "assignment.close": "销号",
    "assignment.reopen": "重新打开",
    "checkin.submit": "填报本轮报送",
    "checkin.accept": "本轮报送审核通过",
    "checkin.return": "本轮报送被退回",
}
OFFICE_ONLY_WORDS: Final[dict[str, str]] = {"access.refused": "越权访问被拒绝"}
# Reasons a unit is meant to read: why its report came back, why its item was reopened.
REASONS_FOR_UNITS: Final = frozenset({"assignment.return", "assignment.reopen", "checkin.return"})


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

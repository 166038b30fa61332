"""Who receives a unit's messages: its liaison (联络员) and its head (分管领导), from the
directory."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from models.unit import Contact, ContactRole, Unit


@dataclass(frozen=True)
class Recipient:
    unit_id: int | None
    role: str  # liaison, head, office, office_head, leading_group
    name: str
    email: str


def unit_contacts(
    session: Session, unit_ids: Iterable[int], role: ContactRole
) -> dict[int, Recipient]:
    """The contact of each unit in that role, where the directory has an e-mail for one."""
    ids = list(set(unit_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(Contact).where(
            col(Contact.unit_id).in_(ids), Contact.role == role, col(Contact.email).is_not(None)
        )
    )
    # The query keeps only contacts with an e-mail.
    return {
        c.unit_id: Recipient(c.unit_id, str(role), c.name, c.email)
        for c in rows
        if c.email is not None
    }


def unreachable(session: Session, unit_ids: Iterable[int]) -> list[str]:
    """The names of those units whose liaison has no e-mail (or that have no liaison): nobody there
    can be told, so the office must hear of it instead of seeing a quiet 0."""
    ids = set(unit_ids)
    if not ids:
        return []
    reached = unit_contacts(session, ids, ContactRole.LIAISON)
    missing = [i for i in ids if i not in reached]
    if not missing:
        return []
    return list(
        session.exec(select(Unit.name).where(col(Unit.id).in_(missing)).order_by(col(Unit.id)))
    )


def message(
    kind: str, dedup_key: str, to: Recipient, payload: dict[str, Any], lang: str = "zh"
) -> dict[str, Any]:
    """An outbox entry for `models.outbox.enqueue_many`."""
    return {
        "kind": kind,
        "dedup_key": dedup_key,
        "unit_id": to.unit_id,
        "recipient_name": to.name,
        "recipient_email": to.email,
        "payload": payload,
        "lang": lang,
    }

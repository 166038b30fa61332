"""Who receives a unit's messages: its liaison (联络员) and its head (分管领导), from the
directory, and by which channels in turn (the person's list, where the directory can serve it)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from models.unit import Contact, ContactRole, Unit, UnitKind

EMAIL = "email"


@dataclass(frozen=True)
class Recipient:
    unit_id: int | None
    role: str  # liaison, head, office, office_head, leading_group
    name: str
    email: str  # "" when the person is reached by other channels only
    # [(channel, address), ...] in the person's order; empty: e-mail to `email`
    route: tuple[tuple[str, str], ...] = ()

    def legs(self) -> list[tuple[str, str | None]]:
        return list(self.route) or ([(EMAIL, self.email)] if self.email else [])


def route_of(contact: Contact, unit: Unit) -> list[tuple[str, str]]:
    """The contact's channels in order, each with its address, keeping those the directory can
    serve: an e-mail for `email`, the unit's robot for `wecom`/`dingtalk`, a mobile for `sms`.

    A channel the file lists but cannot serve here is skipped, so the next one carries the
    message; the directory import has already told the office about it.
    """
    legs: list[tuple[str, str]] = []
    for channel in contact.channels or [EMAIL]:
        if channel == EMAIL:
            address = contact.email
        elif channel == "wecom":
            address = (contact.mobile or "") if unit.wecom_key else None
        elif channel == "dingtalk":
            address = (contact.mobile or "") if unit.dingtalk_token else None
        else:  # sms and plug-ins address a person by mobile
            address = contact.mobile
        if address is not None and (channel, address) not in legs:
            legs.append((channel, address))
    return legs


def unit_contacts(
    session: Session, unit_ids: Iterable[int], role: ContactRole
) -> dict[int, Recipient]:
    """The contact of each unit in that role, where the directory has a way to reach them."""
    ids = list(set(unit_ids))
    if not ids:
        return {}
    rows = session.exec(
        select(Contact, Unit)
        .join(Unit, col(Unit.id) == col(Contact.unit_id))
        .where(col(Contact.unit_id).in_(ids), Contact.role == role)
    )
    found = {}
    for contact, unit in rows:
        route = route_of(contact, unit)
        if route:
            found[contact.unit_id] = Recipient(
                contact.unit_id, str(role), contact.name, contact.email or "", tuple(route)
            )
    return found


def unreachable(session: Session, unit_ids: Iterable[int]) -> list[str]:
    """The names of those units whose liaison has no way to be told (no e-mail, no channel of the
    directory) or that have no liaison: the office must hear of it instead of seeing a quiet 0."""
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


def without_contacts(session: Session, unit_ids: Iterable[int] | None = None) -> list[Unit]:
    """Active units with no contact at all (缺少联系人), such as those an import created from a
    name the directory lacked: until the office fills them in, nobody there can be told anything.
    A group (各镇(区、街道)) is reached through its members and never lacks its own."""
    query = (
        select(Unit)
        .where(
            col(Unit.active).is_(True),
            Unit.kind != UnitKind.GROUP,
            col(Unit.id).not_in(select(Contact.unit_id)),
        )
        .order_by(col(Unit.id))
    )
    if unit_ids is not None:
        query = query.where(col(Unit.id).in_(list(unit_ids)))
    return list(session.exec(query))


def message(
    kind: str, dedup_key: str, to: Recipient, payload: dict[str, Any], lang: str = "zh"
) -> dict[str, Any]:
    """An outbox entry for `models.outbox.enqueue_many`: the first leg of the route on the row,
    the rest as its fallback."""
    (channel, address), *rest = to.legs() or [(EMAIL, to.email)]
    return {
        "kind": kind,
        "dedup_key": dedup_key,
        "unit_id": to.unit_id,
        "recipient_name": to.name,
        "recipient_email": to.email or None,
        "channel": channel,
        "address": address,
        "fallback": [list(leg) for leg in rest],
        "payload": payload,
        "lang": lang,
    }

"""The office's desk for escalated items (督办事项): a note on an item, the 会商 outcome of a red
one, and closing its 督办单 with a reason.

An item is an assignment in a round, or its part of a 领导批示 (`ItemKey`; `desk_items` lists each
once, at its highest level, with its level history); the
office names it by any of its escalations' ids or by its 督办单 number. Closing it resolves every
level still open on it at once, in one audit event: the ladder does not fire again for that
round, since each stage fires once (`escalate_stalled`'s stage keys).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, datetime
from enum import StrEnum
from itertools import groupby
from typing import Any

from sqlalchemy import String, exists, false, func
from sqlmodel import Field, Session, SQLModel, col, select

from models import audit
from models.archive import refuse_if_archived_assignment
from models.assignment import Assignment
from models.clock import local_day, utc
from models.db import chunked_in, local_day_sql
from models.errors import DubanError, NotFound, ReasonRequired
from models.escalation import OFFICE_STALLS, Escalation, ItemKey, Level, against_unit, item_of
from models.escalations import LEVEL_LABELS, histories_of, mark_items
from models.lifecycle import OFFICE, Actor
from models.plan import Task
from models.unit import Unit

NOTE_LIMIT = 2000  # characters: a paragraph of the 会商 minutes, not the minutes themselves


class NoteKind(StrEnum):
    NOTE = "note"  # 办公室备注
    CONSULTATION = "consultation"  # 会商结果: only on an item at the red level


class EscalationNote(SQLModel, table=True):
    __tablename__ = "escalation_note"

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    round_id: int | None = Field(default=None, foreign_key="supervision_round.id")
    directive_id: int | None = Field(default=None, foreign_key="directive.id")  # a 批示's item
    kind: NoteKind = Field(default=NoteKind.NOTE, sa_type=String(16))
    text: str = Field(max_length=NOTE_LIMIT)
    actor: str = Field(max_length=200)
    at: datetime


class ItemClosed(DubanError):
    zh = "督办事项 {number} 已办结，不能再{action_zh}。"
    en = "escalated item {number} is closed; it cannot be {action}"
    exit_code = 4


class NotRedYet(DubanError):
    zh = "督办事项 {number} 尚未升至提请会商（第三级），不能记录会商结果；请添加备注。"
    en = "escalated item {number} has not reached the red level: add a note instead"
    exit_code = 4


class OfficeOnly(DubanError):
    zh = "{actor}无权处理督办事项：仅办公室可以{action_zh}。"
    en = "{actor} may not {action} an escalated item: the office's alone"
    exit_code = 4


def named_escalation(session: Session, reference: int | str) -> Escalation:
    """The escalation an id or a 督办单 number names; NotFound otherwise."""
    if isinstance(reference, int):
        named = session.get(Escalation, reference)
    else:
        number = reference.strip()
        named = session.exec(select(Escalation).where(Escalation.number == number)).first()
    if named is None:
        raise NotFound(kind="escalation", kind_zh="督办事项", key=str(reference))
    return named


def find_item(session: Session, reference: int | str) -> list[Escalation]:
    """Every escalation of the item an escalation id or a 督办单 number names, lowest first."""
    named = named_escalation(session, reference)
    return list(
        session.exec(
            select(Escalation)
            .where(
                Escalation.assignment_id == named.assignment_id,
                col(Escalation.round_id).is_not_distinct_from(named.round_id),
                col(Escalation.directive_id).is_not_distinct_from(named.directive_id),
            )
            .order_by(col(Escalation.level))
        )
    )


def number_of(ladder: list[Escalation]) -> str:
    """How the office names the item: the 督办单 number of its highest numbered level."""
    numbered = [e.number for e in ladder if e.number]
    return numbered[-1] if numbered else f"#{ladder[-1].id}"


def _office(actor: Actor, action: str, action_zh: str) -> None:
    if actor.role not in OFFICE:
        raise OfficeOnly(actor=actor.name, action=action, action_zh=action_zh)


def _text(value: str | None, action: str, action_zh: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ReasonRequired(action=action, action_zh=action_zh)
    return text


def add_note(
    session: Session,
    *,
    reference: int | str,
    text: str | None,
    actor: Actor,
    now: datetime,
    kind: NoteKind = NoteKind.NOTE,
) -> EscalationNote:
    """The office's note on an open item, or the 会商 outcome of a red one; one audit event."""
    words = "记录会商结果" if kind == NoteKind.CONSULTATION else "添加备注"
    _office(actor, kind.value, words)
    body = _text(text, kind.value, words)
    ladder = find_item(session, reference)
    refuse_if_archived_assignment(session, assignment_id=ladder[0].assignment_id)
    number = number_of(ladder)
    if all(e.resolved_at is not None for e in ladder):
        raise ItemClosed(number=number, action=f"given a {kind.value}", action_zh=words)
    top = max(e.level for e in ladder if e.resolved_at is None)
    if kind == NoteKind.CONSULTATION and (top < Level.RED or not against_unit(ladder[-1].stall)):
        raise NotRedYet(number=number)
    note = EscalationNote(
        assignment_id=ladder[0].assignment_id,
        round_id=ladder[0].round_id,
        directive_id=ladder[0].directive_id,
        kind=kind,
        text=body,
        actor=actor.name,
        at=utc(now),
    )
    session.add(note)
    session.flush()
    audit.record(
        session,
        at=now,
        actor=actor,
        action="escalation.consult" if kind == NoteKind.CONSULTATION else "escalation.note",
        object_type="escalation",
        object_id=ladder[-1].id,
        after={"number": number, "note": note.id},
        reason=body,
    )
    return note


def close_item(
    session: Session, *, reference: int | str, reason: str | None, actor: Actor, now: datetime
) -> int:
    """Close the item's 督办单: every open level resolved with the reason; how many were open."""
    _office(actor, "close", "办结督办单")
    why = _text(reason, "close", "办结督办单")
    ladder = find_item(session, reference)
    refuse_if_archived_assignment(session, assignment_id=ladder[0].assignment_id)
    number = number_of(ladder)
    open_ones = [e for e in ladder if e.resolved_at is None]
    if not open_ones:
        raise ItemClosed(number=number, action="closed", action_zh="办结")
    for e in open_ones:
        e.resolved_at, e.resolution = utc(now), why
        session.add(e)
    mark_items(session, [ladder[0].assignment_id])
    audit.record(
        session,
        at=now,
        actor=actor,
        action="escalation.close",
        object_type="escalation",
        object_id=ladder[-1].id,
        before={"number": number, "levels": [e.level for e in open_ones], "open": True},
        after={"open": False},
        reason=why,
    )
    return len(open_ones)


def notes_of(
    session: Session, items: list[ItemKey], timezone: str
) -> dict[ItemKey, list[dict[str, Any]]]:
    """Each item's notes, oldest first, as the pages show them."""
    from models.labels import actor_label, local_time

    wanted = set(items)
    if not wanted:
        return {}
    found: dict[ItemKey, list[dict[str, Any]]] = {}
    assignment_ids = sorted({a for a, *_ in wanted})
    for note in session.exec(
        select(EscalationNote)
        .where(col(EscalationNote.assignment_id).in_(assignment_ids))
        .order_by(col(EscalationNote.at), col(EscalationNote.id))
    ):
        key = item_of(note)
        if key in wanted:
            found.setdefault(key, []).append(
                {
                    "kind": str(note.kind),
                    "text": note.text,
                    "actor": actor_label(note.actor),
                    "at": local_time(note.at, timezone),
                }
            )
    return found


def _open_items_query(
    session: Session,
    filters: Mapping[str, Any],
    *,
    office: bool | None,
    columns: tuple[Any, ...] = (),
    ordered_in: str | None = None,
) -> Any:
    """The open items the filters keep, once each at their highest open level (the row
    `mark_items` marked): the units' items, or the office's own backlog (an unreviewed report) when
    `office`, both when it is None. Each row is the item's escalation, task, unit and first
    moment, or the `columns` asked for; in the desk's order when `ordered_in` names the office's
    time zone (highest level first, then the day the item was first escalated, then its number).
    Only the rows that need the item's task or unit join them: the count reads one index. A unit
    or task filter names its assignments first and seeks their marks (ix_escalation_desk_item):
    joining every mark to its unit and task to keep one unit's fifty read all 100,000."""
    since, stall = col(Escalation.item_since), col(Escalation.stall)
    query = select(*(columns or (Escalation, Task, Unit, since))).where(
        since.is_not(None),
    )
    if office is not None:
        offices = list(OFFICE_STALLS)
        query = query.where(stall.in_(offices) if office else stall.not_in(offices))
    if not columns:
        query = (
            query.join(Assignment, col(Assignment.id) == col(Escalation.assignment_id))
            .join(Task, col(Task.id) == col(Assignment.task_id))
            .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        )
    if level := filters.get("level"):
        query = query.where(Escalation.level == level)
    if filters.get("unit") or filters.get("task"):
        kept = _filtered_assignments(session, filters.get("unit"), filters.get("task"))
        query = query.where(col(Escalation.assignment_id).in_(kept))
    if ordered_in is None:
        return query
    return query.order_by(
        col(Escalation.level).desc(),
        local_day_sql(since, ordered_in, _dialect(session)),
        *_by_number(session),
    )


def _filtered_assignments(session: Session, unit: str | None, task: int | None) -> Any:
    """The ids of the assignments of the units whose name holds `unit` and of task `task`: the
    units and tasks found first, then their assignments by index (not every assignment's unit
    read to test its name)."""
    query = select(Assignment.id)
    if unit and "\x00" in unit:  # no name holds a NUL, and PostgreSQL refuses one in a query
        query = query.where(false())
    elif unit:  # a part of the name, case and all (not LIKE: SQLite's ignores ASCII case)
        holds = func.instr if _dialect(session) == "sqlite" else func.strpos
        units = select(Unit.id).where(holds(col(Unit.name), unit) > 0)
        query = query.where(col(Assignment.unit_id).in_(units))
    if task:
        query = query.where(col(Assignment.task_id).in_(select(Task.id).where(Task.number == task)))
    return query


def _by_number(session: Session) -> tuple[Any, ...]:
    """The desk's order within a day: by number in code point order, whatever the database's
    collation, an item without one first (no number is empty), then by id."""
    if _dialect(session) == "postgresql":
        return col(Escalation.number).collate("C").nulls_first(), col(Escalation.id)
    return col(Escalation.number), col(Escalation.id)  # SQLite: NULL first; as the index runs


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _items(session: Session, rows: list[Any], timezone: str) -> list[dict[str, Any]]:
    """The items as the pages show them, with their ladders: one query for the whole page."""
    ladders = histories_of(session, [item_of(e) for e, *_ in rows], timezone)
    return [
        {
            "id": e.id,  # the item's highest open level: the desk's forms name it
            "number": e.number or "",
            "assignment_id": e.assignment_id,  # the escalations page's 催办 button
            "round_id": e.round_id,
            "directive_id": e.directive_id,
            "level": e.level,
            "level_label": LEVEL_LABELS[e.level],
            "task_number": task.number,
            "task_title": task.title,
            "unit": unit.name,
            "reason": e.reason,
            "office": not against_unit(e.stall),
            "since": local_day(first, timezone).isoformat(),
            "history": ladders.get(item_of(e), []),
        }
        for e, task, unit, first in rows
    ]


def _moments(session: Session, filters: Mapping[str, Any]) -> Iterator[tuple[int, datetime]]:
    """Each (level, moment first escalated) the units' items have, the highest level first, then
    the oldest: one index seek each (a moment is a ladder run, so there are few)."""
    level, since = col(Escalation.level), col(Escalation.item_since)
    marked = _open_items_query(session, filters, office=False, columns=(level, since))
    row = session.exec(marked.order_by(level.desc()).limit(1)).first()
    while row is not None:
        at, moment = row[0], None
        while row is not None:
            later: list[Any] = [] if moment is None else [since > moment]
            row = session.exec(marked.where(level == at, *later).order_by(since).limit(1)).first()
            if row is not None:
                moment = row[1]
                yield at, moment
        row = session.exec(marked.where(level < at).order_by(level.desc()).limit(1)).first()


def _days(
    session: Session, filters: Mapping[str, Any], timezone: str
) -> Iterator[tuple[int, list[datetime]]]:
    """The units' items grouped as the desk orders them: each level, highest first, and each day
    (the office's) an item was first escalated on, oldest first; with that day's moments."""
    found: list[tuple[int, date, datetime]] = [
        (at, local_day(moment, timezone), moment) for at, moment in _moments(session, filters)
    ]
    for (at, _), moments in groupby(found, key=lambda m: m[:2]):
        yield at, [moment for *_, moment in moments]


def _page_ids(
    session: Session, filters: Mapping[str, Any], timezone: str, offset: int, limit: int | None
) -> list[int]:
    """The ids of the page's items in the desk's order. Without a unit or task filter the index
    alone gives them: the days before the page counted, the page's days read in number order;
    not every item sorted."""
    ids = (col(Escalation.id),)
    if filters.get("unit") or filters.get("task"):
        query = _open_items_query(
            session, filters, office=False, columns=ids, ordered_in=timezone
        ).offset(offset)
        return list(session.exec(query if limit is None else query.limit(limit)))
    found: list[int] = []
    for at, moments in _days(session, filters, timezone):
        if limit is not None and len(found) >= limit:
            break
        day = _open_items_query(session, filters, office=False, columns=ids).where(
            col(Escalation.level) == at, col(Escalation.item_since).in_(moments)
        )
        if offset:
            size = session.exec(select(func.count()).select_from(day.subquery())).one()
            if offset >= size:
                offset -= size
                continue
        query = day.order_by(*_by_number(session)).offset(offset)
        found += session.exec(query if limit is None else query.limit(limit - len(found)))
        offset = 0
    return found


def _page(
    session: Session, filters: Mapping[str, Any], timezone: str, offset: int, limit: int | None
) -> list[Any]:
    """The page's rows in the desk's order, read with their tasks and units."""
    ids = _page_ids(session, filters, timezone, offset, limit)
    place = {escalation_id: n for n, escalation_id in enumerate(ids)}
    rows: list[Any] = []
    for among in chunked_in(col(Escalation.id), ids):  # the export takes every item
        rows += session.exec(_open_items_query(session, {}, office=False).where(among))
    return sorted(rows, key=lambda r: place[r[0].id])


def desk_items(
    session: Session,
    timezone: str,
    filters: Mapping[str, Any],
    *,
    offset: int = 0,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The units' open items (not the office's own backlog) the filters keep, with their ladders
    and notes: highest level first, then the oldest; `limit` of them from `offset`. Filters and
    paging run in SQL; ladders and notes come in one query each for the whole page."""
    kept = _items(session, _page(session, filters, timezone, offset, limit), timezone)
    keys = [(i["assignment_id"], i["round_id"], i["directive_id"]) for i in kept]
    notes = notes_of(session, keys, timezone)
    for item, key in zip(kept, keys, strict=True):
        found = notes.get(key, [])
        item["notes"] = [n for n in found if n["kind"] == "note"]
        item["consultations"] = [n for n in found if n["kind"] == "consultation"]
    return kept


def desk_count(session: Session, filters: Mapping[str, Any]) -> int:
    """How many items `desk_items` lists with these filters (one count, for the page links)."""
    query = _open_items_query(session, filters, office=False, columns=(col(Escalation.id),))
    return session.exec(select(func.count()).select_from(query.subquery())).one()


def desk_units(session: Session) -> list[str]:
    """The units with an open item on the desk, by name: what its unit filter offers."""
    on_desk = _open_items_query(session, {}, office=False, columns=(col(Escalation.id),)).where(
        col(Assignment.unit_id) == col(Unit.id)
    )
    query = select(Unit.name).where(
        exists(on_desk.join(Assignment, col(Assignment.id) == col(Escalation.assignment_id)))
    )  # unit by unit, each found at its first item: not every item's unit, then the distinct ones
    return sorted(session.exec(query).all())  # code point order, whatever the database's collation


def office_backlog(session: Session, timezone: str, *, limit: int) -> list[dict[str, Any]]:
    """The office's own open items (reports it has not reviewed), in the desk's order."""
    query = _open_items_query(session, {}, office=True, ordered_in=timezone)
    return _items(session, list(session.exec(query.limit(limit))), timezone)


def all_open_items(session: Session, timezone: str) -> list[dict[str, Any]]:
    """Every open item, the units' and the office's own alike, in the desk's order."""
    query = _open_items_query(session, {}, office=None, ordered_in=timezone)
    return _items(session, list(session.exec(query)), timezone)

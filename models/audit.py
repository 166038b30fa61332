"""The audit trail: append-only, hash-chained events, one per change.

Each event's hash is SHA-256 over a canonical JSON of its fields, the
previous event's hash among them. `audit_head` holds the last sequence
number and hash; writers lock it (SELECT ... FOR UPDATE on PostgreSQL, the
immediate transaction on SQLite), so the chain never forks and sequence
numbers have no gaps. `verify_chain` walks the chain and names the first
record that does not fit.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, TextIO

import orjson
from sqlalchemy import Index
from sqlmodel import Field, Session, SQLModel, col, select
from sqlmodel.sql.expression import SelectOfScalar

from models.clock import utc
from models.db import bulk_insert, table_of
from models.lifecycle import Actor

GENESIS = "0" * 64


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_object", "object_type", "object_id"),)

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = Field(index=True, description="UTC")
    actor: str = Field(max_length=100, index=True)
    action: str = Field(max_length=60, index=True)
    object_type: str = Field(max_length=40)
    object_id: str = Field(max_length=60)
    # No foreign keys: the trail must outlive anything it describes.
    task_id: int | None = Field(default=None, index=True)
    unit_id: int | None = Field(default=None, index=True)
    before: str | None = Field(default=None, description="canonical JSON, hashed as stored")
    after: str | None = None
    reason: str | None = None
    outcome: str = Field(default="ok", max_length=20)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """One row: where the chain ends. Locking it serialises writers of the trail."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = Field(default=GENESIS, max_length=64)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 as is; dates in ISO form (the same bytes as the standard
    library's `json.dumps(sort_keys=True, ensure_ascii=False, separators=(",", ":"))`, much faster:
    BENCHMARKS.md); tests/test_audit_hash.py pins the bytes."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=_iso).decode("utf-8")


def _iso(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON-serialisable in an audit event: {type(value).__name__}")


HASHED_FIELDS = (
    "seq",
    "at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "task_id",
    "unit_id",
    "before",
    "after",
    "reason",
    "outcome",
    "prev_hash",
)


@lru_cache(maxsize=256)
def _utc(at: datetime) -> datetime:
    return utc(at)  # a batch of events shares one moment: convert it once


@lru_cache(maxsize=256)
def _at_text(at: datetime) -> str:
    return utc(at).isoformat(timespec="microseconds")


def _digest(fields: dict[str, Any]) -> str:
    canonical = {name: fields[name] for name in HASHED_FIELDS}
    canonical["at"] = _at_text(fields["at"])
    return hashlib.sha256(canonical_json(canonical).encode("utf-8")).hexdigest()


def event_hash(event: AuditEvent) -> str:
    return _digest({name: getattr(event, name) for name in HASHED_FIELDS})


def _locked_head(session: Session) -> AuditHead:
    return session.exec(
        select(AuditHead)
        .where(AuditHead.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def last_seq(session: Session) -> int:
    """The sequence number of the newest event (0 before the first): it moves with every change,
    so a figure computed from the data may be kept for as long as it stays (web/dashboard.py)."""
    return session.exec(select(AuditHead.seq).where(AuditHead.id == 1)).one_or_none() or 0


def lock(session: Session) -> None:
    """Take the trail's lock before reading what a change depends on (an import compares, then
    writes): a concurrent writer then waits, and what this one reads stays true until it commits."""
    _locked_head(session)


def _fields(
    *,
    at: datetime,
    actor: Actor | str,
    action: str,
    object_type: str,
    object_id: int | str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
    outcome: str = "ok",
    task_id: int | None = None,
    unit_id: int | None = None,
) -> dict[str, Any]:
    return {
        "at": _utc(at),
        "actor": actor.name if isinstance(actor, Actor) else actor,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "task_id": task_id,
        "unit_id": unit_id,
        "before": None if before is None else canonical_json(before),
        "after": None if after is None else canonical_json(after),
        "reason": reason,
        "outcome": outcome,
    }


def record(session: Session, **event: Any) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction (keywords as `_fields`)."""
    head = _locked_head(session)
    fields = _fields(**event) | {"seq": head.seq + 1, "prev_hash": head.hash}
    fields["hash"] = _digest(fields)
    row = AuditEvent(**fields)
    head.seq, head.hash = row.seq, row.hash
    session.add_all([row, head])
    return row


def record_many(session: Session, events: list[dict[str, Any]]) -> int:
    """Append many events with one lock of the head and one bulk insert (imports, rounds)."""
    if not events:
        return 0
    head = _locked_head(session)
    seq, previous = head.seq, head.hash
    rows = []
    for event in events:
        seq += 1
        fields = _fields(**event) | {"seq": seq, "prev_hash": previous}
        fields["hash"] = previous = _digest(fields)
        rows.append(fields)
    bulk_insert(session, table_of(AuditEvent), rows)
    head.seq, head.hash = seq, previous
    session.add(head)
    session.flush()
    return len(rows)


@dataclass(frozen=True)
class ChainReport:
    """What `verify_chain` found."""

    ok: bool
    events: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None
    problem_zh: str | None = None

    def message(self, lang: str = "zh") -> str:
        if self.ok:
            if lang == "zh":
                return f"审计链完整：共 {self.events} 条记录，链头 {self.head_seq}:{self.head_hash}"
            return (
                f"audit chain intact: {self.events} events, head {self.head_seq}:{self.head_hash}"
            )
        if lang == "zh":
            return f"审计链在第 {self.first_bad_seq} 条记录处被破坏：{self.problem_zh}"
        return f"audit chain broken at record {self.first_bad_seq}: {self.problem}"


def _broken(seq: int, en: str, zh: str, events: int, head: AuditHead) -> ChainReport:
    return ChainReport(False, events, head.seq, head.hash, seq, en, zh)


def verify_chain(session: Session, *, anchor: str | None = None) -> ChainReport:
    """Walk the whole chain in order; name the first record that does not fit.

    `anchor` is a head kept outside the database ("SEQ:HASH", as printed by an
    earlier verify): it catches a chain rewritten from some point on with
    fresh hashes, which no walk of the database alone can.
    """
    head = session.exec(select(AuditHead).where(AuditHead.id == 1)).one()
    anchor_seq, anchor_hash = _parse_anchor(anchor) if anchor else (None, None)
    anchor_seen = False
    expected_seq, prev_hash, count = 1, GENESIS, 0
    rows = session.exec(
        select(AuditEvent).order_by(col(AuditEvent.seq)).execution_options(yield_per=2000)
    )
    for event in rows:
        if event.seq != expected_seq:
            if event.seq > expected_seq:
                return _broken(
                    expected_seq,
                    f"record {expected_seq} is missing (next is {event.seq})",
                    f"缺少第 {expected_seq} 条记录（其后为第 {event.seq} 条）",
                    count,
                    head,
                )
            return _broken(event.seq, "sequence out of order", "序号顺序错误", count, head)
        if event.prev_hash != prev_hash:
            return _broken(
                event.seq,
                "does not follow the record before it (previous hash differs)",
                "与前一条记录不衔接（前序哈希不符）",
                count,
                head,
            )
        if event_hash(event) != event.hash:
            return _broken(
                event.seq,
                "content does not match its hash (altered)",
                "内容与哈希不符（已被修改）",
                count,
                head,
            )
        if event.seq > head.seq:
            return _broken(
                event.seq,
                f"lies beyond the chain head {head.seq} (inserted)",
                f"位于链头第 {head.seq} 条之后（被插入）",
                count,
                head,
            )
        if anchor_seq == event.seq:
            if event.hash != anchor_hash:
                return _broken(
                    event.seq,
                    "differs from the anchor kept outside the database",
                    "与库外保存的链头锚点不符",
                    count,
                    head,
                )
            anchor_seen = True
        prev_hash, expected_seq, count = event.hash, expected_seq + 1, count + 1
    if count != head.seq or prev_hash != head.hash:
        return _broken(
            count + 1,
            f"the chain ends at record {count} but its head says {head.seq} (truncated)",
            f"链在第 {count} 条结束，但链头记载为第 {head.seq} 条（被截断）",
            count,
            head,
        )
    if anchor_seq is not None and not anchor_seen:
        return _broken(
            anchor_seq, "the anchored record is missing", "锚点所指记录不存在", count, head
        )
    return ChainReport(True, count, head.seq, head.hash)


def _parse_anchor(anchor: str) -> tuple[int, str]:
    from models.errors import ConfigError

    seq, _, digest = anchor.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise ConfigError(
            detail=f"anchor must be SEQ:SHA256 as printed by 'duban audit verify', got {anchor!r}"
        )
    return int(seq), digest.lower()


@dataclass(frozen=True)
class AuditFilter:
    task_id: int | None = None
    unit_id: int | None = None
    actor: str | None = None
    action: str | None = None  # exact, or a prefix ending in "." ("assignment.")
    since: datetime | None = None
    until: datetime | None = None


def filtered(criteria: AuditFilter) -> SelectOfScalar[AuditEvent]:
    query = select(AuditEvent)
    if criteria.task_id is not None:
        query = query.where(AuditEvent.task_id == criteria.task_id)
    if criteria.unit_id is not None:
        query = query.where(AuditEvent.unit_id == criteria.unit_id)
    if criteria.actor:
        query = query.where(AuditEvent.actor == criteria.actor)
    if criteria.action:
        if criteria.action.endswith("."):
            query = query.where(AuditEvent.action.startswith(criteria.action))
        else:
            query = query.where(AuditEvent.action == criteria.action)
    if criteria.since:
        query = query.where(AuditEvent.at >= utc(criteria.since))
    if criteria.until:
        query = query.where(AuditEvent.at < utc(criteria.until))
    return query.order_by(col(AuditEvent.seq))


def events(session: Session, criteria: AuditFilter) -> Iterator[AuditEvent]:
    yield from session.exec(filtered(criteria).execution_options(yield_per=2000))


def as_row(event: AuditEvent) -> dict[str, Any]:
    """An event as plain data for export (before/after decoded)."""
    row = {name: getattr(event, name) for name in (*HASHED_FIELDS, "hash")}
    row["at"] = utc(event.at).isoformat(timespec="microseconds")
    row["before"] = None if event.before is None else json.loads(event.before)
    row["after"] = None if event.after is None else json.loads(event.after)
    return row


def export(session: Session, criteria: AuditFilter, fmt: str, stream: TextIO) -> int:
    """Write the matching events to `stream` as "csv" or "jsonl"; return how many."""
    count = 0
    if fmt == "jsonl":
        for event in events(session, criteria):
            stream.write(json.dumps(as_row(event), ensure_ascii=False, default=_iso) + "\n")
            count += 1
        return count
    from escaping.cells import (
        neutral_record,  # a spreadsheet opens the CSV: no cell may start a formula
    )

    writer = csv.DictWriter(stream, fieldnames=[*HASHED_FIELDS, "hash"])
    writer.writeheader()
    for event in events(session, criteria):
        # before/after stay the exact canonical JSON that was hashed.
        row = as_row(event) | {"before": event.before or "", "after": event.after or ""}
        writer.writerow(neutral_record(row))
        count += 1
    return count

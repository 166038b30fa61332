"""Audit review for auditors and the office's admin: the trail newest first in pages of fifty,
filtered by who, action, object and date range, each event in words; the chain check; exports
(CSV with a BOM for Excel, JSONL, XLSX) of the filtered trail with Chinese headers."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import Session, col

from escaping.cells import neutral_row
from models.audit import AuditEvent, AuditFilter, filtered, verify_chain
from models.clock import parse_moment
from models.labels import AUDIT_ACTIONS
from web.audit_words import HEADERS, OBJECT_KINDS, in_words
from web.auth import Principal
from web.bounds import ActionName, Actor, Id, InputRefused, SearchText, Word, label
from web.deps import auditing, page, read_session, settings_of
from web.lists import content_disposition, paginate, xlsx_download

router = APIRouter()
EXPORTS = {"csv", "jsonl", "xlsx"}


def _bound(name: str, text: str | None, zone: str, *, end: bool = False) -> datetime | None:
    """A filter's bound in UTC. A day is a day of the office's calendar (an end day included);
    a time typed without a zone is the office's time, as on the CLI."""
    if not text:
        return None
    text = text.strip()
    try:
        if "T" in text or ":" in text:
            return parse_moment(text, timezone=zone)
        day = date.fromisoformat(text)
        return datetime.combine(day + timedelta(days=1) if end else day, time(), ZoneInfo(zone))
    except (ValueError, OverflowError):
        raise InputRefused(
            f"“{name}”应为日期 YYYY-MM-DD（如 2022-09-01）或时间 YYYY-MM-DDTHH:MM，"
            f"收到“{text[:40]}”"
        ) from None


def _criteria(filters: dict[str, str], zone: str) -> tuple[AuditFilter, list]:
    """The trail's filter: days of the office's calendar, both ends included."""
    criteria = AuditFilter(
        actor=filters["actor"] or None,
        action=filters["action"] or None,
        since=_bound(label("since"), filters["since"], zone),
        until=_bound(label("until"), filters["until"], zone, end=True),
    )
    extra = []
    if filters["object_type"]:
        extra.append(AuditEvent.object_type == filters["object_type"])
    if filters["object_id"]:
        extra.append(AuditEvent.object_id == filters["object_id"])
    return criteria, extra


def _query(filters: dict[str, str], zone: str):
    criteria, extra = _criteria(filters, zone)
    return filtered(criteria).where(*extra).order_by(None).order_by(col(AuditEvent.seq).desc())


def _filters(
    actor: str | None,
    action: str | None,
    object_type: str | None,
    object_id: str | None,
    since: str | None,
    until: str | None,
) -> dict[str, str]:
    return {
        "actor": (actor or "").strip(),
        "action": (action or "").strip(),
        "object_type": (object_type or "").strip(),
        "object_id": (object_id or "").strip(),
        "since": (since or "").strip(),
        "until": (until or "").strip(),
    }


def _trail_page(request: Request, me: Principal, session: Session, filters, page_no, chain):
    zone = settings_of(request).timezone
    events, paging = paginate(
        session,
        _query(filters, zone),
        page=page_no,
        path="/audit",
        filters=filters,
        export_path="/audit/export",
    )
    return page(
        request,
        "audit.html.j2",
        me,
        events=[in_words(e, zone) for e in events],
        chain=chain,
        filters=filters,
        paging=paging,
        actions=AUDIT_ACTIONS,
        object_kinds=OBJECT_KINDS,
    )


@router.get("/audit")
def audit_page(
    request: Request,
    actor: Actor | None = None,
    action: ActionName | None = None,
    object_type: Word | None = None,
    object_id: SearchText | None = None,
    since: SearchText | None = None,
    until: SearchText | None = None,
    page_no: Id = 1,
    me: Principal = Depends(auditing),
    session: Session = Depends(read_session),
):
    filters = _filters(actor, action, object_type, object_id, since, until)
    return _trail_page(request, me, session, filters, page_no, None)


@router.get("/audit/verify")
def audit_verify(
    request: Request, me: Principal = Depends(auditing), session: Session = Depends(read_session)
):
    filters = _filters(None, None, None, None, None, None)
    return _trail_page(request, me, session, filters, 1, verify_chain(session))


@router.get("/audit/export")
def audit_export(
    request: Request,
    format: Word = "csv",
    actor: Actor | None = None,
    action: ActionName | None = None,
    object_type: Word | None = None,
    object_id: SearchText | None = None,
    since: SearchText | None = None,
    until: SearchText | None = None,
    me: Principal = Depends(auditing),
    session: Session = Depends(read_session),
):
    if format not in EXPORTS:
        raise InputRefused(f"导出格式“{format[:20]}”无效，应为 csv、jsonl 或 xlsx")
    zone = settings_of(request).timezone
    filters = _filters(actor, action, object_type, object_id, since, until)
    query = _query(filters, zone).execution_options(yield_per=2000)
    rows = (in_words(event, zone).cells() for event in session.exec(query))
    if format == "xlsx":
        return xlsx_download("审计记录.xlsx", HEADERS, rows, sheet="审计记录")
    buffer = io.StringIO()
    if format == "jsonl":
        for cells in rows:
            buffer.write(
                json.dumps(dict(zip(HEADERS, cells, strict=True)), ensure_ascii=False) + "\n"
            )
        body, media = buffer.getvalue().encode("utf-8"), "application/x-ndjson; charset=utf-8"
    else:
        writer = csv.writer(buffer)
        writer.writerow(HEADERS)
        writer.writerows(neutral_row(cells) for cells in rows)
        # The BOM tells Excel the file is UTF-8; without it the Chinese opens as mojibake.
        body, media = buffer.getvalue().encode("utf-8-sig"), "text/csv; charset=utf-8"
    return Response(
        body,
        media_type=media,
        headers={"content-disposition": content_disposition(f"审计记录.{format}")},
    )

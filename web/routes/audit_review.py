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
from models.labels import AUDIT_ACTIONS
from web.audit_words import HEADERS, OBJECT_KINDS, in_words
from web.auth import Principal
from web.bounds import ActionName, Actor, Id, InputRefused, SearchText, Word, label
from web.deps import auditing, page, read_session, settings_of
from web.lists import content_disposition, paginate, xlsx_download

router = APIRouter()
EXPORTS = {"csv", "jsonl", "xlsx"}


def _day(name: str, text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputRefused(
            f"“{name}”应为日期，格式 YYYY-MM-DD（如 2022-09-01），收到“{text[:40]}”"
        ) from None


def _criteria(filters: dict[str, str], zone: str) -> tuple[AuditFilter, list]:
    """The trail's filter: dates are days of the office's calendar, both ends included."""
    since = _day(label("since"), filters["since"])
    until = _day(label("until"), filters["until"])
    tz = ZoneInfo(zone)
    criteria = AuditFilter(
        actor=filters["actor"] or None,
        action=filters["action"] or None,
        since=datetime.combine(since, time(), tz) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(), tz) if until else None,
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

"""Audit review for auditors and the office's admin: filter, page through (newest first), verify the
chain, export."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import func
from sqlmodel import Session, col, select

from models.audit import AuditEvent, AuditFilter, export, filtered, verify_chain
from models.clock import parse_moment
from web.auth import Principal
from web.bounds import ActionName, Actor, Id, InputRefused, SearchText, label
from web.deps import auditing, page, read_session, settings_of

router = APIRouter()
PER_PAGE = 100


def _moment(name: str, text: str | None, timezone: str) -> datetime | None:
    """A filter's bound in UTC; typed without a zone it is the office's time, as on the CLI."""
    if not text:
        return None
    try:
        return parse_moment(text, timezone=timezone)
    except (ValueError, OverflowError):
        raise InputRefused(
            f"“{label(name)}”应为 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM（可带时区），且在公元 1 至 "
            "9999 年之间"
            f" / {name}: a date or ISO date-time within years 1..9999"
        ) from None


def _criteria(
    request: Request, actor: str | None, action: str | None, since: str | None, until: str | None
) -> AuditFilter:
    timezone = settings_of(request).timezone
    return AuditFilter(
        actor=actor or None,
        action=action or None,
        since=_moment("since", since, timezone),
        until=_moment("until", until, timezone),
    )


@dataclass(frozen=True)
class Paging:
    page: int
    pages: int
    total: int
    previous: str | None  # the links keep the filters
    next: str | None


def _link(filters: dict[str, str], page_no: int) -> str:
    return "/audit?" + urlencode({**{k: v for k, v in filters.items() if v}, "page_no": page_no})


@router.get("/audit")
def audit_page(
    request: Request,
    actor: Actor | None = None,
    action: ActionName | None = None,
    since: SearchText | None = None,
    until: SearchText | None = None,
    page_no: Id = 1,
    me: Principal = Depends(auditing),
    session: Session = Depends(read_session),
):
    criteria = _criteria(request, actor, action, since, until)
    query = filtered(criteria).order_by(None)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    events = session.exec(
        query.order_by(col(AuditEvent.seq).desc()).offset((page_no - 1) * PER_PAGE).limit(PER_PAGE)
    ).all()
    filters = {
        "actor": actor or "",
        "action": action or "",
        "since": since or "",
        "until": until or "",
    }
    pages = max(1, -(-total // PER_PAGE))
    paging = Paging(
        page_no,
        pages,
        total,
        _link(filters, page_no - 1) if page_no > 1 else None,
        _link(filters, page_no + 1) if page_no < pages else None,
    )
    return page(
        request, "audit.html.j2", me, events=events, chain=None, filters=filters, paging=paging
    )


@router.get("/audit/verify")
def audit_verify(
    request: Request, me: Principal = Depends(auditing), session: Session = Depends(read_session)
):
    return page(
        request,
        "audit.html.j2",
        me,
        events=[],
        chain=verify_chain(session),
        paging=None,
        filters={"actor": "", "action": "", "since": "", "until": ""},
    )


@router.get("/audit/export")
def audit_export(
    request: Request,
    actor: Actor | None = None,
    action: ActionName | None = None,
    since: SearchText | None = None,
    until: SearchText | None = None,
    me: Principal = Depends(auditing),
    session: Session = Depends(read_session),
):
    buffer = io.StringIO()
    export(session, _criteria(request, actor, action, since, until), "csv", buffer)
    return Response(
        buffer.getvalue().encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="audit.csv"'},
    )

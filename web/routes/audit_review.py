"""Audit review for auditors and the office's admin: filter, verify the chain, export."""

from __future__ import annotations

import io
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlmodel import Session

from models.audit import AuditFilter, export, filtered, verify_chain
from web.auth import Principal
from web.deps import auditing, page, read_session

router = APIRouter()


def _criteria(actor: str | None, action: str | None, since: str | None, until: str | None) -> AuditFilter:
    def moment(text: str | None) -> datetime | None:
        try:
            return datetime.fromisoformat(text) if text else None
        except ValueError:
            return None
    return AuditFilter(actor=actor or None, action=action or None, since=moment(since), until=moment(until))


@router.get("/audit")
def audit_page(request: Request, actor: str | None = None, action: str | None = None, since: str | None = None,
               until: str | None = None, me: Principal = Depends(auditing), session: Session = Depends(read_session)):  # noqa: ANN201
    criteria = _criteria(actor, action, since, until)
    events = session.exec(filtered(criteria).limit(500)).all()
    return page(request, "audit.html.j2", me, events=events, chain=None,
                filters={"actor": actor or "", "action": action or "", "since": since or "", "until": until or ""})


@router.get("/audit/verify")
def audit_verify(request: Request, me: Principal = Depends(auditing), session: Session = Depends(read_session)):  # noqa: ANN201
    return page(request, "audit.html.j2", me, events=[], chain=verify_chain(session),
                filters={"actor": "", "action": "", "since": "", "until": ""})


@router.get("/audit/export")
def audit_export(actor: str | None = None, action: str | None = None, since: str | None = None,
                 until: str | None = None, me: Principal = Depends(auditing), session: Session = Depends(read_session)):  # noqa: ANN201
    buffer = io.StringIO()
    export(session, _criteria(actor, action, since, until), "csv", buffer)
    return Response(buffer.getvalue().encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": 'attachment; filename="audit.csv"'})

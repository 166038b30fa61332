"""Who may get in: the office's view of login throttles (and clearing one), and API tokens (listing,
revoking).

Throttles are the office administrator's: an address the office knows to be its own NAT can be
set free at once, on the audit trail. Every signed-in user sees and revokes their own API
tokens here; the office administrator sees and revokes everyone's.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from models import audit
from models.clock import utc, utc_now
from models.db import unit_of_work
from models.lifecycle import Role
from web import throttle
from web.auth import Principal, live_tokens, revoke_token
from web.bounds import Id
from web.deps import engine_of, form_of, page, read_session, require, settings_of, signed_in

router = APIRouter()
office_admin = require(Role.OFFICE_ADMIN)


def _local(request: Request, moment: datetime | None) -> str:
    """Beijing time (the office's zone), as people read it."""
    if moment is None:
        return "—"
    return (
        utc(moment)
        .astimezone(ZoneInfo(settings_of(request).timezone))
        .strftime("%Y-%m-%d %H:%M:%S")
    )


@router.get("/throttles")
def throttles(
    request: Request,
    me: Principal = Depends(office_admin),
    session: Session = Depends(read_session),
) -> Response:
    now = utc_now()
    rows = [
        {
            "id": r.id,
            "scope": throttle.SCOPE_ZH[r.scope],
            "username": r.username,
            "ip": r.ip or "—",
            "failures": r.failures,
            "last": _local(request, r.last_failure_at),
            "waiting": r.blocked_until is not None and utc(r.blocked_until) > now,
            "until": _local(request, r.blocked_until),
        }
        for r in throttle.current(session, now=now)
    ]
    return page(request, "throttles.html.j2", me, rows=rows)


@router.post("/throttles/{throttle_id}/clear")
def throttle_clear(
    request: Request, throttle_id: Id, me: Principal = Depends(office_admin)
) -> Response:
    form_of(request, me)
    with unit_of_work(engine_of(request)) as session:
        cleared = throttle.clear(session, throttle_id)
        audit.record(
            session,
            at=utc_now(),
            actor=me.actor,
            action="login.throttle.clear",
            object_type="login_throttle",
            object_id=throttle_id,
            before={
                "scope": cleared.scope,
                "username": cleared.username,
                "ip": cleared.ip,
                "failures": cleared.failures,
            },
        )
    return RedirectResponse("/throttles", status_code=303)


@router.get("/tokens")
def tokens(
    request: Request, me: Principal = Depends(signed_in), session: Session = Depends(read_session)
) -> Response:
    everyone = me.role == Role.OFFICE_ADMIN
    found = live_tokens(
        session,
        settings=settings_of(request),
        now=utc_now(),
        user_id=None if everyone else me.user_id,
    )
    rows = [
        {
            "id": t.id,
            "username": t.username,
            "created": _local(request, t.created_at),
            "expires": _local(request, t.expires_at),
            "ip": t.ip or "—",
        }
        for t in found
    ]
    return page(request, "tokens.html.j2", me, rows=rows, everyone=everyone)


@router.post("/tokens/{token_id}/revoke")
def token_revoke(request: Request, token_id: Id, me: Principal = Depends(signed_in)) -> Response:
    form_of(request, me)
    with unit_of_work(engine_of(request)) as session:
        revoke_token(session, token_id, by=me, now=utc_now())
    return RedirectResponse("/tokens", status_code=303)

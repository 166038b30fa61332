"""What every route shares: the engine, the principal, role checks, CSRF-checked forms, refusals on
the trail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio.from_thread
from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

from escaping.templates import environment
from models import audit
from models.clock import utc_now
from models.db import reading, unit_of_work
from models.labels import USER_ROLES, label
from models.lifecycle import OFFICE, Role
from models.unit import Unit
from web import labels as web_labels
from web.auth import Principal, csrf_ok, principal_for, token_from
from web.bounds import check_form, storable
from web.paths import TEMPLATES

# Starlette's own environment escapes only .html/.htm/.xml names; ours escapes every HTML template.
templates = Jinja2Templates(env=environment(TEMPLATES))
web_labels.install(templates.env)


class SignInRequired(Exception):
    """No live session: a page redirects to the login (keeping the deep link), the API answers
    401."""


def settings_of(request: Request):
    return request.app.state.settings


def engine_of(request: Request):
    return request.app.state.engine


def client_ip(request: Request) -> str | None:
    """The caller's address: the peer's, or what a trusted proxy forwarded (web/proxies.py).

    Clipped to the column: a forged X-Forwarded-For can be any length."""
    return request.client.host[:64] if request.client else None


def current(request: Request) -> Principal | None:
    found = token_from(request)
    if found is None:
        return None
    token, kind = found
    # A read; a write (last_seen_at) only when the session was last seen over a minute ago, so that
    # requests do not queue for SQLite's write lock.
    with reading(engine_of(request)) as session:
        principal = principal_for(
            session, token, kind=kind, settings=settings_of(request), touch=False
        )
    if principal is not None and principal.stale:
        with unit_of_work(engine_of(request)) as session:
            principal = principal_for(session, token, kind=kind, settings=settings_of(request))
    return principal


def signed_in(request: Request) -> Principal:
    principal = current(request)
    if principal is None:
        raise SignInRequired()
    request.state.principal = principal
    return principal


class Refused(HTTPException):
    """A refusal, recorded on the audit trail by the app's handler once the route's own transaction
    is over (recording it inside would wait on that transaction's write lock)."""

    def __init__(
        self, principal: Principal, *, status: int, object_type: str, object_id: Any, why: str
    ) -> None:
        super().__init__(
            status_code=status,
            detail="未找到 / not found" if status == 404 else "无权访问 / forbidden",
        )
        self.principal, self.object_type, self.object_id, self.why = (
            principal,
            object_type,
            str(object_id),
            why,
        )


def refuse(
    principal: Principal, *, status: int, object_type: str, object_id: Any, why: str
) -> Refused:
    """The error to raise for a caller who may not see or do this (404 hides what exists)."""
    return Refused(principal, status=status, object_type=object_type, object_id=object_id, why=why)


def other_units(session: Session, owner_id: int | None, caller_id: int | None) -> str:
    """Why a unit may not see another unit's item, in the auditor's words: both units by name."""

    def name(unit_id: int | None) -> str:
        unit = session.get(Unit, unit_id) if unit_id is not None else None
        return unit.name if unit is not None else "—"

    return f"属于{name(owner_id)}，访问者属于{name(caller_id)}"


# A request's method as the trail says it: reading a page or submitting a form.
METHODS = {
    "GET": "查看",
    "HEAD": "查看",
    "POST": "提交",
    "PUT": "修改",
    "PATCH": "修改",
    "DELETE": "删除",
}


def record_refusal(request: Request, refused: Refused) -> None:
    # The path is the caller's text: NUL shown as \0 (PostgreSQL stores no NUL), the id clipped to
    # its column.
    with unit_of_work(engine_of(request)) as session:
        audit.record(
            session,
            at=utc_now(),
            actor=refused.principal.actor,
            action="access.refused",
            object_type=refused.object_type,
            object_id=storable(refused.object_id)[:60],
            unit_id=refused.principal.unit_id,
            outcome="refused",
            reason=storable(
                f"{METHODS.get(request.method, request.method)} {request.url.path}：{refused.why}"
            ),
        )


def record_conflict(request: Request, why: str) -> None:
    """A change the domain refused (409: not allowed in this state, changed meanwhile): one event on
    the trail, written after the route's own transaction rolled back."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        return
    with unit_of_work(engine_of(request)) as session:
        audit.record(
            session,
            at=utc_now(),
            actor=principal.actor,
            action="action.refused",
            object_type="route",
            object_id=storable(request.url.path)[:60],
            unit_id=principal.unit_id,
            outcome="refused",
            reason=storable(
                f"{METHODS.get(request.method, request.method)} {request.url.path}：{why}"
            )[:1000],
        )


def require(*roles: Role):
    allowed = frozenset(roles)

    def check(request: Request, principal: Principal = Depends(signed_in)) -> Principal:
        if principal.role not in allowed:
            raise refuse(
                principal,
                status=403,
                object_type="route",
                object_id=request.url.path,
                why=f"{label(USER_ROLES, principal.role)}无权访问此页面",
            )
        return principal

    return check


office_only = require(*OFFICE)
office_or_leader = require(*OFFICE, Role.LEADER)
office_or_unit = require(*OFFICE, Role.UNIT)
auditing = require(Role.OFFICE_ADMIN, Role.AUDITOR)


def form_of(request: Request, principal: Principal) -> Any:
    """The submitted form, once its text fields are checked (422) and its CSRF token (403, on the
    trail).

    Called from plain `def` routes, which FastAPI runs in its thread pool: the body is read on the
    event loop (where Starlette reads it), everything after it (argon2, the database, files) stays
    off the loop, so one slow request never stalls the others."""
    form = anyio.from_thread.run(request.form)
    request.state.typed = (
        form  # what the person typed, shown again if the database is busy (web/errors.py)
    )
    check_form(form)
    if not csrf_ok(principal, form.get("csrf")):
        raise refuse(
            principal,
            status=403,
            object_type="route",
            object_id=request.url.path,
            why="表单校验码缺失或不符",
        )
    return form


def read_session(request: Request) -> Iterator[Session]:
    with reading(engine_of(request)) as session:
        yield session


def _review_waiting(request: Request) -> int:
    """The count beside 审核 in the office's menu, kept with the dashboard's figures until the
    trail moves (an index count, but every office page shows it)."""
    from models.checkins import awaiting_review

    with reading(engine_of(request)) as session:
        return request.app.state.figures.get(
            session, ("awaiting_review",), lambda: awaiting_review(session)
        )


def page(
    request: Request, name: str, principal: Principal | None, status: int = 200, **context: Any
):
    from web.flash import cleared, take_notice

    notice = take_notice(request)  # what the last action did ("已签收"), shown once (web/flash.py)
    office = principal is not None and principal.role in OFFICE
    badges = {"review_waiting": _review_waiting(request)} if office else {}
    response = templates.TemplateResponse(
        request,
        name,
        {"me": principal, "notice": notice, **badges, **context},
        status_code=status,
    )
    return cleared(response) if notice is not None else response

"""Logging in and out, and the home page that sends each role where it works."""

from __future__ import annotations

from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from models import audit
from models.clock import utc_now
from models.db import unit_of_work
from models.lifecycle import OFFICE, Role
from models.users import check_login
from web.auth import COOKIE, Principal, clear_failures, end_session, note_failure, start_session, throttled
from web.bounds import check_form
from web.deps import client_ip, current, engine_of, form_of, page, settings_of, signed_in

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a path on this site: a login link must not bounce anyone elsewhere."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login")
def login_form(request: Request, next: str | None = None):  # noqa: A002, ANN201
    return page(request, "login.html.j2", None, next=_safe_next(next), error=None)


@router.post("/login")
async def login(request: Request):  # noqa: ANN201
    form = await request.form()
    check_form(form)  # a NUL or an over-long name never reaches the database
    username, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "")))
    now, ip = utc_now(), client_ip(request)
    with unit_of_work(engine_of(request)) as session:
        if throttled(session, username, ip, settings=settings_of(request), now=now):
            return page(request, "login.html.j2", None, status=429, next=target,
                        error="登录失败次数过多，请稍后再试 / too many failed logins, try again later")
        user = check_login(session, username, password)
        if user is None:
            note_failure(session, username, ip, now)
            audit.record(session, at=now, actor=username[:100] or "?", action="login.failed", object_type="user",
                         object_id=username[:60] or "?", outcome="refused", reason=ip)
            failed = True
        else:
            failed = False
            clear_failures(session, username)
            old = request.cookies.get(COOKIE)
            if old:
                end_session(session, old, now)  # a new id at every login: no fixation
            token = start_session(session, user, kind="browser", ip=ip, now=now)
            audit.record(session, at=now, actor=user.username, action="login", object_type="user", object_id=user.id,
                         unit_id=user.unit_id, reason=ip)
    if failed:
        return page(request, "login.html.j2", None, status=401, next=target,
                    error="用户名或密码错误 / wrong user name or password")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", path="/",
                        secure=request.url.scheme == "https" or settings_of(request).portal_url.startswith("https"))
    return response


@router.post("/logout")
async def logout(request: Request, me: Principal = Depends(signed_in)):  # noqa: ANN201
    await form_of(request, me)
    with unit_of_work(engine_of(request)) as session:
        end_session(session, request.cookies.get(COOKIE, ""), utc_now())
        audit.record(session, at=utc_now(), actor=me.actor, action="logout", object_type="user", object_id=me.user_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/")
def home(request: Request):  # noqa: ANN201
    me = current(request)
    if me is None:
        return RedirectResponse("/login", status_code=303)
    if me.role in OFFICE or me.role == Role.LEADER:
        return RedirectResponse("/dashboard", status_code=303)
    if me.role == Role.UNIT:
        return RedirectResponse("/inbox", status_code=303)
    return RedirectResponse("/audit", status_code=303)

"""Logging in and out, and the home page that sends each role where it works.

The login form carries a pre-session CSRF token (web/auth.py); attempts are throttled
(web/throttle.py), a running wait answered 429 with Retry-After.
"""

from __future__ import annotations

from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from models import audit
from models.clock import utc_now
from models.db import unit_of_work
from models.lifecycle import OFFICE, Role
from web.auth import (
    COOKIE,
    LOGIN_COOKIE,
    Principal,
    end_session,
    login_token,
    login_token_ok,
    sign_in,
)
from web.deps import client_ip, current, engine_of, form_of, page, settings_of, signed_in

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only a path on this site: a login link must not bounce anyone elsewhere."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    # Browsers read "/\\evil.example" as "//evil.example" and drop tabs and newlines from a URL
    # ("/\t/evil.example"): either would leave the site.
    if any(ch in target for ch in "\\\t\n\r"):
        return "/"
    return target


def _login_page(
    request: Request,
    *,
    target: str,
    status: int = 200,
    error: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The login form with its pre-session CSRF token, in the form and in a cookie (see
    web/auth.py)."""
    secret = settings_of(request).secret_key.get_secret_value()
    token = login_token(secret, request.cookies.get(LOGIN_COOKIE))
    response = page(
        request, "login.html.j2", None, status=status, next=target, error=error, login_csrf=token
    )
    response.set_cookie(
        LOGIN_COOKIE, token, httponly=True, samesite="lax", path="/", secure=_secure(request)
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or settings_of(request).portal_url.startswith("https")


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, target=_safe_next(next))


@router.post("/login")
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form(""),
    csrf: str = Form(""),
) -> Response:
    # A name with NUL or over 100 characters is a wrong login like any other (sign_in), so it is
    # throttled and audited rather than answered 422.
    settings = settings_of(request)
    target = _safe_next(next)
    if not login_token_ok(
        settings.secret_key.get_secret_value(), request.cookies.get(LOGIN_COOKIE), csrf
    ):
        return _login_page(
            request,
            target=target,
            status=403,
            error="登录页已失效，请重新输入用户名和密码 / the login form expired: please sign in "
            "again",
        )
    outcome = sign_in(
        engine_of(request),
        username,
        password,
        kind="browser",
        ip=client_ip(request),
        settings=settings,
        now=utc_now(),
        replaces=request.cookies.get(COOKIE),
    )
    refused = outcome.refusal(utc_now())
    if refused is not None:
        return _login_page(
            request,
            target=target,
            status=refused.status,
            headers=refused.headers,
            error=refused.message,
        )
    assert outcome.token is not None  # refusal() is None only when the attempt got a token
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE, outcome.token, httponly=True, samesite="lax", path="/", secure=_secure(request)
    )
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, me: Principal = Depends(signed_in)) -> Response:
    """Ends this browser's session; API tokens live on until they expire or are revoked
    (/tokens)."""
    form_of(request, me)
    with unit_of_work(engine_of(request)) as session:
        end_session(session, request.cookies.get(COOKIE, ""), utc_now())
        audit.record(
            session,
            at=utc_now(),
            actor=me.actor,
            action="logout",
            object_type="user",
            object_id=me.user_id,
        )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/")
def home(request: Request):
    me = current(request)
    if me is None:
        return RedirectResponse("/login", status_code=303)
    if me.role in OFFICE or me.role == Role.LEADER:
        return RedirectResponse("/dashboard", status_code=303)
    if me.role == Role.UNIT:
        return RedirectResponse("/inbox", status_code=303)
    return RedirectResponse("/audit", status_code=303)

"""Who is asking: server-side sessions (browser cookie or API bearer token), CSRF, login throttling.

Only the SHA-256 of a session token is stored, so a copy of the database
does not log anyone in. A browser session ends after `session_idle_minutes`
without a request or `session_max_hours` after login, at logout, and when
the password changes; login always issues a new token (no fixation).
Forms carry the session's synchronizer token (OWASP's pattern): a
double-submit cookie library was tried and dropped, because it is not bound
to the session and its body parser breaks on URL-encoded values.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Request
from sqlalchemy import func
from sqlmodel import Session, col, select

from models.clock import utc, utc_now
from models.lifecycle import OFFICE, Actor, Role
from models.user import LoginFailure, User, WebSession

COOKIE = "duban_session"
LAST_SEEN_EVERY = timedelta(seconds=60)  # refresh last_seen_at at most once a minute: reads stay reads


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: Role
    unit_id: int | None
    session_id: int
    csrf_token: str
    via: str  # cookie | bearer
    stale: bool = False  # last seen over a minute ago: the idle clock needs moving on

    @property
    def actor(self) -> Actor:
        return Actor(name=self.username, role=self.role, unit_id=self.unit_id)

    @property
    def is_office(self) -> bool:
        return self.role in OFFICE


def digest(token: str) -> str:
    # Any text may arrive in a cookie or header; a non-ASCII one simply matches no session.
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def start_session(session: Session, user: User, *, kind: str, ip: str | None, now: datetime) -> str:
    """A new session for the user; returns the token (only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=digest(token), kind=kind, user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                           created_at=utc(now), last_seen_at=utc(now), ip=ip))
    return token


def end_session(session: Session, token: str, now: datetime) -> None:
    found = session.exec(select(WebSession).where(WebSession.token_hash == digest(token))).first()
    if found is not None and found.ended_at is None:
        found.ended_at = utc(now)
        session.add(found)


def principal_for(session: Session, token: str, *, kind: str, settings, now: datetime | None = None,  # noqa: ANN001
                  touch: bool = True) -> Principal | None:
    """The principal of a live session with this token, or None (unknown, ended, idle or too old);
    `touch` moves the idle clock on (at most once a minute)."""
    now = utc(now or utc_now())
    row = session.exec(select(WebSession, User).join(User, col(User.id) == col(WebSession.user_id))
                       .where(WebSession.token_hash == digest(token), WebSession.kind == kind)).first()
    if row is None:
        return None
    web_session, user = row
    if web_session.ended_at is not None or user.disabled:
        return None
    if kind == "api":
        if now - utc(web_session.created_at) > timedelta(hours=settings.api_token_hours):
            return None
    elif (now - utc(web_session.last_seen_at) > timedelta(minutes=settings.session_idle_minutes)
          or now - utc(web_session.created_at) > timedelta(hours=settings.session_max_hours)):
        return None
    if touch and now - utc(web_session.last_seen_at) > LAST_SEEN_EVERY:
        web_session.last_seen_at = now
        session.add(web_session)
    return Principal(user.id, user.username, Role(user.role), user.unit_id, web_session.id, web_session.csrf_token,
                     "bearer" if kind == "api" else "cookie", stale=now - utc(web_session.last_seen_at) > LAST_SEEN_EVERY)


def token_from(request: Request) -> tuple[str, str] | None:
    """(token, kind) from the Authorization header (api) or the session cookie (browser)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), "api"
    cookie = request.cookies.get(COOKIE)
    return (cookie, "browser") if cookie else None


def csrf_ok(principal: Principal, submitted: str | None) -> bool:
    if principal.via == "bearer":
        return True  # a bearer token is never sent by a browser on its own: nothing to forge
    return bool(submitted) and secrets.compare_digest(submitted, principal.csrf_token)


def throttled(session: Session, username: str, ip: str | None, *, settings, now: datetime) -> bool:  # noqa: ANN001
    """Too many recent failures for this name, or (five times as many) from this address."""
    since = utc(now) - timedelta(minutes=settings.login_window_minutes)
    by_name = session.exec(select(func.count()).select_from(LoginFailure)
                           .where(LoginFailure.username == username, LoginFailure.at > since)).one()
    by_ip = session.exec(select(func.count()).select_from(LoginFailure)
                         .where(LoginFailure.ip == ip, LoginFailure.at > since)).one() if ip else 0
    return by_name >= settings.login_max_failures or by_ip >= 5 * settings.login_max_failures


def note_failure(session: Session, username: str, ip: str | None, now: datetime) -> None:
    session.add(LoginFailure(username=username[:100], ip=ip, at=utc(now)))


def clear_failures(session: Session, username: str) -> None:
    from sqlalchemy import delete

    session.execute(delete(LoginFailure).where(LoginFailure.username == username))

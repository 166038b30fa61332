"""Who is asking: server-side sessions (browser cookie or API bearer token), CSRF, login throttling.

Only the SHA-256 of a session token is stored, so a copy of the database
does not log anyone in. A browser session ends after `session_idle_minutes`
without a request or `session_max_hours` after login, at logout, and when
the password changes; login always issues a new token (no fixation).
Forms carry the session's synchronizer token (OWASP's pattern): a
double-submit cookie library was tried and dropped, because it is not bound
to the session and its body parser breaks on URL-encoded values. The login
form comes before any session, so it carries a signed double-submit token
instead (a random value and its HMAC under the secret key, in a cookie and in
the form): a page elsewhere can neither read the cookie nor forge the pair,
so it cannot sign a browser in as someone else.

API bearer tokens live `api_token_hours`; their user and the office can
revoke them; a new password or a disabled account ends them; logging out of
the portal does not (a token is not tied to a browser).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Request
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from models import audit
from models.clock import utc, utc_now
from models.db import reading, unit_of_work
from models.errors import NotFound
from models.labels import local_time
from models.lifecycle import OFFICE, Actor, Role
from models.user import User, WebSession
from web import throttle

COOKIE = "duban_session"
LOGIN_COOKIE = "duban_login"  # the login form's double-submit token, before there is a session
LAST_SEEN_EVERY = timedelta(
    seconds=60
)  # refresh last_seen_at at most once a minute: reads stay reads


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
    display_name: str | None = None  # 姓名, as the header greets the person

    @property
    def shown_name(self) -> str:
        """The person as the header names them: their name, else their username."""
        return self.display_name or self.username

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
    session.add(
        WebSession(
            token_hash=digest(token),
            kind=kind,
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=utc(now),
            last_seen_at=utc(now),
            ip=ip,
        )
    )
    return token


def end_session(session: Session, token: str, now: datetime) -> None:
    found = session.exec(select(WebSession).where(WebSession.token_hash == digest(token))).first()
    if found is not None and found.ended_at is None:
        found.ended_at = utc(now)
        session.add(found)


def principal_for(
    session: Session,
    token: str,
    *,
    kind: str,
    settings,
    now: datetime | None = None,
    touch: bool = True,
) -> Principal | None:
    """The principal of a live session with this token, or None (unknown, ended, idle or too old);
    `touch` moves the idle clock on (at most once a minute)."""
    now = utc(now or utc_now())
    row = session.exec(
        select(WebSession, User)
        .join(User, col(User.id) == col(WebSession.user_id))
        .where(WebSession.token_hash == digest(token), WebSession.kind == kind)
    ).first()
    if row is None:
        return None
    web_session, user = row
    if web_session.ended_at is not None or user.disabled:
        return None
    if kind == "api":
        if now - utc(web_session.created_at) > timedelta(hours=settings.api_token_hours):
            return None
    elif now - utc(web_session.last_seen_at) > timedelta(
        minutes=settings.session_idle_minutes
    ) or now - utc(web_session.created_at) > timedelta(hours=settings.session_max_hours):
        return None
    if touch and now - utc(web_session.last_seen_at) > LAST_SEEN_EVERY:
        web_session.last_seen_at = now
        session.add(web_session)
    return Principal(
        user.id,
        user.username,
        Role(user.role),
        user.unit_id,
        web_session.id,
        web_session.csrf_token,
        "bearer" if kind == "api" else "cookie",
        stale=now - utc(web_session.last_seen_at) > LAST_SEEN_EVERY,
        display_name=user.display_name,
    )


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


def login_token(secret: str, cookie: str | None) -> str:
    """The login form's token: the browser's own if it is still valid, else a new signed one."""
    if cookie and _signed(secret, cookie):
        return cookie
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_signature(secret, nonce)}"


def login_token_ok(secret: str, cookie: str | None, submitted: str | None) -> bool:
    """The form echoes the cookie, and the cookie is one this portal signed."""
    if not cookie or not submitted:
        return False
    return secrets.compare_digest(cookie.encode(), submitted.encode()) and _signed(secret, cookie)


def _signature(secret: str, nonce: str) -> str:
    return hmac.new(secret.encode(), f"login:{nonce}".encode(), hashlib.sha256).hexdigest()


def _signed(secret: str, token: str) -> bool:
    nonce, _, signature = token.partition(".")
    return bool(nonce) and secrets.compare_digest(
        signature.encode(), _signature(secret, nonce).encode()
    )


@dataclass(frozen=True)
class SignIn:
    """What a login attempt came to: a token, a running wait (429), or neither (wrong name or
    password)."""

    token: str | None = None
    wait: throttle.Wait | None = None
    user: Actor | None = None

    def refusal(self, now: datetime) -> Refusal | None:
        """How the login page and the API answer an attempt that got no token: 429 with Retry-After
        while a wait runs, else 401; None when it got one."""
        if self.wait is not None:
            seconds = self.wait.retry_after(now)
            return Refusal(
                429,
                f"登录失败次数过多，请 {seconds} 秒后再试 / too many failed logins: try again in "
                f"{seconds} s",
                {"Retry-After": str(seconds)},
            )
        if self.token is None:
            return Refusal(401, "用户名或密码错误 / wrong user name or password", {})
        return None


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str  # Chinese first
    headers: dict[str, str]


def sign_in(
    engine: Engine,
    username: str,
    password: str,
    *,
    kind: str,
    ip: str | None,
    settings,
    now: datetime,
    replaces: str | None = None,
) -> SignIn:
    """Check a login against the throttles and the password; count, audit and issue a token in one
    transaction.

    The password is checked outside the write transaction (argon2 takes tens of milliseconds, and
    SQLite has one writer), and not at all while a wait runs.
    """
    via = "网页" if kind == "browser" else "接口"
    username = username.strip()  # as typed into a form or a script: the same name either way
    with reading(engine) as session:
        wait = throttle.waiting(session, username, ip, now=now)
    if wait is not None:
        with unit_of_work(engine) as session:
            if throttle.claim_notice(
                session, wait
            ):  # once per wait: an attacker cannot flood the trail
                audit.record(
                    session,
                    at=now,
                    actor=throttle.key_name(username) or "?",
                    action="login.throttled",
                    object_type="login_throttle",
                    object_id=wait.throttle_id,
                    outcome="refused",
                    reason=f"{via}登录过于频繁（按{throttle.SCOPE_ZH[wait.scope]}限制），来自 "
                    f"{wait.ip}，须等待至 {local_time(wait.until, settings.timezone, 'second')}",
                )
        return SignIn(wait=wait)
    user = _checked(engine, username, password)
    with unit_of_work(engine) as session:
        if user is None:
            throttle.note_failure(session, username, ip, settings=settings, now=now)
            audit.record(
                session,
                at=now,
                actor=throttle.key_name(username) or "?",
                action="login.failed",
                object_type="user",
                object_id=throttle.key_name(username)[:60] or "?",
                outcome="refused",
                reason=f"{via}登录，来自 {ip}",
            )
            return SignIn()
        throttle.forget_pair(session, username, ip)
        from models.users import rehash_if_outdated

        rehash_if_outdated(session, user.id, password)
        if replaces:
            end_session(session, replaces, now)  # a new id at every login: no fixation
        token = start_session(session, user, kind=kind, ip=ip, now=now)
        audit.record(
            session,
            at=now,
            actor=user.username,
            action="login" if kind == "browser" else "token.issue",
            object_type="user",
            object_id=user.id,
            unit_id=user.unit_id,
            reason=f"{via}登录，来自 {ip}",
        )
    return SignIn(token=token, user=user.as_actor())


def _checked(engine: Engine, username: str, password: str) -> User | None:
    from models.users import check_login, hasher

    if "\x00" in username or len(username) > 100:  # no such user can exist; PostgreSQL refuses NUL
        hasher().hash(password)  # the same work as a real check
        return None
    with reading(engine) as session:
        return check_login(session, username, password)


def live_tokens(session: Session, *, settings, now: datetime, user_id: int | None = None) -> list:
    """Unrevoked, unexpired API tokens, newest first: one user's, or everyone's (user_id None)."""
    from models.users import live_api_tokens

    return live_api_tokens(
        session, lifetime_hours=settings.api_token_hours, now=now, user_id=user_id
    )


def revoke_token(session: Session, token_id: int, *, by: Principal, now: datetime) -> WebSession:
    """End one API token: its own user may, and the office administrator may end anyone's."""
    row = session.get(WebSession, token_id)
    if (
        row is None
        or row.kind != "api"
        or (row.user_id != by.user_id and by.role != Role.OFFICE_ADMIN)
    ):
        raise NotFound(
            kind="API token", kind_zh="访问令牌", key=str(token_id)
        )  # another's token: as if absent
    if row.ended_at is None:
        row.ended_at = utc(now)
        session.add(row)
        audit.record(
            session,
            at=now,
            actor=by.actor,
            action="token.revoke",
            object_type="web_session",
            object_id=row.id,
            unit_id=by.unit_id,
            before={"user_id": row.user_id},
        )
    return row

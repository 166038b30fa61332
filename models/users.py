"""People who log in to the portal: adding them, passwords (argon2id), disabling, checking a login.

A unit user belongs to exactly one unit and sees only its assignments; every
other role belongs to no unit. Passwords are hashed with argon2-cffi's
defaults (argon2id) and rehashed on login when those defaults change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlmodel import Session, col, select

from models import audit
from models.clock import utc
from models.db import id_of
from models.errors import DubanError, NotFound
from models.lifecycle import Actor, Role
from models.user import User

MIN_PASSWORD = 10
PORTAL_ROLES = (Role.OFFICE_ADMIN, Role.OFFICE_STAFF, Role.UNIT, Role.LEADER, Role.AUDITOR)


class UserRefused(DubanError):
    exit_code = 2
    zh = "无法设置用户“{username}”：{why_zh}"
    en = "cannot set up user {username}: {why}"


class BoundedHasher:
    """argon2's PasswordHasher, at most `slots` hashes at once in this process.

    Each argon2id hash takes 64 MiB and a core for tens of milliseconds: twenty failed logins at
    once would take 1.3 GB and every core, and the portal's event loop would wait its turn for a
    CPU (BENCHMARKS.md, figures behind the code). Logins beyond the slots wait for one, asleep;
    everything else goes on (bench/portal.py, the login storm).
    """

    def __init__(self, slots: int) -> None:
        import threading

        from argon2 import PasswordHasher

        self._inner, self._slots = PasswordHasher(), threading.BoundedSemaphore(slots)

    def hash(self, password: str) -> str:
        with self._slots:
            return self._inner.hash(password)

    def verify(self, hashed: str, password: str) -> bool:
        with self._slots:
            return self._inner.verify(hashed, password)

    def check_needs_rehash(self, hashed: str) -> bool:
        return self._inner.check_needs_rehash(hashed)


@lru_cache(maxsize=1)
def hasher() -> BoundedHasher:
    """The process's hasher (argon2 is imported only when passwords are in play): half the cores, at
    least one."""
    import os

    return BoundedHasher(max(1, (os.cpu_count() or 2) // 2))


def add_user(
    session: Session,
    *,
    username: str,
    role: str,
    password: str,
    unit_name: str | None,
    actor: Actor,
    now: datetime,
    display_name: str | None = None,
    email: str | None = None,
) -> User:
    from models.unit import find_unit

    username = username.strip()
    if not username or len(username) > 100:
        raise UserRefused(
            username=username,
            why="the name must be 1 to 100 characters",
            why_zh="用户名应为1至100个字符",
        )
    parsed = _portal_role(username, role)
    _check_unit(username, parsed, unit_name)
    if session.exec(select(User).where(User.username == username)).first() is not None:
        raise UserRefused(username=username, why="the name is taken", why_zh="用户名已存在")
    _check_password(username, password)
    unit = find_unit(session, unit_name) if unit_name else None
    user = User(
        username=username,
        role=parsed,
        unit_id=unit.id if unit else None,
        display_name=display_name,
        email=email,
        password_hash=hasher().hash(password),
        created_at=utc(now),
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        at=now,
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=user.id,
        unit_id=user.unit_id,
        after={"username": username, "role": parsed.value, "unit": unit.name if unit else None},
    )
    return user


def set_password(
    session: Session, *, username: str, password: str, actor: Actor, now: datetime
) -> User:
    user = find_user(session, username)
    _check_password(username, password)
    user.password_hash = hasher().hash(password)
    session.add(user)
    end_sessions(session, id_of(user), now)  # a new password logs every browser and token out
    audit.record(
        session, at=now, actor=actor, action="user.password", object_type="user", object_id=user.id
    )
    return user


# An account's own small lifecycle: (enabled?, action) -> enabled?; anything else is refused.
ACCOUNT_TRANSITIONS: dict[tuple[bool, str], bool] = {
    (True, "disable"): False,
    (False, "enable"): True,
}


def _switch(session: Session, *, username: str, action: str, actor: Actor, now: datetime) -> User:
    user = find_user(session, username)
    enabled = not user.disabled
    if (enabled, action) not in ACCOUNT_TRANSITIONS:
        raise UserRefused(
            username=username,
            why=f"the account is already {'enabled' if enabled else 'disabled'}",
            why_zh=f"该账户已{'启用' if enabled else '停用'}",
        )
    if actor.name == username:
        raise UserRefused(
            username=username,
            why="nobody may disable or enable their own account",
            why_zh="不能停用或启用自己的账户",
        )
    user.disabled = not ACCOUNT_TRANSITIONS[(enabled, action)]
    session.add(user)
    if user.disabled:
        end_sessions(session, id_of(user), now)  # a disabled account is logged out everywhere
    audit.record(
        session,
        at=now,
        actor=actor,
        action=f"user.{action}",
        object_type="user",
        object_id=user.id,
        unit_id=user.unit_id,
        before={"disabled": not user.disabled},
        after={"disabled": user.disabled},
    )
    return user


def disable_user(session: Session, *, username: str, actor: Actor, now: datetime) -> User:
    """Disable an account and end its sessions and tokens."""
    return _switch(session, username=username, action="disable", actor=actor, now=now)


def enable_user(session: Session, *, username: str, actor: Actor, now: datetime) -> User:
    return _switch(session, username=username, action="enable", actor=actor, now=now)


def change_role(
    session: Session,
    *,
    username: str,
    role: str,
    unit_name: str | None,
    actor: Actor,
    now: datetime,
) -> User:
    """Give a user another role (a unit user names its unit); their sessions end, so the new role
    applies from their next login."""
    from models.unit import find_unit

    user = find_user(session, username)
    parsed = _portal_role(username, role)
    _check_unit(username, parsed, unit_name)
    if actor.name == username:
        raise UserRefused(
            username=username,
            why="nobody may change their own role",
            why_zh="不能修改自己的角色",
        )
    unit = find_unit(session, unit_name) if unit_name else None
    old_unit = _unit_name(session, user.unit_id)
    before = {"role": str(user.role), "unit": old_unit}
    after = {"role": parsed.value, "unit": unit.name if unit else None}
    if before == after:
        raise UserRefused(username=username, why="nothing changes", why_zh="角色和单位均未改变")
    user.role, user.unit_id = parsed, unit.id if unit else None
    session.add(user)
    end_sessions(session, id_of(user), now)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="user.role",
        object_type="user",
        object_id=user.id,
        unit_id=user.unit_id,
        before=before,
        after=after,
    )
    return user


def change_own_password(
    session: Session, *, user_id: int, current: str, new: str, actor: Actor, now: datetime
) -> User:
    """A user's own new password, once the current one is proven; every session ends."""
    from argon2.exceptions import InvalidHashError, VerificationError

    user = session.get(User, user_id)
    if user is None or user.disabled:
        raise NotFound(kind="user", kind_zh="用户", key=str(user_id))
    try:
        hasher().verify(user.password_hash or "", current)
    except (VerificationError, InvalidHashError):
        raise UserRefused(
            username=user.username,
            why="the current password is wrong",
            why_zh="当前密码不正确",
        ) from None
    if new == current:
        raise UserRefused(
            username=user.username,
            why="the new password is the current one",
            why_zh="新密码不能与当前密码相同",
        )
    return set_password(session, username=user.username, password=new, actor=actor, now=now)


def _unit_name(session: Session, unit_id: int | None) -> str | None:
    from models.unit import Unit

    unit = session.get(Unit, unit_id) if unit_id is not None else None
    return unit.name if unit else None


def find_user(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(kind="user", kind_zh="用户", key=username)
    return user


def check_login(session: Session, username: str, password: str) -> User | None:
    """The user, if the password is right and the account enabled (a read: see
    rehash_if_outdated)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or user.disabled or not user.password_hash:
        hasher().hash(
            password
        )  # the same work as a real check, so timing does not tell names apart
        return None
    try:
        hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    return user


def rehash_if_outdated(session: Session, user_id: int, password: str) -> None:
    """After a right password: rehash it if argon2's defaults have changed since it was set."""
    user = session.get(User, user_id)
    if user is not None and user.password_hash and hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hasher().hash(password)
        session.add(user)


def end_sessions(session: Session, user_id: int, now: datetime) -> None:
    from sqlalchemy import update

    from models.user import WebSession

    session.exec(
        update(WebSession)
        .where(col(WebSession.user_id) == user_id, col(WebSession.ended_at).is_(None))
        .values(ended_at=utc(now))
    )


def _portal_role(username: str, role: str) -> Role:
    try:
        parsed = Role(role)
    except ValueError:
        parsed = None
    if parsed is None or parsed not in PORTAL_ROLES:
        raise UserRefused(
            username=username,
            why=f"unknown role {role!r} ({', '.join(PORTAL_ROLES)})",
            why_zh=f"未知角色 {role}（可选：{'、'.join(PORTAL_ROLES)}）",
        )
    return parsed


def _check_unit(username: str, role: Role, unit_name: str | None) -> None:
    if (role == Role.UNIT) != bool(unit_name):
        raise UserRefused(
            username=username,
            why="a unit user needs --unit, and only a unit user has one",
            why_zh="单位联络员须指定所属单位（命令行用 --unit），其他角色不属于单位",
        )


def _check_password(username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserRefused(
            username=username,
            why=f"the password needs at least {MIN_PASSWORD} characters",
            why_zh=f"密码至少{MIN_PASSWORD}位",
        )
    if password.lower() == username.lower():
        raise UserRefused(
            username=username,
            why="the password may not be the user name",
            why_zh="密码不能与用户名相同",
        )


@dataclass(frozen=True)
class ApiToken:
    """A live bearer token as its user and the office see it (never the token itself)."""

    id: int
    username: str
    created_at: datetime
    expires_at: datetime
    ip: str | None


def live_api_tokens(
    session: Session, *, lifetime_hours: int, now: datetime, user_id: int | None = None
) -> list[ApiToken]:
    """Unrevoked, unexpired API tokens of enabled users, newest first: one user's, or everyone's."""
    from sqlmodel import col

    from models.user import WebSession

    lifetime = timedelta(hours=lifetime_hours)
    query = (
        select(WebSession, User.username)
        .join(User, col(User.id) == col(WebSession.user_id))
        .where(
            WebSession.kind == "api",
            col(WebSession.ended_at).is_(None),
            col(WebSession.created_at) > utc(now) - lifetime,
            col(User.disabled).is_(False),
        )
        .order_by(col(WebSession.created_at).desc(), col(WebSession.id).desc())
    )
    if user_id is not None:
        query = query.where(WebSession.user_id == user_id)
    return [
        ApiToken(id_of(row), username, utc(row.created_at), utc(row.created_at) + lifetime, row.ip)
        for row, username in session.exec(query)
    ]


def end_api_tokens(session: Session, *, username: str, actor: Actor, now: datetime) -> int:
    """Revoke every API token of a user (the portal session stays); how many were live."""
    from sqlalchemy import update

    from models.user import WebSession

    user = find_user(session, username)
    ended = session.exec(
        update(WebSession)
        .where(
            col(WebSession.user_id) == user.id,
            col(WebSession.kind) == "api",
            col(WebSession.ended_at).is_(None),
        )
        .values(ended_at=utc(now))
    )
    audit.record(
        session,
        at=now,
        actor=actor,
        action="token.revoke",
        object_type="user",
        object_id=user.id,
        unit_id=user.unit_id,
        after={"tokens": ended.rowcount},
    )
    return ended.rowcount

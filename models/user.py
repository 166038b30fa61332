"""People who log in, with their role and, for unit users, their unit."""

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.lifecycle import Actor, Role


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=100, unique=True)
    display_name: str | None = None
    role: Role = Field(sa_type=String(16))
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    email: str | None = Field(default=None, max_length=320)
    password_hash: str | None = None
    disabled: bool = False
    created_at: datetime

    def as_actor(self) -> Actor:
        return Actor(name=self.username, role=Role(self.role), unit_id=self.unit_id)


class WebSession(SQLModel, table=True):
    """A portal login (a browser cookie) or an API bearer token. Only the token's SHA-256 is
    stored."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    kind: str = Field(default="browser", max_length=10, description="browser | api")
    user_id: int = Field(foreign_key="user.id", index=True)
    csrf_token: str = Field(
        max_length=64, description="the synchronizer token every form must echo"
    )
    created_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None = None
    ip: str | None = Field(default=None, max_length=64)


class LoginThrottle(SQLModel, table=True):
    """A login throttle: the failures of one (name, address) pair or of one address, and how long it
    waits.

    Kept in the database so that every worker process of the portal counts the same failures;
    a row is deleted once its failures are forgotten (web/throttle.py), so the table stays small.
    """

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("scope", "username", "ip"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=10, description="pair (a name from an address) | address")
    username: str = Field(default="", max_length=100, description="empty for an address")
    ip: str = Field(default="", max_length=64)
    failures: int = 0
    first_failure_at: datetime
    last_failure_at: datetime = Field(index=True)
    blocked_until: datetime | None = None
    noted_until: datetime | None = Field(
        default=None, description="the wait already on the audit trail"
    )

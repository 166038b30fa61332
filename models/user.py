"""People who log in, with their role and, for unit users, their unit."""

from datetime import datetime

from sqlalchemy import String
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

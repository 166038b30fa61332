"""The unit directory: member units, their aliases, groups and contacts."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, String
from sqlmodel import Field, Session, SQLModel, col, or_, select

from models.errors import NotFound


class UnitKind(StrEnum):
    DEPARTMENT = "department"  # 市民政局
    TOWN = "town"  # 如城街道
    GROUP = "group"  # 各镇(区、街道): stands for its members


class ContactRole(StrEnum):
    LIAISON = "liaison"  # 联络员
    HEAD = "head"  # 分管领导


ROBOT_KEYS = ("wecom_key", "dingtalk_token", "dingtalk_secret")


class Unit(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True, description="canonical name")
    kind: UnitKind = Field(default=UnitKind.DEPARTMENT, sa_type=String(16))
    active: bool = True
    created_at: datetime
    # The unit's group robots; each may be `env:NAME`, read when a message is sent.
    wecom_key: str | None = Field(default=None, max_length=200)
    dingtalk_token: str | None = Field(default=None, max_length=200)
    dingtalk_secret: str | None = Field(default=None, max_length=200)


class UnitAlias(SQLModel, table=True):
    """Another name a notice may use for a unit (市政法委 for 市委政法委)."""

    __tablename__ = "unit_alias"

    id: int | None = Field(default=None, primary_key=True)
    alias: str = Field(max_length=200, unique=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)


class GroupMember(SQLModel, table=True):
    """A group unit (各镇(区、街道)) expands to its members."""

    __tablename__ = "group_member"

    group_id: int = Field(foreign_key="unit.id", primary_key=True)
    member_id: int = Field(foreign_key="unit.id", primary_key=True, index=True)


class Contact(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    role: ContactRole = Field(sa_type=String(16))
    name: str
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    mobile: str | None = Field(default=None, max_length=20, description="for @ and SMS")
    channels: list[str] = Field(
        default_factory=list,
        sa_column=Column(JSON, nullable=False),
        description="the channels to try, in order; empty: e-mail",
    )


def find_unit(session: Session, name: str) -> Unit:
    """A unit by canonical name or alias."""
    unit = session.exec(select(Unit).where(Unit.name == name)).first()
    if unit is None:
        unit = session.exec(
            select(Unit)
            .join(UnitAlias, col(UnitAlias.unit_id) == col(Unit.id))
            .where(UnitAlias.alias == name)
        ).first()
    if unit is None:
        raise NotFound(kind="unit", kind_zh="单位", key=name)
    return unit


def uncurated(session: Session, unit: Unit) -> bool:
    """A unit nobody has curated: no contact, no alias, in no group and with no members, no robot
    key, no user account: exactly what a notice import makes of a name the directory lacked
    (intake/plan_import.py `_insert_units`; the portal flags it 缺少联系人). A directory that
    lists its name as an alias adopts it (models/adoption.py); a unit the office has curated is
    its own and is never taken over."""
    from models.user import User

    if any(getattr(unit, key) for key in ROBOT_KEYS):
        return False
    held = (
        select(Contact.id).where(Contact.unit_id == unit.id),
        select(UnitAlias.id).where(UnitAlias.unit_id == unit.id),
        select(GroupMember.group_id).where(
            or_(col(GroupMember.group_id) == unit.id, col(GroupMember.member_id) == unit.id)
        ),
        select(User.id).where(User.unit_id == unit.id),
    )
    return all(session.exec(query.limit(1)).first() is None for query in held)

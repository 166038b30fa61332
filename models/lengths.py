"""Text longer than its column is refused before the database, the same on SQLite and PostgreSQL.

PostgreSQL refuses a 201-character unit name with a DataError; SQLite keeps all of it, so the same
command would succeed on one database and crash on the other. Every ORM insert and update is checked
here against the column's declared length, and a value too long raises `TextTooLong` naming the
field. (`bulk_insert` rows are the system's own keys; round names are checked where they are given.)
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Mapper

from models.errors import TextTooLong

# How a person knows each field; others are named table.column.
LABELS = {
    "unit.name": ("单位名称", "unit name"),
    "unitalias.alias": ("单位简称", "unit alias"),
    "unit_alias.alias": ("单位简称", "unit alias"),
    "contact.email": ("联系人邮箱", "contact e-mail"),
    "contact.phone": ("联系人电话", "contact phone"),
    "contact.name": ("联系人姓名", "contact name"),
    "plan.key": ("计划代号", "plan key"),
    "user.username": ("用户名", "user name"),
    "auditevent.actor": ("操作人（DUBAN_ACTOR）", "actor (DUBAN_ACTOR)"),
    "audit_event.actor": ("操作人（DUBAN_ACTOR）", "actor (DUBAN_ACTOR)"),
}


def check_lengths(_mapper: Any, _connection: Any, target: Any) -> None:
    table = inspect(target).mapper.local_table
    for column in table.columns:
        limit = getattr(
            column.type, "length", None
        )  # AutoString (a TypeDecorator) passes its VARCHAR's on
        if not isinstance(limit, int):
            continue
        value = getattr(target, column.key, None)
        if isinstance(value, str) and len(value) > limit:
            zh, en = LABELS.get(f"{table.name}.{column.name}", (f"{table.name}.{column.name}",) * 2)
            raise TextTooLong(what=en, what_zh=zh, length=len(value), limit=limit)


if not event.contains(Mapper, "before_insert", check_lengths):  # every mapped table, once
    event.listen(Mapper, "before_insert", check_lengths)
    event.listen(Mapper, "before_update", check_lengths)

"""The unit directory: loading it from YAML or CSV, keeping it in the database, finding units by
name.

A directory file lists each unit with its aliases, its kind, for a group its
members, and its liaison and head with their e-mail addresses (validated
here, when the directory is loaded, not when a message is sent).
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, SQLModel, col, select

from intake.notice import ImportFailed, Problem, Where
from intake.unit_phrase import split_names
from intake.wording import squash
from models import audit
from models.adoption import Adoption, merge_unit, rename_unit, shared_tasks
from models.clock import utc
from models.db import id_of
from models.lifecycle import Actor
from models.unit import (
    ROBOT_KEYS,
    Contact,
    ContactRole,
    GroupMember,
    Unit,
    UnitAlias,
    UnitKind,
    uncurated,
)

NAME_LIMIT = 200  # Unit.name and UnitAlias.alias

CSV_COLUMNS = (
    "name",
    "kind",
    "aliases",
    "members",
    "liaison_name",
    "liaison_email",
    "liaison_phone",
    "liaison_mobile",
    "liaison_channels",
    "head_name",
    "head_email",
    "head_phone",
    "head_mobile",
    "head_channels",
    "wecom_key",
    "dingtalk_token",
    "dingtalk_secret",
)
ROBOT_FIELDS = ROBOT_KEYS


@dataclass
class ContactEntry:
    name: str
    email: str | None = None
    phone: str | None = None
    mobile: str | None = None
    channels: list[str] = field(default_factory=list)


@dataclass
class DirectoryEntry:
    name: str
    kind: UnitKind = UnitKind.DEPARTMENT
    aliases: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    contacts: dict[ContactRole, ContactEntry] = field(default_factory=dict)
    robots: dict[str, str | None] = field(default_factory=dict)  # ROBOT_FIELDS, may be env:NAME
    where: Where | None = None


# --- reading a directory file -------------------------------------------------------------------


def read_directory(path: Path) -> list[DirectoryEntry]:
    """Every entry of a YAML or CSV directory, or ImportFailed listing every problem."""
    source = path.name
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ImportFailed(
            [Problem(None, f"无法读取通讯录：{error}", f"cannot read the directory: {error}")],
            source,
        ) from error
    if path.suffix.lower() in (".yaml", ".yml"):
        raw = _yaml_records(text, source)
    elif path.suffix.lower() == ".csv":
        raw = _csv_records(text)
    else:
        raise ImportFailed(
            [
                Problem(
                    None,
                    "通讯录应为 .yaml 或 .csv 文件",
                    "the directory must be a .yaml or .csv file",
                )
            ],
            source,
        )
    return check_records(raw, source)


def check_records(
    raw: Sequence[tuple[Where | None, dict[str, Any]]], source: str = ""
) -> list[DirectoryEntry]:
    """Entries from directory records (a file's rows, or the portal's unit form), or ImportFailed
    listing every problem: the one set of checks for both."""
    problems: list[Problem] = []
    entries = [_entry(record, where, problems) for where, record in raw]
    _check_names(entries, problems)
    if problems:
        raise ImportFailed(problems, source)
    return entries


def _yaml_records(text: str, source: str) -> list[tuple[Where, dict[str, Any]]]:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = Where("line", mark.line + 1) if mark else None
        raise ImportFailed(
            [Problem(where, f"YAML 格式错误：{error}", f"invalid YAML: {error}")], source
        ) from error
    units = document.get("units") if isinstance(document, dict) else None
    if not isinstance(units, list):
        raise ImportFailed(
            [
                Problem(
                    None, "通讯录应有 units: 列表", "the directory needs a top-level 'units:' list"
                )
            ],
            source,
        )
    return [
        (Where("row", i), u if isinstance(u, dict) else {}) for i, u in enumerate(units, start=1)
    ]


def _csv_records(text: str) -> list[tuple[Where, dict[str, Any]]]:
    records = []
    from escaping.cells import read_back  # our own export quotes cells that would start a formula

    for number, raw in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        row = {
            key: read_back(value) if isinstance(value, str) else value for key, value in raw.items()
        }
        records.append((Where("row", number), record_from_columns(row)))
    return records


def record_from_columns(row: dict[str, Any]) -> dict[str, Any]:
    """A directory record from the CSV columns (a CSV row, or the portal's unit form)."""
    record: dict[str, Any] = {
        "name": row.get("name"),
        "kind": row.get("kind") or None,
        "aliases": split_names(row.get("aliases") or ""),
        "members": split_names(row.get("members") or ""),
    }
    record |= {key: row.get(key) or None for key in ROBOT_FIELDS}
    record |= _csv_contacts(row)
    return record


def _csv_contacts(row: dict[str, Any]) -> dict[str, Any]:
    """The liaison and head of a CSV row, as a YAML record has them."""
    contacts = {}
    for role in ("liaison", "head"):
        if row.get(f"{role}_name") or row.get(f"{role}_email") or row.get(f"{role}_mobile"):
            contacts[role] = {
                key: row.get(f"{role}_{key}") or (None if key != "name" else "")
                for key in ("name", "email", "phone", "mobile", "channels")
            }
    return contacts


def _entry(record: dict[str, Any], where: Where | None, problems: list[Problem]) -> DirectoryEntry:
    name = str(record.get("name") or "").strip()
    if not name:
        problems.append(Problem(where, "缺少单位名称（name）", "the unit has no name"))
    kind = _unit_kind(record, where, problems)
    entry = DirectoryEntry(
        name=name,
        kind=kind,
        where=where,
        aliases=[str(a).strip() for a in record.get("aliases") or [] if str(a).strip()],
        members=[str(m).strip() for m in record.get("members") or [] if str(m).strip()],
    )
    _check_lengths(entry, where, problems)
    entry.robots = _robots(record, name=name, where=where, problems=problems)
    for role in ContactRole:
        contact = record.get(role.value)
        if contact:
            before = len(problems)
            entry.contacts[role] = _contact(
                contact if isinstance(contact, dict) else {},
                role,
                name=name,
                where=where,
                problems=problems,
            )
            if len(problems) == before:  # a bad mobile is one problem, not also a missing one
                _check_route(entry, role, where, problems)
    return entry


def _robots(
    record: dict[str, Any], *, name: str, where: Where | None, problems: list[Problem]
) -> dict[str, str | None]:
    """The unit's group robots, each checked (intake.channel_fields, which the portal shares)."""
    from intake import channel_fields

    robots: dict[str, str | None] = {}
    for key in ROBOT_FIELDS:
        try:
            robots[key] = getattr(channel_fields, key)(record.get(key))
        except channel_fields.FieldInvalid as error:
            problems.append(
                Problem(where, f"{name} 的 {key}：{error.zh}", f"{name}: {key} is invalid")
            )
            robots[key] = None
    return robots


def _check_route(
    entry: DirectoryEntry, role: ContactRole, where: Where | None, problems: list[Problem]
) -> None:
    from intake.channel_fields import robot_problems

    contact = entry.contacts[role]
    for problem in robot_problems(
        contact.channels,
        wecom=entry.robots.get("wecom_key"),
        dingtalk=entry.robots.get("dingtalk_token"),
        mobile_=contact.mobile,
    ):
        problems.append(
            Problem(
                where,
                f"{entry.name} 的{_ROLE_ZH[role]}（{role.value}.channels）{problem}",
                f"{entry.name}: the {role.value}'s channels cannot be served",
            )
        )


def _unit_kind(record: dict[str, Any], where: Where | None, problems: list[Problem]) -> UnitKind:
    """The unit's kind; an invalid one is a problem, taken as a department."""
    kind_text = record.get("kind") or ("group" if record.get("members") else "department")
    try:
        kind = UnitKind(kind_text)
    except ValueError:
        problems.append(
            Problem(
                where,
                f"单位类型“{kind_text}”无效，应为 department、town 或 group",
                f"unit kind “{kind_text}” is invalid: use department, town or group",
            )
        )
        kind = UnitKind.DEPARTMENT
    return kind


def _check_lengths(entry: DirectoryEntry, where: Where | None, problems: list[Problem]) -> None:
    """A name or alias longer than the database allows is a problem with its row."""
    for label_zh, label_en, text, limit in (
        ("单位名称", "unit name", entry.name, NAME_LIMIT),
        *(("单位简称", "alias", a, NAME_LIMIT) for a in entry.aliases),
    ):
        if (
            len(text) > limit
        ):  # PostgreSQL would refuse it mid-import, SQLite keep it: refused here, with its row
            problems.append(
                Problem(
                    where,
                    f"{label_zh}过长：{len(text)} 个字符，最多 {limit} 个（“{text[:20]}…”）",
                    f"the {label_en} is too long: {len(text)} characters, at most {limit}",
                )
            )


def _contact(
    contact: dict[str, Any],
    role: ContactRole,
    *,
    name: str,
    where: Where | None,
    problems: list[Problem],
) -> ContactEntry:
    """A liaison or head, the e-mail normalised (an invalid one is a problem naming the unit)."""
    email = (contact.get("email") or "").strip() or None
    if email:
        # allow_smtputf8=False: an address such as 张三@… needs SMTPUTF8, which few government
        # relays offer; refused here with its row rather than dead-lettered at every send. A Chinese
        # domain is kept in its ASCII (punycode) form, which every server delivers.
        try:
            email = validate_email(
                email, check_deliverability=False, allow_smtputf8=False
            ).ascii_email
        except EmailNotValidError as error:
            why_zh = (
                "@ 前含有中文等非 ASCII 字符，需要 "
                "SMTPUTF8，多数邮件服务器无法投递，请改用拼音或数字"
                if "before the @-sign" in str(error) and "Internationalized" in str(error)
                else str(error)
            )
            problems.append(
                Problem(
                    where,
                    f"{name} 的{'联络员' if role == ContactRole.LIAISON else '分管领导'}邮箱“"
                    f"{email}”无效：{why_zh}",
                    f"{name}: the {role.value}'s e-mail “{email}” is invalid: {error}",
                )
            )
    from intake import channel_fields

    checked: dict[str, Any] = {"mobile": None, "channels": []}
    for key in checked:
        try:
            checked[key] = getattr(channel_fields, key)(contact.get(key))
        except channel_fields.FieldInvalid as error:
            problems.append(
                Problem(
                    where,
                    f"{name} 的{_ROLE_ZH[role]}（{role.value}.{key}）：{error.zh}",
                    f"{name}: the {role.value}'s {key} is invalid",
                )
            )
    return ContactEntry(
        name=str(contact.get("name") or "").strip(),
        email=email,
        phone=(str(contact.get("phone")).strip() if contact.get("phone") else None),
        mobile=checked["mobile"],
        channels=checked["channels"],
    )


_ROLE_ZH = {ContactRole.LIAISON: "联络员", ContactRole.HEAD: "分管领导"}


def _check_names(entries: list[DirectoryEntry], problems: list[Problem]) -> None:
    owner: dict[str, str] = {}
    for entry in entries:
        for label in (entry.name, *entry.aliases):
            key = squash(label)
            if key in owner and owner[key] != entry.name:
                problems.append(
                    Problem(
                        entry.where,
                        f"名称“{label}”同时属于“{owner[key]}”和“{entry.name}”",
                        f"the name “{label}” belongs to both “{owner[key]}” and “{entry.name}”",
                    )
                )
            owner.setdefault(key, entry.name)
    for entry in entries:
        for member in entry.members:
            if squash(member) not in owner:
                problems.append(
                    Problem(
                        entry.where,
                        f"“{entry.name}”的成员“{member}”不在通讯录中",
                        f"member “{member}” of “{entry.name}” is not in the directory",
                    )
                )


# --- the directory in the database ---------------------------------------------------------------


class UnitIndex:
    """Every unit by name and alias (compared after NFKC, without spaces), with group members."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.units: dict[int, Unit] = {id_of(u): u for u in session.exec(select(Unit))}
        self.by_key: dict[str, Unit] = {squash(u.name): u for u in self.units.values()}
        for alias in session.exec(select(UnitAlias)):
            self.by_key.setdefault(squash(alias.alias), self.units[alias.unit_id])
        self.members: dict[int, list[Unit]] = {}
        for link in session.exec(select(GroupMember)):
            self.members.setdefault(link.group_id, []).append(self.units[link.member_id])

    def find(self, name: str) -> Unit | None:
        return self.by_key.get(squash(name))

    def known(self, name: str) -> Unit:
        """A unit known to exist: a group's members, which `_check_names` found in the same
        directory."""
        unit = self.find(name)
        if unit is None:
            raise KeyError(name)
        return unit

    def suggest(self, name: str, n: int = 3) -> list[str]:
        """The closest known names, canonical, for "did you mean".'"""
        # Asked again for every task naming the same unknown unit: difflib is the slow part of an
        # import.
        memo = self.__dict__.setdefault("_suggested", {})
        asked = (squash(name), n, len(self.by_key))
        if asked not in memo:
            keys = difflib.get_close_matches(asked[0], list(self.by_key), n=n * 2, cutoff=0.5)
            memo[asked] = list(dict.fromkeys(self.by_key[k].name for k in keys))[:n]
        return list(memo[asked])

    def add(self, unit: Unit) -> None:
        self.units[id_of(unit)] = unit
        self.by_key[squash(unit.name)] = unit


@dataclass(frozen=True)
class DirectorySynced:
    """What `sync_directory` did: units created, changed and left as they were, and the units nobody
    had curated that the directory adopted (renamed or merged, models/adoption.py)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    adopted: tuple[Adoption, ...] = ()


@dataclass(frozen=True)
class _Adopting:
    """A directory entry taking over `holder`, a unit nobody curated that holds one of its aliases;
    `into` is the entry's own unit when it exists (a merge), else None (a rename)."""

    entry: DirectoryEntry
    alias: str
    holder: Unit
    into: Unit | None


def sync_directory(
    session: Session, entries: list[DirectoryEntry], *, actor: Actor, now: datetime
) -> DirectorySynced:
    """Create or update every unit of the directory; one audit event per unit created or changed,
    and one per unit adopted."""
    # The trail's lock first, as a notice import takes it: a concurrent directory or notice import
    # (which may create the same units) waits for this one, then finds them; taking it only at the
    # first audit event, after inserting units, could deadlock with an import waiting on those rows.
    audit.lock(session)
    index = UnitIndex(session)
    adopted = tuple(
        _adopt(session, index, adopting, actor=actor, now=now)
        for adopting in _adoptions(session, index, entries)
    )
    before: dict[str, dict[str, Any] | None] = {}
    units: dict[str, Unit] = {}
    for entry in entries:  # units first, so that members may be listed before their group
        unit = index.find(entry.name)
        before[entry.name] = describe_unit(session, unit) if unit else None
        if unit is None:
            unit = Unit(name=entry.name, kind=entry.kind, created_at=utc(now))
            session.add(unit)
            session.flush()
            index.add(unit)
        unit.kind = entry.kind
        for key in ROBOT_FIELDS:
            setattr(unit, key, entry.robots.get(key))
        units[entry.name] = unit
    for entry in entries:
        _write_entry(session, index, entry, units[entry.name])
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for entry in entries:
        unit, earlier = units[entry.name], before[entry.name]
        now_described = describe_unit(session, unit)
        if earlier == now_described:
            counts["unchanged"] += 1
            continue
        counts["created" if earlier is None else "updated"] += 1
        audit.record(
            session,
            at=now,
            actor=actor,
            action="unit.create" if earlier is None else "unit.update",
            object_type="unit",
            object_id=unit.id,
            unit_id=unit.id,
            before=earlier,
            after=now_described,
        )
    return DirectorySynced(**counts, adopted=adopted)


def _write_entry(session: Session, index: UnitIndex, entry: DirectoryEntry, unit: Unit) -> None:
    """The entry's aliases, contacts and members, in place of the unit's."""
    unit_id = id_of(unit)
    _replace(
        session,
        UnitAlias,
        UnitAlias.unit_id == unit.id,
        [UnitAlias(alias=a, unit_id=unit_id) for a in dict.fromkeys(entry.aliases)],
    )
    _replace(
        session,
        Contact,
        Contact.unit_id == unit.id,
        [
            Contact(
                unit_id=unit_id,
                role=role,
                name=c.name,
                email=c.email,
                phone=c.phone,
                mobile=c.mobile,
                channels=c.channels,
            )
            for role, c in entry.contacts.items()
        ],
    )
    _replace(
        session,
        GroupMember,
        GroupMember.group_id == unit.id,
        [
            GroupMember(group_id=unit_id, member_id=id_of(index.known(m)))
            for m in dict.fromkeys(entry.members)
        ],
    )


def _adoptions(
    session: Session, index: UnitIndex, entries: list[DirectoryEntry]
) -> list[_Adopting]:
    """The units the directory adopts: each alias held by another unit is adopted when nobody has
    curated that unit (`models.unit.uncurated`); held by a curated unit, or held by a unit that
    shares a task with the entry's own (the merge would assign the task twice), it is refused,
    and ImportFailed lists every refusal before anything is written."""
    problems: list[Problem] = []
    adopting: list[_Adopting] = []
    for entry in entries:
        owner = index.find(entry.name)
        for alias in entry.aliases:
            holder = index.find(alias)
            if (
                holder is None
                or (owner is not None and holder.id == owner.id)
                or holder.name == entry.name
                or any(a.holder.id == holder.id for a in adopting)
            ):
                continue
            if not uncurated(session, holder):
                problems.append(
                    Problem(
                        entry.where,
                        f"别名“{alias}”已属于单位“{holder.name}”",
                        f"the alias “{alias}” already belongs to “{holder.name}”",
                    )
                )
            elif owner is not None and (shared := shared_tasks(session, holder, owner)):
                problems.extend(_shared_task_problems(entry, holder, owner, shared))
            else:
                adopting.append(_Adopting(entry, alias, holder, owner))
    if problems:
        raise ImportFailed(problems)
    return adopting


def _shared_task_problems(
    entry: DirectoryEntry, holder: Unit, owner: Unit, shared: list[tuple[str, int]]
) -> list[Problem]:
    return [
        Problem(
            entry.where,
            f"“{holder.name}”与“{owner.name}”都承担计划“{key}”第 {number} 项任务，"
            f"无法把“{holder.name}”并入“{owner.name}”：请先处理其中一个单位的这项分工"
            "（如退办改派），再导入通讯录",
            f"“{holder.name}” and “{owner.name}” are both assigned task {number} of plan "
            f"“{key}”: “{holder.name}” cannot be merged into “{owner.name}”",
        )
        for key, number in shared
    ]


def _adopt(
    session: Session, index: UnitIndex, adopting: _Adopting, *, actor: Actor, now: datetime
) -> Adoption:
    """Rename or merge one adopted unit, and keep the index true: the old name now finds the
    entry's unit (the directory lists it as an alias)."""
    entry, holder, into = adopting.entry, adopting.holder, adopting.into
    place = entry.where.zh() if entry.where else ""
    reason = f"通讯录{place}把“{adopting.alias}”列为“{entry.name}”的简称"
    old_key = squash(holder.name)
    if into is None:
        adoption = rename_unit(
            session, holder, name=entry.name, actor=actor, now=now, reason=reason
        )
        index.add(holder)
        index.by_key[old_key] = holder
    else:
        adoption = merge_unit(session, holder, into=into, actor=actor, now=now, reason=reason)
        index.units.pop(adoption.old_id, None)
        index.by_key[old_key] = into
    return adoption


def _replace(session: Session, table: type[SQLModel], condition: Any, rows: list[Any]) -> None:
    for row in session.exec(select(table).where(condition)):
        session.delete(row)
    session.flush()  # before re-adding rows with the same unique values
    session.add_all(rows)
    session.flush()


def _masked(value: str | None) -> str | None:
    """A robot credential as the trail and the lists show it: `env:NAME` as written, a literal key
    by a digest (a change still shows, the key does not)."""
    if not value or value.startswith("env:"):
        return value
    import hashlib

    return f"已配置（sha256:{hashlib.sha256(value.encode('utf-8')).hexdigest()[:8]}）"


def describe_unit(session: Session, unit: Unit, *, secrets: bool = False) -> dict[str, Any]:
    aliases = sorted(
        a.alias for a in session.exec(select(UnitAlias).where(UnitAlias.unit_id == unit.id))
    )
    members = sorted(
        session.get_one(Unit, m.member_id).name
        for m in session.exec(select(GroupMember).where(GroupMember.group_id == unit.id))
    )
    contacts = {
        str(c.role): {
            "name": c.name,
            "email": c.email,
            "phone": c.phone,
            "mobile": c.mobile,
            "channels": list(c.channels or []),
        }
        for c in session.exec(select(Contact).where(Contact.unit_id == unit.id))
    }
    robots = {
        key: getattr(unit, key) if secrets else _masked(getattr(unit, key)) for key in ROBOT_FIELDS
    }
    return {
        "name": unit.name,
        "kind": str(unit.kind),
        "aliases": aliases,
        "members": members,
        "contacts": contacts,
        **{key: value for key, value in robots.items() if value},
    }


def _csv_cells(unit: dict[str, Any]) -> dict[str, str]:
    """A described unit's contacts as CSV cells (a channel list joined by 、)."""
    return {
        f"{role}_{key}": ("、".join(value) if isinstance(value, list) else value) or ""
        for role, contact in unit["contacts"].items()
        for key, value in contact.items()
    }


def export_directory(session: Session, fmt: str) -> str:
    """The directory as YAML or CSV, in the shape `read_directory` reads back."""
    described = [
        describe_unit(session, u, secrets=True)
        for u in session.exec(select(Unit).order_by(col(Unit.id)))
    ]
    if fmt == "csv":
        stream = io.StringIO()
        from escaping.cells import (
            neutral_record,  # opened in a spreadsheet: no cell starts a formula
        )

        writer = csv.DictWriter(stream, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for unit in described:
            row = {
                "name": unit["name"],
                "kind": unit["kind"],
                "aliases": "、".join(unit["aliases"]),
                "members": "、".join(unit["members"]),
            }
            row |= {key: unit.get(key) or "" for key in ROBOT_FIELDS} | _csv_cells(unit)
            writer.writerow(neutral_record(row))
        return stream.getvalue()
    records = []
    for unit in described:
        record: dict[str, Any] = {"name": unit["name"], "kind": unit["kind"]}
        if unit["aliases"]:
            record["aliases"] = unit["aliases"]
        if unit["members"]:
            record["members"] = unit["members"]
        record |= {key: unit[key] for key in ROBOT_FIELDS if unit.get(key)}
        for role, contact in sorted(unit["contacts"].items()):
            record[role] = {k: v for k, v in contact.items() if v}
        records.append(record)
    return yaml.safe_dump({"units": records}, allow_unicode=True, sort_keys=False, width=120)

"""Administration in the browser: users (add, disable or enable, reset a password, change a role),
each user's own password, and the unit directory (contacts, aliases, groups) with the checks of
`duban units import`. Changes are the office admin's; office staff read the directory."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session, col, select

from intake.directory import (
    CSV_COLUMNS,
    ROBOT_FIELDS,
    check_records,
    describe_unit,
    record_from_columns,
    sync_directory,
)
from intake.notice import ImportFailed, Where
from intake.unit_phrase import split_names
from intake.wording import squash
from models.clock import utc_now
from models.db import unit_of_work
from models.errors import NotFound
from models.labels import CHANNELS, CONTACT_ROLES, UNIT_KINDS, USER_ROLES, local_time
from models.lifecycle import Role
from models.unit import Unit, UnitAlias, uncurated
from models.user import User
from models.users import (
    MIN_PASSWORD,
    PORTAL_ROLES,
    UserRefused,
    add_user,
    change_own_password,
    change_role,
    disable_user,
    enable_user,
    set_password,
)
from web.auth import Principal
from web.bounds import Id, InputRefused, SearchText, Word
from web.deps import (
    engine_of,
    form_of,
    office_only,
    page,
    read_session,
    require,
    settings_of,
    signed_in,
)
from web.lists import link, paginate, xlsx_download

router = APIRouter()
admin_only = require(Role.OFFICE_ADMIN)
ROLE_CHOICES: Final[dict[str, str]] = {r.value: USER_ROLES[r.value] for r in PORTAL_ROLES}
ACCOUNT_STATES: Final[dict[str, str]] = {"enabled": "启用", "disabled": "已停用"}
USER_HEADERS: Final[tuple[str, ...]] = (
    "用户名",
    "姓名",
    "角色",
    "所属单位",
    "邮箱",
    "状态",
    "创建时间",
)
UNIT_HEADERS: Final[tuple[str, ...]] = (
    "单位",
    "类别",
    "简称",
    "成员单位",
    "联络员",
    "联络员邮箱",
    "联络员电话",
    "分管领导",
    "分管领导邮箱",
    "分管领导电话",
)


def _text(form: Any, name: str) -> str:
    return str(form.get(name) or "").strip()


# --- users ---------------------------------------------------------------------------------------


def _user_filters(q: str | None, role: str | None, state: str | None) -> dict[str, str]:
    filters = {"q": (q or "").strip(), "role": role or "", "state": state or ""}
    if filters["role"] and filters["role"] not in ROLE_CHOICES:
        raise InputRefused("“角色”应从列表中选择")
    if filters["state"] and filters["state"] not in ACCOUNT_STATES:
        raise InputRefused("“状态”应从列表中选择")
    return filters


def _user_query(filters: dict[str, str]):
    query = select(User, Unit.name).outerjoin(Unit, col(Unit.id) == User.unit_id)
    if filters["q"]:
        query = query.where(
            col(User.username).contains(filters["q"], autoescape=True)
            | col(User.display_name).contains(filters["q"], autoescape=True)
        )
    if filters["role"]:
        query = query.where(User.role == filters["role"])
    if filters["state"]:
        query = query.where(User.disabled == (filters["state"] == "disabled"))
    return query.order_by(col(User.username))


def _user_row(user: User, unit: str | None, zone: str) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name or "",
        "role": USER_ROLES.get(str(user.role), str(user.role)),
        "role_code": str(user.role),
        "unit": unit or "",
        "email": user.email or "",
        "state": ACCOUNT_STATES["disabled" if user.disabled else "enabled"],
        "disabled": user.disabled,
        "created": local_time(user.created_at, zone),
    }


def _users_page(
    request: Request,
    me: Principal,
    session: Session,
    filters: dict[str, str],
    page_no: int,
    status: int = 200,
    problem: str | None = None,
    typed: dict[str, str] | None = None,
):
    zone = settings_of(request).timezone
    found, paging = paginate(
        session,
        _user_query(filters),
        page=page_no,
        path="/users",
        filters=filters,
        export_path="/users/export",
    )
    units = session.exec(select(Unit.name).order_by(Unit.name)).all()
    return page(
        request,
        "users.html.j2",
        me,
        status=status,
        rows=[_user_row(u, name, zone) for u, name in found],
        paging=paging,
        filters=filters,
        roles=ROLE_CHOICES,
        states=ACCOUNT_STATES,
        units=units,
        problem=problem,
        typed=typed or {},
        min_password=MIN_PASSWORD,
        done=request.query_params.get("done", "")[:100],
    )


@router.get("/users")
def users(
    request: Request,
    q: SearchText | None = None,
    role: Word | None = None,
    state: Word | None = None,
    page_no: Id = 1,
    me: Principal = Depends(admin_only),
    session: Session = Depends(read_session),
):
    return _users_page(request, me, session, _user_filters(q, role, state), page_no)


@router.get("/users/export")
def users_export(
    request: Request,
    q: SearchText | None = None,
    role: Word | None = None,
    state: Word | None = None,
    me: Principal = Depends(admin_only),
    session: Session = Depends(read_session),
):
    zone = settings_of(request).timezone
    rows = (
        _user_row(u, name, zone)
        for u, name in session.exec(_user_query(_user_filters(q, role, state)))
    )
    cells = (
        [
            r["username"],
            r["display_name"],
            r["role"],
            r["unit"],
            r["email"],
            r["state"],
            r["created"],
        ]
        for r in rows
    )
    return xlsx_download("用户名单.xlsx", USER_HEADERS, cells, sheet="用户")


@router.post("/users")
def user_add(request: Request, me: Principal = Depends(admin_only)):
    form = form_of(request, me)
    typed = {k: _text(form, k) for k in ("username", "display_name", "role", "unit", "email")}
    try:
        with unit_of_work(engine_of(request)) as session:
            add_user(
                session,
                username=typed["username"],
                role=typed["role"],
                password=str(form.get("password") or ""),
                unit_name=typed["unit"] or None,
                display_name=typed["display_name"] or None,
                email=typed["email"] or None,
                actor=me.actor,
                now=utc_now(),
            )
    except (UserRefused, NotFound) as refused:
        with unit_of_work(engine_of(request)) as session:
            return _users_page(
                request,
                me,
                session,
                _user_filters(None, None, None),
                1,
                status=422,
                problem=refused.message("zh"),
                typed=typed,
            )
    return RedirectResponse("/users?done=" + "added", status_code=303)


def _user_or_404(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(kind="user", kind_zh="用户", key=str(user_id))
    return user


def _user_page(
    request: Request,
    me: Principal,
    session: Session,
    user: User,
    status: int = 200,
    problem: str | None = None,
    done: str | None = None,
):
    zone = settings_of(request).timezone
    unit = session.get(Unit, user.unit_id) if user.unit_id else None
    return page(
        request,
        "user.html.j2",
        me,
        status=status,
        user=_user_row(user, unit.name if unit else None, zone),
        roles=ROLE_CHOICES,
        units=session.exec(select(Unit.name).order_by(Unit.name)).all(),
        problem=problem,
        done=done,
        min_password=MIN_PASSWORD,
    )


DONE: Final[dict[str, str]] = {
    "role": "角色已变更，该用户需重新登录。",
    "password": "密码已重置，该用户的登录和访问令牌均已失效。",
    "disable": "账户已停用，该用户的登录和访问令牌均已失效。",
    "enable": "账户已启用。",
}


@router.get("/users/{user_id}")
def user_detail(
    request: Request,
    user_id: Id,
    done: Word | None = None,
    me: Principal = Depends(admin_only),
    session: Session = Depends(read_session),
):
    return _user_page(
        request, me, session, _user_or_404(session, user_id), done=DONE.get(done or "")
    )


@router.post("/users/{user_id}/{change}")
def user_change(request: Request, user_id: Id, change: Word, me: Principal = Depends(admin_only)):
    if change not in DONE:
        raise NotFound(kind="page", kind_zh="页面", key=change[:40])
    form = form_of(request, me)
    now = utc_now()
    try:
        with unit_of_work(engine_of(request)) as session:
            username = _user_or_404(session, user_id).username
            if change == "role":
                change_role(
                    session,
                    username=username,
                    role=_text(form, "role"),
                    unit_name=_text(form, "unit") or None,
                    actor=me.actor,
                    now=now,
                )
            elif change == "password":
                set_password(
                    session,
                    username=username,
                    password=str(form.get("password") or ""),
                    actor=me.actor,
                    now=now,
                )
            elif change == "disable":
                disable_user(session, username=username, actor=me.actor, now=now)
            else:
                enable_user(session, username=username, actor=me.actor, now=now)
    except (UserRefused, NotFound) as refused:
        with unit_of_work(engine_of(request)) as session:
            return _user_page(
                request,
                me,
                session,
                _user_or_404(session, user_id),
                status=422,
                problem=refused.message("zh"),
            )
    return RedirectResponse(f"/users/{user_id}?done={change}", status_code=303)


# --- one's own password --------------------------------------------------------------------------


@router.get("/account/password")
def own_password_form(request: Request, me: Principal = Depends(signed_in)):
    return page(
        request, "password.html.j2", me, problem=None, done=False, min_password=MIN_PASSWORD
    )


@router.post("/account/password")
def own_password(request: Request, me: Principal = Depends(signed_in)):
    form = form_of(request, me)
    new, again = str(form.get("new") or ""), str(form.get("again") or "")
    problem = "两次输入的新密码不一致" if new != again else None
    if problem is None:
        try:
            with unit_of_work(engine_of(request)) as session:
                change_own_password(
                    session,
                    user_id=me.user_id,
                    current=str(form.get("current") or ""),
                    new=new,
                    actor=me.actor,
                    now=utc_now(),
                )
        except UserRefused as refused:
            problem = refused.message("zh")
    if problem is not None:
        return page(
            request,
            "password.html.j2",
            me,
            status=422,
            problem=problem,
            done=False,
            min_password=MIN_PASSWORD,
        )
    # The new password ended every session, this one too: sign in again with it.
    return page(
        request, "password.html.j2", None, problem=None, done=True, min_password=MIN_PASSWORD
    )


# --- the unit directory --------------------------------------------------------------------------


def _unit_filters(q: str | None, kind: str | None) -> dict[str, str]:
    filters = {"q": (q or "").strip(), "kind": kind or ""}
    if filters["kind"] and filters["kind"] not in UNIT_KINDS:
        raise InputRefused("“类别”应从列表中选择")
    return filters


def _unit_query(filters: dict[str, str]):
    query = select(Unit)
    if filters["q"]:
        named = select(UnitAlias.unit_id).where(
            col(UnitAlias.alias).contains(filters["q"], autoescape=True)
        )
        query = query.where(
            col(Unit.name).contains(filters["q"], autoescape=True) | col(Unit.id).in_(named)
        )
    if filters["kind"]:
        query = query.where(Unit.kind == filters["kind"])
    return query.order_by(col(Unit.name))


def _unit_row(session: Session, unit: Unit) -> dict[str, Any]:
    described = describe_unit(session, unit)
    contacts = described["contacts"]
    return {
        "id": unit.id,
        "name": unit.name,
        "kind": UNIT_KINDS.get(str(unit.kind), str(unit.kind)),
        "kind_code": str(unit.kind),
        "aliases": "、".join(described["aliases"]),
        "members": "、".join(described["members"]),
        "contacts": [
            (CONTACT_ROLES.get(role, role), c["name"], c["email"] or "", c["phone"] or "")
            for role, c in sorted(contacts.items(), key=lambda rc: rc[0] != "liaison")
        ],
        "fields": {
            "name": unit.name,
            "kind": str(unit.kind),
            "aliases": "、".join(described["aliases"]),
            "members": "、".join(described["members"]),
            **{
                f"{role}_{key}": (contacts.get(role) or {}).get(key) or ""
                for role in ("liaison", "head")
                for key in ("name", "email", "phone", "mobile")
            },
            **{
                f"{role}_channels": "、".join(
                    CHANNELS.get(c, c) for c in (contacts.get(role) or {}).get("channels") or []
                )
                for role in ("liaison", "head")
            },
            # A robot's key or secret is never shown back: the form says whether one is set, and a
            # field left empty keeps it (see _save_unit).
            **{key: "" for key in ROBOT_FIELDS},
            "robots_set": [key for key in ROBOT_FIELDS if getattr(unit, key)],
        },
    }


@router.get("/units")
def units(
    request: Request,
    q: SearchText | None = None,
    kind: Word | None = None,
    page_no: Id = 1,
    me: Principal = Depends(office_only),
    session: Session = Depends(read_session),
):
    filters = _unit_filters(q, kind)
    found, paging = paginate(
        session,
        _unit_query(filters),
        page=page_no,
        path="/units",
        filters=filters,
        export_path="/units/export",
    )
    from models.nudges import nudge_offers
    from models.recipients import without_contacts

    ids = [u.id for u in found if u.id]
    lacking = {u.id for u in without_contacts(session, ids)}
    offers = nudge_offers(session, unit_ids=ids)  # 一键催办: only where a press can succeed
    return page(
        request,
        "units.html.j2",
        me,
        rows=[
            _unit_row(session, u) | {"lacking": u.id in lacking, "nudge": offers.get(u.id or 0)}
            for u in found
        ],
        back=str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        paging=paging,
        filters=filters,
        kinds=UNIT_KINDS,
        may_edit=me.role == Role.OFFICE_ADMIN,
        done=request.query_params.get("done", "")[:200],
    )


@router.get("/units/export")
def units_export(
    q: SearchText | None = None,
    kind: Word | None = None,
    me: Principal = Depends(office_only),
    session: Session = Depends(read_session),
):
    rows = (
        _unit_row(session, u)["fields"] for u in session.exec(_unit_query(_unit_filters(q, kind)))
    )
    cells = (
        [
            f["name"],
            UNIT_KINDS.get(f["kind"], f["kind"]),
            f["aliases"],
            f["members"],
            *(
                f[f"{role}_{key}"]
                for role in ("liaison", "head")
                for key in ("name", "email", "phone")
            ),
        ]
        for f in rows
    )
    return xlsx_download("单位通讯录.xlsx", UNIT_HEADERS, cells, sheet="单位通讯录")


def _unit_form(
    request: Request,
    me: Principal,
    unit_id: int | None,
    fields: dict[str, str],
    status: int = 200,
    problems: list[str] | None = None,
    nudge: Any = None,
):
    return page(
        request,
        "unit.html.j2",
        me,
        status=status,
        unit_id=unit_id,
        fields=fields,
        kinds=UNIT_KINDS,
        problems=problems or [],
        nudge=nudge,
    )


@router.get("/units/new")
def unit_new(request: Request, me: Principal = Depends(admin_only)):
    return _unit_form(request, me, None, {c: "" for c in CSV_COLUMNS} | {"kind": "department"})


@router.get("/units/{unit_id}")
def unit_detail(
    request: Request,
    unit_id: Id,
    me: Principal = Depends(admin_only),
    session: Session = Depends(read_session),
):
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(kind="unit", kind_zh="单位", key=str(unit_id))
    from models.nudges import nudge_offers

    offer = nudge_offers(session, unit_ids=[unit_id]).get(unit_id)
    return _unit_form(request, me, unit_id, _unit_row(session, unit)["fields"], nudge=offer)


def _directory_except(
    session: Session, unit_id: int | None, aliases: str | None
) -> list[tuple[Where | None, Any]]:
    """Every other unit as a directory record, so that the form's unit is checked against them
    (names, aliases, members) exactly as an import file would be; but a unit nobody curated that
    one of the form's aliases names is left out, for the form's unit to adopt it, as an import
    does (intake.directory `sync_directory`)."""
    adopting = {squash(a) for a in split_names(aliases or "")}
    records: list[tuple[Where | None, Any]] = []
    for number, unit in enumerate(session.exec(select(Unit).order_by(col(Unit.id))), start=1):
        if unit.id == unit_id or (squash(unit.name) in adopting and uncurated(session, unit)):
            continue
        described = describe_unit(session, unit, secrets=True)
        record = {k: described[k] for k in ("name", "kind", "aliases", "members")}
        record |= {k: described[k] for k in ROBOT_FIELDS if k in described}
        record |= described["contacts"]
        records.append((Where("row", number), record))
    return records


@router.post("/units")
def unit_create(request: Request, me: Principal = Depends(admin_only)):
    return _save_unit(request, me, None)


@router.post("/units/{unit_id}")
def unit_update(request: Request, unit_id: Id, me: Principal = Depends(admin_only)):
    return _save_unit(request, me, unit_id)


def _save_unit(request: Request, me: Principal, unit_id: int | None):
    form = form_of(request, me)
    fields = {c: _text(form, c) for c in CSV_COLUMNS}
    with unit_of_work(engine_of(request)) as session:
        if unit_id is not None:
            unit = session.get(Unit, unit_id)
            if unit is None:
                raise NotFound(kind="unit", kind_zh="单位", key=str(unit_id))
            fields["name"] = unit.name  # the name is the unit's key: renaming is not this form's
            for key in ROBOT_FIELDS:  # left empty: the robot stays as the directory has it
                fields[key] = fields[key] or (getattr(unit, key) or "")
        # The form's unit goes last and without a place, so every problem about it is the form's.
        records = [
            *_directory_except(session, unit_id, fields["aliases"]),
            (None, record_from_columns(fields)),
        ]
        try:
            entries = check_records(records)
        except ImportFailed as failed:
            mine = [p.zh for p in failed.problems if p.where is None]
            if not mine:
                raise
            return _unit_form(request, me, unit_id, fields, status=422, problems=mine)
        try:
            synced = sync_directory(session, entries[-1:], actor=me.actor, now=utc_now())
        except ImportFailed as failed:
            session.rollback()
            return _unit_form(
                request, me, unit_id, fields, status=422, problems=[p.zh for p in failed.problems]
            )
    done = "已保存" if synced.created or synced.updated else "没有改动"
    return RedirectResponse(link("/units", {"done": done, "q": fields["name"]}), status_code=303)

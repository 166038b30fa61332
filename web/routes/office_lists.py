"""The office's long lists: the dashboard, the verification queue, the rounds and the extension
requests, each filtered by GET parameters (a filtered page can be bookmarked), in pages of fifty
(web/lists.py) and exported to Excel with the same filters, Chinese headers and a Chinese name.

Filters are applied in SQL; the dashboard's light is the one exception (web/dashboard.py says why).
Each export answers to the same role as its page.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from markupsafe import Markup
from sqlalchemy import func
from sqlmodel import Session, col, select

from models.assignment import Assignment
from models.clock import local_day, utc, utc_now
from models.escalation import ExtensionRequest, ExtensionState
from models.filings import latest_changes, versions_of
from models.labels import (
    ASSIGNMENT_ROLES,
    CHECKIN_STATES,
    LIGHTS,
    ROUND_STATES,
    STATES,
    actor_label,
    label,
    local_time,
)
from models.plan import Plan, Task, live_plan
from models.round import CheckIn, CheckInState, SupervisionRound
from models.rounds import unreached_in_round
from models.unit import Unit
from web.auth import Principal
from web.bounds import Id, SearchText
from web.dashboard import every_cell, overview
from web.deps import office_only, office_or_leader, page, read_session, settings_of, templates
from web.filing_view import evidence_shown
from web.list_filters import choice, day_filters, number
from web.lists import export_rows, list_page, paginate, paging_of, xlsx_download

router = APIRouter()

EXTENSION_STATES: Final[dict[str, str]] = {
    "pending": "待审批",
    "approved": "已批准",
    "rejected": "已驳回",
}
FILING_KINDS: Final[dict[str, str]] = {"progress": "进展", "completion": "办结报告"}


def _units(session: Session) -> list[Any]:
    return list(session.exec(select(Unit.id, Unit.name).order_by(Unit.name)).all())


def _day_bounds(column: Any, filters: dict[str, Any], zone: str) -> list[Any]:
    """`column` (a stored UTC moment) within the office's days `since`..`until` of `filters`
    (`day_filters`), both included."""
    since = date.fromisoformat(filters["since"]) if filters["since"] else None
    until = date.fromisoformat(filters["until"]) if filters["until"] else None
    where = []
    if since:
        where.append(column >= utc(datetime.combine(since, time(), ZoneInfo(zone))))
    if until:
        end = datetime.combine(until + timedelta(days=1), time(), ZoneInfo(zone))
        where.append(column < utc(end))
    return where


# ---- the dashboard ----------------------------------------------------------------------------

DASHBOARD_HEADERS: Final = ("任务序号", "任务名称", "单位", "角色", "办理状态", "灯色", "截止日期")
# Tasks a page: each row carries a chip per unit, and a province's task has up to 50 units, so 20
# rows keep the page within issue 16's 200 KB where the lists' 50 would not (bench/pages.py).
DASHBOARD_TASKS: Final = 20
SUGGESTED_UNITS: Final = 300


def _dashboard_filters(
    task: str | None, unit: str | None, state: str | None, role: str | None, light: str | None
) -> dict[str, Any]:
    # Every filter arrives as text: the form sends an empty box as "task=", which means "any".
    return {
        "task": number("task", task),
        "unit": (unit or "").strip(),
        "state": choice("state", state, STATES) or "",
        "role": choice("role", role, ASSIGNMENT_ROLES) or "",
        "light": choice("light", light, LIGHTS) or "",
    }


def _dashboard_chosen(filters: dict[str, Any]) -> dict[str, Any]:
    return {
        "task": filters["task"],
        "unit": filters["unit"] or None,
        "state": filters["state"] or None,
        "role": filters["role"] or None,
        "colour": filters["light"] or None,
    }


@router.get("/dashboard")
def dashboard(
    request: Request,
    page_no: Id = 1,
    task: SearchText | None = None,
    unit: SearchText | None = None,
    state: SearchText | None = None,
    role: SearchText | None = None,
    light: SearchText | None = None,
    me: Principal = Depends(office_or_leader),
    session: Session = Depends(read_session),
):
    settings = settings_of(request)
    today = local_day(utc_now(), settings.timezone)
    filters = _dashboard_filters(task, unit, state, role, light)
    view = overview(
        session,
        today=today,
        rules=settings.cycle,
        page=page_no,
        per_page=DASHBOARD_TASKS,
        timezone=settings.timezone,
        figures=request.app.state.figures,
        **_dashboard_chosen(filters),
    )
    counted_at = datetime.fromtimestamp(view.counted_at, ZoneInfo(settings.timezone)).strftime(
        "%H:%M:%S"
    )
    figures = request.app.state.figures
    leader = me.role == "leader"
    shown = ("rows", today, tuple(_dashboard_chosen(filters).items()), view.page, leader)
    rows_html = figures.get(  # a page's 1,000 chips, rendered once per change, not per request
        session,
        shown,
        lambda: Markup(
            templates.env.get_template("_dashboard_rows.html.j2").render(view=view, leader=leader)
        ),
    )
    return page(
        request,
        "dashboard.html.j2",
        me,
        view=view,
        rows_html=rows_html,
        today=today,
        counted_at=counted_at,
        filters=filters,
        paging=paging_of(
            view.tasks, view.page, DASHBOARD_TASKS, "/dashboard", filters, "/dashboard/export"
        ),
        units=figures.get(session, ("units",), lambda: _suggested_units(session)),
    )


def _suggested_units(session: Session) -> list[str]:
    """The unit names the filter suggests; none past a few hundred (a province's 2,000 names are
    80 KB a page and no help to scroll: the filter takes a part of a name as well)."""
    names = [name for _, name in _units(session)]
    return names if len(names) <= SUGGESTED_UNITS else []


@router.get("/dashboard/export")
def dashboard_export(
    request: Request,
    task: SearchText | None = None,
    unit: SearchText | None = None,
    state: SearchText | None = None,
    role: SearchText | None = None,
    light: SearchText | None = None,
    me: Principal = Depends(office_or_leader),
    session: Session = Depends(read_session),
):
    settings = settings_of(request)
    filters = _dashboard_filters(task, unit, state, role, light)
    cells = every_cell(
        session,
        today=local_day(utc_now(), settings.timezone),
        rules=settings.cycle,
        timezone=settings.timezone,
        **_dashboard_chosen(filters),
    )
    return xlsx_download(
        "督办总览.xlsx",
        DASHBOARD_HEADERS,
        (
            [
                number_of,
                title,
                unit_name,
                label(ASSIGNMENT_ROLES, role_of),
                label(STATES, state_of),
                label(LIGHTS, colour),
                due_on.isoformat() if due_on else "",
            ]
            for number_of, title, unit_name, role_of, state_of, colour, due_on in cells
        ),
    )


# ---- the verification queue -------------------------------------------------------------------

QUEUE_HEADERS: Final = (
    "报送编号",
    "任务序号",
    "任务名称",
    "单位",
    "轮次",
    "类型",
    "报送次数",
    "完成比例",
    "报送时间",
    "报送人",
    "进展情况",
    "需协调解决的问题",
)


def _queue_filters(
    unit: str | None,
    task: str | None,
    round_: str | None,
    kind: str | None,
    since: str | None,
    until: str | None,
) -> dict[str, Any]:
    days = day_filters(since, until)  # the day range is checked before the other filters
    return {
        "unit": number("unit", unit) or "",
        "task": number("task", task) or "",
        "round": number("round", round_) or "",
        "kind": choice("kind", kind, FILING_KINDS) or "",
        **days,
    }


def _queue_query(filters: dict[str, Any], zone: str) -> Any:
    query = (
        select(  # type: ignore[call-overload]  # sqlmodel's select is typed for at most 4 entities
            CheckIn, Assignment, Task, Unit, SupervisionRound
        )
        .join(Assignment, col(Assignment.id) == col(CheckIn.assignment_id))
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .join(SupervisionRound, col(SupervisionRound.id) == col(CheckIn.round_id))
    )
    # In submission order, walked along ix_check_in_review_queue rather than sorted per page.
    return _queued(query, filters, zone).order_by(col(CheckIn.submitted_at), col(CheckIn.id))


def _queue_counted(filters: dict[str, Any], zone: str) -> Any:
    """The queue's rows for counting: the check-ins alone, joined only to what a filter names
    (each joined row has its assignment, task, unit and round: the keys are required and
    enforced), so that the count reads one index."""
    query = select(CheckIn.id)
    if filters["unit"] or filters["task"]:
        query = query.join(Assignment, col(Assignment.id) == col(CheckIn.assignment_id))
    if filters["task"]:
        query = query.join(Task, col(Task.id) == col(Assignment.task_id))
    return _queued(query, filters, zone)


def _queued(query: Any, filters: dict[str, Any], zone: str) -> Any:
    """`query` kept to the filings awaiting review that the filters select."""
    # A round closed with filings still unreviewed leaves them here, marked, never stranded.
    query = query.where(CheckIn.state == CheckInState.SUBMITTED)
    if filters["unit"]:
        query = query.where(Assignment.unit_id == filters["unit"])
    if filters["task"]:
        query = query.where(Task.number == filters["task"])
    if filters["round"]:
        query = query.where(CheckIn.round_id == filters["round"])
    if filters["kind"]:
        query = query.where(CheckIn.completed == (filters["kind"] == "completion"))
    return query.where(*_day_bounds(col(CheckIn.submitted_at), filters, zone))


def _rounds_named(session: Session) -> list[Any]:
    return list(
        session.exec(
            select(SupervisionRound.id, Plan.key, SupervisionRound.name)
            .join(Plan, col(Plan.id) == col(SupervisionRound.plan_id))
            .order_by(col(SupervisionRound.id).desc())
        ).all()
    )


@router.get("/review")
def review_queue(
    request: Request,
    unit: SearchText | None = None,
    task: SearchText | None = None,
    round: SearchText | None = None,
    kind: SearchText | None = None,
    since: SearchText | None = None,
    until: SearchText | None = None,
    page_no: Id = 1,
    me: Principal = Depends(office_only),
    session: Session = Depends(read_session),
):
    zone = settings_of(request).timezone
    filters = _queue_filters(unit, task, round, kind, since, until)
    rows, paging = paginate(
        session,
        _queue_query(filters, zone),
        page=page_no,
        path="/review",
        filters=filters,
        export_path="/review/export",
        counted=_queue_counted(filters, zone),
    )
    versions = versions_of(session, [c.id for c, *_ in rows if c.id is not None])
    return page(
        request,
        "review.html.j2",
        me,
        rows=rows,
        changed={i: latest_changes(v) for i, v in versions.items()},
        **evidence_shown(settings_of(request).home / "evidence"),
        paging=paging,
        filters=filters,
        units=_units(session),
        rounds=_rounds_named(session),
        kinds=FILING_KINDS,
    )


@router.get("/review/export")
def review_export(
    request: Request,
    unit: SearchText | None = None,
    task: SearchText | None = None,
    round: SearchText | None = None,
    kind: SearchText | None = None,
    since: SearchText | None = None,
    until: SearchText | None = None,
    me: Principal = Depends(office_only),
    session: Session = Depends(read_session),
):
    zone = settings_of(request).timezone
    filters = _queue_filters(unit, task, round, kind, since, until)
    found = export_rows(session, _queue_query(filters, zone))
    return xlsx_download(
        "待审核报送.xlsx",
        QUEUE_HEADERS,
        (
            [
                c.id,
                t.number,
                t.title,
                u.name,
                r.name,
                FILING_KINDS["completion" if c.completed else "progress"],
                c.revision,
                c.percent,
                local_time(c.submitted_at, zone),
                actor_label(c.submitted_by) if c.submitted_by else "",
                c.text or "",
                c.problems or "",
            ]
            for c, _, t, u, r in found
        ),
    )


# ---- rounds -----------------------------------------------------------------------------------

ROUND_HEADERS: Final = (
    "计划",
    "轮次",
    "状态",
    "报送截止日期",
    *(CHECKIN_STATES[s.value] for s in CheckInState),
)


def _round_filters(
    plan: str | None, state: str | None, since: str | None, until: str | None
) -> dict[str, Any]:
    days = day_filters(since, until)  # the day range is checked before the other filters
    return {
        "plan": (plan or "").strip(),
        "state": choice("state", state, ROUND_STATES) or "",
        **days,
    }


def _round_query(filters: dict[str, Any]) -> Any:
    query = select(SupervisionRound, Plan.title).join(
        Plan, col(Plan.id) == col(SupervisionRound.plan_id)
    )
    if filters["plan"]:
        query = query.where(Plan.key == filters["plan"])
    if filters["state"]:
        query = query.where(SupervisionRound.state == filters["state"])
    if filters["since"]:
        query = query.where(SupervisionRound.report_by >= date.fromisoformat(filters["since"]))
    if filters["until"]:
        query = query.where(SupervisionRound.report_by <= date.fromisoformat(filters["until"]))
    return query.order_by(col(SupervisionRound.id).desc())


def _round_rows(session: Session, found: list[Any]) -> list[dict[str, Any]]:
    """The rounds `found` ((round, plan title) rows) with their check-ins by state. A person reads
    the plan's title; its key only filters."""
    ids = [r.id for r, _ in found]
    by_round: dict[int, dict[str, int]] = {}
    if ids:
        for round_id, state, count in session.exec(
            select(CheckIn.round_id, CheckIn.state, func.count())
            .where(col(CheckIn.round_id).in_(ids))
            .group_by(col(CheckIn.round_id), col(CheckIn.state))
        ):
            by_round.setdefault(round_id, {})[state] = count
    return [
        {
            "id": r.id,
            "plan_title": title,
            "name": r.name,
            "state": str(r.state),
            "report_by": r.report_by.isoformat(),
            "checkins": {
                s.value: by_round.get(r.id or 0, {}).get(s.value, 0) for s in CheckInState
            },
        }
        for r, title in found
    ]


@router.get("/rounds")
def rounds(
    request: Request,
    opened: Id | None = None,
    plan: SearchText | None = None,
    state: SearchText | None = None,
    since: SearchText | None = None,
    until: SearchText | None = None,
    page_no: Id = 1,
    me: Principal = Depends(office_only),
    session: Session = Depends(read_session),
):
    from models.cadence import cadence_words, upcoming
    from models.labels import CADENCE_ADJUSTS, CADENCES

    filters = _round_filters(plan, state, since, until)
    found, paging = list_page(
        session,
        _round_query(filters),
        page=page_no,
        path="/rounds",
        filters=filters,
    )
    plans = session.exec(
        select(Plan).where(live_plan()).order_by(col(Plan.id))
    ).all()  # not archived
    just_opened = session.get(SupervisionRound, opened) if opened else None
    now = utc_now()
    return page(
        request,
        "rounds.html.j2",
        me,
        rounds=_round_rows(session, found),
        paging=paging,
        filters=filters,
        # The live plans (an archived one's rounds stay listed; a bookmark may still name it).
        # (key, title): the option's value is the key, its words the title.
        plan_choices=[(p.key, p.title) for p in plans]
        + (
            [(filters["plan"], filters["plan"])]
            if filters["plan"] and filters["plan"] not in {p.key for p in plans}
            else []
        ),
        plans=plans,
        cadences={
            p.key: (cadence_words(p), upcoming(p, now, settings_of(request), count=1))
            for p in plans
        },
        cadence_choices=list(CADENCES.items()),
        adjust_choices=list(CADENCE_ADJUSTS.items()),
        open_days=settings_of(request).cycle.cadence_open_days,
        opened=just_opened,
        unreached=unreached_in_round(session, opened) if just_opened and opened else [],
    )


@router.get("/rounds/export")
def rounds_export(
    request: Request,
    plan: SearchText | None = None,
    state: SearchText | None = None,
    since: SearchText | None = None,
    until: SearchText | None = None,
    me: Principal = Depends(office_only),
    session: Session = Depends(read_session),
):
    filters = _round_filters(plan, state, since, until)
    rows = _round_rows(session, list(export_rows(session, _round_query(filters))))
    return xlsx_download(
        "督导轮次.xlsx",
        ROUND_HEADERS,
        (
            [
                r["plan_title"],
                r["name"],
                label(ROUND_STATES, r["state"]),
                r["report_by"],
                *(r["checkins"][s.value] for s in CheckInState),
            ]
            for r in rows
        ),
    )


# ---- extension requests -----------------------------------------------------------------------

EXTENSION_HEADERS: Final = (
    "编号",
    "任务序号",
    "任务名称",
    "单位",
    "原截止日期",
    "申请延至",
    "理由",
    "申请人",
    "申请时间",
    "状态",
    "审批意见",
    "审批人",
    "审批时间",
)


def _extension_filters(
    state: str | None,
    unit: str | None,
    task: str | None,
    since: str | None,
    until: str | None,
) -> dict[str, Any]:
    days = day_filters(since, until)  # the day range is checked before the other filters
    return {
        "state": choice("state", state, EXTENSION_STATES) or "",
        "unit": number("unit", unit) or "",
        "task": number("task", task) or "",
        **days,
    }


def _extension_query(filters: dict[str, Any], zone: str) -> Any:
    query = (
        select(ExtensionRequest, Task, Unit)
        .join(Assignment, col(Assignment.id) == col(ExtensionRequest.assignment_id))
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
    )
    if filters["state"]:
        query = query.where(ExtensionRequest.state == filters["state"])
    if filters["unit"]:
        query = query.where(Assignment.unit_id == filters["unit"])
    if filters["task"]:
        query = query.where(Task.number == filters["task"])
    query = query.where(*_day_bounds(col(ExtensionRequest.requested_at), filters, zone))
    return query.order_by(
        col(ExtensionRequest.state) != ExtensionState.PENDING, col(ExtensionRequest.id).desc()
    )


@router.get("/extensions")
def extensions(
    request: Request,
    state: SearchText | None = None,
    unit: SearchText | None = None,
    task: SearchText | None = None,
    since: SearchText | None = None,
    until: SearchText | None = None,
    page_no: Id = 1,
    me: Principal = Depends(office_only),
    session: Session = Depends(read_session),
):
    zone = settings_of(request).timezone
    filters = _extension_filters(state, unit, task, since, until)
    rows, paging = list_page(
        session,
        _extension_query(filters, zone),
        page=page_no,
        path="/extensions",
        filters=filters,
    )
    return page(
        request,
        "extensions.html.j2",
        me,
        rows=rows,
        paging=paging,
        filters=filters,
        states=EXTENSION_STATES,
        units=_units(session),
    )


@router.get("/extensions/export")
def extensions_export(
    request: Request,
    state: SearchText | None = None,
    unit: SearchText | None = None,
    task: SearchText | None = None,
    since: SearchText | None = None,
    until: SearchText | None = None,
    me: Principal = Depends(office_only),
    session: Session = Depends(read_session),
):
    zone = settings_of(request).timezone
    filters = _extension_filters(state, unit, task, since, until)
    found = export_rows(session, _extension_query(filters, zone))
    return xlsx_download(
        "延期申请.xlsx",
        EXTENSION_HEADERS,
        (
            [
                e.id,
                t.number,
                t.title,
                u.name,
                e.original_due_on.isoformat() if e.original_due_on else "",
                e.requested_due_on.isoformat(),
                e.reason,
                actor_label(e.requested_by),
                local_time(e.requested_at, zone),
                EXTENSION_STATES.get(str(e.state), str(e.state)),
                e.decision_reason or "",
                actor_label(e.decided_by) if e.decided_by else "",
                local_time(e.decided_at, zone) if e.decided_at else "",
            ]
            for e, t, u in found
        ),
    )

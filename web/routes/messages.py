"""The office's view of the outbox: every message, pending, sent, failed or perhaps delivered,
filtered by status, unit and kind, in pages of fifty, exported to Excel; dead ones sent again."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy import and_
from sqlmodel import Session, col, select

from models.clock import utc_now
from models.db import unit_of_work
from models.labels import MESSAGE_KINDS, local_time
from models.notification import Notification, NotificationStatus, path_text
from models.outbox import retry_dead
from models.unit import Unit
from web.auth import Principal
from web.bounds import Id, InputRefused, Word, number_in_form
from web.deps import engine_of, form_of, office_only, page, read_session, settings_of
from web.flash import redirect_with
from web.lists import paginate, xlsx_download

router = APIRouter()

# What the office asks for, as the page names it; `_where` says which rows each one is.
STATUSES: Final[dict[str, str]] = {
    "pending": "待发送",
    "retrying": "等待重试",
    "claimed": "发送中",
    "sent": "已发送",
    "fell_back": "已改投送达",
    "maybe_sent": "可能已送达",
    "dead": "发送失败（已放弃）",
}
KINDS: Final[dict[str, str]] = MESSAGE_KINDS
HEADERS: Final[tuple[str, ...]] = (
    "编号",
    "类型",
    "单位",
    "收件人",
    "邮箱",
    "主题",
    "状态",
    "尝试次数",
    "生成时间",
    "发送时间",
    "途径",
    "原因",
)


def _where(status: str) -> Any:
    state, error = col(Notification.status), col(Notification.last_error)
    return {
        "pending": and_(state == NotificationStatus.PENDING, error.is_(None)),
        "retrying": and_(state == NotificationStatus.PENDING, error.is_not(None)),
        "claimed": state == NotificationStatus.CLAIMED,
        "sent": and_(
            state == NotificationStatus.SENT, col(Notification.maybe_sent) == 0, error.is_(None)
        ),
        # sent by a later channel of the person's list: the first one's failure stays on the row
        "fell_back": and_(state == NotificationStatus.SENT, error.is_not(None)),
        "maybe_sent": col(Notification.maybe_sent) > 0,
        "dead": state == NotificationStatus.DEAD,
    }[status]


def status_of(n: Notification) -> str:
    """One message's status in words (a message that may have arrived says so, whatever else)."""
    if n.maybe_sent:
        return STATUSES["maybe_sent"]
    if n.status == NotificationStatus.PENDING and n.last_error:
        return STATUSES["retrying"]
    if n.status == NotificationStatus.SENT and n.last_error:
        return STATUSES["fell_back"]
    return STATUSES.get(str(n.status), f"其他（{n.status}）")


def _query(filters: dict[str, str]):
    query = select(Notification, Unit.name).outerjoin(Unit, col(Unit.id) == Notification.unit_id)
    if filters["status"]:
        if filters["status"] not in STATUSES:
            raise InputRefused(f"状态“{filters['status'][:20]}”无效，请从列表中选择")
        query = query.where(_where(filters["status"]))
    if filters["unit"]:
        unit_id = number_in_form(filters["unit"])
        if unit_id is None:
            raise InputRefused("“单位”应从列表中选择")
        query = query.where(Notification.unit_id == unit_id)
    if filters["kind"]:
        query = query.where(Notification.kind == filters["kind"])
    return query.order_by(col(Notification.id).desc())


def _filters(status: str | None, unit: str | None, kind: str | None) -> dict[str, str]:
    return {"status": status or "", "unit": unit or "", "kind": kind or ""}


def _row(n: Notification, unit: str | None, zone: str) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": KINDS.get(n.kind, f"其他（{n.kind}）"),
        "unit": unit or "—",
        "name": n.recipient_name or "",
        "email": n.recipient_email or "",
        "subject": n.subject,
        "status": status_of(n),
        "dead": n.status == NotificationStatus.DEAD,
        "attempts": n.attempts,
        "created": local_time(n.created_at, zone),
        "sent": local_time(n.sent_at, zone),
        "way": path_text(n.path, n.channel, n.status),
        "error": n.last_error or "",
    }


@router.get("/notifications")
def notifications(
    request: Request,
    status: Word | None = None,
    unit: Word | None = None,
    kind: Word | None = None,
    page_no: Id = 1,
    me: Principal = Depends(office_only),
    session: Session = Depends(read_session),
):
    """Every message of the outbox, newest first, filtered."""
    zone = settings_of(request).timezone
    filters = _filters(status, unit, kind)
    found, paging = paginate(
        session,
        _query(filters),
        page=page_no,
        path="/notifications",
        filters=filters,
        export_path="/notifications/export",
    )
    units = session.exec(select(Unit.id, Unit.name).order_by(Unit.name)).all()
    dead = session.exec(
        select(Notification.id).where(Notification.status == NotificationStatus.DEAD).limit(1)
    ).first()
    return page(
        request,
        "notifications.html.j2",
        me,
        rows=[_row(n, name, zone) for n, name in found],
        paging=paging,
        filters=filters,
        statuses=STATUSES,
        kinds=KINDS,
        units=units,
        any_dead=dead is not None,
    )


@router.get("/notifications/export")
def notifications_export(
    request: Request,
    status: Word | None = None,
    unit: Word | None = None,
    kind: Word | None = None,
    me: Principal = Depends(office_only),
    session: Session = Depends(read_session),
):
    zone = settings_of(request).timezone
    rows = (
        _row(n, name, zone)
        for n, name in session.exec(_query(_filters(status, unit, kind)).limit(100_000))
    )
    return xlsx_download(
        "通知消息.xlsx",
        HEADERS,
        (
            [
                r["id"],
                r["kind"],
                r["unit"],
                r["name"],
                r["email"],
                r["subject"],
                r["status"],
                r["attempts"],
                r["created"],
                r["sent"],
                r["way"],
                r["error"],
            ]
            for r in rows
        ),
        sheet="通知消息",
    )


@router.post("/notifications/retry")
def notifications_retry(
    request: Request,
    me: Principal = Depends(office_only),
    ids: Annotated[list[Id], Form(alias="id")] = [],  # noqa: B006 — copied per request
):
    form_of(request, me)
    with unit_of_work(engine_of(request)) as session:
        retry_dead(session, ids=ids or None, actor=me.actor, now=utc_now())
    return redirect_with(request, "/notifications", "已重新排队发送")

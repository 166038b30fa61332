"""退办 in the portal: the unit's 退办 form on its assignment page (offered only while it may
decline), and the office's list of 退办 with its reassign, change-role and reject forms. The same
use cases as `duban decline` and /api/v1/assignments/{id}/decline (models/declines.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlmodel import Session, col, select

from models.assignment import ROLE_ZH, Assignment
from models.clock import utc_now
from models.db import reading, unit_of_work
from models.declines import (
    DECLINE_STATE_LABELS,
    DeclineRefused,
    DeclineState,
    TooLong,
    decide,
    decline,
    listing,
)
from models.errors import ReasonRequired
from models.unit import Unit
from web.assignment_view import assignment_facts
from web.auth import Principal
from web.bounds import Id, Word
from web.deps import (
    engine_of,
    form_of,
    office_only,
    office_or_unit,
    page,
    read_session,
    record_conflict,
    settings_of,
)
from web.errors import STATUS_BY_EXIT
from web.flash import redirect_with
from web.lists import paginate
from web.routes.assignments import visible_assignment

router = APIRouter()
ROLES = {str(code): zh for code, zh in ROLE_ZH.items()}


@router.post("/assignments/{assignment_id}/decline")
def ask_decline(request: Request, assignment_id: Id, me: Principal = Depends(office_or_unit)):
    form = form_of(request, me)
    reason = str(form.get("reason", ""))
    settings = settings_of(request)
    try:
        with unit_of_work(engine_of(request)) as session:
            visible_assignment(session, me, assignment_id)
            decline(
                session,
                assignment_id=assignment_id,
                reason=reason,
                actor=me.actor,
                now=utc_now(),
                rules=settings.cycle,
                timezone=settings.timezone,
            )
    except (DeclineRefused, ReasonRequired, TooLong) as refused:
        status = STATUS_BY_EXIT.get(refused.exit_code, 400)
        if status == 409:
            record_conflict(request, refused.message("en"))
        with reading(engine_of(request)) as session:
            assignment = visible_assignment(session, me, assignment_id)
            facts = assignment_facts(
                session,
                me,
                assignment,
                settings,
                decline_error=refused.message("zh"),
                typed={"decline_reason": reason},
            )
            return page(request, "assignment.html.j2", me, status=status, **facts)
    return redirect_with(
        request, f"/assignments/{assignment_id}", "已申请退办，待办公室审核；审核前不能签收"
    )


@router.get("/declines")
def declines_page(
    request: Request,
    page_no: Id = 1,
    me: Principal = Depends(office_only),
    session: Session = Depends(read_session),
):
    rows, paging = paginate(session, listing(), page=page_no, path="/declines", filters={})
    new_ids = [d.new_assignment_id for d, _, _ in rows if d.new_assignment_id]
    holders = dict(
        session.exec(
            select(Assignment.id, Unit.name)
            .join(Unit, col(Unit.id) == col(Assignment.unit_id))
            .where(col(Assignment.id).in_(new_ids))
        ).all()
    )
    pending = any(d.state == DeclineState.PENDING for d, _, _ in rows)
    units = (  # the units to reassign to, only when a pending 退办 offers its form
        session.exec(
            select(Unit.name).where(col(Unit.active).is_(True)).order_by(col(Unit.id))
        ).all()
        if pending
        else []
    )
    return page(
        request,
        "declines.html.j2",
        me,
        rows=rows,
        labels=DECLINE_STATE_LABELS,
        roles=ROLES,
        units=units,
        holders={d.id: holders.get(d.new_assignment_id, "") for d, _, _ in rows},
        paging=paging,
    )


DONE = {
    "reassign": "已改派，新单位已收到交办通知",
    "role": "已调整分工角色",
    "reject": "已不予退办",
}


@router.post("/declines/{assignment_id}/{decision}")
def decide_decline(
    request: Request, assignment_id: Id, decision: Word, me: Principal = Depends(office_only)
):
    form = form_of(request, me)
    if decision not in DONE:
        raise HTTPException(404)
    role = str(form.get("role", "")) or None
    if role is not None and role not in ROLES:
        raise HTTPException(
            400, "角色应为牵头、负责或配合 / role must be lead, responsible or cooperating"
        )
    unit = str(form.get("unit", "")).strip()
    if decision == "reassign" and not unit:
        raise HTTPException(400, "请选择改派的单位 / choose the unit to reassign to")
    settings = settings_of(request)
    with unit_of_work(engine_of(request)) as session:
        decide(
            session,
            assignment_id=assignment_id,
            actor=me.actor,
            now=utc_now(),
            rules=settings.cycle,
            timezone=settings.timezone,
            reassign_to=unit if decision == "reassign" else None,
            role=role if decision != "reject" else None,
            reject=decision == "reject",
            reason=str(form.get("reason", "")) or None,
        )
    return redirect_with(request, "/declines", DONE[decision])

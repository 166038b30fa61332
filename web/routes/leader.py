"""The leader's (领导) read-only pages: one task with every unit's state, and the agenda of the next
consultation (会商). Office staff may open them too; nothing here changes anything."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlmodel import Session, col, select

from models.assignment import Assignment
from models.escalations import agenda, agenda_count, agenda_units
from models.lifecycle import OFFICE
from models.nudges import nudge_offers
from models.plan import Plan, Task
from models.unit import Unit
from web.auth import Principal
from web.bounds import Id, SearchText
from web.deps import office_or_leader, page, read_session, settings_of
from web.directive_view import directive_facts
from web.list_filters import number
from web.lists import PAGE_SIZE, paging_of

router = APIRouter()


@router.get("/leader/tasks/{task_id}")
def task_page(
    request: Request,
    task_id: Id,
    me: Principal = Depends(office_or_leader),
    session: Session = Depends(read_session),
):
    return task_view(request, session, me, task_id)


def task_view(
    request: Request,
    session: Session,
    me: Principal,
    task_id: int,
    *,
    status: int = 200,
    directive_error: str | None = None,
    directive_typed: dict[str, str] | None = None,
):
    """The task page; a refused 批示 comes back on it with the reason and what was typed."""
    task = session.get(Task, task_id)
    if task is None or task.withdrawn_at is not None:
        raise HTTPException(404, "没有这项任务（可能已撤回）")
    units = session.exec(
        select(Unit.name, Assignment.role, Assignment.state, col(Assignment.due_on))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .where(Assignment.task_id == task_id, col(Assignment.withdrawn_at).is_(None))
        .order_by(col(Assignment.id))
    ).all()
    plan = session.get_one(Plan, task.plan_id)
    # 领导批示 on the task (models/directives.py): each unit's reply, and the write form.
    directives = directive_facts(
        session,
        me,
        timezone=settings_of(request).timezone,
        task_id=task_id,
        error=directive_error,
        typed=directive_typed,
    )
    # 一键催办 (web/routes/nudges.py): the office's button, offered only where a press can succeed.
    offers = nudge_offers(session, task_id=task_id) if me.role in OFFICE else {}
    return page(
        request,
        "leader_task.html.j2",
        me,
        status=status,
        task=task,
        plan=plan,
        units=units,
        nudge_units=len(offers),
        nudge_unreachable=[o.unit for o in offers.values() if not o.reachable],
        **directives,
    )


@router.get("/leader/agenda")
def agenda_page(
    request: Request,
    unit: SearchText | None = None,
    task: SearchText | None = None,
    page_no: Id = 1,
    me: Principal = Depends(office_or_leader),
    session: Session = Depends(read_session),
):
    # A value that is no positive number is refused (422) before any query; an id no unit has
    # simply selects nothing.
    unit_id, task_number = number("unit", unit), number("task", task)
    filters = {"unit": unit_id or "", "task": task_number or ""}
    chosen: dict[str, int | None] = {"unit_id": unit_id, "task_number": task_number}
    total = agenda_count(session, **chosen)
    paging = paging_of(total, page_no, PAGE_SIZE, "/leader/agenda", filters, None)
    items = agenda(
        session,
        settings_of(request).timezone,
        **chosen,
        offset=(paging.page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    return page(
        request,
        "leader_agenda.html.j2",
        me,
        items=items,
        paging=paging,
        filters=filters,
        units=agenda_units(session),
    )

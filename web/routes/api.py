"""The JSON API under /api/v1, for integrations: bearer tokens, the same rules and audit events as the pages.

The API takes bearer tokens only, never the session cookie, so a browser
cannot be made to call it on a user's behalf (no CSRF to defend).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from models import audit
from models.assignment import Assignment
from models.checkins import owed_checkin, submit_checkin
from models.clock import utc_now
from models.db import reading, unit_of_work
from models.lifecycle import OFFICE, Role, available_actions
from models.plan import Task
from models.unit import Unit
from models.users import check_login
from web.auth import Principal, clear_failures, note_failure, principal_for, start_session, throttled
from web.bounds import CheckInText, Count, Id, Milestone, Password, Problems, Username
from web.routes.assignments import visible_assignment
from web.deps import client_ip, engine_of, read_session, refuse, settings_of

router = APIRouter(prefix="/api/v1", tags=["api"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class AssignmentOut(BaseModel):
    id: int
    task_number: int
    task_title: str
    unit: str
    role: str
    state: str
    version: int
    due_on: date | None
    actions: list[str] = Field(description="what the caller may do now (the lifecycle table)")


class CheckInIn(BaseModel):
    text: CheckInText
    percent: int | None = Field(default=None, ge=0, le=100)
    milestone: Milestone | None = None
    problems: Problems | None = None
    completed: bool = False


class CheckInOut(BaseModel):
    id: int
    round_id: int
    state: str
    percent: int | None
    completed: bool


def bearer(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    principal = None
    if header.lower().startswith("bearer "):
        with reading(engine_of(request)) as session:
            principal = principal_for(session, header[7:].strip(), kind="api", settings=settings_of(request),
                                      touch=False)
    if principal is None:
        raise HTTPException(401, "需要有效的访问令牌 / a valid bearer token is required",
                            headers={"WWW-Authenticate": "Bearer"})
    return principal


@router.post("/auth/token", response_model=Token)
def token(request: Request, username: Annotated[Username, Form()], password: Annotated[Password, Form()]) -> Token:
    now, ip = utc_now(), client_ip(request)
    settings = settings_of(request)
    with unit_of_work(engine_of(request)) as session:
        if throttled(session, username, ip, settings=settings, now=now):
            raise HTTPException(429, "登录失败次数过多 / too many failed logins")
        user = check_login(session, username, password)
        if user is None:
            note_failure(session, username, ip, now)
            audit.record(session, at=now, actor=username[:100] or "?", action="login.failed", object_type="user",
                         object_id=username[:60] or "?", outcome="refused", reason=f"api {ip}")
        else:
            clear_failures(session, username)
            issued = start_session(session, user, kind="api", ip=ip, now=now)
            audit.record(session, at=now, actor=user.username, action="token.issue", object_type="user",
                         object_id=user.id, unit_id=user.unit_id, reason=ip)
    if user is None:
        raise HTTPException(401, "用户名或密码错误 / wrong user name or password")
    return Token(access_token=issued, expires_in=settings.api_token_hours * 3600)


def _out(assignment: Assignment, task: Task, unit: Unit, me: Principal) -> AssignmentOut:
    return AssignmentOut(id=assignment.id, task_number=task.number, task_title=task.title, unit=unit.name,
                         role=str(assignment.role), state=str(assignment.state), version=assignment.version,
                         due_on=assignment.due_on, actions=[a.value for a in available_actions(assignment, me.actor)])


def _visible(session: Session, me: Principal, assignment_id: int) -> Assignment:
    """The pages' check (units see only their own), and the API is not the auditors'."""
    if me.role not in (*OFFICE, Role.UNIT, Role.LEADER):
        raise refuse(me, status=404, object_type="assignment", object_id=assignment_id,
                      why="not visible to this caller")
    return visible_assignment(session, me, assignment_id)


@router.get("/assignments", response_model=list[AssignmentOut])
def list_assignments(request: Request, limit: Count = 100, offset: Count = 0, me: Principal = Depends(bearer),
                     session: Session = Depends(read_session)) -> list[AssignmentOut]:
    if me.role not in (*OFFICE, Role.UNIT, Role.LEADER):
        raise refuse(me, status=403, object_type="route", object_id=request.url.path, why="role")
    query = (select(Assignment, Task, Unit).join(Task, col(Task.id) == col(Assignment.task_id))
             .join(Unit, col(Unit.id) == col(Assignment.unit_id)).where(col(Assignment.withdrawn_at).is_(None))
             .order_by(Assignment.id).offset(max(0, offset)).limit(min(max(1, limit), 1000)))
    if me.role == Role.UNIT:
        query = query.where(Assignment.unit_id == me.unit_id)
    return [_out(a, t, u, me) for a, t, u in session.exec(query)]


@router.get("/assignments/{assignment_id}", response_model=AssignmentOut)
def get_assignment(request: Request, assignment_id: Id, me: Principal = Depends(bearer),
                   session: Session = Depends(read_session)) -> AssignmentOut:
    assignment = _visible(session, me, assignment_id)
    return _out(assignment, session.get(Task, assignment.task_id), session.get(Unit, assignment.unit_id), me)


@router.post("/assignments/{assignment_id}/checkins", response_model=CheckInOut, status_code=201)
def post_checkin(request: Request, assignment_id: Id, body: CheckInIn, me: Principal = Depends(bearer)) -> CheckInOut:
    with unit_of_work(engine_of(request)) as session:
        _visible(session, me, assignment_id)
        if me.role not in (*OFFICE, Role.UNIT):
            raise refuse(me, status=403, object_type="assignment", object_id=assignment_id, why="read-only role")
        owed = owed_checkin(session, assignment_id)
        if owed is None:
            raise HTTPException(409, "本任务当前没有进行中的报送 / nothing is owed in an open round")
        filed = submit_checkin(session, round_id=owed.round_id, assignment_id=assignment_id, actor=me.actor,
                               now=utc_now(), text=body.text, percent=body.percent, milestone=body.milestone,
                               problems=body.problems, completed=body.completed)
        return CheckInOut(id=filed.id, round_id=filed.round_id, state=str(filed.state), percent=filed.percent,
                          completed=filed.completed)

"""The JSON API under /api/v1, for integrations: bearer tokens, the same rules and audit events as
the pages.

The API takes bearer tokens only, never the session cookie, so a browser
cannot be made to call it on a user's behalf (no CSRF to defend).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from models.assignment import Assignment
from models.checkins import checkin_to_file, submit_checkin
from models.clock import local_day, utc_now
from models.db import reading, unit_of_work
from models.lifecycle import OFFICE, Context, Role, available_actions
from models.lights import assignment_lights
from models.plan import Task
from models.unit import Unit
from models.workflow import context_of, contexts_of
from web.auth import Principal, live_tokens, principal_for, revoke_token, sign_in
from web.bounds import CheckInText, Count, Id, Milestone, Password, Problems, Username
from web.deps import client_ip, engine_of, read_session, refuse, settings_of
from web.routes.assignments import visible_assignment

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
    actions: list[str] = Field(
        description="what the caller may do now: the lifecycle table and its "
        "guards (progress and report by filing a check-in, verify and return "
        "by a review)"
    )
    light: str = Field(
        description="green, yellow or red today, grey while suspended (暂停), as on the dashboard "
        "and in the 通报 "
        "(models.lights)"
    )


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
            principal = principal_for(
                session, header[7:].strip(), kind="api", settings=settings_of(request), touch=False
            )
    if principal is None:
        raise HTTPException(
            401,
            "需要有效的访问令牌 / a valid bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.principal = principal  # a refusal (409) is put on the trail in this caller's name
    return principal


@router.post("/auth/token", response_model=Token)
def token(
    request: Request, username: Annotated[Username, Form()], password: Annotated[Password, Form()]
) -> Token:
    """A bearer token for `api_token_hours`; throttled like the login page (429 with
    Retry-After)."""
    settings = settings_of(request)
    outcome = sign_in(
        engine_of(request),
        username,
        password,
        kind="api",
        ip=client_ip(request),
        settings=settings,
        now=utc_now(),
    )
    refused = outcome.refusal(utc_now())
    if refused is not None:
        raise HTTPException(refused.status, refused.message, headers=refused.headers or None)
    return Token(access_token=outcome.token, expires_in=settings.api_token_hours * 3600)


class TokenOut(BaseModel):
    id: int
    username: str
    created_at: datetime
    expires_at: datetime
    ip: str | None
    current: bool = Field(description="the token of this request")


@router.get("/auth/tokens", response_model=list[TokenOut])
def tokens(request: Request, me: Principal = Depends(bearer)) -> list[TokenOut]:
    """The caller's live tokens (the office administrator: everyone's)."""
    with reading(engine_of(request)) as session:
        found = live_tokens(
            session,
            settings=settings_of(request),
            now=utc_now(),
            user_id=None if me.role == Role.OFFICE_ADMIN else me.user_id,
        )
    return [TokenOut(**vars(t), current=t.id == me.session_id) for t in found]


@router.delete("/auth/tokens/{token_id}", status_code=204)
def revoke(request: Request, token_id: Id, me: Principal = Depends(bearer)) -> Response:
    """Revoke a token: one's own, or (the office administrator) anyone's; another's answers 404."""
    with unit_of_work(engine_of(request)) as session:
        revoke_token(session, token_id, by=me, now=utc_now())
    return Response(status_code=204)


@router.delete("/auth/token", status_code=204)
def revoke_this(request: Request, me: Principal = Depends(bearer)) -> Response:
    """Revoke the token of this request (the API's log-out)."""
    return revoke(request, me.session_id, me)


def _out(
    assignment: Assignment, task: Task, unit: Unit, me: Principal, context: Context, light: str
) -> AssignmentOut:
    return AssignmentOut(
        id=assignment.id,
        task_number=task.number,
        task_title=task.title,
        unit=unit.name,
        role=str(assignment.role),
        state=str(assignment.state),
        version=assignment.version,
        due_on=assignment.due_on,
        actions=[a.value for a in available_actions(assignment, me.actor, context)],
        light=light,
    )


def _lights(request: Request, session: Session, ids: list[int]) -> dict[int, str]:
    settings = settings_of(request)
    which = select(Assignment.id).where(col(Assignment.id).in_(ids))
    return (
        assignment_lights(
            session,
            which,
            today=local_day(utc_now(), settings.timezone),
            rules=settings.cycle,
            timezone=settings.timezone,
        )
        if ids
        else {}
    )


def _visible(session: Session, me: Principal, assignment_id: int) -> Assignment:
    """The pages' check (units see only their own), and the API is not the auditors'."""
    if me.role not in (*OFFICE, Role.UNIT, Role.LEADER):
        raise refuse(
            me,
            status=404,
            object_type="assignment",
            object_id=assignment_id,
            why="调用者无权查看",
        )
    return visible_assignment(session, me, assignment_id)


@router.get("/assignments", response_model=list[AssignmentOut])
def list_assignments(
    request: Request,
    limit: Count = 100,
    offset: Count = 0,
    me: Principal = Depends(bearer),
    session: Session = Depends(read_session),
) -> list[AssignmentOut]:
    if me.role not in (*OFFICE, Role.UNIT, Role.LEADER):
        raise refuse(
            me, status=403, object_type="route", object_id=request.url.path, why="该角色无权访问"
        )
    query = (
        select(Assignment, Task, Unit)
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .where(col(Assignment.withdrawn_at).is_(None))
        .order_by(Assignment.id)
        .offset(max(0, offset))
        .limit(min(max(1, limit), 1000))
    )
    if me.role == Role.UNIT:
        query = query.where(Assignment.unit_id == me.unit_id)
    rows = session.exec(query).all()
    colours = _lights(request, session, [a.id for a, _, _ in rows])
    contexts = contexts_of(session, [a for a, _, _ in rows])
    return [_out(a, t, u, me, contexts[a.id], colours[a.id]) for a, t, u in rows]


@router.get("/assignments/{assignment_id}", response_model=AssignmentOut)
def get_assignment(
    request: Request,
    assignment_id: Id,
    me: Principal = Depends(bearer),
    session: Session = Depends(read_session),
) -> AssignmentOut:
    assignment = _visible(session, me, assignment_id)
    task, unit = session.get(Task, assignment.task_id), session.get(Unit, assignment.unit_id)
    return _out(
        assignment,
        task,
        unit,
        me,
        context_of(session, assignment),
        _lights(request, session, [assignment.id])[assignment.id],
    )


@router.post("/assignments/{assignment_id}/checkins", response_model=CheckInOut, status_code=201)
def post_checkin(
    request: Request, assignment_id: Id, body: CheckInIn, me: Principal = Depends(bearer)
) -> CheckInOut:
    with unit_of_work(engine_of(request)) as session:
        _visible(session, me, assignment_id)
        if me.role not in (*OFFICE, Role.UNIT):
            raise refuse(
                me,
                status=403,
                object_type="assignment",
                object_id=assignment_id,
                why="只读角色不可修改",
            )
        owed = checkin_to_file(session, assignment_id)
        if owed is None:
            raise HTTPException(
                409, "本任务当前没有进行中的报送 / nothing is owed in an open round"
            )
        filed = submit_checkin(
            session,
            round_id=owed.round_id,
            assignment_id=assignment_id,
            actor=me.actor,
            now=utc_now(),
            text=body.text,
            percent=body.percent,
            milestone=body.milestone,
            problems=body.problems,
            completed=body.completed,
        )
        return CheckInOut(
            id=filed.id,
            round_id=filed.round_id,
            state=str(filed.state),
            percent=filed.percent,
            completed=filed.completed,
        )

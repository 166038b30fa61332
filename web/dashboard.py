"""The dashboard's numbers: grouped counts in SQL, lights only for the page of tasks on screen.

At 100,000 assignments the page costs a few grouped queries and the lights
of at most `per_page` tasks' assignments, never a pass over every row.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, case, func
from sqlmodel import Session, col, select

from models.assignment import Assignment
from models.escalation import Escalation
from models.lifecycle import State
from models.lights import light
from models.plan import Plan, Task
from models.round import CheckIn, CheckInState, RoundState, SupervisionRound
from models.unit import Unit

OWED = [CheckInState.PENDING.value, CheckInState.RETURNED.value]


@dataclass
class Cell:
    assignment_id: int
    unit: str
    role: str
    state: str
    light: str


@dataclass
class Row:
    task_id: int
    number: int
    title: str
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Overview:
    by_state: dict[str, int]
    total: int
    overdue: int
    escalations: dict[int, int]
    rows: list[Row]
    page: int
    pages: int
    lights: dict[str, int]  # of the cells on this page
    counted_at: float = 0.0  # when the headline counts were taken (time.time())


COUNTS_TTL_S = 10.0  # the headline counts are shared by every dashboard request for this long
_counted: dict[tuple[str, date], tuple[float, tuple]] = {}
_counting = threading.Lock()


def headline(session: Session, today: date) -> tuple[dict[str, int], int, dict[int, int], float]:
    """Assignments by state, overdue check-ins, open escalations by level: three grouped queries (40
    ms at 100,000 assignments), taken at most every COUNTS_TTL_S seconds per database, so that a
    room of people refreshing the dashboard does not run them once each."""
    key = (str(session.get_bind().url), today)
    with _counting:
        cached = _counted.get(key)
        if cached and time.monotonic() - cached[0] < COUNTS_TTL_S:
            return cached[1]
        live = (col(Assignment.withdrawn_at).is_(None), col(Task.withdrawn_at).is_(None))
        by_state = {s: n for s, n in session.exec(
            select(Assignment.state, func.count()).join(Task, col(Task.id) == col(Assignment.task_id))
            .where(*live).group_by(Assignment.state))}
        open_rounds = select(SupervisionRound.id).where(SupervisionRound.state == RoundState.OPEN)
        overdue = session.exec(select(func.count()).select_from(CheckIn).where(
            col(CheckIn.round_id).in_(open_rounds), CheckIn.due_on < today, col(CheckIn.state).in_(OWED))).one()
        escalations = dict(session.exec(select(Escalation.level, func.count())
                                        .where(col(Escalation.resolved_at).is_(None)).group_by(Escalation.level)).all())
        found = (by_state, overdue, escalations, time.time())
        _counted[key] = (time.monotonic(), found)
        return found


def overview(session: Session, *, today: date, rules: Any, page: int = 1, per_page: int = 30, task: int | None = None,
             unit: str | None = None, state: str | None = None, colour: str | None = None) -> Overview:
    by_state, overdue, escalations, counted_at = headline(session, today)
    open_rounds = select(SupervisionRound.id).where(SupervisionRound.state == RoundState.OPEN)

    # The page of tasks, filtered in SQL.
    matching = select(Assignment.task_id).join(Unit, col(Unit.id) == col(Assignment.unit_id)).where(
        col(Assignment.withdrawn_at).is_(None))
    if unit:
        matching = matching.where(col(Unit.name).contains(unit))
    if state:
        matching = matching.where(Assignment.state == state)
    tasks_query = select(Task.id, Task.number, Task.title, Task.deadline, Plan.created_at).join(
        Plan, col(Plan.id) == col(Task.plan_id)).where(col(Task.withdrawn_at).is_(None))
    if unit or state:  # only then: the subquery reads every assignment (26 ms at 100,000)
        tasks_query = tasks_query.where(col(Task.id).in_(matching))
    if task is not None:
        tasks_query = tasks_query.where(Task.number == task)
    count = session.exec(select(func.count()).select_from(tasks_query.subquery())).one()  # the page count
    pages = max(1, -(-count // per_page))
    page = min(max(1, page), pages)
    tasks = session.exec(tasks_query.order_by(Task.plan_id, Task.number).offset((page - 1) * per_page).limit(per_page)).all()
    task_ids = [t[0] for t in tasks]

    rows = {t[0]: Row(t[0], t[1], t[2]) for t in tasks}
    info = {t[0]: (t[3], t[4]) for t in tasks}
    cells_query = (select(Assignment.id, Assignment.task_id, Unit.name, Assignment.role, Assignment.state,
                          Assignment.due_on)
                   .join(Unit, col(Unit.id) == col(Assignment.unit_id))
                   .where(col(Assignment.task_id).in_(task_ids), col(Assignment.withdrawn_at).is_(None))
                   .order_by(Assignment.task_id, Unit.name))
    if unit:
        cells_query = cells_query.where(col(Unit.name).contains(unit))
    if state:
        cells_query = cells_query.where(Assignment.state == state)
    cells = session.exec(cells_query).all()
    # What the lights need from check-ins and escalations, selected by the page's 30 task ids rather
    # than by its ~1,500 assignment ids: one bind list of 1,500 cost PostgreSQL 10-17 ms to plan,
    # per query.
    on_page = col(Assignment.task_id).in_(task_ids)
    open_ids = list(session.exec(open_rounds))
    owed_now = and_(col(CheckIn.round_id).in_(open_ids), col(CheckIn.state).in_(OWED))
    checkins = session.exec(select(CheckIn.assignment_id, func.min(case((owed_now, CheckIn.due_on))),
                                   func.max(CheckIn.percent))
                            .join(Assignment, col(Assignment.id) == col(CheckIn.assignment_id))
                            .where(on_page).group_by(CheckIn.assignment_id)).all() if cells else []
    due = {a_id: owed for a_id, owed, _ in checkins if owed is not None}
    percent = {a_id: p for a_id, _, p in checkins if p is not None}
    red = set(session.exec(select(Escalation.assignment_id)
                           .join(Assignment, col(Assignment.id) == col(Escalation.assignment_id))
                           .where(on_page, Escalation.level == 3, col(Escalation.resolved_at).is_(None)))) if cells else set()
    lights = {"green": 0, "yellow": 0, "red": 0}
    for a_id, task_id, unit_name, role, current, due_on in cells:
        deadline, created = info[task_id]
        owed = due.get(a_id)
        colour_of = light(state=current, due_on=min((d for d in (due_on, owed) if d), default=None), today=today,
                          red_escalation=a_id in red, percent=percent.get(a_id),
                          started_on=created.date() if created else None, deadline=deadline, rules=rules)
        if colour and colour_of != colour:
            continue
        lights[colour_of] += 1
        rows[task_id].cells.append(Cell(a_id, unit_name, str(role), str(current), colour_of))
    return Overview(by_state={s.value: by_state.get(s.value, 0) for s in State}, total=sum(by_state.values()),
                    counted_at=counted_at,
                    overdue=overdue, escalations={level: escalations.get(level, 0) for level in (1, 2, 3)},
                    rows=[rows[t] for t in task_ids if rows[t].cells or not colour], page=page, pages=pages,
                    lights=lights)

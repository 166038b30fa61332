"""The dashboard's numbers: grouped counts in SQL, lights only for the page of tasks on screen.

At 100,000 assignments the page costs a few grouped queries and the lights
of at most `per_page` tasks' assignments, never a pass over every row.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.assignment import Assignment
from models.escalations import open_counts
from models.lifecycle import State
from models.lights import ASSIGNMENT_COLUMNS, assignment_lights
from models.plan import Task, in_live_plan
from models.round import CheckIn, in_open_round, owed
from models.unit import Unit

if TYPE_CHECKING:
    from collections.abc import Sequence


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


class Headlines:
    """The headline counts, shared by every dashboard request of one portal for `ttl_s` seconds, so
    that a room of people refreshing the dashboard does not run them once each. The portal owns one
    (`app.state`): nothing is kept per process, and two apps (or a test's) never see each other's
    figures."""

    def __init__(self, ttl_s: float = 10.0) -> None:
        self.ttl_s = ttl_s
        self._counted: dict[
            date, tuple[float, tuple[dict[str, int], int, dict[int, int], float]]
        ] = {}
        self._lock = threading.Lock()

    def get(
        self, session: Session, today: date
    ) -> tuple[dict[str, int], int, dict[int, int], float]:
        with self._lock:
            cached = self._counted.get(today)
            if cached and time.monotonic() - cached[0] < self.ttl_s:
                return cached[1]
            found = headline(session, today)
            self._counted = {
                today: (time.monotonic(), found)
            }  # only today's: yesterday's is never asked again
            return found


def headline(session: Session, today: date) -> tuple[dict[str, int], int, dict[int, int], float]:
    """Assignments by state, overdue check-ins, open escalations by level: three grouped queries
    (see BENCHMARKS.md for their cost at province scale)."""
    live = (
        col(Assignment.withdrawn_at).is_(None),
        col(Task.withdrawn_at).is_(None),
        in_live_plan(Task.plan_id),  # an archived plan has left the dashboard
    )
    by_state = {
        s: n
        for s, n in session.exec(
            select(Assignment.state, func.count())
            .join(Task, col(Task.id) == col(Assignment.task_id))
            .where(*live)
            .group_by(Assignment.state)
        )
    }
    overdue = session.exec(
        select(func.count())
        .select_from(CheckIn)
        .where(in_open_round(), CheckIn.due_on < today, owed())
    ).one()
    escalations = open_counts(session)  # each item once, at its highest level; the units' only
    return by_state, overdue, escalations, time.time()


def overview(
    session: Session,
    *,
    today: date,
    rules: Any,
    page: int = 1,
    per_page: int = 30,
    task: int | None = None,
    unit: str | None = None,
    state: str | None = None,
    colour: str | None = None,
    timezone: str = "Asia/Shanghai",
    headlines: Headlines | None = None,
) -> Overview:
    """One page of the dashboard; `headlines` is the portal's shared cache of the counts (None:
    count now)."""
    by_state, overdue, escalations, counted_at = (
        headlines.get(session, today) if headlines is not None else headline(session, today)
    )

    # The page of tasks, filtered in SQL.
    tasks, page, pages = _page_of_tasks(
        session, task=task, unit=unit, state=state, page=page, per_page=per_page
    )
    task_ids = [t[0] for t in tasks]

    rows = {t[0]: Row(t[0], t[1], t[2]) for t in tasks}
    cells = _cells(session, task_ids, unit=unit, state=state)
    # The lights, selected through the page's 30 task ids rather than by its ~1,500 assignment ids
    # (one bind list that long is slow for PostgreSQL to plan, per query: BENCHMARKS.md).
    on_page = select(Assignment.id).where(
        col(Assignment.task_id).in_(task_ids), col(Assignment.withdrawn_at).is_(None)
    )
    colours = (
        assignment_lights(
            session,
            on_page,
            today=today,
            rules=rules,
            timezone=timezone,
            rows=[cell[2:] for cell in cells],
        )
        if cells
        else {}
    )
    lights = {"green": 0, "yellow": 0, "red": 0, "grey": 0}
    for unit_name, role, a_id, task_id, _, current, *_ in cells:
        colour_of = colours[a_id]
        if colour and colour_of != colour:
            continue
        lights[colour_of] += 1
        rows[task_id].cells.append(Cell(a_id, unit_name, str(role), str(current), colour_of))
    return Overview(
        by_state={s.value: by_state.get(s.value, 0) for s in State},
        total=sum(by_state.values()),
        counted_at=counted_at,
        overdue=overdue,
        escalations={level: escalations.get(level, 0) for level in (1, 2, 3)},
        rows=[rows[t] for t in task_ids if rows[t].cells or not colour],
        page=page,
        pages=pages,
        lights=lights,
    )


def _page_of_tasks(
    session: Session,
    *,
    task: int | None,
    unit: str | None,
    state: str | None,
    page: int,
    per_page: int,
) -> tuple[Sequence[Any], int, int]:
    """The page's (id, number, title) rows, the page shown and the number of pages."""
    matching = (
        select(Assignment.task_id)
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .where(col(Assignment.withdrawn_at).is_(None))
    )
    if unit:
        matching = matching.where(col(Unit.name).contains(unit))
    if state:
        matching = matching.where(Assignment.state == state)
    tasks_query = select(Task.id, Task.number, Task.title).where(
        col(Task.withdrawn_at).is_(None), in_live_plan(Task.plan_id)
    )
    if (
        unit or state
    ):  # only then: the subquery reads every assignment (BENCHMARKS.md, figures behind the code)
        tasks_query = tasks_query.where(col(Task.id).in_(matching))
    if task is not None:
        tasks_query = tasks_query.where(Task.number == task)
    count = session.exec(
        select(func.count()).select_from(tasks_query.subquery())
    ).one()  # the page count
    pages = max(1, -(-count // per_page))
    page = min(max(1, page), pages)
    tasks = session.exec(
        tasks_query.order_by(Task.plan_id, Task.number)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return tasks, page, pages


def _cells(
    session: Session, task_ids: list[int], *, unit: str | None, state: str | None
) -> Sequence[Any]:
    """The page's assignments, with what their lights are read from."""
    cells_query = (
        select(Unit.name, Assignment.role, *ASSIGNMENT_COLUMNS)
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .where(col(Assignment.task_id).in_(task_ids), col(Assignment.withdrawn_at).is_(None))
        .order_by(Assignment.task_id, Unit.name)
    )
    if unit:
        cells_query = cells_query.where(col(Unit.name).contains(unit))
    if state:
        cells_query = cells_query.where(Assignment.state == state)
    return session.exec(cells_query).all()

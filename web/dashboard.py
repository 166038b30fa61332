"""The dashboard's numbers: grouped counts in SQL, lights only for the page of tasks on screen.

At 100,000 assignments the page costs a few grouped queries and the lights
of at most `per_page` tasks' assignments, never a pass over every row. The one exception is the
light filter: a light is not a column (models/lights.py decides it from several tables and the
working calendar), so a filter by light reads the lights of every assignment the other filters
leave, then pages the tasks that have one of that colour.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.assignment import Assignment
from models.audit import last_seq
from models.escalations import open_counts
from models.lifecycle import State
from models.lights import ASSIGNMENT_COLUMNS, assignment_lights
from models.plan import Task, in_live_plan
from models.round import CheckIn, in_open_round, owed
from models.unit import Unit
from web.bounded_cache import BoundedCache

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

T = TypeVar("T")


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
    tasks: int = 0  # the tasks the filters select, on every page
    counted_at: float = 0.0  # when the headline counts were taken (time.time())


class Figures:
    """The dashboard's figures (the headline counts, a page of lights, the unit names), shared by
    every dashboard request of one portal until the data changes. The portal owns one (`app.state`):
    nothing is kept per process, and two apps (or a test's) never see each other's figures.

    A figure is kept under the audit trail's newest sequence number (models/audit.py: every change
    writes one event in its own transaction), the office's day (the lights turn with it) and what
    the request asked (filters, page): a change, or midnight, makes a new key, so a kept figure is
    never stale. The `size` keys used last are kept; the oldest goes first."""

    def __init__(self, size: int = 64) -> None:
        self._kept: BoundedCache[tuple[Any, ...], Any] = BoundedCache(size)

    def get(self, session: Session, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """The figure `compute()` gives for `key` in the data as `session` sees it; computed once
        per change. Requests for a figure being computed wait for it, not redo it."""
        full = (last_seq(session), *key)  # read in the transaction the figure is read in
        return cast("T", self._kept.get(full, compute))


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
    per_page: int = 50,
    task: int | None = None,
    unit: str | None = None,
    state: str | None = None,
    colour: str | None = None,
    role: str | None = None,
    timezone: str = "Asia/Shanghai",
    figures: Figures | None = None,
) -> Overview:
    """One page of the dashboard; `figures` is the portal's shared cache of it (None: count
    now)."""
    chosen = Chosen(task=task, unit=unit, state=state, role=role)
    if figures is None:
        counts = headline(session, today)
        return _overview(session, counts, chosen, colour, today, rules, page, per_page, timezone)
    asked = ("page", today, chosen, colour, page, per_page, timezone)
    return figures.get(
        session,
        asked,
        lambda: _overview(
            session,
            figures.get(session, ("headline", today), lambda: headline(session, today)),
            chosen,
            colour,
            today,
            rules,
            page,
            per_page,
            timezone,
        ),
    )


def _overview(
    session: Session,
    counts: tuple[dict[str, int], int, dict[int, int], float],
    chosen: Chosen,
    colour: str | None,
    today: date,
    rules: Any,
    page: int,
    per_page: int,
    timezone: str,
) -> Overview:
    by_state, overdue, escalations, counted_at = counts
    if colour:
        coloured, having = _coloured(
            session, chosen, colour, today=today, rules=rules, timezone=timezone
        )
        tasks, page, pages, count = _page_of_coloured(session, chosen, having, page, per_page)
    else:
        coloured = None
        tasks, page, pages, count = _page_of_tasks(session, chosen, page=page, per_page=per_page)
    task_ids = [t[0] for t in tasks]
    rows = {t[0]: Row(t[0], t[1], t[2]) for t in tasks}
    cells = _cells(session, chosen, task_ids)
    if coloured is None and cells:
        # The lights, selected through the page's task ids rather than by its ~2,500 assignment
        # ids (one bind list that long is slow for PostgreSQL to plan, per query: BENCHMARKS.md).
        on_page = select(Assignment.id).where(
            col(Assignment.task_id).in_(task_ids), col(Assignment.withdrawn_at).is_(None)
        )
        coloured = assignment_lights(
            session,
            on_page,
            today=today,
            rules=rules,
            timezone=timezone,
            rows=[cell[2:] for cell in cells],
        )
    lights = _place(cells, coloured or {}, rows)
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
        tasks=count,
    )


def _place(cells: Sequence[Any], colours: dict[int, str], rows: dict[int, Row]) -> dict[str, int]:
    """Each cell with a light in `colours` into its task's row; the lights counted."""
    lights = {"green": 0, "yellow": 0, "red": 0, "grey": 0}
    for unit_name, role_of, a_id, task_id, _, current, *_ in cells:
        colour_of = colours.get(a_id)
        if colour_of is None:  # filtered by light, and not of that colour
            continue
        lights[colour_of] += 1
        rows[task_id].cells.append(Cell(a_id, unit_name, str(role_of), str(current), colour_of))
    return lights


@dataclass(frozen=True)
class Chosen:
    """The dashboard's filters that are columns (the light is not: `_coloured`)."""

    task: int | None = None
    unit: str | None = None  # part of the unit's name
    state: str | None = None
    role: str | None = None

    @property
    def narrows_assignments(self) -> bool:
        return bool(self.unit or self.state or self.role)

    def on_assignments(self, query: Any) -> Any:
        """`query` (over Assignment joined to Unit) kept to the assignments these filters select."""
        if self.unit:
            query = query.where(col(Unit.name).contains(self.unit))
        if self.state:
            query = query.where(Assignment.state == self.state)
        if self.role:
            query = query.where(Assignment.role == self.role)
        return query


def _live_tasks(chosen: Chosen) -> Any:
    query = select(Task.id, Task.number, Task.title).where(
        col(Task.withdrawn_at).is_(None), in_live_plan(Task.plan_id)
    )
    if chosen.task is not None:
        query = query.where(Task.number == chosen.task)
    return query


def _matching(chosen: Chosen) -> Any:
    """The ids of the live assignments of live tasks that the filters select (a subquery)."""
    query = (
        select(Assignment.id)
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .where(
            col(Assignment.withdrawn_at).is_(None),
            col(Task.withdrawn_at).is_(None),
            in_live_plan(Task.plan_id),
        )
    )
    if chosen.task is not None:
        query = query.where(Task.number == chosen.task)
    return chosen.on_assignments(query)


def _page_of_tasks(
    session: Session, chosen: Chosen, *, page: int, per_page: int
) -> tuple[Sequence[Any], int, int, int]:
    """The page's (id, number, title) rows, the page shown, the number of pages and of tasks."""
    tasks_query = _live_tasks(chosen)
    if chosen.narrows_assignments:
        # only then: the subquery reads every assignment (BENCHMARKS.md, figures behind the code)
        matching = chosen.on_assignments(
            select(Assignment.task_id)
            .join(Unit, col(Unit.id) == col(Assignment.unit_id))
            .where(col(Assignment.withdrawn_at).is_(None))
        )
        tasks_query = tasks_query.where(col(Task.id).in_(matching))
    count = session.exec(select(func.count()).select_from(tasks_query.subquery())).one()
    pages = max(1, -(-count // per_page))
    page = min(max(1, page), pages)
    tasks = session.exec(
        tasks_query.order_by(Task.plan_id, Task.number)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return tasks, page, pages, count


def _coloured(
    session: Session, chosen: Chosen, colour: str, *, today: date, rules: Any, timezone: str
) -> tuple[dict[int, str], set[int]]:
    """The assignments the filters select whose light is `colour` (id -> colour), and their
    tasks."""
    rows = (
        session.connection()
        .execute(
            select(*ASSIGNMENT_COLUMNS)  # type: ignore[call-overload]  # typed for at most 4 columns
            .join(Task, col(Task.id) == col(Assignment.task_id))
            .where(col(Assignment.id).in_(_matching(chosen)))
        )
        .all()
    )
    found = assignment_lights(
        session, _matching(chosen), today=today, rules=rules, timezone=timezone, rows=rows
    )
    task_of = {row[0]: row[1] for row in rows}
    kept = {a: c for a, c in found.items() if c == colour}
    return kept, {task_of[a] for a in kept}


def _page_of_coloured(
    session: Session, chosen: Chosen, having: set[int], page: int, per_page: int
) -> tuple[Sequence[Any], int, int, int]:
    """`_page_of_tasks` for the tasks in `having` (those with an assignment of the colour)."""
    ordered = _live_tasks(chosen).order_by(Task.plan_id, Task.number)
    tasks = [t for t in session.exec(ordered).all() if t[0] in having] if having else []
    pages = max(1, -(-len(tasks) // per_page))
    page = min(max(1, page), pages)
    return tasks[(page - 1) * per_page : page * per_page], page, pages, len(tasks)


def _cells(session: Session, chosen: Chosen, task_ids: list[int] | None) -> Sequence[Any]:
    """The assignments of the tasks `task_ids` (None: of every task) that the filters select, with
    what their lights are read from."""
    cells_query = (
        select(Unit.name, Assignment.role, *ASSIGNMENT_COLUMNS)
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .where(col(Assignment.withdrawn_at).is_(None))
    )
    if task_ids is None:
        cells_query = cells_query.where(col(Assignment.id).in_(_matching(chosen))).order_by(
            Task.plan_id, Task.number, Unit.name
        )
    else:
        cells_query = chosen.on_assignments(
            cells_query.where(col(Assignment.task_id).in_(task_ids))
        ).order_by(Assignment.task_id, Unit.name)
    return session.exec(cells_query).all()


def every_cell(
    session: Session,
    *,
    today: date,
    rules: Any,
    timezone: str,
    task: int | None = None,
    unit: str | None = None,
    state: str | None = None,
    colour: str | None = None,
    role: str | None = None,
) -> Iterator[tuple[Any, ...]]:
    """Every assignment the filters select, on every page, as (task number, task title, unit,
    role, state, light, due date): the dashboard's export."""
    chosen = Chosen(task=task, unit=unit, state=state, role=role)
    cells = _cells(session, chosen, None)
    titles = dict(session.exec(select(Task.id, Task.title)).all()) if cells else {}
    numbers = dict(session.exec(select(Task.id, Task.number)).all()) if cells else {}
    colours = (
        assignment_lights(
            session,
            _matching(chosen),
            today=today,
            rules=rules,
            timezone=timezone,
            rows=[cell[2:] for cell in cells],
        )
        if cells
        else {}
    )
    for unit_name, role_of, a_id, task_id, _, current, due_on, *_ in cells:
        colour_of = colours.get(a_id)
        if colour_of is None or (colour and colour_of != colour):
            continue
        task_words = (numbers[task_id], titles[task_id])
        yield (*task_words, unit_name, str(role_of), str(current), colour_of, due_on)

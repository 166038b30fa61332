"""Traffic lights: green on pace, yellow behind the expected pace (序时进度) or due soon, red
overdue or at level 3; grey (暂停) while the office has suspended the item (models/suspensions.py).

A task's light is the worst of its assignments'; so is a unit's. Grey is below green: a task is
grey only when every item of it is suspended.

What a light is computed from is decided once, in `light_inputs`, for the lights here, the dashboard
(web/dashboard.py) and the 通报 (reports/results.py), which gather the same facts in their own ways
(all rows, one page of rows, the audit trail replayed):
  due date    the earlier of the assignment's own (extensions included) and those of the check-ins
              it still owes (`models.round.OWED`) in open rounds;
  percent     the latest filing's, among the check-ins whose filing gave one, so a unit that
              corrects 80% to 40% is behind pace everywhere, not on pace wherever the highest figure
              was kept;
  pace start  the plan's creation, as the office's calendar day (DUBAN_TIMEZONE): a plan created at
              23:30 Beijing time starts that day, not the day before as its UTC date would say.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlmodel import Session, col, select

from models.assignment import Assignment
from models.clock import local_day, utc
from models.escalation import OFFICE_STALLS, Escalation
from models.lifecycle import HANDED_IN, State
from models.plan import Plan, Task
from models.round import CheckIn, in_open_round, owed
from models.suspensions import suspended_ids

if TYPE_CHECKING:  # the domain reads settings, never loads them
    from config.settings import CycleRules

ORDER = {"green": 0, "yellow": 1, "red": 2, "grey": -1}  # grey: suspended, below green


class LightInputs(NamedTuple):  # a tuple: the dashboard makes one per cell on the page
    """What one assignment's light is computed from (see the module's docstring)."""

    state: str
    due_on: date | None
    percent: int | None
    started_on: date | None
    deadline: date | None
    red_escalation: bool
    suspended: bool = False


def light_inputs(
    *,
    state: str,
    assignment_due_on: date | None,
    owed_due_on: Iterable[date | None],
    filings: Iterable[tuple[datetime | None, int | None]],
    plan_created_at: datetime | None,
    deadline: date | None,
    red_escalation: bool,
    timezone: str,
    suspended: bool = False,
) -> LightInputs:
    """The one rule for a light's inputs. `owed_due_on`: due dates of the check-ins still owed in
    open rounds; `filings`: (when last filed, percent) of each check-in, as it stands."""
    due = min((d for d in (assignment_due_on, *owed_due_on) if d is not None), default=None)
    return LightInputs(
        state=str(state),
        due_on=due,
        percent=latest_percent(filings),
        started_on=_local_day(plan_created_at, timezone) if plan_created_at else None,
        deadline=deadline,
        red_escalation=red_escalation,
        suspended=suspended,
    )


@lru_cache(maxsize=64)  # a handful of plans: their creation moments are converted once each
def _local_day(moment: datetime, timezone: str) -> date:
    return local_day(moment, timezone)


def latest_percent(filings: Iterable[tuple[datetime | None, int | None]]) -> int | None:
    """The percent of the latest filing that gave one (a later correction downwards counts)."""
    latest_at, latest = None, None
    for at, percent in filings:
        if at is not None and percent is not None and (latest_at is None or utc(at) > latest_at):
            latest_at, latest = utc(at), percent
    return latest


def light_of(inputs: LightInputs, *, today: date, rules: Any) -> str:
    if inputs.suspended:  # its clock stops: neither on pace nor behind
        return "grey"
    return light(
        state=inputs.state,
        due_on=inputs.due_on,
        today=today,
        red_escalation=inputs.red_escalation,
        percent=inputs.percent,
        started_on=inputs.started_on,
        deadline=inputs.deadline,
        rules=rules,
    )


def light(
    *,
    state: str,
    due_on: date | None,
    today: date,
    red_escalation: bool,
    percent: int | None,
    started_on: date | None,
    deadline: date | None,
    rules: CycleRules,
) -> str:
    if State(state) in HANDED_IN:
        return "green"
    if red_escalation or (due_on is not None and today > due_on):
        return "red"
    if (
        due_on is not None
        and rules.calendar.working_days_between(today, due_on) <= rules.warning_days
    ):
        return "yellow"
    if deadline and started_on and deadline > started_on and today > started_on:
        expected = min(1.0, (today - started_on).days / (deadline - started_on).days)
        if (percent or 0) / 100 < expected - rules.pace_tolerance:
            return "yellow"
    return "green"


def light_facts(
    session: Session, assignments: Any
) -> tuple[dict[int, list[date]], dict[int, list[tuple[datetime | None, int]]], set[int]]:
    """From the rows as they stand, for the assignments `assignments` selects (a subquery of ids):
    the due dates of their owed check-ins in open rounds, their check-ins' (filed, percent), and
    which are at level 3."""
    owed_due: dict[int, list[date]] = {}
    filings: dict[int, list[tuple[datetime | None, int]]] = {}
    # One pass over the check-ins selected by `assignments` alone, owed or not: a filter on the
    # state or the round as well would lead SQLite to walk every owed check-in of the open rounds
    # instead (an index on them), where a page of the dashboard needs a few thousand. Core rows: ORM
    # loading costs more than this.
    for a_id, due_on, submitted_at, percent, is_owed in (
        session.connection()
        .execute(
            select(  # type: ignore[call-overload]  # sqlmodel's select is typed for at most 4 columns
                CheckIn.assignment_id,
                CheckIn.due_on,
                CheckIn.submitted_at,
                CheckIn.percent,
                in_open_round() & owed(),
            ).where(col(CheckIn.assignment_id).in_(assignments))
        )
        .all()
    ):  # all(): one fetch, not one per row
        if is_owed:
            owed_due.setdefault(a_id, []).append(due_on)
        if percent is not None:
            filings.setdefault(a_id, []).append((submitted_at, percent))
    red = set(
        session.exec(
            select(Escalation.assignment_id).where(
                Escalation.level == 3,
                col(Escalation.resolved_at).is_(None),
                col(Escalation.stall).not_in(list(OFFICE_STALLS)),  # the office's delay is not red
                col(Escalation.assignment_id).in_(assignments),
            )
        )
    )
    return owed_due, filings, red


# What `_colours` reads of each assignment, in this order (the dashboard selects it with its cells).
ASSIGNMENT_COLUMNS = (
    Assignment.id,
    Assignment.task_id,
    Assignment.unit_id,
    Assignment.state,
    Assignment.due_on,
    Task.deadline,
    Task.plan_id,
)


def _colours(
    session: Session,
    which: Any,
    *,
    today: date,
    rules: Any,
    timezone: str,
    rows: Iterable[Any] | None = None,
) -> Iterator[tuple[int, int, int, str]]:
    """(assignment, task, unit, colour) for the assignments `which` selects (a subquery of ids);
    `rows`, their ASSIGNMENT_COLUMNS, when the caller has read them already."""
    owed_due, filings, red = light_facts(session, which)
    paused = suspended_ids(session, which)
    created = dict(
        session.exec(select(Plan.id, Plan.created_at)).all()
    )  # a few plans: not once per row
    if rows is None:
        rows = (
            session.connection()
            .execute(
                select(*ASSIGNMENT_COLUMNS)  # type: ignore[call-overload]  # typed for at most 4 columns
                .join(Task, col(Task.id) == col(Assignment.task_id))
                .where(col(Assignment.id).in_(which))
            )
            .all()
        )
    for a_id, task_id, unit_id, state, due_on, deadline, plan_id in rows:
        inputs = light_inputs(
            state=state,
            assignment_due_on=due_on,
            owed_due_on=owed_due.get(a_id, ()),
            filings=filings.get(a_id, ()),
            plan_created_at=created.get(plan_id),
            deadline=deadline,
            red_escalation=a_id in red,
            timezone=timezone,
            suspended=a_id in paused,
        )
        yield a_id, task_id, unit_id, light_of(inputs, today=today, rules=rules)


def assignment_lights(
    session: Session,
    which: Any,
    *,
    today: date,
    rules: Any,
    timezone: str,
    rows: Iterable[Any] | None = None,
) -> dict[int, str]:
    """The light of each assignment `which` selects (a subquery of ids): one page of the dashboard,
    the API's."""
    return {
        a_id: colour
        for a_id, _, _, colour in _colours(
            session, which, today=today, rules=rules, timezone=timezone, rows=rows
        )
    }


def lights(
    session: Session, *, today: date, rules: Any, timezone: str = "Asia/Shanghai"
) -> dict[str, dict[Any, str]]:
    """Lights of every open assignment, and of each task and unit (the worst of theirs)."""
    live = (
        select(Assignment.id)
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .where(col(Assignment.withdrawn_at).is_(None), col(Task.withdrawn_at).is_(None))
    )
    by_assignment: dict[int, str] = {}
    by_task: dict[int, str] = {}
    by_unit: dict[int, str] = {}
    for a_id, task_id, unit_id, value in _colours(
        session, live, today=today, rules=rules, timezone=timezone
    ):
        by_assignment[a_id] = value
        for table, key in ((by_task, task_id), (by_unit, unit_id)):
            if ORDER[value] >= ORDER[table.get(key, "grey")]:
                table[key] = value
    return {"assignments": by_assignment, "tasks": by_task, "units": by_unit}


def counts(found: dict[str, dict[Any, str]]) -> dict[str, dict[str, int]]:
    return {
        scope: {c: Counter(values.values()).get(c, 0) for c in ORDER}
        for scope, values in found.items()
    }

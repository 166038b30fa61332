"""Stalled items and the escalation ladder (督办), resolutions, and the consultation agenda.

Stalled: a check-in overdue past the grace period; an assignment not signed
for; no activity for too long; returned too often; a completion report the
office has not reviewed. Each run raises each stalled item one level at
most (1 blue 提醒, 2 yellow 催办, 3 red: the coordination mechanism), each
level once per assignment and round (`stage_key` is unique), and only after
`escalation_step_days` at the level below. When the report arrives or an
extension is approved, the open escalations close with a record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from models import audit
from models.assignment import Assignment
from models.clock import local_day, utc
from models.db import bulk_insert, chunked_in, table_of, take_turn
from models.escalation import (
    OFFICE_STALLS,
    OFFICE_TOP_LEVEL,
    Escalation,
    EscalationNumber,
    ItemKey,
    against_unit,
    item_of,
)
from models.lifecycle import Actor, State
from models.outbox import enqueue_many
from models.plan import Task, in_live_plan
from models.recipients import Recipient, message, unit_contacts
from models.round import OWED, CheckIn, CheckInState, RoundState, SupervisionRound
from models.rounds import item, round_payload
from models.suspensions import last_resumed, not_suspended
from models.unit import ContactRole, Unit

if TYPE_CHECKING:  # the domain reads settings, never loads them
    from collections.abc import Callable

    from config.settings import CycleRules, Settings

LEVEL_KIND = {1: "escalation_blue", 2: "escalation_yellow", 3: "escalation_red"}
STALL_REASONS = {
    "overdue": ("检查报送逾期超过宽限期", "the check-in is overdue beyond the grace period"),
    "unsigned": ("任务交办后长期未签收", "the assignment has not been signed for"),
    "idle": ("长期无工作进展", "no activity for a long time"),
    "returned": ("报送材料多次被退回", "the report was returned repeatedly"),
    "unreviewed": (
        "办结报告长期未审核",
        "the completion report has not been reviewed by the office",
    ),
    # 领导批示 past its deadline with no reply from the unit (models.directive_ladder)
    "directive": (
        "领导批示逾期未回复",
        "the leader's instruction was not answered by its deadline",
    ),
}
# Which stalls a unit's report ends, and which the office's review ends.
ENDED_BY_REPORT = frozenset({"overdue", "unsigned", "idle"})
ENDED_BY_REVIEW = frozenset({"unreviewed"})
ENDED_BY_VERIFY = frozenset({"returned", "unreviewed"})


@dataclass(slots=True)
class Stall:
    assignment_id: int
    round_id: int
    stall: str
    unit_id: int
    item: dict[str, Any]  # how messages name the check-in (models.rounds.item)
    round: dict[str, str]
    unit: str
    problems: str | None = None


def find_stalled(session: Session, *, today: date, rules: CycleRules, timezone: str) -> list[Stall]:
    """Every stalled assignment in an open round, with the first reason that applies."""
    rounds = {
        r.id: r
        for r in session.exec(
            select(SupervisionRound).where(
                SupervisionRound.state == RoundState.OPEN,
                in_live_plan(SupervisionRound.plan_id),  # an archived plan escalates nothing
            )
        )
    }
    if not rounds:
        return []
    # Names come from small lookups rather than joins on every one of the rows.
    tasks = {
        t_id: (number, title)
        for t_id, number, title in session.exec(select(Task.id, Task.number, Task.title))
    }
    units = dict(session.exec(select(Unit.id, Unit.name)).all())
    # Core rows, not ORM rows: the same values, loaded much faster at province scale
    # (BENCHMARKS.md).
    rows = session.connection().execute(
        # sqlmodel types select() for at most four columns; these rows are read by position below
        select(  # type: ignore[call-overload, misc]
            CheckIn.id,
            CheckIn.state,
            CheckIn.due_on,
            CheckIn.completed,
            CheckIn.submitted_at,
            CheckIn.problems,
            Assignment.id,
            Assignment.state,
            Assignment.last_activity_at,
            Assignment.rework_count,
            Assignment.role,
            CheckIn.round_id,
            Assignment.task_id,
            Assignment.unit_id,
            Assignment.sign_from,
        )
        .join(Assignment, col(Assignment.id) == col(CheckIn.assignment_id))
        .where(
            col(CheckIn.round_id).in_(list(rounds)),
            col(Assignment.withdrawn_at).is_(None),
            col(Assignment.state).not_in([State.VERIFIED.value, State.CLOSED.value]),
            not_suspended(),  # a suspended item's clock stops
        )
    )
    since: dict[date, int] = {}  # working days from a date to today, counted once per distinct date
    days: dict[datetime, date] = {}  # a moment's local day, converted once per distinct moment

    def elapsed(day: date) -> int:
        if day not in since:
            since[day] = rules.calendar.working_days_between(day, today)
        return since[day]

    def local(moment: datetime) -> date:
        if moment not in days:
            days[moment] = local_day(moment, timezone)
        return days[moment]

    from models.declines import pending_ids

    declined = pending_ids(session)  # a 退办 the office has not decided: not "unsigned"
    stalled = []
    round_info = {r_id: round_payload(r.name, r.report_by) for r_id, r in rounds.items()}
    # A resumed item's stall clocks restart at its resume: the suspended days are not its delay.
    resumed = last_resumed(session)
    for (
        checkin_id,
        checkin_state,
        due_on,
        completed,
        submitted_at,
        problems,
        assignment_id,
        state,
        last_activity,
        rework_count,
        role,
        round_id,
        task_id,
        unit_id,
        sign_from,
    ) in rows:
        # The 签收 window runs from the round's opening, or from the office's fresh start after a
        # 退办 (reassigned, re-roled, rejected); while a 退办 waits, the window does not run.
        opened_at = rounds[round_id].opened_at
        if assignment_id in resumed:
            opened_at = max(utc(opened_at), resumed[assignment_id])
            last_activity = last_activity and max(utc(last_activity), resumed[assignment_id])
        if sign_from is not None:
            opened_at = max(utc(opened_at), utc(sign_from))
        reason = _stall_reason(
            rules,
            elapsed,
            local,
            opened_at=None if assignment_id in declined else opened_at,
            checkin_state=checkin_state,
            due_on=due_on,
            completed=completed,
            submitted_at=submitted_at,
            state=state,
            last_activity=last_activity,
            rework_count=rework_count,
        )
        if reason:
            number, title = tasks[task_id]
            entry = item(number, title, role, due_on, checkin_id, assignment_id)
            stalled.append(
                Stall(
                    assignment_id,
                    round_id,
                    reason,
                    unit_id,
                    entry,
                    round_info[round_id],
                    units[unit_id],
                    problems,
                )
            )
    return stalled


def take_numbers(session: Session, year: int, count: int) -> int:
    """Reserve `count` consecutive 督办单 numbers of `year` for this transaction; returns the first.

    The UPDATE locks the year's row until the transaction ends, so a concurrent run waits and then
    continues after the last number this one took; a rolled-back run gives its numbers back. The
    numbers are therefore unique and without gaps.
    """
    table = table_of(EscalationNumber)
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(table).values(year=year, last=0).on_conflict_do_nothing(index_elements=["year"])
    )
    session.execute(update(table).where(table.c.year == year).values(last=table.c.last + count))
    last: int = session.execute(select(table.c.last).where(table.c.year == year)).scalar_one()
    return last - count + 1


def escalate_stalled(
    session: Session, *, now: datetime, settings: Any, actor: Actor
) -> dict[str, int]:
    """Raise each stalled item one level (at most), notify, and record; a rerun raises nothing
    new. 领导批示 past their deadline climb the same ladder (`models.directive_ladder`)."""
    from models.directive_ladder import escalate_directives

    take_turn(session, "escalate")  # a concurrent run waits, then finds each stage already fired
    counts = _escalate_checkins(session, now=now, settings=settings, actor=actor)
    more = escalate_directives(session, now=now, settings=settings, actor=actor)
    return {key: counts[key] + more[key] for key in counts}


def _escalate_checkins(
    session: Session, *, now: datetime, settings: Any, actor: Actor
) -> dict[str, int]:
    rules, timezone = settings.cycle, settings.timezone
    today = local_day(now, timezone)
    stalls = find_stalled(session, today=today, rules=rules, timezone=timezone)
    counts = {"stalled": len(stalls), "raised": 0, "1": 0, "2": 0, "3": 0}
    if not stalls:
        return counts
    top: dict[tuple[int, int | None], tuple[int, datetime | None]] = {}
    for assignment_id, round_id, level, opened in session.exec(
        select(
            Escalation.assignment_id, Escalation.round_id, Escalation.level, Escalation.opened_at
        ).where(col(Escalation.resolved_at).is_(None))
    ):
        if level > top.get((assignment_id, round_id), (0, opened))[0]:
            top[(assignment_id, round_id)] = (level, opened)
    fired = set(session.exec(select(Escalation.stage_key)))
    at = utc(now)
    rows: list[dict[str, Any]] = []
    raised: list[Stall] = []
    for stall in stalls:
        level, opened_at = top.get((stall.assignment_id, stall.round_id), (0, None))
        level += 1
        if level > (3 if against_unit(stall.stall) else OFFICE_TOP_LEVEL):
            continue
        if (
            opened_at is not None
            and rules.calendar.working_days_between(local_day(opened_at, timezone), today)
            < rules.escalation_step_days
        ):
            continue
        key = f"a{stall.assignment_id}:r{stall.round_id}:l{level}"
        if (
            key in fired
        ):  # fired before and since resolved: each stage fires once per assignment and round
            continue
        rows.append(
            {
                "stage_key": key,
                "assignment_id": stall.assignment_id,
                "round_id": stall.round_id,
                "level": level,
                "stall": stall.stall,
                "reason": STALL_REASONS[stall.stall][0],
                "opened_at": at,
            }
        )
        raised.append(stall)
        counts["raised"] += 1
        counts[str(level)] += 1
    if not rows:
        return counts
    record_raised(session, rows, raised, now=now, today=today, settings=settings, actor=actor)
    return counts


def record_raised(
    session: Session,
    rows: list[dict[str, Any]],
    stalls: list[Stall],
    *,
    now: datetime,
    today: date,
    settings: Any,
    actor: Actor,
) -> None:
    """Number, insert, notify and record the escalation `rows` (one per stall, in step) a run
    raises: the check-ins' ladder and the 批示's (`models.directive_ladder`) share this tail."""
    first = take_numbers(session, today.year, len(rows))
    for offset, row in enumerate(rows):
        row["number"] = f"督〔{today.year}〕{first + offset:03d}号"
    bulk_insert(session, table_of(Escalation), rows)  # a whole province may stall at once
    mark_items(session, [row["assignment_id"] for row in rows])
    keys = [row["stage_key"] for row in rows]
    ids: dict[str, int | None] = {}
    for among in chunked_in(col(Escalation.stage_key), keys):  # the new rows by their unique keys
        ids.update(session.exec(select(Escalation.stage_key, Escalation.id).where(among)).all())
    for row in rows:
        row["id"] = ids[row["stage_key"]]
    enqueue_many(
        session, escalation_messages(session, rows, stalls, settings=settings, today=today), now=now
    )
    audit.record_many(
        session,
        [
            {
                "at": now,
                "actor": actor,
                "action": "escalation.raise",
                "object_type": "escalation",
                "object_id": row["id"],
                "unit_id": stall.unit_id,
                "reason": row["reason"],
                "after": {
                    "assignment": row["assignment_id"],
                    "round": row["round_id"],
                    "directive": row.get("directive_id"),
                    "level": row["level"],
                    "stall": row["stall"],
                    "number": row["number"],
                },
            }
            for row, stall in zip(rows, stalls, strict=True)
        ],
    )


def _stall_reason(
    rules: CycleRules,
    elapsed: Callable[[date], int],
    local: Callable[[datetime], date],
    *,
    opened_at: datetime | None,
    checkin_state: str,
    due_on: date,
    completed: bool,
    submitted_at: datetime | None,
    state: str,
    last_activity: datetime | None,
    rework_count: int,
) -> str | None:
    """The first reason a check-in's assignment is stalled, or None."""
    if checkin_state in OWED and elapsed(due_on) > rules.grace_days:
        return "overdue"
    elif (
        state == State.ASSIGNED
        and opened_at is not None
        and elapsed(local(opened_at)) >= rules.unsigned_days
    ):
        return "unsigned"
    elif (
        state == State.IN_PROGRESS
        # Idle is going quiet after filing. A check-in the round still awaits is judged by its
        # due date (the reminders before it, overdue past the grace): a unit cannot file between
        # two rounds, so counting that gap as idle escalated every unit on a monthly cadence the
        # day the next period opened, and one that files on its due day was escalated that morning.
        and checkin_state not in OWED
        and last_activity is not None
        and elapsed(local(last_activity)) >= rules.idle_days
    ):
        return "idle"
    elif rework_count >= rules.returns_to_stall:
        return "returned"
    elif (
        checkin_state == CheckInState.SUBMITTED
        and completed
        and submitted_at is not None
        and elapsed(local(submitted_at)) >= rules.unreviewed_days
    ):
        return "unreviewed"
    return None


def escalation_messages(
    session: Session,
    rows: list[dict[str, Any]],
    stalls: list[Stall],
    *,
    settings: Settings,
    today: date,
) -> list[dict[str, Any]]:
    """Digests of what this run raised: one message per recipient and level, each item with its
    督办单 number.

    Level 1 to the unit's liaison and head; level 2 to the head; level 3 to the office and the
    leading group. An unreviewed report is the office's own stall: it reminds the office and its
    head, at each of its two levels; the unit hears nothing of it.
    """
    rules = settings.cycle
    units = {s.unit_id for s in stalls}
    liaisons = unit_contacts(session, units, ContactRole.LIAISON)
    heads = unit_contacts(session, units, ContactRole.HEAD)
    office = Recipient(None, "office", settings.office_name, rules.office_email)
    office_head = Recipient(
        None, "office_head", f"{settings.office_name}负责同志", rules.office_head_email
    )
    group = (
        Recipient(None, "leading_group", "领导小组", rules.leading_group_email)
        if rules.leading_group_email
        else None
    )
    red = [_item_of_row(r) for r in rows if r["level"] == 3]
    histories = histories_of(session, red, settings.timezone) if red else {}
    digests: dict[tuple[int, str, int | None, str], dict[str, Any]] = {}
    for row, stall in zip(rows, stalls, strict=True):
        level = row["level"]
        entry = stall.item | {
            "number": row["number"],
            "reason": row["reason"],
            "round": stall.round["name"],
            "unit": stall.unit,
        }
        if level == 3:
            entry |= {
                "history": histories.get(_item_of_row(row), []),
                "problems": [stall.problems] if stall.problems else [],
            }
        if not against_unit(row["stall"]):
            targets = [office, office_head]
        else:
            targets = _level_targets(
                level, liaisons.get(stall.unit_id), heads.get(stall.unit_id), office, group
            )
        for target in targets:
            digest = digests.setdefault(
                (level, target.role, target.unit_id, target.email),
                {"to": target, "first": row["id"], "unit": stall.unit, "items": []},
            )
            digest["items"].append(entry)
    out = []
    for (level, role, unit_id, _), digest in digests.items():
        payload: dict[str, Any] = {"opened_on": today.isoformat(), "items": digest["items"]}
        if level < 3:
            payload["unit"] = digest["unit"]
        if level == 2:
            payload["respond_by"] = respond_by(today, rules).isoformat()
        # The first escalation's id makes the key: a rerun raises nothing, a later run raises new
        # ids.
        key = f"escalation:l{level}:{role}:u{unit_id or 0}:e{digest['first']}"
        out.append(message(LEVEL_KIND[level], key, digest["to"], payload))
    return out


def _item_of_row(row: dict[str, Any]) -> ItemKey:
    """The item of an escalation row about to be inserted (`record_raised`'s)."""
    return (row["assignment_id"], row["round_id"], row.get("directive_id"))


def respond_by(opened_on: date, rules: CycleRules) -> date:
    """The day a unit answers a 督办单 by: `escalation_step_days` working days after it was issued,
    when the ladder may climb again (the yellow message and the printed 督办通知单 both say it)."""
    return rules.calendar.add_working_days(opened_on, rules.escalation_step_days)


def _level_targets(
    level: int,
    liaison: Recipient | None,
    head: Recipient | None,
    office: Recipient,
    group: Recipient | None,
) -> list[Recipient]:
    """Who hears of an escalation: 1 the liaison and head, 2 the head, 3 the office and group."""
    if level == 1:
        return [r for r in (liaison, head) if r]
    if level == 2:
        return [r for r in (head,) if r]
    return [r for r in (office, group) if r]


LEVEL_LABELS = {1: "蓝色提醒", 2: "黄色催办", 3: "红色提请协调"}


def histories_of(
    session: Session, items: list[ItemKey], timezone: str = "Asia/Shanghai"
) -> dict[ItemKey, list[dict[str, str]]]:
    """The ladder each item climbed, level by level, on the office's days."""
    wanted = set(items)
    found: dict[ItemKey, list[dict[str, str]]] = {}
    assignment_ids = list({a for a, *_ in wanted})
    for among in chunked_in(col(Escalation.assignment_id), assignment_ids):
        for e in session.exec(select(Escalation).where(among).order_by(col(Escalation.level))):
            key = item_of(e)
            if key in wanted:
                found.setdefault(key, []).append(
                    {
                        "on": local_day(e.opened_at, timezone).isoformat(),
                        "what": f"{LEVEL_LABELS[e.level]}（{e.number}）",
                    }
                )
    return found


def open_items(session: Session, timezone: str = "Asia/Shanghai") -> list[dict[str, Any]]:
    """Every escalated item (`ItemKey`) still open, once, at its highest open level, with
    the ladder it climbed, in the desk's order (highest level first, then the oldest). `office`
    marks the office's own backlog (an unreviewed report), which the desk lists apart."""
    from models.escalation_desk import all_open_items  # the desk builds every item the pages show

    return all_open_items(session, timezone)


def open_counts(session: Session) -> dict[int, int]:
    """The units' open escalated items by their highest open level (each item counted once; the
    office's own backlog is not the units')."""
    highest = (
        select(func.max(Escalation.level).label("level"))
        .where(
            col(Escalation.resolved_at).is_(None),
            col(Escalation.stall).not_in(list(OFFICE_STALLS)),
        )
        .group_by(*_item_columns(table_of(Escalation)))
        .subquery()
    )
    found = dict(
        session.exec(select(highest.c.level, func.count()).group_by(highest.c.level)).all()
    )
    return {level: found.get(level, 0) for level in (1, 2, 3)}


def _item_columns(table: Any) -> tuple[Any, ...]:
    """An item's columns (`ItemKey`), to group or partition the levels by."""
    return (table.c.assignment_id, table.c.round_id, table.c.directive_id)


def mark_items(session: Session, assignment_ids: Iterable[int]) -> None:
    """Mark each item (`ItemKey`) of these assignments at the row that stands for it on
    the office's desk, `Escalation.item_since`: its highest open level (the lowest id on a tie),
    holding when its first still-open level was raised; an item with nothing open, or in an
    archived plan, is marked nowhere. The one definition of an item's level: every path that raises
    or resolves a level, or archives a plan, calls it; the desk only reads the marks."""
    session.flush()  # the levels just raised or resolved through the ORM
    table = table_of(Escalation)
    wanted = sorted(set(assignment_ids))
    for chunk in chunked_in(table.c.assignment_id, wanted):
        item = _item_columns(table)
        # `resolved_at IS NULL` and `item_since IS NOT NULL` as CASEs, so that the planner finds
        # the chunk's levels through the assignments' index, not by reading every open level
        # (ix_escalation_open_level) or every mark (the desk's partial indexes): re-marking
        # 100,000 items took 3.6 s the other way, 2.0 s so.
        still_open = case((table.c.resolved_at.is_(None), 1), else_=0)
        ranked = (
            select(
                table.c.id,
                func.row_number()
                .over(partition_by=item, order_by=(table.c.level.desc(), table.c.id))
                .label("rank"),
                func.min(table.c.opened_at).over(partition_by=item).label("first"),
            )
            .join(Assignment, col(Assignment.id) == table.c.assignment_id)
            .join(Task, col(Task.id) == col(Assignment.task_id))
            .where(chunk, still_open == 1, in_live_plan(Task.plan_id))
            .subquery()
        )
        marked = case((table.c.item_since.is_(None), 0), else_=1)
        session.execute(update(table).where(chunk, marked == 1).values(item_since=None))
        session.execute(
            update(table)
            .where(table.c.id == ranked.c.id, ranked.c.rank == 1)
            .values(item_since=ranked.c.first)
        )


def resolve(
    session: Session,
    *,
    assignment_id: int,
    stalls: frozenset[str],
    resolution: str,
    actor: Actor,
    now: datetime,
    round_id: int | None = None,
    key_prefix: str | None = None,
) -> None:
    """Close the open escalations of these kinds for an assignment, with a record of why; only
    those whose stage key starts `key_prefix` when given (one 批示's rungs, not another's)."""
    query = select(Escalation).where(
        Escalation.assignment_id == assignment_id,
        col(Escalation.resolved_at).is_(None),
        col(Escalation.stall).in_(list(stalls)),
    )
    if round_id is not None:
        query = query.where(Escalation.round_id == round_id)
    if key_prefix is not None:
        query = query.where(col(Escalation.stage_key).startswith(key_prefix, autoescape=True))
    closed = list(session.exec(query))
    for e in closed:
        e.resolved_at, e.resolution = utc(now), resolution
        session.add(e)
    mark_items(session, [assignment_id] if closed else [])
    audit.record_many(
        session,
        [
            {
                "at": now,
                "actor": actor,
                "action": "escalation.resolve",
                "object_type": "escalation",
                "object_id": e.id,
                "before": {"level": e.level, "open": True},
                "after": {"open": False},
                "reason": resolution,
            }
            for e in closed
        ],
    )


def _on_agenda(*, unit_id: int | None, task_number: int | None) -> list[Any]:
    """The conditions an open red item meets to be on the 会商 agenda, narrowed by the filters."""
    where = [
        Escalation.level == 3,
        col(Escalation.resolved_at).is_(None),
        in_live_plan(Task.plan_id),  # an archived plan is off the 会商 agenda
        # the office's own delay is not the unit's failure
        col(Escalation.stall).not_in(list(OFFICE_STALLS)),
    ]
    if unit_id is not None:
        where.append(Assignment.unit_id == unit_id)
    if task_number is not None:
        where.append(Task.number == task_number)
    return where


def agenda_count(
    session: Session, *, unit_id: int | None = None, task_number: int | None = None
) -> int:
    """How many items `agenda` lists with these filters (one count, for the page links)."""
    return session.exec(
        select(func.count())
        .select_from(Escalation)
        .join(Assignment, col(Assignment.id) == col(Escalation.assignment_id))
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .where(*_on_agenda(unit_id=unit_id, task_number=task_number))
    ).one()


def agenda_units(session: Session) -> list[tuple[int, str]]:
    """The units with an item on the agenda, by name: what its unit filter offers."""
    rows = session.exec(
        select(Unit.id, Unit.name)
        .join(Assignment, col(Assignment.unit_id) == col(Unit.id))
        .join(Escalation, col(Escalation.assignment_id) == col(Assignment.id))
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .where(*_on_agenda(unit_id=None, task_number=None))
        .distinct()
        .order_by(col(Unit.name))
    ).all()
    return [(unit_id, name) for unit_id, name in rows if unit_id is not None]


def _problems_of(session: Session, assignment_ids: list[int]) -> dict[int, list[str]]:
    """The problems each assignment's unit raised in its check-ins, oldest first: one query a
    5,000 assignments (a page of the agenda is one)."""
    found: dict[int, list[str]] = {}
    wanted = sorted(set(assignment_ids))
    for among in chunked_in(col(CheckIn.assignment_id), wanted):
        for assignment_id, problems in session.exec(
            select(CheckIn.assignment_id, CheckIn.problems)
            .where(among, col(CheckIn.problems).is_not(None))
            .order_by(col(CheckIn.id))
        ):
            found.setdefault(assignment_id, []).append(str(problems))
    return found


def agenda(
    session: Session,
    timezone: str = "Asia/Shanghai",
    *,
    unit_id: int | None = None,
    task_number: int | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Level-3 items for the next consultation (会商): each with its history and the problems the
    unit raised; oldest first, only a unit's or a task's when asked, `limit` of them from `offset`.
    Filters and paging run in SQL; an item's history and problems come in one query each for the
    whole page, never one per item."""
    query = (
        select(Escalation, Assignment, Task, Unit)
        .join(Assignment, col(Assignment.id) == col(Escalation.assignment_id))
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .join(Unit, col(Unit.id) == col(Assignment.unit_id))
        .where(*_on_agenda(unit_id=unit_id, task_number=task_number))
        .order_by(col(Escalation.opened_at), col(Escalation.id))
        .offset(offset)
    )
    rows = session.exec(query if limit is None else query.limit(limit)).all()
    if not rows:
        return []
    ladders = histories_of(session, [item_of(e) for e, *_ in rows], timezone)
    problems = _problems_of(session, [e.assignment_id for e, *_ in rows])
    return [
        {
            "number": e.number,
            "task_number": task.number,
            "task_title": task.title,
            "unit": unit.name,
            "role": str(assignment.role),
            "state": str(assignment.state),
            "reason": e.reason,
            "opened_at": e.opened_at.isoformat(),
            "history": ladders.get(item_of(e), []),
            "problems": problems.get(e.assignment_id, []),
        }
        for e, assignment, task, unit in rows
    ]

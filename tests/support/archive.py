"""A small finished plan beside the seed: two tasks, each for one unit, filed, verified and closed
through the real use cases, so the office may archive it (models/archive.py).

Plan "done" (2023): task 1 for 市民政局, task 2 for 市教育局; one round "第一轮" due 31 March
2023; both units report completion on 10 March, the office accepts at 15:00 and closes both on
13 March. The seed plan "2022" (98 assignments, nothing filed) stays live beside it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import col, select

from intake.plan_import import reconcile, resolve
from intake.source import read_notice
from models.assignment import Assignment
from models.checkins import review_checkin, submit_checkin
from models.db import reading, unit_of_work
from models.plan import Plan, Task
from models.rounds import open_round
from models.unit import Unit
from models.workflow import close
from tests.support.scenario import OFFICE
from tests.support.seed_round import at, liaison

NOTICE = (
    "序号,重点任务,具体措施,牵头单位,配合单位,完成时限\n"
    "1,完善儿童福利保障制度,提高孤儿基本生活保障标准。,市民政局,,2023年6月30日\n"
    "2,加强校园安全管理,开展校园安全专项检查。,市教育局,,2023年9月30日\n"
)
UNITS = {1: "市民政局", 2: "市教育局"}


def assignment_in(engine: Engine, key: str, task: int, unit: str) -> int:
    with reading(engine) as session:
        return session.exec(
            select(Assignment.id)
            .join(Task, col(Task.id) == col(Assignment.task_id))
            .join(Plan, col(Plan.id) == col(Task.plan_id))
            .join(Unit, col(Unit.id) == col(Assignment.unit_id))
            .where(Plan.key == key, Task.number == task, Unit.name == unit)
        ).one()


def import_small_plan(engine: Engine, tmp_path: Path, key: str = "done") -> None:
    path = tmp_path / f"{key}.csv"
    path.write_text(NOTICE, encoding="utf-8")
    with unit_of_work(engine) as session:
        resolved = resolve(session, read_notice(path))
        reconcile(session, key, resolved, actor=OFFICE, now=at("2023-03-01", 9), write=True)


def finish(engine: Engine, key: str = "done", *, leave_open: int | None = None) -> int:
    """Open the round, file, accept and close every assignment of the plan (but task
    `leave_open`'s, left reported); returns the round's id."""
    with unit_of_work(engine) as session:
        round_id = open_round(
            session,
            plan_key=key,
            name="第一轮",
            report_by=date(2023, 3, 31),
            actor=OFFICE,
            now=at("2023-03-01"),
            cooperating_lead_days=2,
        ).round.id
    assert round_id is not None
    for number, unit in UNITS.items():
        assignment = assignment_in(engine, key, number, unit)
        with unit_of_work(engine) as session:
            submit_checkin(
                session,
                round_id=round_id,
                assignment_id=assignment,
                actor=liaison(engine, unit),
                now=at("2023-03-10"),
                text="已全部完成",
                percent=100,
                completed=True,
            )
        if number == leave_open:
            continue
        with unit_of_work(engine) as session:
            review_checkin(
                session,
                round_id=round_id,
                assignment_id=assignment,
                accept=True,
                actor=OFFICE,
                now=at("2023-03-10", 15),
                revision=1,
            )
        with unit_of_work(engine) as session:
            close(session, assignment_id=assignment, actor=OFFICE, now=at("2023-03-13"))
    return round_id

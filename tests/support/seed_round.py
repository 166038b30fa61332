"""The seed notice imported with its directory, and the helpers of the tests that run a round over
it.

Round tests (tests/test_cycle.py, tests/test_lights.py, tests/test_reports.py, tests/test_flows.py)
run on the office's clock in Beijing.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import col, select

from bench.synthetic import climb_ladder
from config import Settings
from intake.directory import read_directory, sync_directory
from intake.plan_import import reconcile, resolve
from intake.source import read_notice
from models.assignment import Assignment
from models.db import reading, unit_of_work
from models.plan import Task
from models.unit import Unit
from tests.support.scenario import OFFICE

ROOT = Path(__file__).parent.parent.parent
CST = ZoneInfo("Asia/Shanghai")


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=CST)


def assignment_of(engine: Engine, task: int, unit: str) -> int:
    with reading(engine) as session:
        return session.exec(
            select(Assignment.id)
            .join(Task, col(Task.id) == col(Assignment.task_id))
            .join(Unit, col(Unit.id) == col(Assignment.unit_id))
            .where(Task.number == task, Unit.name == unit)
        ).one()


def liaison(engine: Engine, unit: str):
    from models.lifecycle import Actor, Role

    with reading(engine) as session:
        unit_id = session.exec(select(Unit.id).where(Unit.name == unit)).one()
    return Actor(name=f"liaison:{unit}", role=Role.UNIT, unit_id=unit_id)


def escalate(engine: Engine, settings: Settings, moment: datetime) -> dict[str, int]:
    """One run of the ladder (bench.synthetic.climb_ladder) at `moment`; what it raised."""
    (raised,) = climb_ladder(engine, settings, [moment])
    return raised


def seed(engine: Engine) -> Engine:
    """The seed notice (16 tasks, 49 units) imported on 1 September 2022 with the Rugao
    directory."""
    now = at("2022-09-01")
    with unit_of_work(engine) as session:
        sync_directory(
            session, read_directory(ROOT / "config/units/rugao.yaml"), actor=OFFICE, now=now
        )
        resolved = resolve(session, read_notice(ROOT / "tests/fixtures/seed-notice.txt"))
        reconcile(session, "2022", resolved, actor=OFFICE, now=now, write=True)
    return engine

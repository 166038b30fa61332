"""A small plan taken from the seed notice, built the way production builds one: the unit directory
synced, then the notice as the reader hands it over, resolved and reconciled by the importer.

Task 5 (校园安全): 市教育局 leads, 市公安局 and 市检察院 cooperate.
Task 12 (质量守护): 市市场监管局 alone is responsible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from intake.directory import DirectoryEntry, sync_directory
from intake.notice import ParsedNotice, ParsedTask, Where
from intake.plan_import import reconcile, resolve
from intake.unit_phrase import NamedUnit
from models.assignment import Assignment, AssignmentRole
from models.db import unit_of_work
from models.lifecycle import Actor, Role
from models.plan import Task
from models.round import CheckIn, CheckInState, SupervisionRound
from models.unit import Unit

OFFICE = Actor(name="clerk", role=Role.OFFICE_STAFF)
LEAD, RESPONSIBLE, COOPERATING = (
    AssignmentRole.LEAD,
    AssignmentRole.RESPONSIBLE,
    AssignmentRole.COOPERATING,
)
DIRECTORY = [
    DirectoryEntry("市教育局"),
    DirectoryEntry("市公安局"),
    DirectoryEntry("市检察院", aliases=["市人民检察院"]),
    DirectoryEntry("市市场监管局", aliases=["市场监管局"]),
]


def _task(
    number: int,
    title: str,
    measures: list[str],
    deadline: date | None,
    units_text: str,
    units: list[NamedUnit],
) -> ParsedTask:
    return ParsedTask(
        number=number,
        title=title,
        category=None,
        content="".join(measures),
        measures=measures,
        targets=[],
        deadline=deadline,
        deadline_text=None,
        units_text=units_text,
        units=units,
        where=Where("row", number),
    )


NOTICE = ParsedNotice(
    title="2022年重点工作任务清单",
    issuer="市未成年人保护工作领导小组办公室",
    issued_on=date(2022, 8, 25),
    tasks=[
        _task(
            5,
            "持续推进校园安全和疫情防控工作",
            ["扎实推进“平安校园”创建。", "严格落实教职员工准入违法犯罪信息查询制度。"],
            date(2022, 12, 31),
            "市教育局牵头，市公安局、市人民检察院配合",
            [
                NamedUnit("市教育局", LEAD),
                NamedUnit("市公安局", COOPERATING),
                NamedUnit("市人民检察院", COOPERATING),
            ],
        ),
        _task(
            12,
            "开展质量守护行动",
            ["实施校园食品安全守护行动。"],
            None,
            "市场监管局",
            [NamedUnit("市场监管局", RESPONSIBLE)],
        ),
    ],
    warnings=[],
    source_name="scenario.txt",
    source_sha256="0" * 64,
)


@dataclass(frozen=True)
class Scenario:
    plan_id: int
    task5_id: int
    task12_id: int
    units: dict[str, int]  # name -> id
    lead: int  # 市教育局 on task 5
    police: int  # 市公安局 on task 5, cooperating
    procuratorate: int  # 市检察院 on task 5, cooperating
    market: int  # 市市场监管局 on task 12, responsible

    def unit_actor(self, name: str) -> Actor:
        return Actor(name=f"liaison-{self.units[name]}", role=Role.UNIT, unit_id=self.units[name])


def build(engine: Engine, now: datetime) -> Scenario:
    with unit_of_work(engine) as session:
        sync_directory(session, DIRECTORY, actor=OFFICE, now=now)
        plan_id = reconcile(
            session,
            "2022",
            resolve(session, NOTICE, strict=True),
            actor=OFFICE,
            now=now,
            write=True,
        ).plan_id
        units = dict(
            session.exec(
                select(Unit.name, Unit.id).where(col(Unit.name).in_([e.name for e in DIRECTORY]))
            ).all()
        )
        tasks = dict(
            session.exec(select(Task.number, Task.id).where(Task.plan_id == plan_id)).all()
        )
        held = {
            (task_id, unit_id): id_
            for id_, task_id, unit_id in session.exec(
                select(Assignment.id, Assignment.task_id, Assignment.unit_id).where(
                    col(Assignment.task_id).in_(list(tasks.values()))
                )
            )
        }
        return Scenario(
            plan_id=plan_id,
            task5_id=tasks[5],
            task12_id=tasks[12],
            units=units,
            lead=held[tasks[5], units["市教育局"]],
            police=held[tasks[5], units["市公安局"]],
            procuratorate=held[tasks[5], units["市检察院"]],
            market=held[tasks[12], units["市市场监管局"]],
        )


def filing(session: Session, assignment_id: int, *, completed: bool, now: datetime) -> CheckIn:
    """A check-in filed for the assignment, as rows only: what carries a progress or completion move
    (`workflow.take_action(..., filing=...)`) in tests of the lifecycle engine itself. The use case
    that files one for real, with its audit event, is `models.checkins.submit_checkin`."""
    assignment = session.get(Assignment, assignment_id)
    task = session.get(Task, assignment.task_id)
    round_ = session.exec(
        select(SupervisionRound).where(
            SupervisionRound.plan_id == task.plan_id, SupervisionRound.name == "测试轮次"
        )
    ).first()
    if round_ is None:
        round_ = SupervisionRound(
            plan_id=task.plan_id,
            name="测试轮次",
            report_by=now.date(),
            opened_at=now,
            opened_by=OFFICE.name,
        )
        session.add(round_)
        session.flush()
    checkin = session.exec(
        select(CheckIn).where(CheckIn.round_id == round_.id, CheckIn.assignment_id == assignment_id)
    ).first()
    if checkin is None:
        checkin = CheckIn(round_id=round_.id, assignment_id=assignment_id, due_on=now.date())
    checkin.state, checkin.completed, checkin.submitted_at = CheckInState.SUBMITTED, completed, now
    checkin.revision += 1
    session.add(checkin)
    session.flush()
    return checkin

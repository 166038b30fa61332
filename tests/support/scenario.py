"""A small plan taken from the seed notice, built through the real use cases.

Task 5 (校园安全): 市教育局 leads, 市公安局 and 市检察院 cooperate.
Task 12 (质量守护): 市市场监管局 alone is responsible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine
from sqlmodel import Session, select

from models.assignment import Assignment, AssignmentRole
from models.db import unit_of_work
from models.lifecycle import Actor, Role
from models.plan import Task
from models.planning import add_task, add_unit, assign, create_plan
from models.round import CheckIn, CheckInState, SupervisionRound

OFFICE = Actor(name="clerk", role=Role.OFFICE_STAFF)


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
        plan = create_plan(session, key="2022", title="2022年重点工作任务清单", issuer="市未成年人保护工作领导小组办公室",
                           issued_on=date(2022, 8, 25), actor=OFFICE, now=now)
        task5 = add_task(session, plan=plan, number=5, title="持续推进校园安全和疫情防控工作", actor=OFFICE, now=now,
                         measures=["扎实推进“平安校园”创建。", "严格落实教职员工准入违法犯罪信息查询制度。"],
                         deadline=date(2022, 12, 31))
        task12 = add_task(session, plan=plan, number=12, title="开展质量守护行动", actor=OFFICE, now=now,
                          measures=["实施校园食品安全守护行动。"])
        units = {name: add_unit(session, name=name, actor=OFFICE, now=now, aliases=aliases)
                 for name, aliases in [("市教育局", ()), ("市公安局", ()), ("市检察院", ("市人民检察院",)),
                                       ("市市场监管局", ("市场监管局",))]}
        lead = assign(session, task=task5, unit=units["市教育局"], role=AssignmentRole.LEAD, actor=OFFICE, now=now)
        police = assign(session, task=task5, unit=units["市公安局"], role=AssignmentRole.COOPERATING, actor=OFFICE, now=now)
        procuratorate = assign(session, task=task5, unit=units["市检察院"], role=AssignmentRole.COOPERATING,
                               actor=OFFICE, now=now)
        market = assign(session, task=task12, unit=units["市市场监管局"], role=AssignmentRole.RESPONSIBLE,
                        actor=OFFICE, now=now)
        return Scenario(
            plan_id=plan.id, task5_id=task5.id, task12_id=task12.id,
            units={name: unit.id for name, unit in units.items()},
            lead=lead.id, police=police.id, procuratorate=procuratorate.id, market=market.id,
        )


def filing(session: Session, assignment_id: int, *, completed: bool, now: datetime) -> CheckIn:
    """A check-in filed for the assignment, as rows only: what carries a progress or completion move
    (`workflow.take_action(..., filing=...)`) in tests of the lifecycle engine itself. The use case
    that files one for real, with its audit event, is `models.checkins.submit_checkin`."""
    assignment = session.get(Assignment, assignment_id)
    task = session.get(Task, assignment.task_id)
    round_ = session.exec(select(SupervisionRound).where(SupervisionRound.plan_id == task.plan_id,
                                                         SupervisionRound.name == "测试轮次")).first()
    if round_ is None:
        round_ = SupervisionRound(plan_id=task.plan_id, name="测试轮次", report_by=now.date(), opened_at=now,
                                  opened_by=OFFICE.name)
        session.add(round_)
        session.flush()
    checkin = session.exec(select(CheckIn).where(CheckIn.round_id == round_.id,
                                                 CheckIn.assignment_id == assignment_id)).first()
    if checkin is None:
        checkin = CheckIn(round_id=round_.id, assignment_id=assignment_id, due_on=now.date())
    checkin.state, checkin.completed, checkin.submitted_at = CheckInState.SUBMITTED, completed, now
    checkin.revision += 1
    session.add(checkin)
    session.flush()
    return checkin

"""The seed notice and its directory imported as the office does, and what the import tests read
back.

Shared by the import, partial-import, preview and browser tests: the same files, the same helpers.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Engine, text
from sqlmodel import select

from intake.directory import read_directory, sync_directory
from intake.plan_import import reconcile, resolve
from intake.source import read_notice
from models.assignment import Assignment
from models.db import reading, unit_of_work
from models.plan import Plan, Task
from models.unit import Unit
from tests.support.scenario import OFFICE

ROOT = Path(__file__).parent.parent.parent
SEED = ROOT / "tests" / "fixtures" / "seed-notice.txt"
DIRECTORY = ROOT / "config" / "units" / "rugao.yaml"
TABLES = (
    "plan",
    "task",
    "measure",
    "unit",
    "unit_alias",
    "group_member",
    "contact",
    "assignment",
    "audit_event",
)


def load_directory(engine: Engine, now: datetime) -> None:
    with unit_of_work(engine) as session:
        sync_directory(session, read_directory(DIRECTORY), actor=OFFICE, now=now)


def import_file(
    engine: Engine,
    path: Path,
    now: datetime,
    *,
    key: str = "plan",
    strict: bool = False,
    apply: bool = False,
):
    notice = read_notice(path)
    with unit_of_work(engine) as session:
        resolved = resolve(session, notice, strict=strict)
        outcome = reconcile(session, key, resolved, actor=OFFICE, now=now, write=False)
        if outcome.created or (apply and outcome.changes):
            outcome = reconcile(session, key, resolved, actor=OFFICE, now=now, write=True)
    return resolved, outcome


def snapshot(engine: Engine) -> dict[str, object]:
    with engine.connect() as connection:
        counts = {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}
        counts["head"] = tuple(connection.execute(text("SELECT seq, hash FROM audit_head")).one())
    return counts


def changed_seed(tmp_path: Path) -> Path:
    text_ = SEED.read_text(encoding="utf-8")
    text_ = text_.replace("开展质量守护行动。", "深入开展质量守护行动。")  # task 12 reworded
    text_ = text_.replace(
        "市烟草专卖局牵头,市教育局、市公安局、市市场监管局配合",
        "市烟草专卖局牵头,市教育局、市司法局、市市场监管局配合",
    )  # task 13: 公安 out, 司法 in
    text_ = text_.replace("市市场监管局 |\n13 |", "市市场监管局 |\n13 |")
    start = text_.index("16 |\n加强未成年人综合权益维护")
    task16 = text_[start:]
    text_ = text_[:start] + task16.replace("16 |", "17 |", 1).replace(
        "加强未成年人综合权益维护", "加强未成年人网络素养教育"
    )
    path = tmp_path / "seed-v2.txt"
    path.write_text(text_, encoding="utf-8")
    return path


HEADER = "序号,重点任务,具体措施,牵头单位,配合单位,完成时限\n"
ROWS = (
    "1,完善儿童福利保障制度,提高孤儿基本生活保障标准。,市民政局,市财政局,2023年6月30日\n"
    "2,推进儿童友好社区建设,新建儿童友好社区10个。,,,2023年12月31日\n"  # no unit line at all
    "3,加强儿童健康服务,开展儿童健康体检。,市卫健委,相关单位,2023年9月30日\n"
)


def partial_csv(tmp_path: Path, rows: str = ROWS, name: str = "notice.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def held(
    engine: Engine, number: int, key: str = "plan"
) -> dict[str, tuple[str, date | None, date | None, bool]]:
    """unit -> (role, due_on, original_due_on, withdrawn) for task `number` of plan `key`."""
    with reading(engine) as session:
        rows = session.exec(
            select(
                Unit.name,
                Assignment.role,
                Assignment.due_on,
                Assignment.original_due_on,
                Assignment.withdrawn_at,
            )
            .join(Assignment, Assignment.unit_id == Unit.id)
            .join(Task, Task.id == Assignment.task_id)
            .join(Plan, Plan.id == Task.plan_id)
            .where(Plan.key == key, Task.number == number)
        ).all()
    return {
        name: (str(role), due, original, withdrawn is not None)
        for name, role, due, original, withdrawn in rows
    }

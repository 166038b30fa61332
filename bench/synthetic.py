"""Deterministic synthetic plans at scale: N tasks, M units, a realistic mix of roles, Chinese
names; and the escalation ladder climbed over a plan, for the benchmarks and the tests alike (bench/
imports nothing of the test suite).

    python -m bench.synthetic --tasks 5000 --units 200 --out var/bench-5000.xlsx
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

DEPARTMENT_STEMS = (
    "民政",
    "教育",
    "公安",
    "司法",
    "财政",
    "人社",
    "卫健",
    "应急",
    "市场监管",
    "体育",
    "文旅",
    "发改",
    "住建",
    "交通",
    "医保",
    "烟草",
    "网信",
    "宣传",
    "政法",
    "科技",
    "农业农村",
    "水利",
    "商务",
    "统计",
)
DEPARTMENT_KINDS = ("局", "委", "办")
VERBS = ("推进", "完善", "加强", "深化", "落实", "开展", "健全", "提升")
OBJECTS = (
    "未成年人保护工作机制",
    "困境儿童保障",
    "校园安全管理",
    "家庭教育指导",
    "网络保护措施",
    "心理健康服务",
    "法治宣传教育",
    "儿童友好社区建设",
    "托育服务体系",
    "食品安全守护",
)
TARGETS = (
    "新建{n}个示范点",
    "覆盖率达到{p}%",
    "开展专项行动不少于{n}次",
    "实现全覆盖",
    "培训{n}名骨干",
)


def unit_names(count: int) -> list[str]:
    names = []
    for index in range(count):
        stem = DEPARTMENT_STEMS[index % len(DEPARTMENT_STEMS)]
        kind = DEPARTMENT_KINDS[(index // len(DEPARTMENT_STEMS)) % len(DEPARTMENT_KINDS)]
        names.append(
            f"第{index // (len(DEPARTMENT_STEMS) * len(DEPARTMENT_KINDS)) + 1}区{stem}{kind}"
        )
    return names


def _measure(rng: random.Random) -> str:
    verb, thing = (
        rng.choice(VERBS),
        rng.choice(OBJECTS),
    )  # drawn in the order the plans were made with
    target = rng.choice(TARGETS).format(n=rng.randint(1, 50), p=rng.choice((90, 95, 100)))
    return f"{verb}{thing}，{target}。"


def task_rows(tasks: int, units: int, seed: int = 20221) -> list[list[object]]:
    """One row per task: number, title, content, lead, cooperating, deadline (about 5 units per
    task)."""
    rng = random.Random(seed)
    names = unit_names(units)
    rows = []
    for number in range(1, tasks + 1):
        title = f"{rng.choice(VERBS)}{rng.choice(OBJECTS)}（{number}）"
        measures = [_measure(rng) for _ in range(rng.randint(2, 5))]
        chosen = rng.sample(names, rng.randint(2, 8))
        leads = chosen[: rng.choice((1, 1, 1, 2))]
        cooperating = chosen[len(leads) :]
        deadline = rng.choice(("2023年6月底前", "2023年12月31日", "长期坚持", "9月底前"))
        rows.append(
            [number, title, "".join(measures), "、".join(leads), "、".join(cooperating), deadline]
        )
    return rows


def write_xlsx(path: Path, tasks: int, units: int) -> Path:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("任务清单")
    sheet.append([f"某省{tasks}项重点工作任务清单"])
    sheet.append(["序号", "重点任务", "具体措施", "牵头单位", "配合单位", "完成时限"])
    for row in task_rows(tasks, units):
        sheet.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--out", type=Path, required=True)
    options = parser.parse_args()
    print(write_xlsx(options.out, options.tasks, options.units))


if __name__ == "__main__":
    main()


def populate(
    engine, *, tasks: int, units: int, per_task: int = 50, seed: int = 7
) -> dict[str, int]:
    """A plan of `tasks` tasks over `units` units (each with a liaison and a head), `per_task` units
    per task: one lead, about a fifth cooperating, the rest responsible. Written with bulk inserts,
    no audit events (a benchmark's setting, not a use case)."""
    from datetime import UTC, datetime

    from sqlalchemy import insert, select

    from models.assignment import Assignment
    from models.db import unit_of_work
    from models.plan import Plan, Task
    from models.unit import Contact, Unit

    rng = random.Random(seed)
    now = datetime(2022, 9, 1, tzinfo=UTC)
    names = unit_names(units)
    with unit_of_work(engine) as session:
        session.execute(
            insert(Unit),
            [{"name": n, "kind": "department", "active": True, "created_at": now} for n in names],
        )
        unit_ids = list(session.execute(select(Unit.id).order_by(Unit.id)).scalars())
        session.execute(
            insert(Contact),
            [
                {
                    "unit_id": u,
                    "role": role,
                    "name": f"{role}{u}",
                    "email": f"{role}{u}@example.org",
                }
                for u in unit_ids
                for role in ("liaison", "head")
            ],
        )
        session.execute(
            insert(Plan), [{"key": "bench", "title": f"某省{tasks}项重点任务", "created_at": now}]
        )
        plan_id = session.execute(select(Plan.id)).scalar_one()
        session.execute(
            insert(Task),
            [
                {"plan_id": plan_id, "number": n, "title": f"任务{n}", "content": "内容。"}
                for n in range(1, tasks + 1)
            ],
        )
        task_ids = list(session.execute(select(Task.id).order_by(Task.id)).scalars())
        rows = []
        for task_id in task_ids:
            chosen = rng.sample(unit_ids, per_task)
            for index, unit_id in enumerate(chosen):
                role = "lead" if index == 0 else "cooperating" if index % 5 == 0 else "responsible"
                rows.append(
                    {
                        "task_id": task_id,
                        "unit_id": unit_id,
                        "role": role,
                        "state": "assigned",
                        "version": 1,
                        "rework_count": 0,
                        "created_at": now,
                    }
                )
        session.execute(insert(Assignment), rows)
    return {"tasks": len(task_ids), "units": len(unit_ids), "assignments": len(rows)}


def climb_ladder(engine, settings, moments) -> list[dict[str, int]]:
    """The escalation ladder run at each of `moments` in turn, each run in its own transaction as
    the scheduled flow runs it (flows/cycle.py); what each run raised. A run takes an item up one
    level at most, so an item nobody acts on is red after three runs at least
    `escalation_step_days` working days apart."""
    from models.db import unit_of_work
    from models.escalations import escalate_stalled
    from models.lifecycle import SYSTEM_ACTOR

    raised = []
    for moment in moments:
        with unit_of_work(engine) as session:
            raised.append(
                escalate_stalled(session, now=moment, settings=settings, actor=SYSTEM_ACTOR)
            )
    return raised


def write_prose_pdf(path: Path, pages: int, units: int = 200) -> Path | None:
    """A text PDF of about `pages` pages: a notice as numbered paragraphs, each closed by its units
    and deadline in brackets, typeset by LibreOffice. None when LibreOffice (soffice) is not
    installed."""
    import shutil
    import subprocess
    import tempfile

    from docx import Document

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        return None
    document = Document()
    document.add_paragraph("某省2023年重点工作任务清单")
    # About ten such paragraphs fill a page in LibreOffice's default style.
    for number, (_, title, content, leads, cooperating, deadline) in enumerate(
        task_rows(pages * 10, units), start=1
    ):
        document.add_paragraph(
            f"{number}. {title}。{content}({leads}牵头，{cooperating}配合，{deadline}完成)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="duban-bench-pdf-") as folder:
        source = Path(folder) / f"{path.stem}.docx"
        document.save(source)
        subprocess.run(
            [
                soffice,
                "--headless",
                "--norestore",
                f"-env:UserInstallation={(Path(folder) / 'p').as_uri()}",
                "--convert-to",
                "pdf",
                "--outdir",
                folder,
                str(source),
            ],
            check=True,
            capture_output=True,
            timeout=600,
        )
        shutil.move(Path(folder) / f"{path.stem}.pdf", path)
    return path

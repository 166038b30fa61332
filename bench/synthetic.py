"""Deterministic synthetic plans at scale: N tasks, M units, a realistic mix of roles, Chinese names.

    python -m bench.synthetic --tasks 5000 --units 200 --out var/bench-5000.xlsx
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

DEPARTMENT_STEMS = ("民政", "教育", "公安", "司法", "财政", "人社", "卫健", "应急", "市场监管", "体育", "文旅", "发改",
                    "住建", "交通", "医保", "烟草", "网信", "宣传", "政法", "科技", "农业农村", "水利", "商务", "统计")
DEPARTMENT_KINDS = ("局", "委", "办")
VERBS = ("推进", "完善", "加强", "深化", "落实", "开展", "健全", "提升")
OBJECTS = ("未成年人保护工作机制", "困境儿童保障", "校园安全管理", "家庭教育指导", "网络保护措施", "心理健康服务",
           "法治宣传教育", "儿童友好社区建设", "托育服务体系", "食品安全守护")
TARGETS = ("新建{n}个示范点", "覆盖率达到{p}%", "开展专项行动不少于{n}次", "实现全覆盖", "培训{n}名骨干")


def unit_names(count: int) -> list[str]:
    names = []
    for index in range(count):
        stem = DEPARTMENT_STEMS[index % len(DEPARTMENT_STEMS)]
        kind = DEPARTMENT_KINDS[(index // len(DEPARTMENT_STEMS)) % len(DEPARTMENT_KINDS)]
        names.append(f"第{index // (len(DEPARTMENT_STEMS) * len(DEPARTMENT_KINDS)) + 1}区{stem}{kind}")
    return names


def task_rows(tasks: int, units: int, seed: int = 20221) -> list[list[object]]:
    """One row per task: number, title, content, lead, cooperating, deadline (about 5 units per task)."""
    rng = random.Random(seed)
    names = unit_names(units)
    rows = []
    for number in range(1, tasks + 1):
        title = f"{rng.choice(VERBS)}{rng.choice(OBJECTS)}（{number}）"
        measures = [f"{rng.choice(VERBS)}{rng.choice(OBJECTS)}，{rng.choice(TARGETS).format(n=rng.randint(1, 50), p=rng.choice((90, 95, 100)))}。"
                    for _ in range(rng.randint(2, 5))]
        chosen = rng.sample(names, rng.randint(2, 8))
        leads = chosen[: rng.choice((1, 1, 1, 2))]
        cooperating = chosen[len(leads):]
        deadline = rng.choice(("2023年6月底前", "2023年12月31日", "长期坚持", "9月底前"))
        rows.append([number, title, "".join(measures), "、".join(leads), "、".join(cooperating), deadline])
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

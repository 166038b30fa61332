"""Plans on the command line: `duban plan list` (every plan, archived ones too, with its counts)
and `duban plan archive KEY` (the office archives a finished plan: read-only from then on)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import JsonOption, NowOption, actor_for, engine_for, now_from, settings
from cli.output import emit_json, say, show, when, who

plan_app = typer.Typer(
    help="督办计划（通知）：列出、归档 / plans (notices): list, archive", no_args_is_help=True
)


@plan_app.command("list")
def plan_list(
    search: Annotated[
        str | None, typer.Option("--search", help="按计划标识或标题查找 / key or title contains")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """列出计划：进行中/已归档及其任务分工数 / List plans, active and archived, with counts."""
    from models.archive import plan_rows
    from models.db import reading

    config = settings()
    with reading(engine_for(config)) as session:
        rows = plan_rows(session, search=search)
    if json_output:
        emit_json([r.as_dict() for r in rows])
        return
    for r in rows:
        archived = (
            f"（{when(r.archived_at, config.timezone)} 由 {who(r.archived_by or '')} 归档）"
            if r.archived_at
            else ""
        )
        show(
            f"{r.key} {r.title} [{r.state_zh}]{archived} 任务 {r.tasks} 项，分工 {r.assignments} 项"
            f"（已销号 {r.closed}，已撤销 {r.withdrawn}，未办结 {r.open}），轮次 {r.rounds} 个"
        )
    if not rows:
        say("没有计划", "no plans")


@plan_app.command("archive")
def plan_archive(
    key: Annotated[str, typer.Argument(help="计划标识（duban import --plan-key）/ the plan's key")],
    now: NowOption = None,
    json_output: JsonOption = False,
) -> None:
    """归档已办结的计划（全部分工已销号或撤销），此后只读 / Archive a finished plan: read-only."""
    from models.archive import archive_plan
    from models.db import unit_of_work

    config = settings()
    with unit_of_work(engine_for(config)) as session:
        plan = archive_plan(session, plan_key=key, actor=actor_for(config), now=now_from(now))
        archived_at = plan.archived_at
    if json_output:
        emit_json({"key": key, "archived_at": archived_at.isoformat() if archived_at else None})
        return
    say(
        f"已归档计划 {key}：此后只读，不再出现在工作台和定时任务中",
        f"archived plan {key}: read-only, off the dashboards and the scheduled flows",
    )

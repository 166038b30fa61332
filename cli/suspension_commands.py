"""暂停 on the command line: `duban suspend` stops an assignment's clock with a reason, `duban
resume` restarts it and says how far its due date moved (the suspended working days)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import JsonOption, NowOption, actor_for, engine_for, now_from, settings
from cli.cycle_commands import PlanOption, TaskOption, UnitOption, _assignment, _plan
from cli.output import emit_json, say


def suspend_command(
    task: TaskOption,
    unit: UnitOption,
    reason: Annotated[str, typer.Option("--reason", help="暂停理由 / why the clock stops")],
    plan: PlanOption = None,
    now: NowOption = None,
    json_output: JsonOption = False,
) -> None:
    """暂停一项分工（停止计时，不提醒、不督办）/ Suspend an assignment, with the reason."""
    from models.db import unit_of_work
    from models.suspensions import suspend

    config = settings()
    with unit_of_work(engine_for(config)) as session:
        found = _assignment(session, _plan(session, plan), task, unit)
        row = suspend(
            session,
            assignment_id=found.id,
            reason=reason,
            actor=actor_for(config),
            now=now_from(now),
        )
        payload = {"assignment_id": row.assignment_id, "suspension_id": row.id}
    if json_output:
        emit_json(payload | {"reason": reason.strip()})
        return
    say(
        f"已暂停：任务{task}／{unit}（理由：{reason.strip()}），恢复后截止日期顺延暂停的工作日数",
        f"suspended: task {task} / {unit}",
    )


def resume_command(
    task: TaskOption,
    unit: UnitOption,
    plan: PlanOption = None,
    now: NowOption = None,
    json_output: JsonOption = False,
) -> None:
    """恢复暂停的分工，截止日期顺延暂停的工作日数 / Resume a suspended assignment."""
    from models.db import unit_of_work
    from models.suspensions import resume

    config = settings()
    with unit_of_work(engine_for(config)) as session:
        found = _assignment(session, _plan(session, plan), task, unit)
        row = resume(
            session,
            assignment_id=found.id,
            actor=actor_for(config),
            now=now_from(now),
            timezone=config.timezone,
            calendar=config.working_calendar,
        )
        days, before, after = row.working_days, row.due_on_before, row.due_on_after
    if json_output:
        emit_json(
            {
                "assignment_id": found.id,
                "working_days": days,
                "due_on_before": before.isoformat() if before else None,
                "due_on": after.isoformat() if after else None,
            }
        )
        return
    moved = f"，截止日期 {before} → {after}" if before else ""
    say(
        f"已恢复：任务{task}／{unit}，暂停 {days} 个工作日{moved}",
        f"resumed: task {task} / {unit}, suspended {days} working days, due {after}",
    )

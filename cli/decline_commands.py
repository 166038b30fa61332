"""退办 on the command line: `duban decline` (the unit declines within its 签收 window, with a
reason) and `duban decline review` (the office reassigns, changes the role, or rejects)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import NowOption, actor_for, engine_for, now_from, settings
from cli.cycle_commands import PlanOption, _assignment, _plan
from cli.output import say

decline_app = typer.Typer(
    help="退办：单位在签收期限内申请退办，办公室改派或不予退办 / decline an assignment",
    invoke_without_command=True,
)

TaskOpt = Annotated[int | None, typer.Option("--task", help="任务序号 / task number")]
UnitOpt = Annotated[
    str | None, typer.Option("--unit", help="提出退办的单位名称或简称 / the declining unit")
]
ReasonOpt = Annotated[str | None, typer.Option("--reason", help="理由 / reason")]


def _required(value: object, option: str) -> None:
    if value is None:
        raise typer.BadParameter("必须填写 / required", param_hint=option)


@decline_app.callback()
def decline_command(
    ctx: typer.Context,
    task: TaskOpt = None,
    unit: UnitOpt = None,
    reason: ReasonOpt = None,
    plan: PlanOption = None,
    now: NowOption = None,
) -> None:
    """申请退办 / Decline an assignment within its signing window, with a reason."""
    if ctx.invoked_subcommand is not None:
        return
    _required(task, "--task")
    _required(unit, "--unit")
    from models.db import unit_of_work
    from models.declines import decline

    config = settings()
    assert task is not None and unit is not None
    with unit_of_work(engine_for(config)) as session:
        a = _assignment(session, _plan(session, plan), task, unit)
        decline(
            session,
            assignment_id=a.id,
            reason=reason,
            actor=actor_for(config),
            now=now_from(now),
            rules=config.cycle,
            timezone=config.timezone,
        )
    say(
        f"已申请退办：任务{task}／{unit}，待办公室审核",
        f"declined: task {task} / {unit}, waiting for the office",
    )


@decline_app.command("review")
def review_command(
    task: Annotated[int, typer.Option("--task", help="任务序号 / task number")],
    unit: Annotated[str, typer.Option("--unit", help="提出退办的单位 / the declining unit")],
    reassign_to: Annotated[
        str | None, typer.Option("--reassign-to", help="改派给该单位 / reassign to this unit")
    ] = None,
    role: Annotated[
        str | None,
        typer.Option("--role", help="lead 牵头 / responsible 负责 / cooperating 配合"),
    ] = None,
    reject: Annotated[
        bool, typer.Option("--reject", help="不予退办（须填写 --reason）/ reject the decline")
    ] = False,
    reason: ReasonOpt = None,
    plan: PlanOption = None,
    now: NowOption = None,
) -> None:
    """审核退办 / The office decides a decline: reassign, change the role, or reject."""
    from models.assignment import ROLE_ZH, AssignmentRole
    from models.db import unit_of_work
    from models.declines import decide

    if role is not None and role not in {r.value for r in AssignmentRole}:
        raise typer.BadParameter(
            f"{role!r} — 应为 lead、responsible 或 cooperating", param_hint="--role"
        )
    config = settings()
    with unit_of_work(engine_for(config)) as session:
        a = _assignment(session, _plan(session, plan), task, unit)
        done = decide(
            session,
            assignment_id=a.id,
            actor=actor_for(config),
            now=now_from(now),
            rules=config.cycle,
            timezone=config.timezone,
            reassign_to=reassign_to,
            role=role,
            reject=reject,
            reason=reason,
        )
        from models.unit import Unit

        holder = session.get_one(Unit, done.assignment.unit_id).name
        role_zh = ROLE_ZH[AssignmentRole(done.assignment.role)]
    if reject:
        say(
            f"不予退办：任务{task}由{unit}继续办理，签收期限重新计算",
            f"decline rejected: {unit} keeps task {task}",
        )
    elif reassign_to is not None:
        say(
            f"已改派：任务{task}由{holder}（{role_zh}）办理，已通知 {done.notices} 条",
            f"reassigned: task {task} to {holder} ({done.assignment.role})",
        )
    else:
        say(
            f"已调整分工：任务{task}／{holder}改为{role_zh}",
            f"role changed: task {task} / {holder} is now {done.assignment.role}",
        )

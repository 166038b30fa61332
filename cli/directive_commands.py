"""领导批示 on the command line: `duban directive add|reply|close|list`, the same use cases as the
portal's (models/directives.py). The CLI is the office's console: it writes a 批示 on a leader's
behalf (`--leader`) and records a unit's reply on its behalf (`--unit`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from cli.common import JsonOption, NowOption, actor_for, engine_for, now_from, settings
from cli.cycle_commands import PlanOption, _assignment, _plan
from cli.output import emit_json, say

directive_app = typer.Typer(
    help="领导批示：填写、回复、办结、查看 / leaders' instructions", no_args_is_help=True
)
Directive = Annotated[int, typer.Argument(help="批示编号 / directive id", min=1)]
TextOpt = Annotated[str, typer.Option("--text", help="内容 / the text")]


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} — 应为日期，如 2022-10-14 / expected a date", param_hint="--deadline"
        ) from None


@directive_app.command("add")
def directive_add(
    text: TextOpt,
    leader: Annotated[str, typer.Option("--leader", help="批示领导 / the leader")],
    task: Annotated[int, typer.Option("--task", help="任务序号 / task number", min=1)],
    unit: Annotated[
        str | None, typer.Option("--unit", help="只批给该单位的分工 / only this unit's part")
    ] = None,
    deadline: Annotated[
        str | None, typer.Option("--deadline", help="办理期限（日期）/ reply by")
    ] = None,
    plan: PlanOption = None,
    now: NowOption = None,
) -> None:
    """代领导填写批示 / Write a leader's instruction on a task or one unit's assignment."""
    from sqlmodel import select

    from models.db import unit_of_work
    from models.directives import add, parts_of
    from models.errors import NotFound
    from models.plan import Task

    config = settings()
    by = _day(deadline)
    with unit_of_work(engine_for(config)) as session:
        found = _plan(session, plan)
        target: dict[str, int | None] = {}
        if unit is not None:
            target["assignment_id"] = _assignment(session, found, task, unit).id
        else:
            row = session.exec(
                select(Task).where(Task.plan_id == found.id, Task.number == task)
            ).first()
            if row is None:
                raise NotFound(kind="task", kind_zh="任务", key=str(task))
            target["task_id"] = row.id
        made = add(
            session,
            settings=config,
            actor=actor_for(config),
            now=now_from(now),
            text=text,
            deadline=by,
            on_behalf_of=leader,
            **target,
        )
        made_id, units = made.id, len(parts_of(session, made.id or 0))
    say(
        f"已登记批示 #{made_id}：任务{task}，{leader}，涉及 {units} 个单位"
        + (f"，限 {by} 前回复" if by else ""),
        f"directive #{made_id} on task {task} by {leader}, {units} units",
    )


@directive_app.command("reply")
def directive_reply(
    directive: Directive,
    text: TextOpt,
    unit: Annotated[
        str | None, typer.Option("--unit", help="代为回复的单位 / the replying unit")
    ] = None,
    now: NowOption = None,
) -> None:
    """代单位回复批示 / Record a unit's reply to an instruction."""
    from models.db import unit_of_work
    from models.directives import reply
    from models.unit import Unit, find_unit

    config = settings()
    with unit_of_work(engine_for(config)) as session:
        name = find_unit(session, unit).name if unit is not None else None
        part = reply(
            session,
            directive_id=directive,
            text=text,
            actor=actor_for(config),
            now=now_from(now),
            unit=name,
        )
        replied = session.get_one(Unit, part.unit_id).name
    say(f"已回复批示 #{directive}：{replied}", f"directive #{directive}: {replied} replied")


@directive_app.command("close")
def directive_close(
    directive: Directive,
    note: Annotated[str | None, typer.Option("--note", help="办结说明 / a note")] = None,
    now: NowOption = None,
) -> None:
    """办结批示 / Close an instruction."""
    from models.db import unit_of_work
    from models.directives import close

    config = settings()
    with unit_of_work(engine_for(config)) as session:
        close(
            session, directive_id=directive, actor=actor_for(config), now=now_from(now), note=note
        )
    say(f"批示 #{directive} 已办结", f"directive #{directive} closed")


@directive_app.command("list")
def directive_list(
    leader: Annotated[str | None, typer.Option("--leader", help="批示领导 / the leader")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="只列办理中的 / open only")] = False,
    now: NowOption = None,
    json_output: JsonOption = False,
) -> None:
    """列出批示及各单位回复情况 / List instructions and their units' replies."""
    from models.clock import local_day
    from models.db import reading
    from models.directives import views

    config = settings()
    today = local_day(now_from(now), config.timezone)
    with reading(engine_for(config)) as session:
        found = views(session, today=today, leader=leader, open_only=open_only)
    if json_output:
        emit_json([v.payload() for v in found])
        return
    for v in found:
        parts = "，".join(f"{p.unit}{p.state_zh}" for p in v.parts)
        by = f"限 {v.deadline} 前，" if v.deadline else ""
        say(
            f"[{v.id}] 任务{v.task_number} {v.leader}（{v.state_zh}）：{v.text}｜{by}{parts}",
            f"[{v.id}] task {v.task_number} {v.leader} ({v.state}): {v.text}",
        )
    if not found:
        say("没有批示", "no directives")

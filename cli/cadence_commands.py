"""Reporting cadence on the command line: `duban round cadence` sets or shows a plan's (or a task's)
cadence, `duban round open-due` opens the rounds it says are due (what the scheduled `open_round`
flow does each morning), without Prefect's start-up."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import (
    JsonOption,
    NowOption,
    actor_for,
    engine_for,
    now_from,
    numbers_from,
    settings,
)
from cli.cycle_commands import PlanOption, _date, _plan
from cli.output import emit_json, say, show


def cadence_command(
    cadence: Annotated[
        str | None,
        typer.Argument(
            help="monthly 每月 / quarterly 每季度 / half_yearly 每半年 / once 仅一次；省略则查看"
        ),
    ] = None,
    day: Annotated[
        int | None, typer.Option("--day", help="每期报送截止日（1–31）/ due day")
    ] = None,
    adjust: Annotated[
        str,
        typer.Option("--adjust", help="遇节假日：later 顺延（默认）/ earlier 提前 / none 不调整"),
    ] = "later",
    start: Annotated[
        str | None, typer.Option("--from", help="首期不早于 YYYY-MM-DD / no period before")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="末期不晚于 YYYY-MM-DD / no period after")
    ] = None,
    tasks: Annotated[
        str | None,
        typer.Option(
            "--tasks", help="只设这些任务自己的周期（须比计划的稀），如 3,5 / these tasks"
        ),
    ] = None,
    plan: PlanOption = None,
    now: NowOption = None,
    json_output: JsonOption = False,
) -> None:
    """设定或查看报送周期 / Set or show a plan's reporting cadence (每月25日前报送…)."""
    from models.cadence import cadence_words, set_cadence, upcoming
    from models.db import reading, unit_of_work

    config = settings()
    if cadence is not None:
        first = _date(start, "--from", bounded=True) if start else None
        last = _date(until, "--until", bounded=True) if until else None
        with unit_of_work(engine_for(config)) as session:
            set_cadence(
                session,
                plan_key=_plan(session, plan).key,
                cadence=cadence,
                day=day,
                adjust=adjust,
                start=first,
                until=last,
                task_numbers=numbers_from(tasks, "--tasks"),
                actor=actor_for(config),
                now=now_from(now),
            )
    with reading(engine_for(config)) as session:
        found = _plan(session, plan)
        words = cadence_words(found)
        coming = upcoming(found, now_from(now), config)
    if json_output:
        emit_json({"plan": found.key, "cadence": words, "upcoming": coming})
        return
    say(f"计划“{found.key}”报送周期：{words}", f"plan '{found.key}' cadence: {words}")
    for period in coming:
        show(f"  {period['name']}：{period['opens_on']} 开启，{period['report_by']} 截止")


def open_due_command(now: NowOption = None, json_output: JsonOption = False) -> None:
    """开启报送周期已到期的轮次 / Open the rounds the plans' cadences say are due today."""
    from dataclasses import asdict

    from models.cadence import open_due_rounds
    from models.db import unit_of_work

    config = settings()
    with unit_of_work(engine_for(config)) as session:
        done = open_due_rounds(session, now=now_from(now), settings=config, actor=actor_for(config))
    if json_output:
        emit_json([asdict(d) for d in done])
        return
    if not done:
        say("今天没有到期开启的轮次", "no cadence round is due today")
    for d in done:
        if d.skipped:
            show(f"{d.plan} / {d.name}：未开启（{d.skipped}）")
        elif d.created:
            show(
                f"{d.plan} / {d.name}：已开启，{d.report_by} 截止，报送事项 {d.checkins} 项，"
                f"通知 {d.notices} 条"
            )
        else:
            show(f"{d.plan} / {d.name}：已开启过，未做改动")

"""`duban score`: each unit's 考核 score, its rank and the 红黑榜, for a round or a plan, as of a
date (the same replay as the 通报; the rules are config's [scoring])."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import JsonOption, NowOption, engine_for, now_from, settings
from cli.cycle_commands import PlanOption
from cli.output import emit_json, say, show
from cli.report_command import as_of_moment


def score_command(
    round_name: Annotated[str | None, typer.Option("--round", help="轮次名称 / round name")] = None,
    plan: PlanOption = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="截至日期（重现当时的得分）/ as it stood on this date"),
    ] = None,
    now: NowOption = None,
    json_output: JsonOption = False,
) -> None:
    """考核得分、排名和红黑榜 / Each unit's score, rank and the red and black lists."""
    from models.db import reading
    from models.rounds import resolve_plan, resolve_round
    from reports.compile import scores_as_of
    from reports.results import scores_payload

    if round_name is None and plan is None:
        raise typer.BadParameter(
            "请用 --round 或 --plan 指定范围 / give --round or --plan", param_hint="--round/--plan"
        )
    config = settings()
    moment = now_from(now)
    cutoff = as_of_moment(as_of, config.timezone, moment)
    with reading(engine_for(config)) as session:
        if round_name:
            found, round_ = resolve_round(session, plan_key=plan, name=round_name)
        else:
            found, round_ = resolve_plan(session, plan), None
        results = scores_as_of(
            session, plan=found, round_=round_, as_of=cutoff, settings=config, now=moment
        )
    board = results.scores
    if json_output:
        emit_json(scores_payload(results))
        return
    scope = f"“{results.round_name}”" if results.round_name else f"《{results.plan_title}》"
    say(
        f"{scope}考核得分（截至 {results.as_of_day}）：",
        f"scores of {results.round_name or results.plan_key} (as of {results.as_of_day}):",
    )
    for u in board.units:
        show(f"  {u.rank:>3}  {u.unit}  {u.score:g}  {u.reasons}")
    for title, en, listed, words in (
        ("红榜", "red list", board.red, "reasons"),
        ("黑榜", "black list", board.black, "deductions"),
    ):
        names = "；".join(f"{u.unit} {u.score:g}（{getattr(u, words)}）" for u in listed)
        say(f"{title}：{names or '无'}", f"{en}: {names or 'none'}")

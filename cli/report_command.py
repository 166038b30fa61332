"""`duban report`: compile the supervision results (通报) into HTML, XLSX, DOCX and Markdown."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from cli.common import JsonOption, NowOption, actor_for, engine_for, now_from, settings
from cli.cycle_commands import PlanOption
from cli.output import emit_json, say


def as_of_moment(text: str | None, timezone: str, now: datetime) -> datetime:
    """A date means the end of that day in the office's time zone; a time is taken as given."""
    from models.clock import parse_moment
    from reports.results import end_of_day

    if text is None:
        return now
    try:
        if len(text.strip()) == 10:
            return end_of_day(date.fromisoformat(text.strip()), timezone)
        return parse_moment(text, timezone=timezone)
    except (ValueError, OverflowError):
        raise typer.BadParameter(
            f"{text!r} — 应为 YYYY-MM-DD 或 ISO 8601 时间 / expected YYYY-MM-DD or an ISO 8601 "
            "time",
            param_hint="--as-of",
        ) from None


report_app = typer.Typer(
    help="督办通报：编制、发布、撤回 / the 通报: compile, publish, withdraw",
    invoke_without_command=True,
)


@report_app.callback()
def report_command(
    ctx: typer.Context,
    round_name: Annotated[str | None, typer.Option("--round", help="轮次名称 / round name")] = None,
    plan: PlanOption = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="截至日期（重现当时的通报）/ as it stood on this date"),
    ] = None,
    formats: Annotated[
        str, typer.Option("--format", help="html,xlsx,docx,md 中的一种或几种 / formats")
    ] = "html,xlsx,docx,md",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="输出目录（默认 $DUBAN_HOME/reports）/ output folder"),
    ] = None,
    publish: Annotated[
        bool,
        typer.Option(
            "--publish", help="向各单位和领导发送通报通知 / send the results-published notice"
        ),
    ] = False,
    now: NowOption = None,
    json_output: JsonOption = False,
) -> None:
    """编制督办通报 / Compile the results of a round (--round) or of a whole plan (--plan)."""
    from reports.compile import compile_report_in_turns, parse_formats

    if ctx.invoked_subcommand is not None:
        return
    if round_name is None and plan is None:
        raise typer.BadParameter(
            "请用 --round 或 --plan 指定范围 / give --round or --plan", param_hint="--round/--plan"
        )
    config = settings()
    wanted = parse_formats(formats)
    moment = now_from(now)
    cutoff = as_of_moment(as_of, config.timezone, moment)

    def find(session):
        from models.rounds import resolve_plan, resolve_round

        if (
            round_name
        ):  # the round's own plan: --plan is needed only when two plans have a round of that name
            return resolve_round(session, plan_key=plan, name=round_name)
        return resolve_plan(session, plan), None

    compiled = compile_report_in_turns(
        engine_for(config),
        find=find,
        as_of=cutoff,
        formats=wanted,
        out_dir=out or config.resolved_reports_dir,
        settings=config,
        actor=actor_for(config),
        now=moment,
        publish=publish,
    )
    report_id, headline = compiled.report.id, compiled.results.headline
    if json_output:
        emit_json(
            {
                "report_id": report_id,
                "files": [str(p) for p in compiled.files],
                "figures": headline,
                "published": compiled.published,
            }
        )
        return
    h = headline
    say(
        f"已编制通报 #{report_id}（截至 {compiled.results.as_of_day}）：任务分工 "
        f"{h['assignments']} 项，"
        f"按时 {h['on_time']}、逾期 {h['late']}、未报 {h['missing']}，完成率 "
        f"{h['completion_rate']:.1%}",
        f"compiled report #{report_id} (as of {compiled.results.as_of_day}): "
        f"{h['assignments']} assignments, "
        f"{h['on_time']} on time, {h['late']} late, {h['missing']} missing, completion "
        f"{h['completion_rate']:.1%}",
    )
    for path in compiled.files:
        say(f"  {path}", f"  {path}")
    if publish:
        say(
            f"已发送通报通知 {compiled.published} 条（待投递）",
            f"queued {compiled.published} results-published notices",
        )


ReportId = Annotated[
    int, typer.Argument(help="通报编号（duban report 输出的 #N）/ report id", min=1)
]


@report_app.command("publish")
def publish_command(
    report_id: ReportId,
    doc_no: Annotated[
        str | None,
        typer.Option("--doc-no", help="文号（默认按前缀自动编号）/ document number"),
    ] = None,
    now: NowOption = None,
    json_output: JsonOption = False,
) -> None:
    """发布通报草稿：编期号、文号并通知各单位和领导 / Publish a draft."""
    from reports.compile import publish_draft

    config = settings()
    report = publish_draft(
        engine_for(config),
        report_id,
        settings=config,
        actor=actor_for(config),
        now=now_from(now),
        doc_no=doc_no,
    )
    files = [str(Path(report.out_dir) / f["name"]) for f in report.files]  # numbered anew
    if json_output:
        emit_json(
            {
                "report_id": report.id,
                "issue_no": report.issue_no,
                "doc_no": report.doc_no,
                "files": files,
            }
        )
        return
    say(
        f"已发布通报 #{report.id}：第 {report.issue_no} 期，{report.doc_no}",
        f"published report #{report.id}: issue {report.issue_no}, {report.doc_no}",
    )
    for path in files:
        say(f"  {path}", f"  {path}")


@report_app.command("withdraw")
def withdraw_command(
    report_id: ReportId,
    reason: Annotated[str, typer.Option("--reason", help="撤回理由 / why it is withdrawn")],
    now: NowOption = None,
    json_output: JsonOption = False,
) -> None:
    """撤回已发布的通报（保留记录，期号、文号不再使用）/ Withdraw a published report."""
    from reports.compile import withdraw_published

    config = settings()
    report = withdraw_published(
        engine_for(config), report_id, reason=reason, actor=actor_for(config), now=now_from(now)
    )
    if json_output:
        emit_json({"report_id": report.id, "state": "withdrawn", "doc_no": report.doc_no})
        return
    say(
        f"已撤回通报 #{report.id}（{report.doc_no}）",
        f"withdrew report #{report.id} ({report.doc_no})",
    )

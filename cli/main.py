"""`duban` commands. Heavy imports live inside the commands, not up here."""

from __future__ import annotations

import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.output import emit_json, fail, lang, say

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from config import Settings

app = typer.Typer(
    name="duban",
    help="督办：领导小组办公室重点任务督办系统 / duban: supervision of a leading group's key tasks",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
audit_app = typer.Typer(help="审计记录：查看、校验、导出 / the audit trail: show, verify, export", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

NowOption = Annotated[
    str | None,
    typer.Option("--now", help="当前时间（ISO 8601，默认系统时钟）/ the current time, ISO 8601; default: the clock"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="输出 JSON / machine-readable output")]


def _settings() -> Settings:
    from config import get_settings

    return get_settings()


def _now(text: str | None) -> datetime:
    from models.clock import parse_moment, utc_now

    if text is None:
        return utc_now()
    try:
        return parse_moment(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} — 应为 ISO 8601 时间 / expected an ISO 8601 time", param_hint="--now")


def _engine(settings: Settings, *, require_current: bool = True) -> Engine:
    from models.db import engine_for
    from models.schema import require_current as check

    engine = engine_for(settings.resolved_database_url, settings.sqlite_busy_timeout_ms)
    if require_current:
        check(engine)
    return engine


@app.command()
def init(now: NowOption = None) -> None:
    """创建或升级数据库（可重复运行）/ Create or upgrade the database; running it again is harmless."""
    from models import audit
    from models.db import unit_of_work
    from models.lifecycle import SYSTEM_ACTOR
    from models.schema import upgrade

    settings = _settings()
    for folder in (settings.home, settings.outbox_dir, settings.prefect_home):
        folder.mkdir(parents=True, exist_ok=True)
    engine = _engine(settings, require_current=False)
    before, after = upgrade(engine)
    url = engine.url.render_as_string(hide_password=True)
    if before == after:
        say(f"数据库已是最新版本（{after}）：{url}", f"database already up to date ({after}): {url}")
        return
    with unit_of_work(engine) as session:
        audit.record(session, at=_now(now), actor=SYSTEM_ACTOR, action="schema.upgrade", object_type="schema",
                     object_id=after or "", before={"revision": before}, after={"revision": after})
    say(f"数据库已初始化（{before or '空'} → {after}）：{url}", f"database initialised ({before or 'empty'} -> {after}): {url}")


@app.command()
def status(json_output: JsonOption = False) -> None:
    """计划、任务、分工状态、轮次、督办与通知概况 / Plans, tasks, assignments by state, rounds, escalations, notifications."""
    from models.db import reading
    from models.status import status as compute

    with reading(_engine(_settings())) as session:
        figures = compute(session)
    if json_output:
        emit_json(figures)
        return
    _print_status(figures)


def _print_status(figures: dict) -> None:
    from models.lifecycle import STATE_LABELS, State

    zh = lang() == "zh"
    states = figures["assignments"]["by_state"]
    parts = [f"{STATE_LABELS[State(s)][0 if zh else 1]} {n}" for s, n in states.items()]
    levels = figures["open_escalations"]["by_level"]
    say(f"计划 {figures['plans']} 个，任务 {figures['tasks']} 项", f"{figures['plans']} plans, {figures['tasks']} tasks")
    say(f"任务分工 {figures['assignments']['total']} 项：" + "，".join(parts),
        f"{figures['assignments']['total']} assignments: " + ", ".join(parts))
    rounds = figures["open_rounds"]
    say(f"进行中的督导轮次 {len(rounds)} 个", f"{len(rounds)} open rounds")
    for r in rounds:
        say(f"  · {r['plan']} / {r['name']}（报送截止 {r['report_by']}）", f"  · {r['plan']} / {r['name']} (report by {r['report_by']})")
    say(f"未办结督办 {figures['open_escalations']['total']} 项：蓝色 {levels['1']}，黄色 {levels['2']}，红色 {levels['3']}",
        f"{figures['open_escalations']['total']} open escalations: blue {levels['1']}, yellow {levels['2']}, red {levels['3']}")
    notes = figures["notifications"]
    say(f"通知：待发 {notes['pending']}，发送中 {notes['claimed']}，已发 {notes['sent']}，失败 {notes['dead']}",
        f"notifications: pending {notes['pending']}, claimed {notes['claimed']}, sent {notes['sent']}, dead {notes['dead']}")


class ExportFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


def _audit_filter(task: int | None, unit: str | None, actor: str | None, action: str | None,
                  since: str | None, until: str | None, session) -> object:
    from models.audit import AuditFilter
    from models.planning import find_unit

    return AuditFilter(
        task_id=task,
        unit_id=find_unit(session, unit).id if unit else None,
        actor=actor,
        action=action,
        since=_now(since) if since else None,
        until=_now(until) if until else None,
    )


TaskFilter = Annotated[int | None, typer.Option("--task", help="任务 ID / task id")]
UnitFilter = Annotated[str | None, typer.Option("--unit", help="单位名称或简称 / unit name or alias")]
ActorFilter = Annotated[str | None, typer.Option("--actor", help="操作人 / who acted")]
ActionFilter = Annotated[str | None, typer.Option("--action", help="动作，如 assignment.verify；以 . 结尾为前缀 / action, or a prefix ending in '.'")]
SinceFilter = Annotated[str | None, typer.Option("--since", help="起始时间（含）/ from (inclusive), ISO 8601")]
UntilFilter = Annotated[str | None, typer.Option("--until", help="截止时间（不含）/ until (exclusive), ISO 8601")]


@audit_app.command("show")
def audit_show(
    task: TaskFilter = None, unit: UnitFilter = None, actor: ActorFilter = None, action: ActionFilter = None,
    since: SinceFilter = None, until: UntilFilter = None,
    limit: Annotated[int, typer.Option("--limit", help="最多显示条数 / at most this many (newest)")] = 50,
    json_output: JsonOption = False,
) -> None:
    """查看审计记录 / Show audit events, filtered."""
    from collections import deque

    from models.audit import as_row, events
    from models.db import reading

    with reading(_engine(_settings())) as session:
        criteria = _audit_filter(task, unit, actor, action, since, until, session)
        rows = [as_row(e) for e in deque(events(session, criteria), maxlen=limit)]
    if json_output:
        emit_json(rows)
        return
    for row in rows:
        change = ""
        if row["before"] or row["after"]:
            change = f" {row['before'] or {}} → {row['after'] or {}}"
        reason = f" 「{row['reason']}」" if row["reason"] else ""
        print(f"#{row['seq']} {row['at']} {row['actor']} {row['action']} {row['object_type']}:{row['object_id']}{change}{reason} [{row['outcome']}]")
    if not rows:
        say("没有符合条件的审计记录", "no audit events match")


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[str | None, typer.Option("--anchor", help="库外保存的链头 SEQ:HASH / a head kept outside the database")] = None,
    json_output: JsonOption = False,
) -> None:
    """校验审计链，指出第一条被篡改的记录 / Walk the hash chain and name the first bad record."""
    from dataclasses import asdict

    from models.audit import verify_chain
    from models.db import reading

    with reading(_engine(_settings())) as session:
        report = verify_chain(session, anchor=anchor)
    if json_output:
        emit_json(asdict(report))
    else:
        print(report.message(lang()), file=sys.stdout if report.ok else sys.stderr)
    if not report.ok:
        raise typer.Exit(6)


@audit_app.command("export")
def audit_export(
    format: Annotated[ExportFormat, typer.Option("--format", help="csv 或 jsonl")] = ExportFormat.jsonl,
    out: Annotated[Path | None, typer.Option("--out", help="输出文件（默认标准输出）/ file to write; default stdout")] = None,
    task: TaskFilter = None, unit: UnitFilter = None, actor: ActorFilter = None, action: ActionFilter = None,
    since: SinceFilter = None, until: UntilFilter = None,
) -> None:
    """导出审计记录 / Export audit events as CSV or JSON Lines."""
    from models.audit import export
    from models.db import reading

    with reading(_engine(_settings())) as session:
        criteria = _audit_filter(task, unit, actor, action, since, until, session)
        if out is None:
            count = export(session, criteria, format.value, sys.stdout)
        else:
            # Written beside the target and renamed, so a failure leaves no half file.
            partial = out.with_name(out.name + ".partial")
            with partial.open("w", encoding="utf-8", newline="") as stream:
                count = export(session, criteria, format.value, stream)
            partial.replace(out)
    if out is not None:
        say(f"已导出 {count} 条审计记录到 {out}", f"exported {count} audit events to {out}")


def run() -> None:
    """Console entry point: our errors become one line and a non-zero exit, never a traceback."""
    from cli.errors import explain

    try:
        app()
    except KeyboardInterrupt:
        fail("已中断", "interrupted")
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 — turned into one line below
        code = explain(error)
        if code is None:
            raise
        sys.exit(code)

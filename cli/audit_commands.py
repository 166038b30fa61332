"""`duban audit show|verify|export`: the audit trail."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import JsonOption, engine_for, now_from, settings
from cli.output import emit_json, lang, named, say, show, terminal_safe, when, who

if TYPE_CHECKING:
    from sqlmodel import Session

    from models.audit import AuditFilter

audit_app = typer.Typer(
    help="审计记录：查看、校验、导出 / the audit trail: show, verify, export", no_args_is_help=True
)


class ExportFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"


def _audit_filter(
    task: int | None,
    unit: str | None,
    actor: str | None,
    action: str | None,
    since: str | None,
    until: str | None,
    session: Session,
) -> AuditFilter:
    from models.audit import AuditFilter
    from models.unit import find_unit

    return AuditFilter(
        task_id=task,
        unit_id=find_unit(session, unit).id if unit else None,
        actor=actor,
        action=action,
        since=now_from(since) if since else None,
        until=now_from(until) if until else None,
    )


TaskFilter = Annotated[int | None, typer.Option("--task", help="任务 ID / task id")]
UnitFilter = Annotated[
    str | None, typer.Option("--unit", help="单位名称或简称 / unit name or alias")
]
ActorFilter = Annotated[str | None, typer.Option("--actor", help="操作人 / who acted")]
ActionFilter = Annotated[
    str | None,
    typer.Option(
        "--action",
        help="动作，如 assignment.verify；以 . 结尾为前缀 / action, or a prefix ending in '.'",
    ),
]
SinceFilter = Annotated[
    str | None, typer.Option("--since", help="起始时间（含）/ from (inclusive), ISO 8601")
]
UntilFilter = Annotated[
    str | None, typer.Option("--until", help="截止时间（不含）/ until (exclusive), ISO 8601")
]


@audit_app.command("show")
def audit_show(
    task: TaskFilter = None,
    unit: UnitFilter = None,
    actor: ActorFilter = None,
    action: ActionFilter = None,
    since: SinceFilter = None,
    until: UntilFilter = None,
    limit: Annotated[
        int, typer.Option("--limit", help="最多显示条数 / at most this many (newest)")
    ] = 50,
    json_output: JsonOption = False,
) -> None:
    """查看审计记录 / Show audit events, filtered."""
    from collections import deque

    from models.audit import as_row, events
    from models.db import reading

    config = settings()
    with reading(engine_for(config)) as session:
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
        show(
            f"#{row['seq']} {when(row['at'], config.timezone, 'second')} {who(row['actor'])} "
            f"{named('AUDIT_ACTIONS', row['action'])} "
            f"{named('OBJECT_TYPES', row['object_type'])}:{row['object_id']}{change}{reason} "
            f"[{named('OUTCOMES', row['outcome'])}]"
        )
    if not rows:
        say("没有符合条件的审计记录", "no audit events match")


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[
        str | None,
        typer.Option("--anchor", help="库外保存的链头 SEQ:HASH / a head kept outside the database"),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """校验审计链，指出第一条被篡改的记录 / Walk the hash chain and name the first bad record."""
    from dataclasses import asdict

    from models.audit import verify_chain
    from models.db import reading

    with reading(engine_for(settings())) as session:
        report = verify_chain(session, anchor=anchor)
    if json_output:
        emit_json(asdict(report))
    else:
        show(report.message(lang()), file=sys.stdout if report.ok else sys.stderr)
    if not report.ok:
        raise typer.Exit(6)


@audit_app.command("export")
def audit_export(
    format: Annotated[
        ExportFormat, typer.Option("--format", help="csv 或 jsonl")
    ] = ExportFormat.jsonl,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="输出文件（默认标准输出）/ file to write; default stdout"),
    ] = None,
    task: TaskFilter = None,
    unit: UnitFilter = None,
    actor: ActorFilter = None,
    action: ActionFilter = None,
    since: SinceFilter = None,
    until: UntilFilter = None,
) -> None:
    """导出审计记录 / Export audit events as CSV or JSON Lines."""
    from models.audit import export
    from models.db import reading

    with reading(engine_for(settings())) as session:
        criteria = _audit_filter(task, unit, actor, action, since, until, session)
        if out is None:
            count = export(session, criteria, format.value, terminal_safe(sys.stdout))
        else:
            # Written beside the target and renamed, so a failure leaves no half file.
            partial = out.with_name(out.name + ".partial")
            with partial.open("w", encoding="utf-8", newline="") as stream:
                count = export(session, criteria, format.value, stream)
            partial.replace(out)
    if out is not None:
        say(f"已导出 {count} 条审计记录到 {out}", f"exported {count} audit events to {out}")

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
    from models.lifecycle import Actor

app = typer.Typer(
    name="duban",
    help="督办：领导小组办公室重点任务督办系统 / duban: supervision of a leading group's key tasks",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
audit_app = typer.Typer(help="审计记录：查看、校验、导出 / the audit trail: show, verify, export", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
units_app = typer.Typer(help="单位通讯录 / the unit directory", no_args_is_help=True)
app.add_typer(units_app, name="units")

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


def _actor(settings: Settings) -> Actor:
    """The CLI is the office's console: it acts as office admin, under the name DUBAN_ACTOR or the login."""
    import getpass

    from models.lifecycle import Actor, Role

    return Actor(name=settings.actor or f"cli:{getpass.getuser()}", role=Role.OFFICE_ADMIN)


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


@app.command("import")
def import_notice(
    path: Annotated[Path, typer.Argument(help="通知文件：.txt .md .docx .xlsx .csv / the notice file")],
    plan_key: Annotated[str | None, typer.Option("--plan-key", help="计划代号（默认取文件名）/ plan key; default: the file name")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只解析、不写入 / parse and show, write nothing")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="通讯录外的单位视为错误 / refuse units missing from the directory")] = False,
    apply: Annotated[bool, typer.Option("--apply", help="应用与已导入计划的差异 / apply the changes to an imported plan")] = False,
    json_output: JsonOption = False,
    now: NowOption = None,
) -> None:
    """导入任务清单通知 / Import a key-task notice into a plan, its tasks, units and assignments."""
    from intake.plan_import import reconcile, resolve
    from intake.source import read_notice
    from models.db import reading, unit_of_work

    settings = _settings()
    engine = _engine(settings)
    notice = read_notice(path)
    key = plan_key or path.stem
    moment, actor = _now(now), _actor(settings)
    with (reading(engine) if dry_run else unit_of_work(engine)) as session:
        resolved = resolve(session, notice, strict=strict)
        outcome = reconcile(session, key, resolved, actor=actor, now=moment, write=False)
        applied = not dry_run and (outcome.created or (apply and bool(outcome.changes)))
        if applied:
            outcome = reconcile(session, key, resolved, actor=actor, now=moment, write=True)
    changes = [{"task": c.task, "kind": c.kind, "zh": c.zh, "en": c.en} for c in outcome.changes]
    if json_output:
        document = resolved.as_json() if dry_run else {"plan_key": key, "counts": outcome.counts, "warnings": resolved.warnings}
        emit_json(document | {"plan_key": key, "created": outcome.created, "applied": applied, "changes": changes})
        return
    if dry_run:
        _print_notice(resolved.as_json())
    shown = 20  # a province's notice can carry thousands; --json has them all
    for warning in resolved.warnings[:shown]:
        zh, _, en = warning.partition(" / ")
        say(f"  注意：{zh}", f"  warning: {en or zh}")
    if len(resolved.warnings) > shown:
        more = len(resolved.warnings) - shown
        say(f"  ……另有 {more} 条注意事项（--json 可查看全部）", f"  ... {more} more warnings (--json shows all)")
    if outcome.created and applied:
        c = outcome.counts
        say(f"已导入计划“{key}”：任务 {c['tasks']} 项，措施 {c['measures']} 条，单位 {c['units']} 个（新建 {c['new_units']} 个），"
            f"任务分工 {c['assignments']} 项，警告 {c['warnings']} 条",
            f"imported plan '{key}': {c['tasks']} tasks, {c['measures']} measures, {c['units']} units "
            f"({c['new_units']} new), {c['assignments']} assignments, {c['warnings']} warnings")
    elif not outcome.created and not outcome.changes:
        say(f"计划“{key}”与通知一致，无需更新", f"plan '{key}' already matches the notice; nothing to change")
    elif not dry_run:
        for change in outcome.changes:
            say(f"  {change.zh}", f"  {change.en}")
        if applied:
            say(f"已应用 {len(changes)} 处变更到计划“{key}”", f"applied {len(changes)} changes to plan '{key}'")
        else:
            say(f"以上 {len(changes)} 处变更尚未应用；确认后加 --apply 重新运行",
                f"{len(changes)} changes not applied; run again with --apply to apply them")


def _print_notice(document: dict) -> None:
    plan = document["plan"]
    say(f"计划：{plan['title']}（{plan['issuer'] or '发文单位未识别'}，{plan['issued_on'] or '日期未识别'}）",
        f"plan: {plan['title']} ({plan['issuer'] or 'issuer not found'}, {plan['issued_on'] or 'date not found'})")
    from intake.plan_import import ROLE_ZH
    from models.assignment import AssignmentRole

    for task in document["tasks"]:
        units = "、".join(f"{u['name']}({ROLE_ZH[AssignmentRole(u['role'])]})" for u in task["units"])
        deadline = task["deadline"] or task["deadline_text"] or "—"
        say(f"{task['number']:>3}. {task['title']}｜措施 {len(task['measures'])} 条｜时限 {deadline}｜{units}",
            f"{task['number']:>3}. {task['title']} | {len(task['measures'])} measures | due {deadline} | {units}")


@units_app.command("import")
def units_import(
    path: Annotated[Path, typer.Argument(help="通讯录文件 .yaml 或 .csv / directory file")],
    now: NowOption = None,
) -> None:
    """导入或更新单位通讯录 / Load or update the unit directory (units, aliases, groups, contacts)."""
    from intake.directory import read_directory, sync_directory
    from models.db import unit_of_work

    settings = _settings()
    entries = read_directory(path)
    with unit_of_work(_engine(settings)) as session:
        counts = sync_directory(session, entries, actor=_actor(settings), now=_now(now))
    say(f"通讯录已更新：新建 {counts['created']} 个，修改 {counts['updated']} 个，未变 {counts['unchanged']} 个",
        f"directory loaded: {counts['created']} created, {counts['updated']} updated, {counts['unchanged']} unchanged")


@units_app.command("list")
def units_list(json_output: JsonOption = False) -> None:
    """列出单位 / List the units with their kind, aliases and liaison."""
    from intake.directory import describe_unit
    from models.db import reading
    from models.unit import Unit
    from sqlmodel import select

    with reading(_engine(_settings())) as session:
        units = [describe_unit(session, u) for u in session.exec(select(Unit).order_by(Unit.id))]
    if json_output:
        emit_json(units)
        return
    for unit in units:
        liaison = unit["contacts"].get("liaison", {})
        aliases = f"（又称 {'、'.join(unit['aliases'])}）" if unit["aliases"] else ""
        members = f" 成员 {len(unit['members'])} 个" if unit["members"] else ""
        print(f"{unit['name']}{aliases} [{unit['kind']}]{members} {liaison.get('email') or ''}".rstrip())


@units_app.command("show")
def units_show(name: Annotated[str, typer.Argument(help="单位名称或简称 / name or alias")], json_output: JsonOption = False) -> None:
    """查看一个单位 / Show one unit: aliases, members, contacts."""
    from intake.directory import describe_unit
    from models.db import reading
    from models.planning import find_unit

    with reading(_engine(_settings())) as session:
        unit = describe_unit(session, find_unit(session, name))
    if json_output:
        emit_json(unit)
        return
    print(unit["name"], f"[{unit['kind']}]")
    for label_zh, label_en, key in (("别名", "aliases", "aliases"), ("成员", "members", "members")):
        if unit[key]:
            say(f"  {label_zh}：{'、'.join(unit[key])}", f"  {label_en}: {', '.join(unit[key])}")
    for role, contact in unit["contacts"].items():
        print(f"  {role}: {contact['name']} {contact['email'] or ''} {contact['phone'] or ''}".rstrip())


class DirectoryFormat(StrEnum):
    yaml = "yaml"
    csv = "csv"


@units_app.command("export")
def units_export(
    format: Annotated[DirectoryFormat, typer.Option("--format", help="yaml 或 csv")] = DirectoryFormat.yaml,
    out: Annotated[Path | None, typer.Option("--out", help="输出文件（默认标准输出）/ file; default stdout")] = None,
) -> None:
    """导出单位通讯录 / Export the unit directory (the format `units import` reads)."""
    from intake.directory import export_directory
    from models.db import reading

    with reading(_engine(_settings())) as session:
        text = export_directory(session, format.value)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


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

"""`duban import`: a notice into a plan, or the difference from the plan already imported."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import JsonOption, NowOption, actor_for, engine_for, now_from, settings
from cli.output import emit_json, say


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

    config = settings()
    engine = engine_for(config)
    notice = read_notice(path)
    key = plan_key or path.stem
    moment, actor = now_from(now), actor_for(config)
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

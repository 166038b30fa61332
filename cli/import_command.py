"""`duban import`: a notice into a plan, or the difference from the plan already imported."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cli.common import JsonOption, NowOption, actor_for, engine_for, now_from, settings
from cli.output import emit_json, say


def import_notice(
    path: Annotated[
        Path,
        typer.Argument(
            help="通知文件（.txt .md .docx .xlsx .csv），或修改过的 --dry-run --json 文件 / "
            "the notice, or an edited plan JSON"
        ),
    ],
    plan_key: Annotated[
        str | None,
        typer.Option(
            "--plan-key", help="计划代号（默认取文件名）/ plan key; default: the file name"
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="只解析、不写入 / parse and show, write nothing")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="全部读出才导入：通讯录外的单位、读不出单位的任务均视为错误 / refuse unknown "
            "units and tasks without readable units",
        ),
    ] = False,
    apply: Annotated[
        bool,
        typer.Option(
            "--apply", help="应用与已导入计划的差异 / apply the changes to an imported plan"
        ),
    ] = False,
    json_output: JsonOption = False,
    now: NowOption = None,
) -> None:
    """导入任务清单通知 / Import a key-task notice into a plan, its tasks, units and assignments."""
    from intake.plan_import import reconcile, resolve
    from intake.plan_key import checked
    from models.db import reading, unit_of_work

    config = settings()
    engine = engine_for(config)
    notice, corrections, source, key_in_file = _read(path)
    key = checked(plan_key or key_in_file or source.stem)
    moment, actor = now_from(now), actor_for(config)
    with reading(engine) if dry_run else unit_of_work(engine) as session:
        if not dry_run:
            from models import audit

            audit.lock(session)  # compared and written in one go: a concurrent import waits
        resolved = resolve(session, notice, strict=strict, corrections=corrections)
        outcome = reconcile(session, key, resolved, actor=actor, now=moment, write=False)
        applied = not dry_run and (outcome.created or (apply and bool(outcome.changes)))
        if applied:
            outcome = reconcile(session, key, resolved, actor=actor, now=moment, write=True)
    if json_output:
        _emit(key, source, resolved, outcome, dry_run=dry_run, applied=applied)
        return
    if dry_run:
        _print_notice(resolved.as_json())
    _print_warnings(resolved)
    _print_outcome(key, outcome, dry_run=dry_run, applied=applied)
    _print_pending(key, outcome.pending)


def _read(path: Path) -> tuple[Any, list, Path, str | None]:
    """The notice, the office's corrections, the notice's file and the plan key an edited plan JSON
    names."""
    from intake.source import read_notice

    if path.suffix.lower() != ".json":
        return read_notice(path), [], path, None
    # An edited plan: the notice it names, with the office's corrections.
    from intake.corrections import corrections_from_plan, read_plan_file

    plan_file = read_plan_file(path)
    notice = read_notice(plan_file.source)
    return notice, corrections_from_plan(plan_file, notice), plan_file.source, plan_file.plan_key


def _emit(
    key: str, source: Path, resolved: Any, outcome: Any, *, dry_run: bool, applied: bool
) -> None:
    if dry_run:
        document = resolved.as_json()
        document["plan"]["source_path"] = str(
            source.resolve()
        )  # what `duban import plan.json` reads again
    else:
        document = {
            "plan_key": key,
            "counts": outcome.counts,
            "warnings": resolved.warnings,
            "corrections": resolved.corrections,
        }
    emit_json(
        document
        | {
            "plan_key": key,
            "created": outcome.created,
            "applied": applied,
            "changes": [c.as_json() for c in outcome.changes],
            "pending": outcome.pending,
            "new_units_without_contacts": outcome.new_units,
        }
    )


def _print_warnings(resolved: Any) -> None:
    from intake.plan_import import FIELD_ZH

    shown = 20  # a province's notice can carry thousands; --json has them all
    for warning in resolved.warnings[:shown]:
        zh, _, en = warning.partition(" / ")
        say(f"  注意：{zh}", f"  warning: {en or zh}")
    if len(resolved.warnings) > shown:
        more = len(resolved.warnings) - shown
        say(
            f"  ……另有 {more} 条注意事项（--json 可查看全部）",
            f"  ... {more} more warnings (--json shows all)",
        )
    for fix in resolved.corrections:
        say(
            f"  修改：任务 {fix['task']} 的{FIELD_ZH[fix['field']]}由 {_shown(fix['from'])} 改为 "
            f"{_shown(fix['to'])}",
            f"  correction: task {fix['task']} {fix['field']} from {_shown(fix['from'])} to "
            f"{_shown(fix['to'])}",
        )


def _print_new_units(names: list[str]) -> None:
    from intake.plan_import import new_units_notice

    if names:
        say(
            new_units_notice(names), f"{len(names)} new units, no contacts yet: " + ", ".join(names)
        )


def _print_outcome(key: str, outcome: Any, *, dry_run: bool, applied: bool) -> None:
    changes = outcome.changes
    if outcome.created and applied:
        c = outcome.counts
        say(
            f"已导入计划“{key}”：任务 {c['tasks']} 项，措施 {c['measures']} 条，单位 "
            f"{c['units']} 个（新建 {c['new_units']} 个），"
            f"任务分工 {c['assignments']} 项，警告 {c['warnings']} 条",
            f"imported plan '{key}': {c['tasks']} tasks, {c['measures']} measures, "
            f"{c['units']} units "
            f"({c['new_units']} new), {c['assignments']} assignments, {c['warnings']} warnings",
        )
        _print_new_units(outcome.new_units)
    elif not outcome.created and not changes:
        say(
            f"计划“{key}”与通知一致，无需更新",
            f"plan '{key}' already matches the notice; nothing to change",
        )
    elif not dry_run:
        for change in changes:
            say(f"  {change.zh}", f"  {change.en}")
        if applied:
            say(
                f"已应用 {len(changes)} 处变更到计划“{key}”",
                f"applied {len(changes)} changes to plan '{key}'",
            )
            _print_new_units(outcome.new_units)
        else:
            say(
                f"以上 {len(changes)} 处变更尚未应用；确认后加 --apply 重新运行",
                f"{len(changes)} changes not applied; run again with --apply to apply them",
            )


def _print_pending(key: str, pending: list[int]) -> None:
    if not pending:
        return
    numbers = "、".join(str(n) for n in pending)
    say(
        f"待分工任务 {len(pending)} 项（任务 {numbers}）：用 duban assign --plan {key} --task 序号 "
        "--lead 单位 指定单位，或在 --dry-run --json 的文件中填写 units 后导入该文件",
        f"{len(pending)} tasks await their units (tasks {numbers}): duban assign --plan {key} "
        "--task N --lead UNIT, or fill in their units in the --dry-run --json file and import it",
    )


def _shown(value: object) -> str:
    if isinstance(value, list):
        return "、".join(value) if value else "（无）"
    return f"“{value}”" if value is not None else "（无）"


def assign_command(
    task: Annotated[int, typer.Option("--task", help="任务序号 / task number")],
    plan: Annotated[
        str | None, typer.Option("--plan", help="计划代号（只有一个计划时可省略）/ plan key")
    ] = None,
    lead: Annotated[
        list[str] | None, typer.Option("--lead", help="牵头单位（可重复，或用、分隔）/ lead unit")
    ] = None,
    responsible: Annotated[
        list[str] | None, typer.Option("--responsible", help="负责单位 / responsible unit")
    ] = None,
    cooperating: Annotated[
        list[str] | None, typer.Option("--cooperating", help="配合单位 / cooperating unit")
    ] = None,
    json_output: JsonOption = False,
    now: NowOption = None,
) -> None:
    """为待分工任务指定单位 / Give a task that awaits its units (待分工) its units."""
    from sqlmodel import select

    from cli.cycle_commands import _plan
    from intake.corrections import units_from_fields
    from intake.plan_import import assign_pending
    from models.db import id_of, unit_of_work
    from models.errors import NotFound
    from models.plan import Task

    config = settings()
    units = units_from_fields(
        {
            "lead": "、".join(lead or []),
            "responsible": "、".join(responsible or []),
            "cooperating": "、".join(cooperating or []),
        }
    )
    with unit_of_work(engine_for(config)) as session:
        found = _plan(session, plan)
        row = session.exec(
            select(Task).where(Task.plan_id == found.id, Task.number == task)
        ).first()
        if row is None:
            raise NotFound(kind="task", kind_zh="任务", key=f"{found.key} / {task}")
        made = assign_pending(
            session, task_id=id_of(row), units=units, actor=actor_for(config), now=now_from(now)
        )
        listed = [{"assignment_id": a.id, "unit_id": a.unit_id, "role": str(a.role)} for a in made]
    if json_output:
        emit_json({"plan": found.key, "task": task, "assignments": listed})
        return
    say(
        f"已为计划“{found.key}”任务 {task} 分工：{len(listed)} 个单位",
        f"task {task} of plan '{found.key}': {len(listed)} units assigned",
    )


def _print_notice(document: dict) -> None:
    plan = document["plan"]
    say(
        f"计划：{plan['title'] or '标题未识别'}（{plan['issuer'] or '发文单位未识别'}，"
        f"{plan['issued_on'] or '日期未识别'}）",
        f"plan: {plan['title'] or 'title not found'} ({plan['issuer'] or 'issuer not found'}, "
        f"{plan['issued_on'] or 'date not found'})",
    )
    from models.assignment import ROLE_ZH, AssignmentRole

    for task in document["tasks"]:
        units = "、".join(
            f"{u['name']}({ROLE_ZH[AssignmentRole(u['role'])]})" for u in task["units"]
        )
        deadline = task["deadline"] or task["deadline_text"] or "—"
        say(
            f"{task['number']:>3}. {task['title']}｜措施 {len(task['measures'])} 条｜时限 "
            f"{deadline}｜{units or '待分工'}",
            f"{task['number']:>3}. {task['title']} | {len(task['measures'])} measures | due "
            f"{deadline} | {units or 'awaiting units'}",
        )

"""`duban`: the command tree. Each command imports what it needs inside its body,
so that `duban --help` and `duban status` start fast and never import Prefect.

    main.py             init, status, and the tree
    import_command.py   import
    units_commands.py   units import|list|show|export
    audit_commands.py   audit show|verify|export
    notification_commands.py  dispatch, notifications list|show|retry|preview
"""

from __future__ import annotations

import sys

import typer

from cli.audit_commands import audit_app
from cli.common import JsonOption, NowOption, engine_for, now_from, settings
from cli.import_command import import_notice
from cli.notification_commands import dispatch_command, notifications_app
from cli.output import emit_json, fail, lang, say
from cli.units_commands import units_app

app = typer.Typer(
    name="duban",
    help="督办：领导小组办公室重点任务督办系统 / duban: supervision of a leading group's key tasks",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("import")(import_notice)
app.add_typer(units_app, name="units")
app.add_typer(audit_app, name="audit")
app.command("dispatch")(dispatch_command)
app.add_typer(notifications_app, name="notifications")


@app.command()
def init(now: NowOption = None) -> None:
    """创建或升级数据库（可重复运行）/ Create or upgrade the database; running it again is harmless."""
    from models import audit
    from models.db import unit_of_work
    from models.lifecycle import SYSTEM_ACTOR
    from models.schema import upgrade

    config = settings()
    for folder in (config.home, config.outbox_dir, config.prefect_home):
        folder.mkdir(parents=True, exist_ok=True)
    engine = engine_for(config, require_current=False)
    before, after = upgrade(engine)
    url = engine.url.render_as_string(hide_password=True)
    if before == after:
        say(f"数据库已是最新版本（{after}）：{url}", f"database already up to date ({after}): {url}")
        return
    with unit_of_work(engine) as session:
        audit.record(session, at=now_from(now), actor=SYSTEM_ACTOR, action="schema.upgrade", object_type="schema",
                     object_id=after or "", before={"revision": before}, after={"revision": after})
    say(f"数据库已初始化（{before or '空'} → {after}）：{url}", f"database initialised ({before or 'empty'} -> {after}): {url}")


@app.command()
def status(json_output: JsonOption = False) -> None:
    """计划、任务、分工状态、轮次、督办与通知概况 / Plans, tasks, assignments by state, rounds, escalations, notifications."""
    from models.db import reading
    from models.status import status as compute

    with reading(engine_for(settings())) as session:
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

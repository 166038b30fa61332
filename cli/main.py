"""`duban`: the command tree. Each command imports what it needs inside its body,
so that `duban --help` and `duban status` start fast and never import Prefect.

    main.py             init, status, and the tree
    import_command.py   import, assign (a 待分工 task's units)
    units_commands.py   units import|list|show|export
    cadence_commands.py round cadence|open-due (the reporting cadence)
    plan_commands.py    plan list|archive
    decline_commands.py decline, decline review (退办)
    cycle_commands.py   round, sign, checkin, review, close, reopen, extension, remind, escalate,
nudge, agenda
    directive_commands.py   directive add|reply|close|list (领导批示)
    escalation_commands.py  escalation list|note|consult|close (the escalated items' desk)
    suspension_commands.py  suspend, resume (暂停: an item's clock stops)
    audit_commands.py   audit show|verify|export
    report_command.py   report (the 通报: HTML, XLSX, DOCX, Markdown)
    score_command.py    score (考核: each unit's score, rank and the 红黑榜)
    users_commands.py   users add|passwd|disable|list (the portal's accounts)
    notification_commands.py  dispatch, notifications list|show|retry|preview
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cli.audit_commands import audit_app
from cli.cadence_commands import cadence_command, open_due_command
from cli.common import JsonOption, NowOption, engine_for, now_from, settings
from cli.cycle_commands import (
    agenda_command,
    checkin_app,
    close_command,
    escalate_command,
    extension_app,
    nudge_command,
    remind_command,
    reopen_command,
    review_app,
    round_app,
    sign_command,
)
from cli.decline_commands import decline_app
from cli.directive_commands import directive_app
from cli.escalation_commands import escalation_app
from cli.import_command import assign_command, import_notice
from cli.notification_commands import dispatch_command, notifications_app
from cli.output import emit_json, fail, lang, say, show
from cli.plan_commands import plan_app
from cli.report_command import report_app
from cli.score_command import score_command
from cli.suspension_commands import resume_command, suspend_command
from cli.units_commands import units_app
from cli.users_commands import users_app

app = typer.Typer(
    name="duban",
    help="督办：领导小组办公室重点任务督办系统 / duban: supervision of a leading group's key tasks",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def init(now: NowOption = None) -> None:
    """创建或升级数据库（可重复运行）/ Create or upgrade the database; running it again is
    harmless."""
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
        say(
            f"数据库已是最新版本（{after}）：{url}", f"database already up to date ({after}): {url}"
        )
        return
    with unit_of_work(engine) as session:
        audit.record(
            session,
            at=now_from(now),
            actor=SYSTEM_ACTOR,
            action="schema.upgrade",
            object_type="schema",
            object_id=after or "",
            before={"revision": before},
            after={"revision": after},
        )
    say(
        f"数据库已初始化（{before or '空'} → {after}）：{url}",
        f"database initialised ({before or 'empty'} -> {after}): {url}",
    )


def status(json_output: JsonOption = False, now: NowOption = None) -> None:
    """计划、任务、分工状态、轮次、报送、督办、红绿灯与通知概况 / Plans, assignments, rounds,
    check-ins, escalations, lights, notifications."""
    from models.clock import local_day
    from models.db import reading
    from models.status import status as compute

    config = settings()
    with reading(engine_for(config)) as session:
        figures = compute(
            session,
            today=local_day(now_from(now), config.timezone),
            rules=config.cycle,
            timezone=config.timezone,
        )
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
    say(
        f"计划 {figures['plans']} 个，任务 {figures['tasks']} 项",
        f"{figures['plans']} plans, {figures['tasks']} tasks",
    )
    say(
        f"任务分工 {figures['assignments']['total']} 项：" + "，".join(parts),
        f"{figures['assignments']['total']} assignments: " + ", ".join(parts),
    )
    rounds = figures["open_rounds"]
    say(f"进行中的督导轮次 {len(rounds)} 个", f"{len(rounds)} open rounds")
    for r in rounds:
        say(
            f"  · {r['plan']} / {r['name']}（报送截止 {r['report_by']}）",
            f"  · {r['plan']} / {r['name']} (report by {r['report_by']})",
        )
    say(
        f"未办结督办 {figures['open_escalations']['total']} 项：蓝色 {levels['1']}，黄色 "
        f"{levels['2']}，红色 {levels['3']}",
        f"{figures['open_escalations']['total']} open escalations: blue {levels['1']}, yellow "
        f"{levels['2']}, red {levels['3']}",
    )
    checkins = figures["checkins"]
    say(
        f"本轮报送：待报送 {checkins['pending']}，待审核 {checkins['submitted']}，通过 "
        f"{checkins['accepted']}，"
        f"退回 {checkins['returned']}，逾期 {checkins['overdue']}",
        f"check-ins: pending {checkins['pending']}, submitted {checkins['submitted']}, "
        f"accepted {checkins['accepted']}, "
        f"returned {checkins['returned']}, overdue {checkins['overdue']}",
    )
    unreachable = figures["unreachable_units"]
    if unreachable["total"]:
        say(
            f"无联系方式的单位：{unreachable['total']} 个：" + "、".join(unreachable["units"]),
            f"units with no contact: {unreachable['total']}: " + ", ".join(unreachable["units"]),
        )
    lacking = figures["units_without_contacts"]
    if lacking["total"]:
        say(
            f"缺少联系人的单位：{lacking['total']} 个："
            + "、".join(lacking["units"])
            + "（请在单位通讯录中补充）",
            f"units lacking contacts: {lacking['total']}: " + ", ".join(lacking["units"]),
        )
    if "lights" in figures:
        tasks = figures["lights"]["tasks"]
        say(
            f"任务红绿灯：绿 {tasks['green']}，黄 {tasks['yellow']}，红 {tasks['red']}",
            f"task lights: green {tasks['green']}, yellow {tasks['yellow']}, red {tasks['red']}",
        )
    notes = figures["notifications"]
    say(
        f"通知：待发 {notes['pending']}，发送中 {notes['claimed']}，已发 {notes['sent']}，失败 "
        f"{notes['dead']}，可能已送达 {notes['maybe_sent']}",
        f"notifications: pending {notes['pending']}, claimed {notes['claimed']}, sent "
        f"{notes['sent']}, dead {notes['dead']}",
    )
    received = figures.get("messages_received")
    if received and received["by_unit"]:
        say(
            f"近7日各单位收到消息（{received['since']}至{received['until']}，合并 "
            f"{notes['merged']} 条）：",
            f"messages received per unit ({received['since']} to {received['until']}, "
            f"{notes['merged']} merged):",
        )
        for name, count in received["by_unit"].items():
            say(f"  · {name} {count} 条", f"  · {name} {count}")


def serve(
    host: Annotated[
        str, typer.Option("--host", help="监听地址 / address to listen on")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="端口 / port")] = 8000,
    scheduler: Annotated[
        bool,
        typer.Option(
            "--scheduler/--no-scheduler", help="同时运行定时任务 / also run the scheduled flows"
        ),
    ] = True,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=0,
            help="门户进程数（0：CPU 核数，最多 4）/ portal processes; 0: one per core, at most 4",
        ),
    ] = 0,
) -> None:
    """运行门户网站和定时任务 / Run the portal (FastAPI) and the scheduled flows (APScheduler)."""
    import os

    import uvicorn

    from web.app import create_app

    config = settings()
    portal_url_given = "portal_url" in config.model_fields_set
    if not portal_url_given:
        # Nobody said where the portal lives: the links in messages point where it is served (the
        # workers read it from the environment), not at the default port it may not be on.
        served = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{port}"
        os.environ["DUBAN_PORTAL_URL"] = served
        config = config.model_copy(update={"portal_url": served})
    app = create_app(config)  # refuses a default secret outside dev mode, before anything starts
    jobs = None
    if scheduler:
        from flows.serve import build_scheduler

        jobs = build_scheduler(config, blocking=False)
        jobs.start()
        for schedule in config.schedules:
            show(f"  {schedule.flow}: {schedule.cron} ({config.timezone})")
    say(
        f"督办门户：http://{host}:{port}/ （Ctrl+C 退出）；消息中的链接指向 {config.portal_url}"
        + ("" if portal_url_given else "（可用 DUBAN_PORTAL_URL 设置）"),
        f"duban portal: http://{host}:{port}/ (Ctrl+C to stop); links in messages go to "
        f"{config.portal_url}",
    )

    # Pages are rendered in Python: one process per core serves concurrent users; the scheduler
    # stays here, once.
    count = workers or min(4, os.cpu_count() or 1)
    try:
        # proxy_headers off: uvicorn would believe X-Forwarded-For from 127.0.0.1; the app believes
        # it only from DUBAN_TRUSTED_PROXIES (web/app.py).
        if count == 1:
            uvicorn.run(
                app,
                host=host,
                port=port,
                log_level="warning",
                server_header=False,
                proxy_headers=False,
            )
        else:
            uvicorn.run(
                "web.app:create_app",
                factory=True,
                host=host,
                port=port,
                workers=count,
                log_level="warning",
                server_header=False,
                proxy_headers=False,
            )
    finally:
        if jobs is not None:
            jobs.shutdown(wait=False)


def deploy() -> None:
    """把定时流程注册为 Prefect 部署（需 PREFECT_API_URL）/ Register the scheduled flows on a
    Prefect server."""
    import os

    from models.errors import ConfigError

    if not os.environ.get("PREFECT_API_URL"):
        raise ConfigError(
            detail="PREFECT_API_URL 未设置：请先启动 Prefect 服务器（见 README）/ set "
            "PREFECT_API_URL to a running Prefect server"
        )
    import flows  # noqa: F401  (Prefect's home and analytics off, before Prefect loads)
    from flows.deploy import POOL
    from flows.deploy import deploy as register

    for name in register(settings()):
        say(f"已注册部署 {name}（工作池 {POOL}）", f"deployed {name} (work pool {POOL})")


# The commands in the order of the office's work.
app.command("init")(init)
app.add_typer(units_app, name="units")
app.command("import")(import_notice)
app.command("assign")(assign_command)
app.add_typer(plan_app, name="plan")
round_app.command("cadence")(cadence_command)
round_app.command("open-due")(open_due_command)
app.add_typer(round_app, name="round")
app.command("sign")(sign_command)
app.add_typer(decline_app, name="decline")
app.add_typer(directive_app, name="directive")
app.add_typer(checkin_app, name="checkin")
app.add_typer(review_app, name="review")
app.command("close")(close_command)
app.command("reopen")(reopen_command)
app.add_typer(extension_app, name="extension")
app.command("remind")(remind_command)
app.command("escalate")(escalate_command)
app.command("nudge")(nudge_command)
app.command("suspend")(suspend_command)
app.command("resume")(resume_command)
app.command("agenda")(agenda_command)
app.add_typer(escalation_app, name="escalation")
app.command("dispatch")(dispatch_command)
app.add_typer(notifications_app, name="notifications")
app.add_typer(report_app, name="report")
app.command("score")(score_command)
app.add_typer(users_app, name="users")
app.command("status")(status)
app.add_typer(audit_app, name="audit")
app.command("serve")(serve)
app.command("deploy")(deploy)


def run() -> None:
    """Console entry point: every error becomes one line and a non-zero exit, never a traceback.

    Click runs outside its standalone mode so that its own usage errors come here too (one line,
    not a boxed panel); what nobody expected is logged by `last_resort`."""
    from cli.errors import explain, last_resort

    try:
        code = app(standalone_mode=False)
    except KeyboardInterrupt:
        fail("已中断", "interrupted")
        sys.exit(130)
    except Exception as error:  # noqa: BLE001 — turned into one line below
        try:
            code = explain(error)
        except Exception as failure:  # noqa: BLE001 — explaining must not be what prints a traceback
            failure.__context__ = error
            code = None
            error = failure
        sys.exit(last_resort(error) if code is None else code)
    if code is None or isinstance(code, bool) or not isinstance(code, int):
        # A command's own return value is not an exit status; typer.Exit and --help return theirs.
        code = 0
    sys.exit(code)

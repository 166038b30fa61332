"""The supervision cycle on the command line: rounds, unit actions, office actions, reminders,
escalations.

Each command calls the domain functions directly (no Prefect start-up), in
one transaction; the flows in flows/ run the same functions on a schedule.
Assignments are named by task number and unit (name or alias); the plan and
the round default to the only plan and its latest open round.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.common import (
    ForceTimeOption,
    JsonOption,
    NowOption,
    actor_for,
    clock,
    engine_for,
    now_from,
    numbers_from,
    settings,
)
from cli.output import emit_json, named, say, show

if TYPE_CHECKING:
    from sqlmodel import Session

round_app = typer.Typer(help="督导轮次 / supervision rounds", no_args_is_help=True)
checkin_app = typer.Typer(help="进展报送 / check-ins", no_args_is_help=True)
review_app = typer.Typer(help="审核报送 / review check-ins", no_args_is_help=True)
extension_app = typer.Typer(help="延期申请 / extensions", no_args_is_help=True)

PlanOption = Annotated[
    str | None, typer.Option("--plan", help="计划代号（只有一个计划时可省略）/ plan key")
]
RoundOption = Annotated[
    str | None, typer.Option("--round", help="轮次名称（默认最近一个进行中的轮次）/ round name")
]
TaskOption = Annotated[int, typer.Option("--task", help="任务序号 / task number")]
UnitOption = Annotated[str, typer.Option("--unit", help="单位名称或简称 / unit name or alias")]


def _date(text: str, option: str, *, bounded: bool = False) -> date:
    """A date typed on the command line; `bounded`: also within the years the clock may be (a
    round's date, which every ladder adds working days to; an extension's date has its own rules in
    the domain)."""
    from cli.common import FIRST_YEAR, LAST_YEAR

    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} — 应为 YYYY-MM-DD / expected YYYY-MM-DD", param_hint=option
        ) from None
    if bounded and not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise typer.BadParameter(
            f"{text!r} — 应在 {FIRST_YEAR} 年至 {LAST_YEAR} 年之间 / expected a date between "
            f"{FIRST_YEAR} and {LAST_YEAR}",
            param_hint=option,
        )
    return day


def _plan(session: Session, key: str | None):
    from models.rounds import resolve_plan

    return resolve_plan(session, key)


def _round(session: Session, plan, name: str | None):
    from models.rounds import resolve_round

    return resolve_round(session, plan_key=plan.key, name=name)[1]


def _assignment(session: Session, plan, task_number: int, unit_name: str):
    from sqlmodel import col, select

    from models.assignment import Assignment
    from models.errors import NotFound
    from models.plan import Task
    from models.unit import find_unit

    unit = find_unit(session, unit_name)
    found = session.exec(
        select(Assignment)
        .join(Task, col(Task.id) == col(Assignment.task_id))
        .where(Task.plan_id == plan.id, Task.number == task_number, Assignment.unit_id == unit.id)
    ).first()
    if found is None:
        raise NotFound(kind="assignment", kind_zh="任务分工", key=f"任务{task_number}／{unit.name}")
    return found


# --- rounds -------------------------------------------------------------------------------------


@round_app.command("open")
def round_open(
    name: Annotated[str, typer.Option("--name", help="轮次名称 / round name")],
    due: Annotated[str, typer.Option("--due", help="报送截止日期 YYYY-MM-DD / report-by date")],
    plan: PlanOption = None,
    tasks: Annotated[
        str | None,
        typer.Option("--tasks", help="只含这些任务，如 1,5,12 / only these task numbers"),
    ] = None,
    units: Annotated[
        str | None, typer.Option("--units", help="只含这些单位，逗号分隔 / only these units")
    ] = None,
    allow_holiday: Annotated[
        bool,
        typer.Option(
            "--allow-holiday",
            help="截止日期可以是周末或节假日（当天不发到期提醒）"
            " / allow a report-by date that is not a working day",
        ),
    ] = False,
    now: NowOption = None,
    json_output: JsonOption = False,
) -> None:
    """开启督导轮次 / Open a round: a check-in per open assignment in scope, a notice per unit."""
    from models.db import unit_of_work
    from models.rounds import open_round

    config = settings()
    report_by = _date(due, "--due", bounded=True)
    numbers = numbers_from(tasks, "--tasks")
    names = [n.strip() for n in units.replace("，", ",").split(",") if n.strip()] if units else None
    with unit_of_work(engine_for(config)) as session:
        key = _plan(session, plan).key
        opened = open_round(
            session,
            plan_key=key,
            name=name,
            report_by=report_by,
            actor=actor_for(config),
            now=now_from(now),
            cooperating_lead_days=config.cycle.cooperating_lead_days,
            task_numbers=numbers,
            unit_names=names,
            timezone=config.timezone,
            calendar=config.working_calendar,
            allow_holiday=allow_holiday,
        )
        round_id = opened.round.id
    if json_output:
        emit_json(
            {
                "round_id": round_id,
                "created": opened.created,
                "checkins": opened.checkins,
                "notices": opened.notices,
                "warnings": opened.warnings or [],
                "unreached": opened.unreached,
            }
        )
        return
    if not opened.created:
        say(
            f"督导轮次“{name}”已开启过（#{round_id}），未做任何改动",
            f"round '{name}' was already open (#{round_id}); nothing changed",
        )
        return
    for warning in opened.warnings or []:
        say(f"  注意：{warning.split(' / ')[0]}", f"  warning: {warning.split(' / ')[-1]}")
    say(
        f"已开启督导轮次“{name}”（#{round_id}）：报送事项 {opened.checkins} 项，通知 "
        f"{opened.notices} 条",
        f"opened round '{name}' (#{round_id}): {opened.checkins} check-ins, {opened.notices} "
        "notices",
    )
    if opened.unreached:
        say(
            f"  注意：以下 {len(opened.unreached)} 个单位无联系方式（联络员邮箱），不会收到通知，"
            "请另行告知，并在单位名录中补录联络员邮箱：" + "、".join(opened.unreached),
            f"  warning: {len(opened.unreached)} units have no liaison e-mail and will not be "
            "notified: " + ", ".join(opened.unreached),
        )


@round_app.command("list")
def round_list(plan: PlanOption = None, json_output: JsonOption = False) -> None:
    """列出督导轮次 / List rounds with their check-ins by state."""
    from models.db import reading
    from models.status import rounds_overview

    with reading(engine_for(settings())) as session:
        rows = rounds_overview(session, plan_key=plan)
    if json_output:
        emit_json(rows)
        return
    for r in rows:
        states = "，".join(f"{k} {v}" for k, v in r["checkins"].items())
        show(f"#{r['id']} {r['plan']} / {r['name']} [{r['state']}] 截止 {r['report_by']}：{states}")


@round_app.command("show")
def round_show(
    name: Annotated[str, typer.Argument()], plan: PlanOption = None, json_output: JsonOption = False
) -> None:
    """查看一个轮次的全部报送 / Show a round's check-ins, task by task."""
    from sqlmodel import col, select

    from models.assignment import Assignment
    from models.db import id_of, reading
    from models.lifecycle import ACTION_LABELS, Action, available_actions
    from models.plan import Task
    from models.round import CheckIn
    from models.unit import Unit
    from models.workflow import contexts_of

    config = settings()
    with reading(engine_for(config)) as session:
        round_ = _round(session, _plan(session, plan), name)
        rows = session.exec(
            select(CheckIn, Assignment, Task, Unit)
            .join(Assignment, col(Assignment.id) == col(CheckIn.assignment_id))
            .join(Task, col(Task.id) == col(Assignment.task_id))
            .join(Unit, col(Unit.id) == col(Assignment.unit_id))
            .where(CheckIn.round_id == round_.id)
            .order_by(col(Task.number), col(Unit.name))
        ).all()
        contexts = contexts_of(session, [a for _, a, _, _ in rows])
        actor = actor_for(config)
        items: list[dict[str, Any]] = [
            {
                "task": t.number,
                "unit": u.name,
                "role": str(a.role),
                "assignment_state": str(a.state),
                "checkin_state": str(c.state),
                "revision": c.revision,
                "due_on": c.due_on.isoformat(),
                "percent": c.percent,
                "text": c.text,
                "completed": c.completed,
                "problems": c.problems,
                "actions": [x.value for x in available_actions(a, actor, contexts[id_of(a)])],
            }
            for c, a, t, u in rows
        ]
    if json_output:
        emit_json({"round": round_.name, "report_by": round_.report_by.isoformat(), "items": items})
        return
    for i in items:
        show(
            f"任务{i['task']:>3} {i['unit']}（{named('ASSIGNMENT_ROLES', i['role'])}）"
            f"{named('STATES', i['assignment_state'])} / "
            f"{named('CHECKIN_STATES', i['checkin_state'])} 截止{i['due_on']}"
            + (f" {i['percent']}%" if i["percent"] is not None else "")
            + (
                f" 第{i['revision']}次报送（审核时 --revision {i['revision']}）"
                if i["revision"]
                else ""
            )
            + (
                " 可办：" + "、".join(ACTION_LABELS[Action(x)][0] for x in i["actions"])
                if i["actions"]
                else ""
            )
        )


@round_app.command("close")
def round_close(
    name: Annotated[str, typer.Argument()],
    plan: PlanOption = None,
    now: NowOption = None,
    confirm: Annotated[
        bool, typer.Option("--confirm", help="仍有待审核的报送也结束（它们仍可审核）")
    ] = False,
) -> None:
    """结束督导轮次 / Close a round (no more check-ins, reminders or escalations for it)."""
    from models.db import unit_of_work
    from models.rounds import close_round

    config = settings()
    with unit_of_work(engine_for(config)) as session:
        close_round(
            session,
            plan_key=_plan(session, plan).key,
            name=name,
            actor=actor_for(config),
            now=now_from(now),
            confirmed=confirm,
        )
    say(f"督导轮次“{name}”已结束", f"round '{name}' closed")


# --- unit actions -------------------------------------------------------------------------------


def _lifecycle(
    action: str,
    task: int,
    unit: str,
    plan: str | None,
    now: str | None,
    reason: str | None = None,
    force_time: bool = False,
) -> None:
    """One lifecycle action on the assignment of task `task` for `unit`."""
    from models import workflow
    from models.db import unit_of_work
    from models.lifecycle import Action

    config = settings()
    with clock(force_time), unit_of_work(engine_for(config)) as session:
        a = _assignment(session, _plan(session, plan), task, unit)
        workflow.take_action(
            session,
            assignment_id=a.id,
            action=Action(action),
            actor=actor_for(config),
            now=now_from(now),
            reason=reason,
        )


def sign_command(
    task: TaskOption,
    unit: UnitOption,
    plan: PlanOption = None,
    now: NowOption = None,
    force_time: ForceTimeOption = False,
) -> None:
    """签收任务 / Sign for an assignment."""
    _lifecycle("sign", task, unit, plan, now, force_time=force_time)
    say(f"已签收：任务{task}／{unit}", f"signed: task {task} / {unit}")


@checkin_app.command("submit")
def checkin_submit(
    task: TaskOption,
    unit: UnitOption,
    text: Annotated[str, typer.Option("--text", help="进展情况 / what was done")],
    percent: Annotated[
        int | None, typer.Option("--percent", min=0, max=100, help="完成百分比 / percent done")
    ] = None,
    milestone: Annotated[
        str | None, typer.Option("--milestone", help="阶段节点 / milestone")
    ] = None,
    problem: Annotated[
        str | None,
        typer.Option("--problem", help="需协调解决的问题 / problems needing coordination"),
    ] = None,
    evidence: Annotated[
        list[Path] | None,
        typer.Option("--evidence", help="佐证材料文件 / evidence file (repeatable)"),
    ] = None,
    completed: Annotated[
        bool, typer.Option("--completed", help="报送办结 / this is the completion report")
    ] = False,
    plan: PlanOption = None,
    round_name: RoundOption = None,
    now: NowOption = None,
    force_time: ForceTimeOption = False,
) -> None:
    """报送进展或办结情况 / File progress or the completion report for the current round."""
    from models.checkins import submit_checkin
    from models.db import unit_of_work
    from models.evidence import described, read_files, store

    config = settings()
    files = read_files(evidence or [], max_bytes=int(config.upload_max_mb * 1024 * 1024))
    with clock(force_time), unit_of_work(engine_for(config)) as session:
        p = _plan(session, plan)
        r = _round(session, p, round_name)
        a = _assignment(session, p, task, unit)
        submit_checkin(
            session,
            round_id=r.id,
            assignment_id=a.id,
            actor=actor_for(config),
            now=now_from(now),
            text=text,
            percent=percent,
            milestone=milestone,
            problems=problem,
            evidence=described(files),
            completed=completed,
            evidence_quota_bytes=int(config.evidence_quota_mb * 1024 * 1024),
        )
        store(config.home / "evidence", files)  # only once the filing has been checked
    from models.db import reading
    from models.evidence import prune_if_due

    with reading(engine_for(config)) as session:
        prune_if_due(
            session, config.home / "evidence"
        )  # files a refused or killed filing left behind
    say(
        f"已报送{'办结' if completed else '进展'}：任务{task}／{unit}（{r.name}）",
        f"filed {'completion' if completed else 'progress'}: task {task} / {unit} ({r.name})",
    )


@checkin_app.command("prune-evidence")
def checkin_prune_evidence(json_output: JsonOption = False) -> None:
    """删除没有任何报送引用的佐证材料文件 / Delete evidence files no check-in names (older than an
    hour)."""
    from models.db import reading
    from models.evidence import prune_orphans

    config = settings()
    with reading(engine_for(config)) as session:
        removed = prune_orphans(session, config.home / "evidence")
    if json_output:
        emit_json({"removed": [p.name for p in removed]})
        return
    say(
        f"已删除无引用的佐证材料 {len(removed)} 个",
        f"removed {len(removed)} evidence files no check-in names",
    )


RevisionOption = Annotated[
    int,
    typer.Option(
        "--revision",
        min=1,
        help="所审核的报送版本（见 duban round show 的“第N次报送”）/ the filing you read",
    ),
]


def _review(
    accept: bool,
    task: int,
    unit: str,
    revision: int,
    reason: str | None,
    plan: str | None,
    round_name: str | None,
    now: str | None,
    force_time: bool = False,
) -> None:
    from models.checkins import review_checkin
    from models.db import unit_of_work

    config = settings()
    with clock(force_time), unit_of_work(engine_for(config)) as session:
        p = _plan(session, plan)
        r = _round(session, p, round_name)
        a = _assignment(session, p, task, unit)
        review_checkin(
            session,
            round_id=r.id,
            assignment_id=a.id,
            accept=accept,
            actor=actor_for(config),
            now=now_from(now),
            revision=revision,
            reason=reason,
        )
    say(
        f"已{'审核通过' if accept else '退回'}：任务{task}／{unit}",
        f"{'accepted' if accept else 'returned'}: task {task} / {unit}",
    )


@review_app.command("accept")
def review_accept(
    task: TaskOption,
    unit: UnitOption,
    revision: RevisionOption,
    plan: PlanOption = None,
    round_name: RoundOption = None,
    now: NowOption = None,
    force_time: ForceTimeOption = False,
) -> None:
    """审核通过（办结报告即核验）/ Accept a check-in (a completion report is verified)."""
    _review(True, task, unit, revision, None, plan, round_name, now, force_time)


@review_app.command("return")
def review_return(
    task: TaskOption,
    unit: UnitOption,
    revision: RevisionOption,
    reason: Annotated[str, typer.Option("--reason", help="退回理由 / why")],
    plan: PlanOption = None,
    round_name: RoundOption = None,
    now: NowOption = None,
    force_time: ForceTimeOption = False,
) -> None:
    """退回报送并说明理由 / Return a check-in for rework, with the reason."""
    _review(False, task, unit, revision, reason, plan, round_name, now, force_time)


def close_command(
    task: TaskOption,
    unit: UnitOption,
    plan: PlanOption = None,
    now: NowOption = None,
    force_time: ForceTimeOption = False,
) -> None:
    """销号 / Close a verified assignment."""
    _lifecycle("close", task, unit, plan, now, force_time=force_time)
    say(f"已销号：任务{task}／{unit}", f"closed: task {task} / {unit}")


def reopen_command(
    task: TaskOption,
    unit: UnitOption,
    reason: Annotated[str, typer.Option("--reason")],
    plan: PlanOption = None,
    now: NowOption = None,
    force_time: ForceTimeOption = False,
) -> None:
    """重新打开已销号的任务 / Reopen a closed assignment, with the reason."""
    _lifecycle("reopen", task, unit, plan, now, reason, force_time)
    say(f"已重新打开：任务{task}／{unit}", f"reopened: task {task} / {unit}")


# --- extensions ---------------------------------------------------------------------------------


@extension_app.command("request")
def extension_request(
    task: TaskOption,
    unit: UnitOption,
    until: Annotated[str, typer.Option("--until", help="申请延至 YYYY-MM-DD / new date")],
    reason: Annotated[str, typer.Option("--reason")],
    plan: PlanOption = None,
    now: NowOption = None,
) -> None:
    """申请延期 / Ask for an extension."""
    from models.db import unit_of_work
    from models.extensions import request_extension

    config = settings()
    with unit_of_work(engine_for(config)) as session:
        a = _assignment(session, _plan(session, plan), task, unit)
        request = request_extension(
            session,
            assignment_id=a.id,
            until=_date(until, "--until"),
            reason=reason,
            actor=actor_for(config),
            now=now_from(now),
            timezone=config.timezone,
            max_days=config.cycle.extension_max_days,
        )
        request_id = request.id
    say(f"已提交延期申请 #{request_id}", f"extension request #{request_id} filed")


def _decide(request_id: int, approve: bool, reason: str | None, now: str | None) -> None:
    from models.db import unit_of_work
    from models.extensions import decide_extension

    config = settings()
    with unit_of_work(engine_for(config)) as session:
        decide_extension(
            session,
            request_id=request_id,
            approve=approve,
            actor=actor_for(config),
            now=now_from(now),
            reason=reason,
        )
    say(
        f"延期申请 #{request_id} 已{'批准' if approve else '驳回'}",
        f"extension #{request_id} {'approved' if approve else 'rejected'}",
    )


@extension_app.command("approve")
def extension_approve(
    request_id: Annotated[int, typer.Argument()],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    now: NowOption = None,
) -> None:
    """批准延期 / Approve an extension."""
    _decide(request_id, True, reason, now)


@extension_app.command("reject")
def extension_reject(
    request_id: Annotated[int, typer.Argument()],
    reason: Annotated[str, typer.Option("--reason")],
    now: NowOption = None,
) -> None:
    """驳回延期 / Reject an extension, with the reason."""
    _decide(request_id, False, reason, now)


# --- the ladders --------------------------------------------------------------------------------


def remind_command(now: NowOption = None, json_output: JsonOption = False) -> None:
    """按提醒阶梯生成提醒（每单位每天至多一封）/ Enqueue today's reminder digests."""
    from dataclasses import asdict

    from models.db import unit_of_work
    from models.reminders import send_reminders

    config = settings()
    with unit_of_work(engine_for(config)) as session:
        run = send_reminders(session, now=now_from(now), settings=config, actor=actor_for(config))
    if json_output:
        emit_json(asdict(run))
    elif run.skipped:
        say(
            f"未发送提醒：{run.skipped.split(' / ')[0]}",
            f"no reminders: {run.skipped.split(' / ')[-1]}",
        )
    else:
        say(
            f"提醒：{run.units} 个单位到达提醒节点，新生成 {run.enqueued} 封",
            f"reminders: {run.units} units due, {run.enqueued} new digests",
        )


def nudge_command(
    task: Annotated[int | None, typer.Option("--task", help="任务序号 / task number")] = None,
    unit: Annotated[
        str | None, typer.Option("--unit", help="单位名称或简称 / unit name or alias")
    ] = None,
    plan: PlanOption = None,
    now: NowOption = None,
    json_output: JsonOption = False,
) -> None:
    """一键催办：给一个任务、一个单位或一项分工发催办通知 / Nudge a task, a unit or one
    assignment."""
    from models.db import unit_of_work
    from models.nudges import nudge
    from models.unit import find_unit

    if task is None and unit is None:
        raise typer.BadParameter("请至少给出 --task 或 --unit / give --task or --unit")
    config = settings()
    with unit_of_work(engine_for(config)) as session:
        task_id = unit_id = None
        if task is not None:
            found = _task(session, _plan(session, plan), task)
            task_id = found.id
        if unit is not None:
            unit_id = find_unit(session, unit).id
        sent = nudge(
            session,
            settings=config,
            now=now_from(now),
            actor=actor_for(config),
            task_id=task_id,
            unit_id=unit_id,
        )
    if json_output:
        emit_json(
            [{"unit": s.unit, "items": s.items, "sends_at": s.sends_at.isoformat()} for s in sent]
        )
        return
    from models.labels import local_time

    for s in sent:
        say(
            f"已催办：{s.unit}（{s.items} 项），发送时间 {local_time(s.sends_at, config.timezone)}",
            f"nudged: {s.unit} ({s.items} items), sending at {s.sends_at.isoformat()}",
        )


def _task(session: Session, plan, number: int):
    from sqlmodel import select

    from models.errors import NotFound
    from models.plan import Task

    found = session.exec(select(Task).where(Task.plan_id == plan.id, Task.number == number)).first()
    if found is None:
        raise NotFound(kind="task", kind_zh="任务", key=f"任务{number}")
    return found


def escalate_command(now: NowOption = None, json_output: JsonOption = False) -> None:
    """督办升级：每个停滞事项每次至多升一级 / Raise stalled items one level."""
    from models.db import unit_of_work
    from models.escalations import escalate_stalled

    config = settings()
    with unit_of_work(engine_for(config)) as session:
        counts = escalate_stalled(
            session, now=now_from(now), settings=config, actor=actor_for(config)
        )
    if json_output:
        emit_json(counts)
        return
    say(
        f"停滞事项 {counts['stalled']} 项，本次升级 {counts['raised']} 项（蓝 {counts['1']}，"
        f"黄 {counts['2']}，红 {counts['3']}）",
        f"{counts['stalled']} stalled, {counts['raised']} raised (blue {counts['1']}, yellow "
        f"{counts['2']}, red {counts['3']})",
    )


def agenda_command(json_output: JsonOption = False) -> None:
    """会商议题：提请协调机制的事项 / The consultation agenda: level-3 items with history and
    problems."""
    from models.db import reading
    from models.escalations import agenda

    config = settings()
    with reading(engine_for(config)) as session:
        items = agenda(session, config.timezone)
    if json_output:
        emit_json(items)
        return
    if not items:
        say("暂无提请会商的事项", "nothing on the consultation agenda")
    for n, item in enumerate(items, 1):
        show(
            f"{n}. {item['number']} 任务{item['task_number']}“{item['task_title']}”／"
            f"{item['unit']}：{item['reason']}"
        )
        for h in item["history"]:
            show(f"     {h['on']} {h['what']}")
        for p in item["problems"]:
            show(f"     需协调：{p}")

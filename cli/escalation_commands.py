"""The office's desk for escalated items on the command line: `duban escalation list|note|consult|
close`, the same use cases as the escalations page (models/escalation_desk.py). An item is named by
its 督办单 number (督〔2022〕003号) or by the id the list prints."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import JsonOption, NowOption, actor_for, engine_for, now_from, settings
from cli.output import emit_json, say

escalation_app = typer.Typer(
    help="督办事项：备注、会商结果、办结督办单 / Notes, 会商 outcomes, closing a 督办单",
    no_args_is_help=True,
)
Item = Annotated[str, typer.Argument(help="督办单号或编号 / 督办单 number or id")]
Text = Annotated[str, typer.Option("--text", help="内容 / the text")]


def _reference(item: str) -> int | str:
    """An item's id when the clerk typed a number, else the 督办单 number as typed."""
    from models.numbers import number_in_text  # `duban --help` imports no domain (no SQLAlchemy)

    number = number_in_text(item)
    return item.strip() if number is None else number


@escalation_app.command("list")
def escalation_list(
    level: Annotated[int | None, typer.Option("--level", min=1, max=3)] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="单位名称（含）")] = None,
    task: Annotated[int | None, typer.Option("--task", min=1)] = None,
    json_output: JsonOption = False,
) -> None:
    """未办结的督办事项，每项一次 / The open escalated items, once each."""
    from models.db import reading
    from models.escalation_desk import desk_items

    config = settings()
    with reading(engine_for(config)) as session:
        items = desk_items(
            session,
            config.timezone,
            {"level": level, "unit": unit, "task": task},
        )
    if json_output:
        emit_json(items)
        return
    for i in items:
        notes = len(i["notes"]) + len(i["consultations"])
        say(
            f"[{i['id']}] {i['number'] or '未编号'} {i['level_label']} 任务{i['task_number']} "
            f"{i['unit']}：{i['reason']}（起于 {i['since']}，备注 {notes} 条）",
            f"[{i['id']}] {i['number']} level {i['level']} task {i['task_number']} "
            f"{i['unit']}: {i['reason']} (since {i['since']}, {notes} notes)",
        )
    if not items:
        say("没有未办结的督办事项", "no open escalated items")


def _note(item: str, text: str, now: str | None, consultation: bool) -> None:
    from models.db import unit_of_work
    from models.escalation_desk import NoteKind, add_note

    config = settings()
    with unit_of_work(engine_for(config)) as session:
        add_note(
            session,
            reference=_reference(item),
            text=text,
            actor=actor_for(config),
            now=now_from(now),
            kind=NoteKind.CONSULTATION if consultation else NoteKind.NOTE,
        )
    say(
        f"已记录{'会商结果' if consultation else '备注'}：{item}",
        f"{'consultation outcome' if consultation else 'note'} recorded: {item}",
    )


@escalation_app.command("note")
def escalation_note(item: Item, text: Text, now: NowOption = None) -> None:
    """给督办事项添加备注 / Add a note to an item."""
    _note(item, text, now, consultation=False)


@escalation_app.command("consult")
def escalation_consult(item: Item, text: Text, now: NowOption = None) -> None:
    """记录提请会商事项的会商结果 / Record the 会商 outcome of a red item."""
    _note(item, text, now, consultation=True)


@escalation_app.command("close")
def escalation_close(
    item: Item,
    reason: Annotated[str, typer.Option("--reason", help="办结理由 / why")],
    now: NowOption = None,
    json_output: JsonOption = False,
) -> None:
    """办结督办单（所有未办结的级别一并办结）/ Close an item's 督办单, every open level."""
    from models.db import unit_of_work
    from models.escalation_desk import close_item

    config = settings()
    with unit_of_work(engine_for(config)) as session:
        closed = close_item(
            session,
            reference=_reference(item),
            reason=reason,
            actor=actor_for(config),
            now=now_from(now),
        )
    if json_output:
        emit_json({"item": item, "levels_closed": closed})
        return
    say(f"已办结督办单 {item}（{closed} 级）", f"closed {item} ({closed} levels)")


@escalation_app.command("print")
def escalation_print(
    item: Item,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="输出文件（默认：督办通知单-督办单号-单位.docx）/ the .docx to write",
        ),
    ] = None,
) -> None:
    """打印二级、三级督办的督办通知单（Word）/ Print a level-2 or level-3 督办通知单 as DOCX."""
    import os
    import tempfile
    from pathlib import Path

    from models.db import reading
    from reports.notice import notice_docx, notice_filename, notice_of

    config = settings()
    with reading(engine_for(config)) as session:
        notice = notice_of(session, _reference(item), config)
    target = Path(output) if output else Path(notice_filename(notice))
    # Written beside the target and moved into place: a failure leaves no half-written file.
    handle, staging = tempfile.mkstemp(prefix=".notice-", suffix=".docx", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(notice_docx(notice))
        os.replace(staging, target)
    finally:
        Path(staging).unlink(missing_ok=True)
    say(f"已生成督办通知单：{target}", f"notice written: {target}")

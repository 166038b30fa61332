"""`duban units import|list|show|export`: the unit directory."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from cli.common import JsonOption, NowOption, actor_for, engine_for, now_from, settings
from cli.output import emit_json, named, say, show, terminal_safe

units_app = typer.Typer(help="单位通讯录 / the unit directory", no_args_is_help=True)


@units_app.command("import")
def units_import(
    path: Annotated[Path, typer.Argument(help="通讯录文件 .yaml 或 .csv / directory file")],
    now: NowOption = None,
) -> None:
    """导入或更新单位通讯录 / Load or update the unit directory (units, aliases, groups,
    contacts)."""
    from intake.directory import read_directory, sync_directory
    from models.db import unit_of_work

    config = settings()
    entries = read_directory(path)
    with unit_of_work(engine_for(config)) as session:
        synced = sync_directory(session, entries, actor=actor_for(config), now=now_from(now))
    for adoption in synced.adopted:
        say(adoption.zh(), adoption.en())
    say(
        f"通讯录已更新：新建 {synced.created} 个，修改 {synced.updated} 个，未变 "
        f"{synced.unchanged} 个",
        f"directory loaded: {synced.created} created, {synced.updated} updated, "
        f"{synced.unchanged} unchanged",
    )


@units_app.command("list")
def units_list(json_output: JsonOption = False) -> None:
    """列出单位 / List the units with their kind, aliases and liaison."""
    from sqlmodel import col, select

    from intake.directory import describe_unit
    from models.db import reading
    from models.unit import Unit

    with reading(engine_for(settings())) as session:
        units = [
            describe_unit(session, u) for u in session.exec(select(Unit).order_by(col(Unit.id)))
        ]
    if json_output:
        emit_json(units)
        return
    for unit in units:
        liaison = unit["contacts"].get("liaison", {})
        aliases = f"（又称 {'、'.join(unit['aliases'])}）" if unit["aliases"] else ""
        members = f" 成员 {len(unit['members'])} 个" if unit["members"] else ""
        show(
            f"{unit['name']}{aliases} [{unit['kind']}]{members} "
            f"{liaison.get('email') or ''}".rstrip()
        )


@units_app.command("show")
def units_show(
    name: Annotated[str, typer.Argument(help="单位名称或简称 / name or alias")],
    json_output: JsonOption = False,
) -> None:
    """查看一个单位 / Show one unit: aliases, members, contacts."""
    from intake.directory import describe_unit
    from models.db import reading
    from models.unit import find_unit

    with reading(engine_for(settings())) as session:
        unit = describe_unit(session, find_unit(session, name))
    if json_output:
        emit_json(unit)
        return
    show(unit["name"], f"[{named('UNIT_KINDS', unit['kind'])}]")
    for label_zh, label_en, key in (("别名", "aliases", "aliases"), ("成员", "members", "members")):
        if unit[key]:
            say(f"  {label_zh}：{'、'.join(unit[key])}", f"  {label_en}: {', '.join(unit[key])}")
    for role, contact in unit["contacts"].items():
        show(
            f"  {named('CONTACT_ROLES', role)}: {contact['name']} {contact['email'] or ''} "
            f"{contact['phone'] or ''}".rstrip()
        )


class DirectoryFormat(StrEnum):
    yaml = "yaml"
    csv = "csv"


@units_app.command("export")
def units_export(
    format: Annotated[
        DirectoryFormat, typer.Option("--format", help="yaml 或 csv")
    ] = DirectoryFormat.yaml,
    out: Annotated[
        Path | None, typer.Option("--out", help="输出文件（默认标准输出）/ file; default stdout")
    ] = None,
) -> None:
    """导出单位通讯录 / Export the unit directory (the format `units import` reads)."""
    from intake.directory import export_directory
    from models.db import reading

    with reading(engine_for(settings())) as session:
        text = export_directory(session, format.value)
    if out is None:
        terminal_safe(sys.stdout).write(text)
    else:
        out.write_text(text, encoding="utf-8")

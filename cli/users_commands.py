"""`duban users`: the portal's accounts (add, passwd, disable, list) and their API tokens (tokens,
revoke-tokens)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import JsonOption, NowOption, actor_for, engine_for, now_from, settings
from cli.output import emit_json, named, say, show, when

users_app = typer.Typer(help="门户用户 / portal users", no_args_is_help=True)

PasswordOption = Annotated[
    str | None,
    typer.Option("--password", help="密码（省略则提示输入）/ password; prompted if omitted"),
]


def _password(given: str | None) -> str:
    if given is not None:
        return given
    return typer.prompt("密码 / password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="用户名 / user name")],
    role: Annotated[
        str, typer.Option("--role", help="office_admin, office_staff, unit, leader, auditor")
    ],
    unit: Annotated[
        str | None, typer.Option("--unit", help="单位用户所属单位 / the unit of a unit user")
    ] = None,
    password: PasswordOption = None,
    name: Annotated[str | None, typer.Option("--name", help="姓名 / display name")] = None,
    email: Annotated[str | None, typer.Option("--email")] = None,
    exists_ok: Annotated[
        bool, typer.Option("--exists-ok", help="已存在则不做改动 / leave an existing user as is")
    ] = False,
    now: NowOption = None,
) -> None:
    """添加用户 / Add a portal user."""
    from sqlmodel import select

    from models.db import unit_of_work
    from models.user import User
    from models.users import add_user

    config = settings()
    with unit_of_work(engine_for(config)) as session:
        if (
            exists_ok
            and session.exec(select(User).where(User.username == username)).first() is not None
        ):
            say(f"用户 {username} 已存在，未做改动", f"user {username} exists; nothing changed")
            return
    secret = _password(password)
    with unit_of_work(engine_for(config)) as session:
        user = add_user(
            session,
            username=username,
            role=role,
            password=secret,
            unit_name=unit,
            actor=actor_for(config),
            now=now_from(now),
            display_name=name,
            email=email,
        )
        user_id = user.id
    say(
        f"已添加用户 {username}（#{user_id}，{named('USER_ROLES', role)}）",
        f"added user {username} (#{user_id}, {role})",
    )


@users_app.command("passwd")
def users_passwd(
    username: Annotated[str, typer.Argument()],
    password: PasswordOption = None,
    now: NowOption = None,
) -> None:
    """修改密码（该用户的所有登录随之失效）/ Set a new password; ends the user's sessions."""
    from models.db import unit_of_work
    from models.users import set_password

    config = settings()
    secret = _password(password)
    with unit_of_work(engine_for(config)) as session:
        set_password(
            session, username=username, password=secret, actor=actor_for(config), now=now_from(now)
        )
    say(f"已修改 {username} 的密码", f"password of {username} changed")


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Argument()], now: NowOption = None) -> None:
    """停用用户 / Disable a user and end their sessions."""
    from models.db import unit_of_work
    from models.users import disable_user

    config = settings()
    with unit_of_work(engine_for(config)) as session:
        disable_user(session, username=username, actor=actor_for(config), now=now_from(now))
    say(f"已停用用户 {username}", f"disabled user {username}")


@users_app.command("list")
def users_list(json_output: JsonOption = False) -> None:
    """列出用户 / List users."""
    from sqlmodel import select

    from models.db import reading
    from models.unit import Unit
    from models.user import User

    with reading(engine_for(settings())) as session:
        units = dict(session.exec(select(Unit.id, Unit.name)).all())
        rows = [
            {
                "username": u.username,
                "role": str(u.role),
                "unit": units.get(u.unit_id),
                "disabled": u.disabled,
            }
            for u in session.exec(select(User).order_by(User.username))
        ]
    if json_output:
        emit_json(rows)
        return
    for row in rows:
        show(
            f"{row['username']}\t{named('USER_ROLES', row['role'])}\t{row['unit'] or ''}\t"
            f"{'停用' if row['disabled'] else ''}"
        )


@users_app.command("tokens")
def users_tokens(
    username: Annotated[str | None, typer.Argument(help="只列此用户 / only this user's")] = None,
    json_output: JsonOption = False,
    now: NowOption = None,
) -> None:
    """列出有效的接口访问令牌 / List live API tokens (never the tokens themselves)."""
    from models.db import reading
    from models.users import find_user, live_api_tokens

    config = settings()
    with reading(engine_for(config)) as session:
        user_id = find_user(session, username).id if username else None
        found = live_api_tokens(
            session, lifetime_hours=config.api_token_hours, now=now_from(now), user_id=user_id
        )
    rows = [
        {
            "id": t.id,
            "username": t.username,
            "created_at": t.created_at.isoformat(),
            "expires_at": t.expires_at.isoformat(),
            "ip": t.ip,
        }
        for t in found
    ]
    if json_output:
        emit_json(rows)
        return
    if not rows:
        say("没有有效的访问令牌", "no live API tokens")
    for row in rows:
        show(
            f"{row['id']}\t{row['username']}\t{when(row['created_at'], config.timezone)}\t"
            f"{when(row['expires_at'], config.timezone)}\t{row['ip'] or ''}"
        )


@users_app.command("revoke-tokens")
def users_revoke_tokens(username: Annotated[str, typer.Argument()], now: NowOption = None) -> None:
    """撤销该用户的全部接口访问令牌（门户登录不受影响）/ Revoke all of a user's API tokens."""
    from models.db import unit_of_work
    from models.users import end_api_tokens

    config = settings()
    with unit_of_work(engine_for(config)) as session:
        count = end_api_tokens(
            session, username=username, actor=actor_for(config), now=now_from(now)
        )
    say(f"已撤销 {username} 的 {count} 个访问令牌", f"revoked {count} API tokens of {username}")

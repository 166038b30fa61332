"""Turning exceptions into one clear line for the user.

`explain` knows the faults a user or the machine can cause (our named errors, a bad setting, a
database that cannot be reached or is damaged, a full or read-only disk, a mistyped command line);
`last_resort` handles everything else, a bug: the traceback goes to a file under
$DUBAN_HOME/logs/ and the user sees one line naming that file. No command prints a traceback.

Exit codes (the README's table lists the same):
    0 done · 1 unexpected error (traceback in logs/) · 2 bad input, usage or configuration ·
    3 not found · 4 action not allowed · 5 changed by someone else · 6 audit chain broken ·
    7 database unreachable · 8 disk full or not writable · 9 database file damaged · 130 interrupted
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cli.output import fail

UNEXPECTED = 1
USAGE = 2
UNREACHABLE = 7
NO_SPACE = 8
DAMAGED = 9
INTERRUPTED = 130

_FULL = (errno.ENOSPC, errno.EDQUOT)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def explain(error: BaseException) -> int | None:
    """Print the error as one line and return the exit code; None for a bug (see `last_resort`)."""
    from pydantic import ValidationError
    from typer._click import (
        exceptions as click,  # typer carries its own Click; its errors are these classes
    )

    from models.errors import DubanError

    if isinstance(error, DubanError):
        fail(error.message("zh"), error.message("en"))
        return error.exit_code
    if isinstance(error, click.ClickException):
        return _usage(error)
    from typer import Abort

    if isinstance(error, Abort):  # a prompt closed (Ctrl+D) or refused
        fail("已取消，未做任何改动", "aborted; nothing changed")
        return INTERRUPTED
    if isinstance(error, ValidationError):
        return _settings(error)
    if isinstance(error, OSError) and error.errno in (*_FULL, *_READ_ONLY):
        return _disk(error)
    from sqlalchemy.exc import DatabaseError, DataError, IntegrityError

    if isinstance(error, DataError):
        # Lengths and ranges are checked before the database; one that slips through is still bad
        # input.
        fail(
            f"数据超出数据库允许的长度或范围，未保存任何内容：{_first_line(error)}",
            f"a value exceeds what the database allows; nothing was saved: {_first_line(error)}",
        )
        return USAGE
    if isinstance(error, DatabaseError) and not isinstance(error, IntegrityError):
        return _database(error)
    return None  # an IntegrityError is a bug or a race: the last-resort handler logs it


def _usage(error: Any) -> int:
    """Click's own errors (unknown option, missing or bad value), in one line instead of a boxed
    panel."""
    from typer._click import exceptions as click

    if isinstance(error, click.NoArgsIsHelpError):
        return error.exit_code  # the group has printed its help already
    ctx = error.ctx if isinstance(error, click.UsageError) else None
    command = ctx.command_path if ctx is not None else "duban"
    hint = _param_hint(error) if isinstance(error, click.BadParameter) else ""
    text = error.format_message()
    message = str(getattr(error, "message", text))
    # Our own BadParameter messages are written "中文 / English": each language gets its half.
    message_zh, _, message_en = message.partition(" / ")
    if message_en:
        text = text.replace(message, message_en)
    zh = _usage_zh(error, text, message_zh, hint)
    fail(f"{zh}（用法见 {command} --help）", f"{text} (see {command} --help)")
    return error.exit_code if isinstance(error, click.UsageError) else USAGE


def _param_hint(error: Any) -> str:
    """The option or argument a BadParameter names, as Click would print it."""
    if error.param_hint is not None:
        return (
            error.param_hint if isinstance(error.param_hint, str) else " / ".join(error.param_hint)
        )
    if error.param is not None:
        return " / ".join(getattr(error.param, "opts", None) or [str(error.param.name)])
    return ""


def _usage_zh(error: Any, text: str, message_zh: str, hint: str) -> str:
    """The Chinese half of a usage error's message."""
    from typer._click import exceptions as click

    if isinstance(error, click.MissingParameter):
        zh = f"缺少参数 {hint}" if hint else f"缺少参数：{text}"
    elif isinstance(error, click.NoSuchOption):
        zh = f"没有选项 {error.option_name}" + (
            f"（是否想用 {'、'.join(error.possibilities)}？）" if error.possibilities else ""
        )
    elif isinstance(error, click.BadOptionUsage) and "requires an argument" in text:
        zh = f"选项 {error.option_name} 后面缺少取值"
    elif isinstance(error, click.BadParameter):
        if "valid integer" in message_zh:
            message_zh = "应为整数"
        zh = f"参数 {hint} 的值无效：{message_zh}" if hint else f"参数值无效：{message_zh}"
    elif isinstance(error, click.UsageError) and text.startswith("No such command"):
        zh = f"没有这个命令：{text.split(' ', 3)[-1].strip('.')}"
    else:
        zh = f"用法有误：{text}"
    return zh


def _settings(error: Any) -> int:
    """A setting comes from $DUBAN_HOME/duban.toml or from an environment variable: name it both
    ways."""
    parts_zh, parts_en = [], []
    for e in error.errors():
        dotted = ".".join(str(p) for p in e["loc"])
        env = "DUBAN_" + "__".join(str(p) for p in e["loc"]).upper()
        where = f"{dotted}（duban.toml 或 {env}）"
        if e["type"] == "extra_forbidden":
            parts_zh.append(f"{where}：没有这个设置项（拼写有误？）")
            parts_en.append(f"{dotted} (duban.toml or {env}): no such setting (a typo?)")
        else:
            message = str(e["msg"]).removeprefix("Value error, ")
            zh, _, en = message.partition(" / ")  # our validators write "中文 / English"
            parts_zh.append(f"{where}：{zh}")
            parts_en.append(f"{dotted} (duban.toml or {env}): {en or zh}")
    fail("配置无效：" + "；".join(parts_zh), "invalid configuration: " + "; ".join(parts_en))
    return USAGE


def _disk(error: OSError) -> int:
    where = error.filename or os.environ.get("DUBAN_HOME", "DUBAN_HOME")
    if error.errno in _FULL:
        fail(
            f"磁盘空间不足，无法写入 {where}：请清理磁盘后重试，未保存任何内容",
            f"no space left on the disk, cannot write {where}: free some space and try again; "
            "nothing was saved",
        )
    else:
        fail(
            f"无法写入 {where}（只读或无权限）：请检查 DUBAN_HOME 所在目录的权限",
            f"cannot write {where} (read-only or not permitted): check the permissions of "
            "DUBAN_HOME",
        )
    return NO_SPACE


def _database(error: Any) -> int | None:
    """A database error that escaped: unreachable (7), its disk full or read-only (8), its file
    damaged (9)."""
    from sqlalchemy.exc import OperationalError

    orig = error.orig
    detail = _first_line(error)
    low = detail.lower()
    sqlstate = str(getattr(orig, "sqlstate", "") or getattr(orig, "pgcode", "") or "")
    sqlite = str(
        getattr(orig, "sqlite_errorname", "") or ""
    )  # SQLITE_FULL, SQLITE_IOERR_WRITE, SQLITE_NOTADB...
    code = _storage_failure(sqlite, low, sqlstate, detail)
    if code is not None:
        return code
    if sqlite.startswith("SQLITE_CANTOPEN"):
        return _cannot_open(detail)
    if _is_damaged(sqlite, low):
        fail(
            f"数据库文件已损坏或不是 duban 的数据库（{detail}）："
            "请从备份恢复，或把它移走后运行 duban init",
            f"the database file is damaged or not a duban database ({detail}): "
            "restore it from a backup, "
            "or move it away and run 'duban init'",
        )
        return DAMAGED
    if not isinstance(error, OperationalError):
        return None  # a ProgrammingError and the like is a bug: the last-resort handler logs it
    fail(f"无法访问数据库：{detail}", f"cannot reach the database: {detail}")
    return UNREACHABLE


def _is_disk_full(sqlite: str, low: str, sqlstate: str) -> bool:
    return (
        sqlite == "SQLITE_FULL"
        or "disk is full" in low
        or "no space left" in low
        or sqlstate in ("53100", "53200")
    )


def _is_damaged(sqlite: str, low: str) -> bool:
    return (
        sqlite.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))
        or "malformed" in low
        or "not a database" in low
    )


def _storage_failure(sqlite: str, low: str, sqlstate: str, detail: str) -> int | None:
    """The database's disk full, failing or read-only (8); None when it is none of these."""
    if _is_disk_full(sqlite, low, sqlstate):
        fail(
            f"数据库所在磁盘已满，本次操作未保存：{detail}",
            f"the database's disk is full; nothing was saved: {detail}",
        )
        return NO_SPACE
    if sqlite.startswith("SQLITE_IOERR"):
        # SQLite says "disk I/O error" when it cannot extend its WAL or shared-memory file: mostly a
        # full disk.
        fail(
            f"数据库文件读写出错（磁盘已满或出现故障），本次操作未保存：{detail}",
            "the database file could not be read or written (disk full or failing); nothing was "
            f"saved: {detail}",
        )
        return NO_SPACE
    if sqlite.startswith("SQLITE_READONLY") or "readonly database" in low or "read-only" in low:
        fail(
            f"数据库只读，本次操作未保存：{detail}",
            f"the database is read-only; nothing was saved: {detail}",
        )
        return NO_SPACE
    return None


def _cannot_open(detail: str) -> int:
    """SQLite could not open its file: a read-only folder (8) or anything else (7)."""
    path = _sqlite_path()
    if path is not None and path.parent.is_dir() and not os.access(path.parent, os.W_OK):
        # WAL mode needs its -wal and -shm files beside the database, even to read.
        fail(
            f"无法打开数据库 {path}：所在目录只读或无权限，请检查 DUBAN_HOME 的权限",
            f"cannot open the database {path}: its folder is read-only or not permitted; "
            "check DUBAN_HOME",
        )
        return NO_SPACE
    fail(
        f"无法打开数据库 {path or ''}：{detail}",
        f"cannot open the database {path or ''}: {detail}",
    )
    return UNREACHABLE


def _sqlite_path() -> Path | None:
    """The SQLite file the settings name, read from the environment as Settings would."""
    from sqlalchemy.engine import make_url

    url = os.environ.get("DUBAN_DATABASE_URL")
    if not url:
        return Path(os.environ.get("DUBAN_HOME", "var")).expanduser().resolve() / "duban.db"
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 — only a better message is at stake
        return None
    return (
        Path(parsed.database) if parsed.get_backend_name() == "sqlite" and parsed.database else None
    )


def _first_line(error: Any) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def last_resort(error: BaseException) -> int:
    """An error nobody expected: its traceback in a timestamped file under $DUBAN_HOME/logs/, one
    line here."""
    text = "".join(traceback.format_exception(error))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    name = f"duban-error-{stamp}-{os.getpid()}.log"
    command = " ".join(sys.argv[1:3])
    for folder in _log_folders():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(f"duban {' '.join(sys.argv[1:])}\n{text}", encoding="utf-8")
        except OSError:
            continue
        fail(
            f"内部错误（{type(error).__name__}，命令 duban {command}），详细信息已写入 "
            f"{path}，请将该文件交给系统管理员",
            f"internal error ({type(error).__name__}, command duban {command}); details written to "
            f"{path}; please pass that file to your administrator",
        )
        return UNEXPECTED
    fail(
        f"内部错误（{type(error).__name__}），且无法写入日志文件：{error}",
        f"internal error ({type(error).__name__}), and no log file could be written: {error}",
    )
    return UNEXPECTED


def _log_folders() -> list[Path]:
    """$DUBAN_HOME/logs, read without building Settings (which may be what failed); the temp folder
    if not writable."""
    import tempfile

    home = Path(os.environ.get("DUBAN_HOME", "var")).expanduser()
    return [home / "logs", Path(tempfile.gettempdir()) / "duban-logs"]

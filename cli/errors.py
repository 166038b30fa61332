"""Turning exceptions into one clear line for the user."""

from __future__ import annotations

from cli.output import fail


def explain(error: Exception) -> int | None:
    """Print the error as one line and return the exit code; None for a bug (let it show)."""
    from pydantic import ValidationError

    from models.errors import DubanError

    if isinstance(error, DubanError):
        fail(error.message("zh"), error.message("en"))
        return error.exit_code
    if isinstance(error, ValidationError):
        # A setting comes from $DUBAN_HOME/duban.toml or from an environment variable: name it both
        # ways.
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])} (duban.toml, "
                          f"DUBAN_{'_'.join(str(p) for p in e['loc']).upper()}): "
                          f"{e['msg']}" for e in error.errors())
        fail(f"配置无效：{where}", f"invalid configuration: {where}")
        return 2
    from sqlalchemy.exc import OperationalError

    if isinstance(error, OperationalError):
        detail = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        fail(f"无法访问数据库：{detail}", f"cannot reach the database: {detail}")
        return 7
    return None

"""How the portal answers when it cannot do what was asked: one place for every error, of every
kind.

A person in a browser gets a Chinese page with a way back (the home link); a script (a path
under /api/, or an Accept header that asks for JSON and not HTML) gets JSON with a `detail` in
Chinese and English. Validation errors name the field in Chinese (web/bounds.py), and anything
nobody foresaw is logged (without SQL parameters: the engine hides them) and answered with 500.
A database that stays locked past the busy timeout is not a fault: 503, 请稍后重试, and the form
again with what was typed (`busy`).
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.db import is_busy
from models.errors import DubanError, NotFound
from web.bounds import has_nul, label, too_long

log = logging.getLogger("duban.web")

STATUS_BY_EXIT = {2: 400, 3: 404, 4: 409, 5: 409}
# What a bare status means, for errors raised without a message of their own (an unknown path, a
# wrong method).
STATUS_ZH = {
    400: "请求有误 / bad request",
    401: "需要登录 / sign in first",
    403: "无权访问 / forbidden",
    404: "未找到该页面或对象 / not found",
    405: "不支持该请求方法 / method not allowed",
    409: "与当前状态冲突 / conflict",
    413: "上传内容过大 / too large",
    415: "不支持的文件类型 / unsupported type",
    422: "提交的内容有误 / invalid input",
    429: "请求过于频繁，请稍后再试 / too many requests",
    500: "服务器内部错误，已记录，请稍后再试或联系管理员 / internal error (logged)",
}
INTERNAL = STATUS_ZH[500]
HAN = re.compile(r"[\u4e00-\u9fff]")


def wants_json(request: Request) -> bool:
    """A script: the API, or a client that asks for JSON rather than a page."""
    if request.url.path.startswith("/api/") or request.url.path == "/openapi.json":
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _bounds(zh: str, en: str, keys: tuple[str, str]) -> Any:
    def message(zh_name: str, name: str, ctx: dict[str, Any]) -> tuple[str, str]:
        bound = ctx.get(keys[0], ctx.get(keys[1]))
        return f"{zh_name}{zh} {bound}", f"{name}: {en} {bound}"

    return message


def _fixed(zh: str, en: str, *, prefix: bool = False) -> Any:
    """A message with the field's name before it (`prefix`: 缺少“名称”) or after it
    (“名称”应为整数)."""

    def message(zh_name: str, name: str, ctx: dict[str, Any]) -> tuple[str, str]:
        return (f"{zh}{zh_name}" if prefix else f"{zh_name}{zh}"), f"{name}: {en}"

    return message


def _about_body(zh: str, en: str) -> Any:
    """A message about the whole body, naming no field."""

    def message(zh_name: str, name: str, ctx: dict[str, Any]) -> tuple[str, str]:
        return zh, en

    return message


# Pydantic's error type -> the message, from the field's Chinese name, its name and the error's
# context.
FIELD_MESSAGES: dict[str, Any] = {
    "string_too_long": lambda zh_name, name, ctx: tuple(
        too_long(name, ctx.get("max_length", 0)).split(" / ", 1)
    ),
    "nul_character": lambda zh_name, name, ctx: tuple(has_nul(name).split(" / ", 1)),
    **dict.fromkeys(
        ("int_parsing", "int_type", "int_from_float"), _fixed("应为整数", "must be a whole number")
    ),
    **dict.fromkeys(
        ("greater_than_equal", "greater_than"), _bounds("不能小于", "at least", ("ge", "gt"))
    ),
    **dict.fromkeys(("less_than_equal", "less_than"), _bounds("不能大于", "at most", ("le", "lt"))),
    "missing": _fixed("缺少", "required", prefix=True),
    "string_too_short": _fixed("不能为空", "must not be empty"),
    **dict.fromkeys(
        ("date_parsing", "date_from_datetime_parsing", "date_type", "datetime_parsing"),
        _fixed("应为日期 YYYY-MM-DD", "a date YYYY-MM-DD"),
    ),
    "bool_parsing": _fixed("应为是或否（true/false）", "true or false"),
    "json_invalid": _about_body("请求内容不是有效的 JSON", "the body is not valid JSON"),
    **dict.fromkeys(
        ("model_attributes_type", "dict_type", "model_type"),
        _about_body("请求内容应为 JSON 对象", "the body must be a JSON object"),
    ),
}


def _field_message(error: dict[str, Any]) -> tuple[str, str]:
    """One validation error in Chinese and English, naming the field."""
    names = [
        part
        for part in error.get("loc", ())
        if isinstance(part, str) and part not in ("body", "query", "path", "header", "cookie")
    ]
    name = names[-1] if names else "body"
    zh_name = "请求内容" if name == "body" else f"“{label(name)}”"
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    message = FIELD_MESSAGES.get(kind)
    if message is None:
        return f"{zh_name}的值无效", f"{name}: {error.get('msg', 'invalid')}"
    zh, en = message(zh_name, name, ctx)
    return zh, en


def validation_message(errors: list[dict[str, Any]]) -> str:
    pairs = [_field_message(error) for error in errors] or [("提交的内容有误", "invalid input")]
    return "；".join(zh for zh, _ in pairs) + " / " + "; ".join(en for _, en in pairs)


def signed_in_person(request: Request) -> Any:
    """Who is signed in, for the error page's header and its way home: the route's principal, or
    (an unknown path, a wrong method: no route ran) the session's, if it can be read at all."""
    known = getattr(request.state, "principal", None)
    if known is not None:
        return known
    try:
        from web.deps import current

        return current(request)
    except SQLAlchemyError:  # the database itself may be what failed: the page goes on signed out
        return None


def came_from(request: Request) -> str | None:
    """The page the person came from, when it is one of ours (a path on this host): the error
    page's 返回上一页 without JavaScript; another site's address is never linked."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or referer.scheme not in ("http", "https"):
        return None
    path = referer.path + (f"?{referer.query}" if referer.query else "")
    return path if path.startswith("/") and not path.startswith("//") else None


def answer(
    request: Request,
    status: int,
    message: str,
    *,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    """The error as JSON for a script or as the Chinese error page for a person."""
    if wants_json(request):
        return JSONResponse(
            {"detail": message, **(extra or {})}, status_code=status, headers=headers
        )
    from web.deps import page

    try:
        response = page(
            request,
            "error.html.j2",
            signed_in_person(request),
            status=status,
            message=message,
            code=status,
            back=came_from(request),
        )
        response.headers.update(headers or {})
        return response
    except (
        Exception
    ):  # the page itself failed (a broken template, the disk): still a Chinese answer
        log.exception("error page could not be rendered")
        return HTMLResponse(
            '<!DOCTYPE html><html lang="zh-CN"><meta charset="utf-8"><title>出错了</title>'
            f'<p>{INTERNAL.split(" / ")[0]}</p><p><a href="/">返回首页</a></p></html>',
            status_code=status,
        )


BUSY = (
    "系统繁忙，请稍后重试：另一项操作正在保存，您提交的内容尚未保存 / busy: another change is "
    "being saved; yours was not, try again"
)
LONG_FIELDS = frozenset({"text", "problems", "reason"})
FORM_LABELS = {"until": "延期至"}


def busy(request: Request) -> Response:
    """503 when the database stayed locked past the busy timeout: nothing was saved, and the person
    gets the same form back with what they typed, to send again (files must be chosen again)."""
    headers = {"Retry-After": "5"}
    if wants_json(request):
        return JSONResponse({"detail": BUSY}, status_code=503, headers=headers)
    from web.deps import page

    typed = getattr(request.state, "typed", None)
    fields, files = [], []
    for name, value in typed.multi_items() if typed is not None else []:
        if not isinstance(value, str):
            files.append(name)
        elif "password" in name:  # never written back into a page
            continue
        elif name in ("csrf", "version", "revision"):
            fields.append((name, "", value, "hidden"))
        else:
            kind = (
                "checkbox"
                if value == "on"
                else "long"
                if name in LONG_FIELDS or "\n" in value
                else "short"
            )
            fields.append((name, FORM_LABELS.get(name) or label(name), value, kind))
    try:
        response = page(
            request,
            "busy.html.j2",
            getattr(request.state, "principal", None),
            status=503,
            message=BUSY,
            action=request.url.path if request.method == "POST" else None,
            fields=fields,
            files=list(dict.fromkeys(files)),
        )
        response.headers.update(headers)
        return response
    except Exception:  # the page itself failed: still a Chinese answer
        log.exception("busy page could not be rendered")
        return HTMLResponse(
            '<!DOCTYPE html><html lang="zh-CN"><meta charset="utf-8"><title>请稍后重试</title>'
            f"<p>{BUSY}</p></html>",
            status_code=503,
            headers=headers,
        )


def install(app: FastAPI) -> None:
    """Register the handlers: sign-in, domain errors, HTTP errors, validation, and the last
    resort."""
    from web.deps import Refused, SignInRequired, record_conflict, record_refusal

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, _: SignInRequired) -> Response:
        if wants_json(request):
            return JSONResponse(
                {"detail": STATUS_ZH[401]}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(DubanError)
    async def domain_error(request: Request, error: DubanError) -> Response:
        status = 404 if isinstance(error, NotFound) else STATUS_BY_EXIT.get(error.exit_code, 400)
        message = f"{error.message('zh')} / {error.message('en')}"
        if (
            status == 409
        ):  # the domain refused a change: on the trail, after the route's transaction rolled back
            await run_in_threadpool(record_conflict, request, message)
        return answer(request, status, message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if isinstance(error, Refused):
            await run_in_threadpool(record_refusal, request, error)
        elif error.status_code == 409:
            await run_in_threadpool(record_conflict, request, str(error.detail))
        detail, plain = (
            error.detail,
            STATUS_ZH.get(error.status_code, HTTPStatus(error.status_code).phrase),
        )
        if not isinstance(detail, str) or detail == HTTPStatus(error.status_code).phrase:
            detail = plain
        elif not HAN.search(
            detail
        ):  # a framework's own English words ("There was an error parsing the body")
            detail = f"{plain.split(' / ')[0]}（{detail}）"
        return answer(request, error.status_code, detail, headers=getattr(error, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        errors = list(error.errors())
        # The input itself is left out: it can be megabytes, or a password.
        listed = [
            {"loc": list(e.get("loc", ())), "type": e.get("type"), "msg": e.get("msg")}
            for e in errors
        ]
        return answer(request, 422, validation_message(errors), extra={"errors": listed})

    @app.exception_handler(OperationalError)
    async def database_error(request: Request, error: OperationalError) -> Response:
        if not is_busy(error):
            return await unforeseen(request, error)
        log.warning("database busy on %s %s: %s", request.method, request.url.path, error.orig)
        return busy(request)

    @app.exception_handler(Exception)
    async def unforeseen(request: Request, error: Exception) -> Response:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
        return answer(request, 500, INTERNAL)

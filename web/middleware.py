"""ASGI middleware: security headers and the server's own time on every response, and the upload
size limit.

The server time (`Server-Timing: app;dur=12.3`, milliseconds from the request's arrival to the
response's first byte) is what bench/pages.py holds to the page budget: the client's round trip on a
shared 2-core machine mostly measures the benchmark's own threads.

The limit is enforced before anything is parsed: a declared Content-Length
over it is refused at once, and a body that turns out larger while it
streams in is cut off with 413, so no oversized upload reaches the disk.
"""

from __future__ import annotations

import json
import time
from typing import Any

HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"form-action 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                present = {name for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *[(n, v) for n, v in HEADERS if n not in present],
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


class ServerTiming:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed(message: dict) -> None:
            if message["type"] == "http.response.start":
                spent = (time.perf_counter() - started) * 1000
                message["headers"] = [
                    *message.get("headers", []),
                    (b"server-timing", f"app;dur={spent:.1f}".encode()),
                ]
            await send(message)

        await self.app(scope, receive, timed)


class TooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: Any, limit_bytes: int) -> None:
        self.app, self.limit = app, limit_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(scope, send, self.limit)
            return
        seen = 0
        started = False

        async def counted() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise TooLarge()
            return message

        async def tracking(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracking)
        except TooLarge:
            if not started:
                await _too_large(scope, send, self.limit)


async def _too_large(scope: dict, send: Any, limit: int) -> None:
    """413 before the body is read: JSON for the API, a Chinese page with a way home for a
    person."""
    message = (
        f"上传内容超过 {round(limit / (1024 * 1024), 2):g} MB 上限 / the upload is "
        "larger than the limit"
    )
    if scope.get("path", "").startswith("/api/"):
        body, content_type = (
            json.dumps({"detail": message}, ensure_ascii=False).encode(),
            b"application/json",
        )
    else:
        body = (
            '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>出错了 · '
            "duban</title>"
            f'</head><body><p role="alert">{message}</p><p><a href="/">返回首页 / '
            "home</a></p></body></html>"
        ).encode()
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", content_type), (b"connection", b"close"), *HEADERS],
        }
    )
    await send({"type": "http.response.body", "body": body})

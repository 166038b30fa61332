"""A provincial SMS gateway on loopback, strict the way real ones are.

POST JSON with the auth header, the approved template id, an 11-digit Chinese mobile
(1[3-9]xxxxxxxxx), the content (signed 【…】) and the template's parameters, under the field
names this gateway was set up with. Answers {"code": "0", "msgid": ...} or an error code:

    401  (HTTP 401) wrong or missing auth header
    1001 (HTTP 400) unknown template id
    1002 (HTTP 400) the mobile is not a Chinese mobile number
    1003 (HTTP 400) a field is missing, or the body is not JSON
    1009 (HTTP 200) this number has had its `cap` messages today (the gateway's day)

`today` is the gateway's clock, set by the test for a simulated day. It counts parts as an
operator bills them (70 characters, 67 each when concatenated) in its own code.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FIELDS = {"mobile": "phone", "template": "tplId", "content": "text", "params": "vars"}


@dataclass
class Gateway:
    auth_header: str = "X-Api-Key"
    auth_value: str = "k-123"
    template: str = "SMS_0001"
    fields: dict[str, str] = field(default_factory=lambda: dict(FIELDS))
    cap: int = 2
    today: date = date(2022, 9, 5)
    received: list[dict[str, Any]] = field(default_factory=list)  # accepted, with "parts"
    refused: list[tuple[str, Any]] = field(default_factory=list)  # (code, body)
    url: str = ""
    lock: threading.RLock = field(default_factory=threading.RLock)

    def answer(self, headers: Any, raw: bytes) -> tuple[int, dict[str, Any]]:
        if headers.get(self.auth_header) != self.auth_value:
            return self._refuse(401, "401", "鉴权失败", raw)
        try:
            body = json.loads(raw)
        except ValueError:
            return self._refuse(400, "1003", "报文不是JSON", raw)
        names = self.fields
        if not isinstance(body, dict) or any(names[f] not in body for f in names):
            return self._refuse(400, "1003", "缺少字段", body)
        if body[names["template"]] != self.template:
            return self._refuse(400, "1001", "模板不存在", body)
        mobile = body[names["mobile"]]
        if not isinstance(mobile, str) or not re.fullmatch(r"1[3-9]\d{9}", mobile):
            return self._refuse(400, "1002", "手机号码格式错误", body)
        with self.lock:
            today = sum(
                1 for r in self.received if r["mobile"] == mobile and r["day"] == self.today
            )
            if today >= self.cap:
                return self._refuse(200, "1009", "该号码当日发送量超限", body)
            text = body[names["content"]]
            length = len(text.encode("utf-16-le")) // 2
            self.received.append(
                {
                    "mobile": mobile,
                    "text": text,
                    "params": body[names["params"]],
                    "day": self.today,
                    "parts": 1 if length <= 70 else (length + 66) // 67,
                }
            )
            return 200, {"code": "0", "msgid": f"m{len(self.received)}", "message": "成功"}

    def _refuse(self, status: int, code: str, message: str, body: Any) -> tuple[int, dict]:
        with self.lock:
            self.refused.append((code, body))
        return status, {"code": code, "message": message}


@contextmanager
def running(gateway: Gateway | None = None) -> Iterator[Gateway]:
    gateway = gateway or Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, answer = gateway.answer(self.headers, raw)
            data = json.dumps(answer, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    gateway.url = f"http://127.0.0.1:{server.server_address[1]}/sms/send"
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()

"""A fake WeCom (企业微信) group-robot service on loopback, with the documented checks: the key
(errcode 93000 for an unknown one), the content limits (text 2,048 bytes, markdown 4,096 bytes),
20 messages a minute per robot (errcode 45009 past that)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from loopback.fake_robot import FakeRobotService

LIMITS = {"text": 2048, "markdown": 4096}


class FakeWecom(FakeRobotService):
    path = "/cgi-bin/webhook/send"

    def __init__(self, clock: Callable[[], datetime], keys: set[str]) -> None:
        super().__init__(clock)
        self.keys = keys
        self.requests = []

    def check(self, query: dict[str, list[str]], body: dict[str, Any]) -> tuple[int, dict]:
        key = (query.get("key") or [""])[0]
        if key not in self.keys:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        if self.recent(key) >= 20:
            self.violations.append(f"over 20 a minute for robot {key} at {self.clock()}")
            self.count(key)
            return 200, {"errcode": 45009, "errmsg": "api freq out of limit"}
        self.count(key)
        kind = body.get("msgtype")
        if kind not in LIMITS:
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        content = str((body.get(kind) or {}).get("content") or "")
        if not content:
            return 200, {"errcode": 44004, "errmsg": "empty content"}
        size = len(content.encode("utf-8"))
        if size > LIMITS[kind]:
            self.violations.append(f"{kind} of {size} bytes over {LIMITS[kind]}")
            return 200, {"errcode": 40058, "errmsg": f"content exceed max length {LIMITS[kind]}"}
        self.received.append({"robot": key, "body": body, "at": self.clock()})
        return 200, {"errcode": 0, "errmsg": "ok"}

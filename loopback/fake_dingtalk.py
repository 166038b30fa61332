"""A fake DingTalk (钉钉) custom-robot service on loopback, with the documented checks: the
access token, in signing mode the timestamp (within an hour) and the signature decoded once
(errcode 310000 otherwise), in keyword mode the keyword (310000), 20 messages a minute per robot,
past which the robot is banned for 10 minutes (errcode 410100), and "@mobile" in the text for
each `at.atMobiles`."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from loopback.fake_robot import FakeRobotService

BAN = timedelta(minutes=10)


class FakeDingtalk(FakeRobotService):
    path = "/robot/send"

    def __init__(
        self,
        clock: Callable[[], datetime],
        robots: dict[str, str | None],
        *,
        keyword: str | None = None,
        limit_bytes: int = 20000,
    ) -> None:
        super().__init__(clock)
        self.robots = robots  # token -> signing secret (None: no signing)
        self.keyword = keyword
        self.limit_bytes = limit_bytes
        self.requests = []
        self.banned_until: dict[str, datetime] = {}
        self.bans = 0

    def check(self, query: dict[str, list[str]], body: dict[str, Any]) -> tuple[int, dict]:
        token = (query.get("access_token") or [""])[0]
        if token not in self.robots:
            return 200, {"errcode": 300001, "errmsg": "token is not exist"}
        now = self.clock()
        if token in self.banned_until and now < self.banned_until[token]:
            self.violations.append(f"sent to banned robot {token} at {now}")
            return 200, {"errcode": 410100, "errmsg": "send too fast, exceed 20 times per minute"}
        secret = self.robots[token]
        if secret is not None:
            refusal = self.signature(query, secret, now)
            if refusal:
                self.violations.append(refusal)
                return 200, {"errcode": 310000, "errmsg": refusal}
        if self.recent(token) >= 20:
            self.banned_until[token] = now + BAN
            self.bans += 1
            self.violations.append(f"21st message in a minute to {token}: banned at {now}")
            return 200, {"errcode": 410100, "errmsg": "send too fast, exceed 20 times per minute"}
        self.count(token)
        if body.get("msgtype") != "markdown":
            return 200, {"errcode": 40035, "errmsg": "unsupported msgtype"}
        markdown = body.get("markdown") or {}
        title, text = str(markdown.get("title") or ""), str(markdown.get("text") or "")
        if not title or not text:
            return 200, {"errcode": 40035, "errmsg": "missing title or text"}
        if self.keyword and self.keyword not in title + text:
            self.violations.append("keyword missing")
            return 200, {"errcode": 310000, "errmsg": "keywords not in content"}
        if len(text.encode("utf-8")) > self.limit_bytes:
            self.violations.append(f"text of {len(text.encode('utf-8'))} bytes")
            return 200, {"errcode": 460101, "errmsg": "message too long"}
        for mobile in (body.get("at") or {}).get("atMobiles") or []:
            if f"@{mobile}" not in text:
                self.violations.append(f"@{mobile} missing from the text")
        self.received.append({"robot": token, "body": body, "at": now})
        return 200, {"errcode": 0, "errmsg": "ok"}

    @staticmethod
    def signature(query: dict[str, list[str]], secret: str, now: datetime) -> str | None:
        stamp, sign = (query.get("timestamp") or [""])[0], (query.get("sign") or [""])[0]
        if not stamp.isdigit():
            return "timestamp missing"
        if abs(now.timestamp() * 1000 - int(stamp)) > 3600 * 1000:
            return "timestamp out of the hour's window"
        # parse_qs decoded the URL once: what is left must be the base64 itself.
        expected = base64.b64encode(
            hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
        ).decode()
        if sign != expected:
            return "sign not match"
        return None

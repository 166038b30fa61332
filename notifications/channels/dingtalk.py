"""DingTalk (钉钉) custom group robot:
`POST {DUBAN_DINGTALK_BASE}/robot/send?access_token=TOKEN&timestamp=MS&sign=S`.

In signing mode `sign = urlencode(base64(HMAC-SHA256(secret, f"{timestamp}\\n{secret}")))`,
encoded once (twice is errcode 310000), the timestamp from the dispatcher's clock (the service
takes an hour either side). Messages go as `markdown` with `title` and `text`; a person is @ed by
`at.atMobiles` and by "@mobile" in the text, which DingTalk requires too. In keyword mode the
configured keyword (DUBAN_DINGTALK_KEYWORD) is put in every message. 20 messages a minute per
robot, or the robot is banned for 10 minutes (errcode 410100 / 130101 "send too fast"): the
dispatcher's shared limit never lets a 21st go, and should a ban happen anyway the leg waits it
out instead of hammering the robot.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

import httpx

from notifications.channels import DeliveryError, Outgoing, Robot, fit, resolve_secret
from notifications.channels.webhook import RobotConnection, post_json, robot_destination

if TYPE_CHECKING:
    from config import Settings
    from models.unit import Unit

MARKDOWN_LIMIT = 4096  # kept below the service's own limit: a phone shows no more anyway
BAN_S = 600
RETRY = {
    -1: "钉钉系统繁忙",
    410100: "钉钉机器人发送过快，已被限流",
    130101: "钉钉机器人发送过快，已被限流",
}
PERMANENT = {
    300001: "token无效",
    300005: "token不存在",
    310000: "签名或关键词校验失败",
    400101: "access_token不存在",
    400102: "机器人已停用",
}


def sign(secret: str, timestamp_ms: int) -> str:
    """The request's `sign` parameter, already URL-encoded (put it in the URL as it is)."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return quote_plus(base64.b64encode(digest))


class DingtalkChannel(RobotConnection):
    name = "dingtalk"

    def __init__(self, settings: Settings) -> None:
        self.base = settings.dingtalk_base.rstrip("/")
        self.destination = self.base
        self.per_minute = settings.dingtalk_per_minute
        self.keyword = settings.dingtalk_keyword
        self.timeout = settings.chat_timeout_s
        self.client: httpx.Client | None = None

    def robot_for(self, unit: Unit) -> Robot | None:
        token = resolve_secret(unit.dingtalk_token)
        return Robot(self.name, token, resolve_secret(unit.dingtalk_secret)) if token else None

    def destination_for(self, out: Outgoing) -> str:
        return robot_destination(self.name, out.robot.key if out.robot else "")

    def body(self, out: Outgoing) -> dict[str, Any]:
        from notifications.outgoing import markdown_safe

        title = markdown_safe(out.title)
        if self.keyword and self.keyword not in title:
            title = f"{self.keyword}｜{title}"
        mentions = " ".join(f"@{m}" for m in out.mentions)
        head = f"#### {title}\n{mentions} {markdown_safe(out.lead)}".rstrip()
        text = fit(out, head=head, limit=MARKDOWN_LIMIT, markdown=True)
        return {
            "msgtype": "markdown",
            "markdown": {"title": title[:64], "text": text},
            "at": {"atMobiles": list(out.mentions), "isAtAll": False},
        }

    def url(self, out: Outgoing) -> str:
        assert out.robot is not None
        url = f"{self.base}/robot/send?access_token={quote(out.robot.key, safe='')}"
        if out.robot.secret:
            moment = out.at or datetime.now(UTC)
            stamp = int(moment.timestamp() * 1000)
            url += f"&timestamp={stamp}&sign={sign(out.robot.secret, stamp)}"
        return url

    def deliver(self, out: Outgoing) -> None:
        if out.robot is None:
            raise DeliveryError("单位未配置钉钉机器人（dingtalk_token）", permanent=True)
        self.open()
        assert self.client is not None
        answer = post_json(self.client, self.url(out), self.body(out), service="钉钉")
        code = answer.get("errcode")
        if code == 0:
            return
        message = str(answer.get("errmsg", ""))[:200]
        if code in RETRY:
            wait = BAN_S if code in (410100, 130101) else 60
            raise DeliveryError(
                f"{RETRY[code]}（errcode {code}）", permanent=False, retry_after_s=wait
            )
        if code in PERMANENT:
            raise DeliveryError(f"{PERMANENT[code]}（errcode {code}：{message}）", permanent=True)
        raise DeliveryError(f"钉钉返回错误（errcode {code}：{message}）", permanent=False)

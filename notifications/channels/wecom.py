"""WeCom (企业微信 / 政务微信) group robot: `POST {DUBAN_WECOM_BASE}/cgi-bin/webhook/send?key=KEY`.

A message that @s someone goes as `text` with `mentioned_mobile_list` (WeCom's markdown cannot
@ by mobile), limited to 2,048 bytes; one without as `markdown`, 4,096 bytes. A longer digest is
cut at an item boundary ("另有N项，请登录查看" and the link). The robot takes 20 messages a minute
(`per_minute`, kept by notifications.ratelimit per robot); errcode 45009 is that limit, retried
after a minute; an invalid key dead-letters the leg, so the next channel of the person's list
carries the message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from notifications.channels import DeliveryError, Outgoing, Robot, fit, resolve_secret
from notifications.channels.webhook import RobotConnection, post_json, robot_destination

if TYPE_CHECKING:
    from config import Settings
    from models.unit import Unit

TEXT_LIMIT = 2048
MARKDOWN_LIMIT = 4096
RETRY = {-1: "企业微信系统繁忙", 45009: "企业微信接口调用超过频率限制", 45033: "企业微信并发过多"}
PERMANENT = {
    93000: "key无效",
    93008: "机器人不在群内",
    40058: "参数不合法",
    40008: "消息类型不合法",
    44004: "消息内容为空",
    45002: "消息内容过长",
}


def robot_key(unit: Unit) -> str | None:
    return resolve_secret(unit.wecom_key)


class WecomChannel(RobotConnection):
    name = "wecom"

    def __init__(self, settings: Settings) -> None:
        self.base = settings.wecom_base.rstrip("/")
        self.destination = self.base
        self.per_minute = settings.wecom_per_minute
        self.timeout = settings.chat_timeout_s
        self.client: httpx.Client | None = None

    def robot_for(self, unit: Unit) -> Robot | None:
        key = robot_key(unit)
        return Robot(self.name, key) if key else None

    def destination_for(self, out: Outgoing) -> str:
        return robot_destination(self.name, out.robot.key if out.robot else "")

    def body(self, out: Outgoing) -> dict[str, Any]:
        head = f"【{out.title}】\n{out.lead}".rstrip()
        if out.mentions:
            content = fit(out, head=head, limit=TEXT_LIMIT, markdown=False)
            return {
                "msgtype": "text",
                "text": {"content": content, "mentioned_mobile_list": list(out.mentions)},
            }
        from notifications.outgoing import markdown_safe

        head = f"**{markdown_safe(out.title)}**\n{markdown_safe(out.lead)}".rstrip()
        content = fit(out, head=head, limit=MARKDOWN_LIMIT, markdown=True)
        return {"msgtype": "markdown", "markdown": {"content": content}}

    def deliver(self, out: Outgoing) -> None:
        if out.robot is None:
            raise DeliveryError("单位未配置企业微信机器人（wecom_key）", permanent=True)
        self.open()
        assert self.client is not None
        from urllib.parse import quote

        url = f"{self.base}/cgi-bin/webhook/send?key={quote(out.robot.key, safe='')}"
        answer = post_json(self.client, url, self.body(out), service="企业微信")
        code = answer.get("errcode")
        if code == 0:
            return
        message = str(answer.get("errmsg", ""))[:200]
        if code in RETRY:
            raise DeliveryError(
                f"{RETRY[code]}（errcode {code}）", permanent=False, retry_after_s=60
            )
        if code in PERMANENT:
            raise DeliveryError(f"{PERMANENT[code]}（errcode {code}）", permanent=True)
        raise DeliveryError(f"企业微信返回错误（errcode {code}：{message}）", permanent=False)

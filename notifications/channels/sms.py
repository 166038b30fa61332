"""SMS through the province's HTTP gateway: one JSON POST per message, as most provincial SMS
platforms (政务短信平台) offer.

The request carries the settings' auth header (DUBAN_SMS_AUTH_HEADER: DUBAN_SMS_AUTH), the
approved template id (DUBAN_SMS_TEMPLATE), the mobile, the whole text and the template's
parameters, under the field names the gateway uses (DUBAN_SMS_FIELDS maps ours to its). The text
is a short template per message kind with counts and dates only, never a task title or a unit
name a person typed: a text message must stay short, and the portal link is where the detail is.

Cost: a Chinese text message is one part of up to 70 characters; a longer one is sent in parts
of 67 each (the rest of each part carries the concatenation header). `segments` counts them,
every sent message reports its count ("2条计费"), and a text over DUBAN_SMS_MAX_SEGMENTS parts
is refused before it costs anything.

Limits: a mobile outside 1[3-9]xxxxxxxxx is refused (permanent: the person's next channel takes
it); a number that has had DUBAN_SMS_DAILY_CAP_PER_NUMBER messages today (the office's day) is
refused by us and by the gateway's cap code, permanently for this leg, so the message falls back
to the person's next channel rather than retrying into the same cap all day.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from intake.channel_fields import MOBILE, dialled
from models.clock import local_day, utc_now
from notifications.channels import DeliveryError, Outgoing

if TYPE_CHECKING:
    from config import Settings

SINGLE, PART = 70, 67  # characters of one message, and of each part of a concatenated one
CAP_CODES = frozenset({"1009"})  # the gateway's "this number has had its messages today"
SLOW_CODES = frozenset({"1429"})  # the gateway's "too fast": retried after the backoff


def segments(text: str) -> int:
    """Parts a text costs: 1 up to 70 characters, else one per 67 (UTF-16 units, as the gateway
    counts; the signature 【…】 included)."""
    length = len(text.encode("utf-16-le")) // 2
    return 1 if length <= SINGLE else -(-length // PART)


def mobile_of(address: str) -> str | None:
    """A Chinese mobile as the gateway wants it (11 digits), from what the directory holds."""
    digits = dialled(address or "")
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits if MOBILE.fullmatch(digits) else None


def _day(value: Any) -> str:
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{day.month}月{day.day}日"


def _items(payload: dict[str, Any]) -> int:
    return len(payload.get("items", [])) or (1 if "item" in payload else 0)


def _reminder(p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    n, left = _items(p), p.get("days_left", 0)
    if p.get("stage") == "due" or not left:
        when, will = "今日", "今日"
    else:
        when = "下一个工作日" if left == 1 else f"{left}个工作日后"
        will = f"将于{when}"
    # A digest lists everything the unit owes; only some of it may fall due on this step.
    said = f"您单位有1项任务{will}到期" if n == 1 else f"您单位有{n}项任务待报送，{when}有任务到期"
    return said, {"count": n, "days_left": left}


def _overdue(p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    n = _items(p)
    most = max((int(i.get("days_overdue") or 0) for i in p.get("items", [])), default=0)
    return f"您单位有{n}项任务已逾期{most}个工作日", {"count": n, "days_overdue": most}


def _opened(p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    n, by = _items(p), p.get("round", {}).get("report_by")
    when = f"须于{_day(by)}前报送" if by else "须按时报送"
    return f"新一轮督导已启动，您单位有{n}项任务{when}", {"count": n}


def _level(label: str) -> Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]:
    def say(p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        n = _items(p)
        by = f"，请于{_day(p['respond_by'])}前办理" if p.get("respond_by") else ""
        return f"有{n}项任务列入{label}{by}", {"count": n}

    return say


def _combined(p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    parts = p.get("parts", [])
    items = sum(_items(part["payload"]) for part in parts)
    return f"您有{len(parts)}条督办消息合并送达，涉及{items}项任务", {
        "messages": len(parts),
        "count": items,
    }


# One short text per message kind: (what happened, its parameters); the ending is shared.
TEXTS: dict[str, Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]] = {
    "round_opened": _opened,
    "reminder": _reminder,
    "overdue": _overdue,
    "escalation_blue": _level("督办（蓝色提醒）"),
    "escalation_yellow": _level("督办（黄色催办）"),
    "escalation_red": _level("提请领导小组协调（红色）"),
    "report_returned": lambda p: ("您单位报送的完成情况报告已被退回", {}),
    "extension_decided": lambda p: ("您单位的延期申请已有审批结果", {}),
    "results_published": lambda p: ("督导结果通报已发布", {}),
    "combined": _combined,
}


def _other(p: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "您有新的督办消息", {}


def sms_text(kind: str, payload: dict[str, Any], sign: str) -> tuple[str, dict[str, Any]]:
    """The text message for one outbox row, and the template's parameters."""
    said, params = TEXTS.get(kind, _other)(payload)
    return f"【{sign}】{said}，请登录督办系统办理。", params


class SmsChannel:
    name = "sms"
    per_minute: int | None = None  # the gateway's own rate: its "too fast" code is retried

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> None:
        if not settings.sms_url:
            from models.errors import ConfigError

            raise ConfigError(detail="短信通道未配置网关地址：请设置 DUBAN_SMS_URL")
        self.settings = settings
        self.url = settings.sms_url
        self.destination = f"sms:{self.url}"  # the dispatcher's breaker counts failures per gateway
        self.clock = clock
        self.fields = {
            "mobile": "mobile",
            "template": "templateId",
            "content": "content",
            "params": "params",
            **settings.sms_fields,
        }
        self.sent: dict[tuple[str, date], int] = {}  # this run's sends per number and day
        self.costs: list[tuple[int, int]] = []  # (notification id, parts) of what this run sent

    def destination_for(self, outgoing: Outgoing) -> str:
        return self.destination

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def deliver(self, outgoing: Outgoing) -> str:
        """Send one message; return its receipt (the gateway's id and the parts it cost)."""
        mobile = mobile_of(outgoing.address)
        if mobile is None:
            raise DeliveryError(f"手机号码格式不正确：{outgoing.address!r}", permanent=True)
        text, params = sms_text(outgoing.kind, outgoing.payload, self.settings.sms_sign)
        parts = segments(text)
        if parts > self.settings.sms_max_segments:
            raise DeliveryError(
                f"短信长{len(text)}字，需{parts}条计费，超过上限{self.settings.sms_max_segments}条",
                permanent=True,
            )
        day = local_day(outgoing.at or self.clock(), self.settings.timezone)
        cap = self.settings.sms_daily_cap_per_number
        if self._sent_today(mobile, day) >= cap:
            raise DeliveryError(f"号码{mobile}今日短信已达上限{cap}条", permanent=True)
        answer = self._post(
            {
                self.fields["mobile"]: mobile,
                self.fields["template"]: self.settings.sms_template,
                self.fields["content"]: text,
                self.fields["params"]: params,
            }
        )
        self.sent[(mobile, day)] = self.sent.get((mobile, day), 0) + 1
        self.costs.append((outgoing.notification_id, parts))
        return f"{answer.get('msgid', '')}（{parts}条计费）"

    def _sent_today(self, mobile: str, day: date) -> int:
        """Messages this number had today: those sent by earlier runs (the outbox) and this one."""
        return self.sent.get((mobile, day), 0) + self._stored(mobile, day)

    def _stored(self, mobile: str, day: date) -> int:
        from datetime import time, timedelta
        from zoneinfo import ZoneInfo

        from sqlalchemy import func
        from sqlmodel import Session, col, select

        from models.db import engine_for
        from models.notification import Notification, NotificationStatus

        zone = ZoneInfo(self.settings.timezone)
        start = datetime.combine(day, time(), zone)
        engine = engine_for(
            self.settings.resolved_database_url, self.settings.sqlite_busy_timeout_ms
        )
        with Session(engine) as session:
            return session.exec(
                select(func.count())
                .select_from(Notification)
                .where(
                    Notification.channel == self.name,
                    col(Notification.address).in_([mobile, f"+86{mobile}", f"86{mobile}"]),
                    Notification.status == NotificationStatus.SENT,
                    col(Notification.sent_at) >= start,
                    col(Notification.sent_at) < start + timedelta(days=1),
                )
            ).one()

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.settings.sms_auth is not None:
            headers[self.settings.sms_auth_header] = self.settings.sms_auth.get_secret_value()
        request = urllib.request.Request(
            self.url, data=json.dumps(body, ensure_ascii=False).encode(), headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self.settings.sms_timeout_s) as response:
                answer = _json(response.read())
        except urllib.error.HTTPError as error:
            answer = _json(error.read())
            if error.code == 429 or error.code >= 500:
                raise DeliveryError(
                    f"短信网关暂不可用（HTTP {error.code}）", permanent=False
                ) from error
            if str(answer.get("code")) not in CAP_CODES | SLOW_CODES:
                raise DeliveryError(
                    f"短信网关拒绝（HTTP {error.code}，{_said(answer)}）", permanent=True
                ) from error
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise DeliveryError(f"短信网关无法连接：{error}", permanent=False) from error
        code = str(answer.get("code", "0"))
        if code == "0":
            return answer
        if code in SLOW_CODES:
            raise DeliveryError(f"短信网关限速（{_said(answer)}）", permanent=False)
        if code in CAP_CODES:
            raise DeliveryError(f"该号码今日短信已达网关上限（{_said(answer)}）", permanent=True)
        raise DeliveryError(f"短信网关拒绝（{_said(answer)}）", permanent=True)


def _json(raw: bytes) -> dict[str, Any]:
    try:
        found = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _said(answer: dict[str, Any]) -> str:
    return f"代码 {answer.get('code', '?')}：{str(answer.get('message', ''))[:100]}"

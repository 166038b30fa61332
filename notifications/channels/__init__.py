"""Channels deliver messages: e-mail (`outbox` .eml files, the embedded default, or `smtp`), the
WeCom (企业微信/政务微信) and DingTalk (钉钉) group robots, and whatever a plug-in adds (SMS).

How a message finds its channel (the design the SMS channel builds on):

- **A row names its channel and destination.** `notification.channel` is the channel's name
  (`email`, `wecom`, `dingtalk`, `sms`, a plug-in's name); `notification.address` is the
  destination on that channel for this person: the e-mail address (also kept in
  `recipient_email`), the mobile to @ in a unit's group robot (may be empty), the mobile an SMS
  goes to. A group robot itself (WeCom key, DingTalk token and secret) belongs to the unit
  (`unit.wecom_key`, `unit.dingtalk_token`, `unit.dingtalk_secret`, each may be `env:NAME`) and is
  looked up when the row is sent, so a key corrected in the directory serves the next retry.
  `notification.fallback` is the rest of the person's route, `[[channel, address], ...]`;
  `notification.path` the legs tried so far, `[{"channel", "outcome", "reason"}, ...]`.
- **A contact lists its channels in order.** `contact.channels` (JSON list, empty = `["email"]`)
  with `contact.mobile`; `models.recipients.route_of` turns it into `[(channel, address), ...]`,
  keeping only the channels the directory can serve (an e-mail for `email`, the unit's robot for
  `wecom`/`dingtalk`, a mobile for `sms`). The first leg goes on the row, the rest in
  `fallback`. `models.recipients.message` does this for every caller.
- **Fallback.** A row dead on one channel (a permanent error, or out of attempts) moves to the
  next leg of its `fallback` once: same row, same dedup key, attempts from zero, the dead leg
  recorded in `path` and audited (`notification.fallback`). Only the last leg dead-letters.
- **The dispatcher picks the class per row.** `Channels` maps a row's channel name to one
  instance built from the settings: `email` is DUBAN_MAIL_CHANNEL (`outbox`, `smtp`,
  `package.module:Class` or an entry point under `duban.channels`), the other names are
  `ROW_CHANNELS` or entry points of the same group (an SMS plug-in registers `sms` there).
  The dispatcher claims and sends the due rows
  one channel at a time, so the claim, lease, backoff, breaker and dead-letter rules are the
  same for every channel.
- **How a channel receives a message.** An e-mail channel (one without `deliver`) gets the
  composed `EmailMessage` in `send(message)`, exactly as before. A channel with
  `deliver(outgoing)` gets an `Outgoing`: title (the subject), plain text, the lead text, the
  item lines (each its plain line, markdown line and link, so a channel with a size limit cuts
  at an item boundary and says "另有N项，请登录查看" with the portal link), the portal link,
  the mobiles to mention, the row's address and the unit's robot (`Robot`, secrets resolved).
  `destination(outgoing)` names the robot or gateway for the rate limit; a channel's
  `per_minute` (None: unlimited) is enforced by `notifications.ratelimit`, a sliding-window
  log of sends per destination in the database (table `rate_slot`) that several dispatchers
  share. A row over the limit waits, its attempt given back.
- **Failures.** `send`/`deliver` raise `DeliveryError(reason, permanent=...)`: network errors
  and "too fast" codes are `permanent=False` (retried with backoff), an invalid key or token
  `permanent=True` (dead on this leg, then fallback). Reasons a person reads are Chinese
  ("key无效（errcode 93000）").
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol

from models.errors import ConfigError, DubanError

if TYPE_CHECKING:
    from config import Settings

BUILT_IN = {
    "outbox": "notifications.channels.eml:OutboxChannel",
    "smtp": "notifications.channels.smtp:SmtpChannel",
}
# The channels a row names itself (notification.channel), beside `email`.
ROW_CHANNELS = {
    "wecom": "notifications.channels.wecom:WecomChannel",
    "dingtalk": "notifications.channels.dingtalk:DingtalkChannel",
    "sms": "notifications.channels.sms:SmsChannel",
}
EMAIL = "email"  # a row's channel for e-mail: whichever DUBAN_MAIL_CHANNEL names


@dataclass(frozen=True)
class Item:
    """One item of a digest: its plain line, its markdown line, its page."""

    text: str
    markdown: str
    url: str | None = None


@dataclass(frozen=True)
class Robot:
    """A unit's group robot on one channel, its secrets resolved (`env:NAME` read)."""

    channel: str
    key: str  # WeCom key, DingTalk access_token
    secret: str | None = None  # DingTalk signing secret


@dataclass(frozen=True)
class Outgoing:
    """A channel-neutral message: what a chat robot or an SMS gateway needs to say one row."""

    notification_id: int
    dedup_key: str
    kind: str
    unit_id: int | None
    address: str  # the row's destination on its channel (a mobile to @, an SMS number)
    title: str
    text: str  # the whole plain text, as the e-mail says it
    lead: str  # the plain text before the item lines
    items: list[Item] = field(default_factory=list)
    link: str = ""  # the portal page to open
    mentions: list[str] = field(default_factory=list)  # mobiles to @
    robot: Robot | None = None
    at: datetime | None = None  # the dispatcher's clock when sending (a signature's timestamp)
    # the row's payload, for a channel that writes its own short text from the facts (SMS)
    payload: dict[str, Any] = field(default_factory=dict)


def fit(out: Outgoing, *, head: str, limit: int, markdown: bool, tail: str = "") -> str:
    """The message within `limit` UTF-8 bytes, cut at an item boundary: the items that fit, then
    "另有N项，请登录查看" with the portal link. A head alone too long is cut by characters."""
    lines = [item.markdown if markdown else item.text for item in out.items]
    link = f"[登录督办系统查看]({out.link})" if markdown else f"登录督办系统查看：{out.link}"

    def size(text: str) -> int:
        return len(text.encode("utf-8"))

    whole = "\n".join([head, *lines, link]) + tail
    if size(whole) <= limit:
        return whole
    for keep in range(len(lines) - 1, -1, -1):
        more = f"另有{len(lines) - keep}项，请登录查看：{out.link}"
        text = "\n".join([head, *lines[:keep], more]) + tail
        if size(text) <= limit:
            return text
    more = f"\n另有{len(lines)}项，请登录查看：{out.link}{tail}"
    room = limit - size(more)
    cut = head.encode("utf-8")[: max(0, room)].decode("utf-8", errors="ignore")
    return cut + more


def resolve_secret(value: str | None) -> str | None:
    """A directory value or `env:NAME`, which reads the environment so the file need not hold it."""
    if value and value.startswith("env:"):
        return os.environ.get(value[4:]) or None
    return value or None


class DeliveryError(DubanError):
    """A message could not be delivered; `permanent` ones are dead-lettered, the others retried.

    `maybe_sent`: the whole message reached the server and its answer never came back (the
    connection dropped or timed out after DATA), so it may have been delivered. Such a message is
    retried only after the backoff, never at once, under the same Message-ID.
    """

    zh = "投递失败：{reason}"
    en = "delivery failed: {reason}"

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool,
        maybe_sent: bool = False,
        retry_after_s: float | None = None,
    ) -> None:
        self.reason = reason
        self.permanent = permanent
        self.maybe_sent = maybe_sent
        self.retry_after_s = retry_after_s  # the service said how long to wait (a ban, a limit)
        super().__init__(reason=reason)


class Channel(Protocol):
    name: str
    destination: str  # where messages go (host:port, a folder); optional, the name stands in for it

    def open(self) -> None: ...

    def send(self, message: EmailMessage) -> None: ...

    def close(self) -> None: ...


def channel_for(settings: Settings) -> Channel:
    """The channel DUBAN_MAIL_CHANNEL names, built from the settings."""
    return _build(settings.mail_channel, settings, setting="DUBAN_MAIL_CHANNEL", table=BUILT_IN)


def _build(name: str, settings: Settings, *, setting: str, table: dict[str, str]) -> Channel:
    target = table.get(name)
    if target is None and ":" in name:
        target = name
    if target is None:
        plugins = {ep.name: ep.value for ep in entry_points(group="duban.channels")}
        target = plugins.get(name)
    if target is None:
        known = "、".join([*table, *(ep.name for ep in entry_points(group="duban.channels"))])
        raise ConfigError(detail=f"{setting}={name!r} 未知，可选：{known}")
    module, _, attribute = target.partition(":")
    try:
        factory = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as error:
        raise ConfigError(detail=f"{setting}={name!r} 无法加载：{error}") from error
    channel: Channel = factory(settings)  # a plugin's factory, typed by its entry point only
    return channel


class Channels:
    """The channel of each row's `channel` name, built once per dispatch run."""

    def __init__(self, settings: Settings, email: Channel | None = None) -> None:
        self.settings = settings
        self.built: dict[str, Any] = {}
        if email is not None:
            self.built[EMAIL] = email

    def __getitem__(self, name: str) -> Channel:
        if name not in self.built:
            self.built[name] = (
                channel_for(self.settings)
                if name == EMAIL
                else _build(name, self.settings, setting="notification.channel", table=ROW_CHANNELS)
            )
        channel: Channel = self.built[name]
        return channel

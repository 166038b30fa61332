"""Channels deliver composed messages: `outbox` (.eml files, the embedded default) and `smtp`.

A channel is one small module with a class that takes the settings and has
`open()`, `send(message)` and `close()`, and names its `destination` (the
relay, the folder) for the dispatcher's circuit breaker; `send` raises
`DeliveryError(permanent=..., maybe_sent=...)` when it fails. Another channel (a WeCom or
DingTalk webhook, an SMS gateway) is chosen with DUBAN_MAIL_CHANNEL set to
`package.module:Class`, or to its name when its package registers it under
the entry-point group `duban.channels`.
"""

from __future__ import annotations

import importlib
from email.message import EmailMessage
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Protocol

from models.errors import ConfigError, DubanError

if TYPE_CHECKING:
    from config import Settings

BUILT_IN = {
    "outbox": "notifications.channels.eml:OutboxChannel",
    "smtp": "notifications.channels.smtp:SmtpChannel",
}


class DeliveryError(DubanError):
    """A message could not be delivered; `permanent` ones are dead-lettered, the others retried.

    `maybe_sent`: the whole message reached the server and its answer never came back (the
    connection dropped or timed out after DATA), so it may have been delivered. Such a message is
    retried only after the backoff, never at once, under the same Message-ID.
    """

    zh = "投递失败：{reason}"
    en = "delivery failed: {reason}"

    def __init__(self, reason: str, *, permanent: bool, maybe_sent: bool = False) -> None:
        self.reason = reason
        self.permanent = permanent
        self.maybe_sent = maybe_sent
        super().__init__(reason=reason)


class Channel(Protocol):
    name: str
    destination: str  # where messages go (host:port, a folder); optional, the name stands in for it

    def open(self) -> None: ...

    def send(self, message: EmailMessage) -> None: ...

    def close(self) -> None: ...


def channel_for(settings: Settings) -> Channel:
    """The channel DUBAN_MAIL_CHANNEL names, built from the settings."""
    target = BUILT_IN.get(settings.mail_channel)
    if target is None and ":" in settings.mail_channel:
        target = settings.mail_channel
    if target is None:
        plugins = {ep.name: ep.value for ep in entry_points(group="duban.channels")}
        target = plugins.get(settings.mail_channel)
    if target is None:
        known = "、".join([*BUILT_IN, *(ep.name for ep in entry_points(group="duban.channels"))])
        raise ConfigError(
            detail=f"DUBAN_MAIL_CHANNEL={settings.mail_channel!r} 未知，可选：{known}"
        )
    module, _, name = target.partition(":")
    try:
        factory = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise ConfigError(
            detail=f"DUBAN_MAIL_CHANNEL={settings.mail_channel!r} 无法加载：{error}"
        ) from error
    channel: Channel = factory(settings)  # a plugin's factory, typed by its entry point only
    return channel

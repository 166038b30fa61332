"""The local outbox: one .eml file per message under $DUBAN_HOME/outbox.

The embedded default, so that a new user sees real messages without a mail
server. A file is written beside its final name and renamed, and the name
comes from the outbox row, so a resend after a crash replaces the same file.
"""

from __future__ import annotations

import os
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

from notifications.channels import DeliveryError

if TYPE_CHECKING:
    from config import Settings


class OutboxChannel:
    name = "outbox"

    def __init__(self, settings: Settings) -> None:
        self.folder = Path(settings.outbox_dir)
        self.destination = str(self.folder)

    def open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    def send(self, message: EmailMessage) -> None:
        key = message["X-Duban-Key"] or message["Message-ID"]
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(key))[:180] + ".eml"
        target = self.folder / name
        partial = target.with_name(target.name + ".partial")
        try:
            partial.write_bytes(bytes(message))
            os.replace(partial, target)
        except OSError as error:
            raise DeliveryError(
                f"cannot write {target}: {error.strerror}", permanent=False
            ) from error

    def close(self) -> None:
        pass

"""A third channel, as an office would add one (a webhook, an SMS gateway): one small class.

It keeps what it is given; `fail_for` makes chosen recipients fail permanently.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import ClassVar

from notifications.channels import DeliveryError

DELIVERED: list[EmailMessage] = []


class ListChannel:
    name = "list"
    fail_for: ClassVar[set[str]] = set()

    def __init__(self, settings: object) -> None:
        self.settings = settings

    def open(self) -> None:
        pass

    def send(self, message: EmailMessage) -> None:
        to = message["To"].addresses[0].addr_spec
        if to in self.fail_for:
            raise DeliveryError(f"webhook refused {to}", permanent=True)
        DELIVERED.append(message)

    def close(self) -> None:
        pass

"""Composing the e-mail: multipart/alternative text and HTML, attachments, a Message-ID per outbox
row.

Composed with the standard library rather than yagmail's builder: yagmail
puts the HTML source into the text/plain part and leaves the address out of
To when a display name is given. Both channels that speak e-mail (SMTP and
the .eml outbox) send exactly these bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from notifications.render import Rendered


@dataclass(frozen=True)
class Envelope:
    """Who sends to whom, and the identity of this message across resends."""

    sender_email: str
    sender_name: str
    recipient_email: str
    recipient_name: str | None
    message_id: str  # "<...>"; the same on every attempt, so receivers can drop a repeat
    dedup_key: str


def message_id_for(notification_id: int, dedup_key: str, sender_email: str) -> str:
    import hashlib

    domain = sender_email.rpartition("@")[2] or "duban.local"
    digest = hashlib.sha256(dedup_key.encode("utf-8")).hexdigest()[:16]
    return f"<duban.{notification_id}.{digest}@{domain}>"


def compose(rendered: Rendered, envelope: Envelope, *, date: datetime) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = rendered.subject
    message["From"] = Address(envelope.sender_name, addr_spec=envelope.sender_email)
    message["To"] = Address(envelope.recipient_name or "", addr_spec=envelope.recipient_email)
    message["Date"] = format_datetime(date)
    message["Message-ID"] = envelope.message_id
    message["X-Duban-Key"] = envelope.dedup_key
    # base64 bodies pass any relay, with or without 8BITMIME.
    message.set_content(rendered.text, charset="utf-8", cte="base64")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="base64")
    for attachment in rendered.attachments:
        main, _, sub = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data, maintype=main, subtype=sub, filename=attachment.filename
        )
    return message

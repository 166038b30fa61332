"""E-mail over SMTP, through yagmail's connection handling (TLS modes, login, timeout).

One connection per batch; a message is sent with the connection's
`send_message`, so that smtplib's own errors tell a full mailbox (4xx, try
again) from an unknown address (5xx, give up). yagmail's `send()` would
sleep 3 + 6 s on a dropped connection and then only return False.
"""

from __future__ import annotations

import smtplib
import socket
from email.message import EmailMessage
from typing import TYPE_CHECKING

import yagmail

from notifications.channels import DeliveryError

if TYPE_CHECKING:
    from config import Settings


def classify(error: BaseException) -> DeliveryError:
    """Permanent for 5xx replies; transient for 4xx, timeouts, refused or dropped connections."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        detail = "; ".join(f"{rcpt}: {code} "
                           f"{reply.decode(errors='replace') if isinstance(reply, bytes) else reply}"
                           for rcpt, (code, reply) in error.recipients.items())
        return DeliveryError(f"recipient refused: {detail}", permanent=bool(codes) and min(codes) >= 500)
    if isinstance(error, smtplib.SMTPAuthenticationError):
        # Wrong credentials are the office's configuration, not the message: retry once fixed.
        return DeliveryError(f"SMTP login refused: {error.smtp_code} {error.smtp_error!r}", permanent=False)
    if isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        return DeliveryError(f"SMTP {error.smtp_code} {reply}", permanent=error.smtp_code >= 500)
    if isinstance(error, socket.timeout | TimeoutError) or _timed_out(error):
        return DeliveryError("SMTP server did not answer in time", permanent=False)
    if isinstance(error, smtplib.SMTPServerDisconnected | ConnectionError | OSError):
        return DeliveryError(f"SMTP connection failed: {error}", permanent=False)
    return DeliveryError(f"{type(error).__name__}: {error}", permanent=False)


def _timed_out(error: BaseException) -> bool:
    # smtplib reports a read timeout as "Connection unexpectedly closed: timed out".
    return isinstance(error, smtplib.SMTPServerDisconnected) and "timed out" in str(error)


class SmtpChannel:
    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client: yagmail.SMTP | None = None

    def open(self) -> None:
        s = self.settings
        try:
            self.client = yagmail.SMTP(
                user={s.mail_from: s.mail_from_name} if s.smtp_user is None else s.smtp_user,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                host=s.smtp_host,
                port=s.smtp_port,
                smtp_ssl=s.smtp_tls == "ssl",
                smtp_starttls=s.smtp_tls == "starttls",
                smtp_skip_login=s.smtp_user is None,
                soft_email_validation=False,
                timeout=s.smtp_timeout_s,
            )
            self.client.set_logging(None)
            self.client.login()
        except Exception as error:  # noqa: BLE001 — every failure to connect is classified
            self.client = None
            raise classify(error) from error

    def send(self, message: EmailMessage) -> None:
        for attempt in (1, 2):
            # smtplib closes the connection itself after a 421; open a new one for the next message.
            if self.client is None or getattr(self.client.smtp, "sock", None) is None:
                self.open()
            assert self.client is not None
            try:
                refused = self.client.smtp.send_message(message, from_addr=self.settings.mail_from)
            except smtplib.SMTPServerDisconnected as dropped:
                self.client = None
                if attempt == 1 and not _timed_out(dropped):
                    continue  # an idle connection the server dropped: once more, on a new one
                raise classify(dropped) from dropped
            except (TimeoutError, OSError) as broken:
                if not isinstance(broken, smtplib.SMTPException):
                    self.close()  # a timed-out connection is in an unknown state
                raise classify(broken) from broken
            except smtplib.SMTPException as error:
                raise classify(error) from error
            if refused:
                raise classify(smtplib.SMTPRecipientsRefused(refused))
            return

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.close()
            except Exception:  # noqa: BLE001 — closing a broken connection
                pass
            self.client = None

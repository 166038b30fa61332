"""E-mail over SMTP, through yagmail's connection handling (TLS modes, login, timeout).

One connection per batch; a message is sent with the connection's
`send_message`, so that smtplib's own errors tell a full mailbox (4xx, try
again) from an unknown address (5xx, give up). yagmail's `send()` would
sleep 3 + 6 s on a dropped connection and then only return False.

A connection that drops before the message's last line was written is
tried once more on a new connection: nothing can have been delivered. One
that drops or times out after it (the server had the whole message and its
answer never came) is "maybe sent": never resent at once (issue 18).
"""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Callable
from email.message import EmailMessage
from typing import TYPE_CHECKING

import yagmail

from notifications.channels import DeliveryError

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

    from config import Settings
    from notifications.wire import Wire


def classify(error: BaseException) -> DeliveryError:
    """Permanent for 5xx replies; transient for 4xx, timeouts, refused or dropped connections."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        detail = "; ".join(
            f"{rcpt}: {code} "
            f"{reply.decode(errors='replace') if isinstance(reply, bytes) else reply}"
            for rcpt, (code, reply) in error.recipients.items()
        )
        return DeliveryError(
            f"recipient refused: {detail}", permanent=bool(codes) and min(codes) >= 500
        )
    if isinstance(error, smtplib.SMTPAuthenticationError):
        # Wrong credentials are the office's configuration, not the message: retry once fixed.
        return DeliveryError(
            f"SMTP login refused: {error.smtp_code} {error.smtp_error!r}", permanent=False
        )
    if isinstance(error, smtplib.SMTPResponseException):
        reply = (
            error.smtp_error.decode(errors="replace")
            if isinstance(error.smtp_error, bytes)
            else error.smtp_error
        )
        return DeliveryError(f"SMTP {error.smtp_code} {reply}", permanent=error.smtp_code >= 500)
    if isinstance(error, socket.timeout | TimeoutError) or _timed_out(error):
        return DeliveryError("SMTP server did not answer in time", permanent=False)
    if isinstance(error, smtplib.SMTPServerDisconnected | ConnectionError | OSError):
        return DeliveryError(f"SMTP connection failed: {error}", permanent=False)
    return DeliveryError(f"{type(error).__name__}: {error}", permanent=False)


def _timed_out(error: BaseException) -> bool:
    # smtplib reports a read timeout as "Connection unexpectedly closed: timed out".
    return isinstance(error, smtplib.SMTPServerDisconnected) and "timed out" in str(error)


def _maybe_sent(error: BaseException) -> DeliveryError:
    return DeliveryError(
        f"SMTP server took the whole message and never answered ({error or type(error).__name__}); "
        "it may have been delivered",
        permanent=False,
        maybe_sent=True,
    )


def _note_end_of_data(smtp: smtplib.SMTP) -> None:
    """Have the connection note when a message's closing "." line has been written.

    smtplib's DATA writes the body and its closing line in one `send` and then
    waits for the reply; an error from there on cannot say which side of that
    write it came from, so the connection keeps the mark itself.
    """
    plain_send = smtp.send

    def send(s: ReadableBuffer | str) -> None:  # named as smtplib names it
        plain_send(s)
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            smtp.duban_data_written = True  # type: ignore[attr-defined]

    smtp.send = send  # type: ignore[method-assign]
    smtp.duban_data_written = False  # type: ignore[attr-defined]


class SmtpChannel:
    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client: yagmail.SMTP | None = None
        self.destination = f"{settings.smtp_host}:{settings.smtp_port}"

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
            _note_end_of_data(self.client.smtp)
        except Exception as error:
            self.client = None
            raise classify(error) from error

    def send(self, message: EmailMessage) -> None:
        self._transmit(lambda smtp: smtp.send_message(message, from_addr=self.settings.mail_from))

    def send_wire(self, message: Wire) -> None:
        """The same message already written as bytes (`notifications.wire`): no flattening."""
        self._transmit(
            lambda smtp: smtp.sendmail(message.sender, [message.recipient], message.data)
        )

    def _transmit(self, send: Callable[[smtplib.SMTP], dict[str, tuple[int, bytes]]]) -> None:
        for attempt in (1, 2):
            # smtplib closes the connection itself after a 421; open a new one for the next message.
            if self.client is None or getattr(self.client.smtp, "sock", None) is None:
                self.open()
            assert self.client is not None
            smtp = self.client.smtp
            smtp.duban_data_written = False
            try:
                refused = send(smtp)
            except smtplib.SMTPServerDisconnected as dropped:
                self.client = None
                if smtp.duban_data_written:
                    raise _maybe_sent(dropped) from dropped
                if attempt == 1 and not _timed_out(dropped):
                    continue  # an idle connection the server dropped: once more, on a new one
                raise classify(dropped) from dropped
            except (TimeoutError, OSError) as broken:
                if not isinstance(broken, smtplib.SMTPException):
                    self.close()  # a timed-out connection is in an unknown state
                if smtp.duban_data_written:
                    raise _maybe_sent(broken) from broken
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

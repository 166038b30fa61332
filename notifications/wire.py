"""The message `notifications.mime.compose` builds, written straight to the bytes SMTP sends.

Why: building an `EmailMessage` and flattening it cost the dispatcher about 4.5 ms a message
(the standard library parses every header it is given and folds it again on the way out), more
than the SMTP exchange itself; these bytes take about 0.1 ms (BENCHMARKS.md, issue 19).

The same structure and the same content as `compose`: the six headers, MIME-Version, a
multipart/alternative of the base64 text and HTML (inside a multipart/mixed with the
attachments when there are any), the bodies' lines ended the way `set_content` ends them.
`tests/test_wire.py` parses both with the standard library and compares them, the hostile corpus
included. Anything this writer is not sure to write exactly as `compose` would (an address
outside plain ASCII, a header with a line break, a key with non-ASCII) returns None, and the
caller composes the standard library's way, which accepts or refuses it as before.
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from notifications.mime import Envelope
from notifications.render import Rendered

CRLF = b"\r\n"
# An address the standard library takes as it is and smtplib sends without SMTPUTF8.
_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9]+( [A-Za-z0-9]+)*")  # a phrase of atoms: no quoting needed
_PRINTABLE = re.compile(r"[ -~]*")
_FILENAME = re.compile(r"[A-Za-z0-9._-]{1,60}")  # written quoted, as compose writes it
_CONTENT_TYPE = re.compile(r"[a-z]+/[a-z0-9.+-]+")
_WORD_BYTES = 42  # UTF-8 bytes per encoded word: 56 base64 characters; "Subject: " and one fit 78


@dataclass(frozen=True)
class Wire:
    """One message ready for SMTP: the bytes, who it is from and to, and what the row records."""

    data: bytes
    sender: str
    recipient: str
    message_id: str
    subject: str
    text: str  # the plain body as a reader's client decodes it (what get_content() returns)


def _words(value: str) -> list[str]:
    """RFC 2047 base64 encoded words, split between characters."""
    words: list[str] = []
    chunk: list[str] = []
    size = 0
    for character in value:
        width = len(character.encode("utf-8"))
        if size + width > _WORD_BYTES:
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(character)
        size += width
    if chunk:
        words.append("".join(chunk))
    return [f"=?utf-8?b?{base64.b64encode(w.encode('utf-8')).decode('ascii')}?=" for w in words]


def _unstructured(name: str, value: str) -> str | None:
    """A Subject-like header; None for a value with a control character (compose decides)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return None
    # Plain when it fits one line and cannot be read as an encoded word; else encoded words,
    # which a reader's client decodes to exactly the value.
    if (
        _PRINTABLE.fullmatch(value)
        and len(name) + 2 + len(value) <= 78
        and value == value.strip()
        and "=?" not in value
    ):
        return f"{name}: {value}"
    return f"{name}: " + "\r\n ".join(_words(value))


def _token(name: str, value: str) -> str | None:
    """A Message-ID or key: never encoded, so plain printable ASCII without spaces or nothing."""
    if not value or not _PRINTABLE.fullmatch(value) or " " in value or len(value) > 900:
        return None
    return f"{name}: {value}"


def _mailbox(name: str, display: str | None, address: str) -> str | None:
    if not _ADDRESS.fullmatch(address) or ".." in address or address.startswith("."):
        return None
    if not display:
        return f"{name}: {address}"
    if any(ord(c) < 32 or ord(c) == 127 for c in display):
        return None
    if _PLAIN_NAME.fullmatch(display):
        phrase = display
    elif _PRINTABLE.fullmatch(display):  # quoted, as the standard library quotes it
        phrase = '"' + display.replace("\\", "\\\\").replace('"', '\\"') + '"'
    else:
        # One encoded word only: a reader's parser (Python's among them) puts a space between
        # the words of a longer one, and so does compose's; that case is left to compose.
        words = _words(display)
        if len(words) > 1:
            return None
        phrase = words[0]
    line = f"{name}: {phrase} <{address}>"
    return line if len(line) <= 78 else f"{name}: {phrase}\r\n <{address}>"


def _base64(data: bytes) -> bytes:
    """Base64 in lines of 76 (57 bytes each), as the standard library writes a body."""
    return base64.encodebytes(data).replace(b"\n", CRLF)


def _text_body(text: str) -> bytes:
    # What set_content does to a text before encoding it: its lines joined by "\n", one at the end.
    return b"\n".join(text.encode("utf-8").splitlines()) + b"\n"


def _boundary() -> str:
    # Base64 lines and our headers never hold fifteen "=" in a row, so this never occurs inside.
    return f"==============={secrets.token_hex(10)}=="


def _text_part(subtype: str, body: bytes) -> bytes:
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n".encode("ascii")
        + _base64(body)
    )


def _multipart(subtype: str, parts: list[bytes]) -> tuple[str, bytes]:
    boundary = _boundary()
    separator = f"--{boundary}\r\n".encode("ascii")
    body = b"".join(separator + part + CRLF for part in parts)
    return (
        f'Content-Type: multipart/{subtype};\r\n boundary="{boundary}"',
        body + f"--{boundary}--\r\n".encode("ascii"),
    )


def wire(rendered: Rendered, envelope: Envelope, *, date: datetime) -> Wire | None:
    """The message as SMTP bytes, or None when only `compose` can say how to write it."""
    headers = [
        _unstructured("Subject", rendered.subject),
        _mailbox("From", envelope.sender_name, envelope.sender_email),
        _mailbox("To", envelope.recipient_name, envelope.recipient_email),
        f"Date: {format_datetime(date)}",
        _token("Message-ID", envelope.message_id),
        _token("X-Duban-Key", envelope.dedup_key),
        "MIME-Version: 1.0",
    ]
    if any(h is None or not h.isascii() for h in headers) or not all(
        _FILENAME.fullmatch(a.filename) and _CONTENT_TYPE.fullmatch(a.content_type)
        for a in rendered.attachments
    ):
        return None
    text = _text_body(rendered.text)
    content_type, body = _multipart(
        "alternative",
        [_text_part("plain", text), _text_part("html", _text_body(rendered.html))],
    )
    if rendered.attachments:
        parts = [f"{content_type}\r\n\r\n".encode("ascii") + body]
        for attachment in rendered.attachments:
            parts.append(
                f"Content-Type: {attachment.content_type}\r\n"
                "Content-Transfer-Encoding: base64\r\n"
                f'Content-Disposition: attachment; filename="{attachment.filename}"\r\n\r\n'.encode(
                    "ascii"
                )
                + _base64(attachment.data)
            )
        content_type, body = _multipart("mixed", parts)
    head = "\r\n".join([*(h for h in headers if h is not None), content_type]) + "\r\n\r\n"
    return Wire(
        data=head.encode("ascii") + body,
        sender=envelope.sender_email,
        recipient=envelope.recipient_email,
        message_id=envelope.message_id,
        subject=rendered.subject,
        text=text.decode("utf-8"),
    )

"""The SMTP bytes `notifications.wire` writes are the message `notifications.mime.compose` builds:
parsed back by the standard library, every header, part, body and attachment is the same, for
every kind in both languages and for hostile names and subjects; what the writer cannot vouch
for it leaves to `compose`."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage

import pytest

from notifications.mime import Envelope, compose, message_id_for
from notifications.render import Attachment, Rendered, render
from notifications.samples import SAMPLES
from notifications.wire import wire
from tests.support.hostile import HOSTILE

AT = datetime(2022, 9, 29, 1, 0, tzinfo=UTC)
HEADERS = ("Subject", "From", "To", "Date", "Message-ID", "X-Duban-Key", "MIME-Version")


def _envelope(name: str | None = "单位0联络员", to: str = "unit0@example.org", key: str = "k:1"):
    return Envelope(
        sender_email="duban@office.example.org",
        sender_name="市未保办",
        recipient_email=to,
        recipient_name=name,
        message_id=message_id_for(7, key, "duban@office.example.org"),
        dedup_key=key,
    )


def _shape(message: EmailMessage) -> list[object]:
    """Everything a reader's client sees: the headers, then each part's type, disposition,
    filename and decoded content, in order."""
    seen: list[object] = [(h, str(message[h]) if message[h] is not None else None) for h in HEADERS]
    seen.append([(a.display_name, a.addr_spec) for a in message["To"].addresses])
    for part in message.walk():
        seen.append(
            (
                part.get_content_type(),
                part.get_content_disposition(),
                part.get_filename(),
                part.get_content_charset(),
                part["Content-Transfer-Encoding"],
                None if part.is_multipart() else part.get_content(),
            )
        )
    return seen


def _read(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _same(rendered: Rendered, envelope: Envelope) -> bytes:
    """The wire bytes read back as compose's message does when smtplib sends it."""
    written = wire(rendered, envelope, date=AT)
    assert written is not None
    built = compose(rendered, envelope, date=AT)
    sent = built.as_bytes(policy=built.policy.clone(linesep="\r\n"))  # what send_message writes
    read = _read(written.data)
    # The subject as rendered; compose's can read back with a space doubled where English meets
    # an encoded word (the standard library's folding), so it is not the yardstick there.
    assert read["Subject"] == rendered.subject
    assert _shape(read)[1:] == _shape(_read(sent))[1:]
    assert written.subject == str(built["Subject"]) and written.message_id == built["Message-ID"]
    body = built.get_body(("plain",))
    assert body is not None and written.text == body.get_content()
    assert all(len(line) <= 998 for line in written.data.split(b"\r\n"))  # RFC 5322's limit
    assert b"\n" not in written.data.replace(b"\r\n", b"")  # CRLF only, as SMTP wants
    return written.data


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_every_kind_is_the_same_message_as_compose_builds(kind: str, lang: str) -> None:
    rendered = render(
        kind,
        lang,
        SAMPLES[kind],
        office="市未成年人保护工作领导小组办公室",
        portal_url="http://portal.example.org",
        recipient_name="单位0联络员",
        created_at=AT,
    )
    _same(rendered, _envelope())


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_names_and_subjects_read_back_as_compose_writes_them(value: str) -> None:
    rendered = Rendered(
        subject=" ".join(f"关于{value}的提醒".split()),
        text=f"{value}\n第二行\r\n",
        html=f"<p>{value}</p>\n",
        attachments=[Attachment("deadline.ics", "text/calendar", value.encode("utf-8"))],
    )
    envelope = _envelope(name=value)
    if wire(rendered, envelope, date=AT) is None:
        # Left to compose, which takes it or refuses it as it always did: a control character,
        # or a name too long for one encoded word.
        assert any(ord(c) < 32 or ord(c) == 127 for c in value) or len(value.encode()) > 42
        return
    _same(rendered, envelope)


def test_plain_ascii_stays_plain_and_long_or_encoded_looking_values_are_encoded() -> None:
    plain = _same(
        Rendered("Reminder: report due", "Hello\n", "<p>Hello</p>\n"),
        _envelope(name="Unit Liaison", key="reminder:7"),
    )
    assert b"\r\nSubject: Reminder: report due\r\n" in b"\r\n" + plain
    assert b"\r\nTo: Unit Liaison <unit0@example.org>\r\n" in plain
    assert b"\r\nX-Duban-Key: reminder:7\r\n" in plain
    assert all(len(line) <= 78 for line in plain.split(b"\r\n"))
    quoted = _same(
        Rendered(("long words " * 12).strip(), "x\n", "<p>x</p>\n"),
        _envelope(name='Eve "admin" <root@example.org>'),
    )
    assert _read(quoted)["Subject"] == ("long words " * 12).strip()
    assert _read(quoted)["To"].addresses[0].display_name == 'Eve "admin" <root@example.org>'
    # A subject that looks like an encoded word reads back as written (compose's would read "Hi").
    lookalike = wire(Rendered("=?utf-8?b?SGk=?= x", "x\n", "<p>x</p>\n"), _envelope(), date=AT)
    assert lookalike is not None and _read(lookalike.data)["Subject"] == "=?utf-8?b?SGk=?= x"


@pytest.mark.parametrize(
    "envelope",
    [
        _envelope(to="not an address"),
        _envelope(to=""),
        _envelope(to="用户@example.org"),
        _envelope(to="a@b.org\r\nBcc: x@y.org"),
        _envelope(name="x\r\nBcc: x@y.org"),
        _envelope(key="键:1"),
        _envelope(name="市未成年人保护工作领导小组办公室联络员"),  # two encoded words
    ],
)
def test_what_the_writer_cannot_vouch_for_is_left_to_compose(envelope: Envelope) -> None:
    assert wire(Rendered("s", "t\n", "<p>t</p>\n"), envelope, date=AT) is None

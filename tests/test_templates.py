"""Every message kind renders in both languages from its sample payload, strictly."""

from __future__ import annotations

from datetime import UTC, date, datetime

import jinja2
import pytest
from icalendar import Calendar

from notifications.render import WITH_CALENDAR, render
from notifications.samples import SAMPLES

OFFICE = "市未成年人保护工作领导小组办公室"
CREATED = datetime(2022, 9, 26, 1, 0, tzinfo=UTC)


def rendered(kind: str, lang: str, payload: dict | None = None):
    return render(
        kind,
        lang,
        payload if payload is not None else SAMPLES[kind],
        office=OFFICE,
        portal_url="http://portal.example.org",
        recipient_name="市教育局联络员",
        created_at=CREATED,
    )


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("kind", list(SAMPLES))
def test_every_kind_renders_subject_text_and_html(kind: str, lang: str) -> None:
    message = rendered(kind, lang)
    assert message.subject and "\n" not in message.subject
    assert message.text.strip() and "<html" not in message.text.lower()
    assert message.html.strip().startswith("<") and "</" in message.html
    for item in [
        *SAMPLES[kind].get("items", []),
        *([SAMPLES[kind]["item"]] if "item" in SAMPLES[kind] else []),
    ]:
        link = f"http://portal.example.org/assignments/{item['assignment_id']}"
        assert link in message.text and link in message.html
    if lang == "zh":
        assert OFFICE in message.text
    assert bool(message.attachments) == (kind in WITH_CALENDAR)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("kind", ["escalation_blue", "escalation_yellow", "escalation_red"])
def test_escalation_digests_carry_every_number(kind: str, lang: str) -> None:
    message = rendered(kind, lang)
    for item in SAMPLES[kind]["items"]:
        assert item["number"] in message.text and item["number"] in message.html


def test_the_calendar_event_is_on_each_due_date() -> None:
    message = rendered("round_opened", "zh")
    events = Calendar.from_ical(message.attachments[0].data).walk("VEVENT")
    assert sorted(e.decoded("dtstart") for e in events) == [date(2022, 9, 28), date(2022, 9, 30)]
    assert all("报送截止" in str(e.get("summary")) for e in events)


def test_a_rejected_extension_renders_without_a_new_date() -> None:
    payload = SAMPLES["extension_decided"] | {
        "approved": False,
        "new_due_on": None,
        "reason": "理由不充分",
    }
    for lang in ("zh", "en"):
        assert "理由不充分" in rendered("extension_decided", lang, payload).text


def test_user_text_is_escaped_in_html_only() -> None:
    payload = SAMPLES["report_returned"] | {"reason": "<script>alert(1)</script> 缺材料"}
    message = rendered("report_returned", "zh", payload)
    assert "<script>" not in message.html and "&lt;script&gt;" in message.html
    assert "<script>alert(1)</script>" in message.text


def test_a_missing_payload_key_fails_loudly() -> None:
    payload = {k: v for k, v in SAMPLES["reminder"].items() if k != "round"}
    with pytest.raises(jinja2.UndefinedError):
        rendered("reminder", "zh", payload)


# Payload fields that hold dates and codes the cycle writes itself; every other text is the corpus.
STRUCTURAL = {
    "due_on",
    "role",
    "stage",
    "opened_on",
    "report_by",
    "respond_by",
    "original_due_on",
    "requested_due_on",
    "new_due_on",
    "on",
}


def hostile_payload(value, values, key=None):
    if isinstance(value, dict):
        return {k: hostile_payload(v, values, k) for k, v in value.items()}
    if isinstance(value, list):
        return [hostile_payload(v, values, key) for v in value]
    if isinstance(value, str) and key not in STRUCTURAL:
        return next(values)
    return value


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("kind", list(SAMPLES))
def test_hostile_payloads_stay_text_in_every_part_of_every_message(kind: str, lang: str) -> None:
    import itertools

    from tests.support.hostile import HOSTILE, injected_markup_in, terminal_escapes_in

    for (
        value
    ) in HOSTILE:  # every text of the payload the same value, so each value meets every field
        message = rendered(kind, lang, hostile_payload(SAMPLES[kind], itertools.repeat(value)))
        assert not injected_markup_in(message.html), value
        calendars = "".join(a.data.decode("utf-8") for a in message.attachments)
        assert not terminal_escapes_in(message.subject + message.text + calendars), value
        assert "\n" not in message.subject and "\r" not in message.subject
        if value.startswith("<script>"):  # a text part shows what was written, unescaped
            assert value in message.text and "&lt;" not in message.subject + message.text

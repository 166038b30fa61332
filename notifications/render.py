"""Rendering a message: Jinja2 templates (per kind and language, `KIND.LANG.txt.j2` with the
subject and text blocks and `KIND.LANG.html.j2` with the html block) plus an .ics calendar file
for messages about a due date.

The HTML template escapes every value by its name (escaping.templates); the text one does not,
since a text body and a subject show what was written (the MIME layer encodes the headers, and
the calendar file is built with icalendar, which escapes its own syntax). Text and calendar
values have their control characters shown as escapes (escaping.terminal): a mail read in a
terminal must not obey an ESC sequence from a task title.

Pure: a kind, a language and a payload in, a `Rendered` message out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from escaping.templates import environment as template_environment
from escaping.terminal import visible
from models.assignment import ROLE_EN, ROLE_ZH
from notifications.links import item_url, report_url

TEMPLATES = Path(__file__).resolve().parent / "templates"
ROLES = {"zh": ROLE_ZH, "en": ROLE_EN}  # the one role table (models.assignment)
# Kinds that are about a due date carry a calendar event for it.
WITH_CALENDAR = frozenset({"round_opened", "reminder", "overdue"})


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "text/calendar"
    data: bytes


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    attachments: list[Attachment] = field(default_factory=list)


def _date(lang: str) -> Callable[[str | date | None], str]:  # a Jinja filter
    def format_date(value: str | date | None) -> str:
        if value is None:
            return "—"
        day = value if isinstance(value, date) else date.fromisoformat(value)
        return (
            f"{day.year}年{day.month}月{day.day}日"
            if lang == "zh"
            else f"{day.day} {day.strftime('%b')} {day.year}"
        )

    return format_date


@jinja2.pass_eval_context
def _finalize(eval_ctx: jinja2.nodes.EvalContext, value: Any) -> Any:
    """Values in a subject or a text body: control characters shown (HTML escaping covers the
    rest)."""
    if eval_ctx.autoescape or not isinstance(value, str):
        return value
    return visible(value)


@lru_cache(maxsize=4)
def environment(lang: str) -> jinja2.Environment:
    env = template_environment(
        TEMPLATES, undefined=jinja2.StrictUndefined, keep_trailing_newline=True, finalize=_finalize
    )
    env.filters["date"] = _date(lang)
    env.filters["role"] = lambda role: ROLES[lang][role]
    env.filters["percent"] = lambda ratio: f"{ratio * 100:.1f}%"
    return env


def render_row(row: dict[str, Any], settings: Any) -> Rendered:
    """An outbox row's message, as every channel sends it (the dispatcher's e-mail, the robots' and
    the SMS gateway's `Outgoing`)."""
    return render(
        row["kind"],
        row["lang"],
        row["payload"],
        office=settings.office_name,
        portal_url=settings.portal_url,
        recipient_name=row["recipient_name"],
        created_at=row["created_at"],
    )


def render(
    kind: str,
    lang: str,
    payload: dict[str, Any],
    *,
    office: str,
    portal_url: str,
    recipient_name: str | None,
    created_at: datetime,
) -> Rendered:
    """The subject, bodies and attachments of one message."""
    lang = lang if lang in ROLES else "zh"
    if kind == "combined":  # over the reminder budget (models.budget): each part rendered alone
        rendered = [
            render(
                p["kind"],
                lang,
                p["payload"],
                office=office,
                portal_url=portal_url,
                recipient_name=recipient_name,
                created_at=created_at,
            )
            for p in payload["parts"]
        ]
        payload = {"parts": [{"subject": r.subject, "text": r.text.strip()} for r in rendered]}
        whole = _render_one(kind, lang, payload, office, portal_url, recipient_name, created_at)
        return Rendered(
            whole.subject, whole.text, whole.html, [a for r in rendered for a in r.attachments]
        )
    return _render_one(kind, lang, payload, office, portal_url, recipient_name, created_at)


def _render_one(
    kind: str,
    lang: str,
    payload: dict[str, Any],
    office: str,
    portal_url: str,
    recipient_name: str | None,
    created_at: datetime,
) -> Rendered:
    context: dict[str, Any] = json.loads(json.dumps(payload))  # a copy we may enrich
    for item in [*context.get("items", []), *([context["item"]] if "item" in context else [])]:
        url = item_url(portal_url, item)
        if url is not None:
            item["url"] = url
    if "report_id" in context:
        context["report_url"] = report_url(portal_url, context["report_id"])
    context.update(office=office, portal_url=portal_url, recipient={"name": recipient_name or ""})
    env = environment(lang)
    text, html = (
        env.get_template(f"{kind}.{lang}.txt.j2"),
        env.get_template(f"{kind}.{lang}.html.j2"),
    )

    def block(template: jinja2.Template, name: str) -> str:
        return "".join(template.blocks[name](template.new_context(context)))

    subject = " ".join(block(text, "subject").split())
    attachments = (
        [calendar(context, office=office, lang=lang, stamp=created_at)]
        if kind in WITH_CALENDAR
        else []
    )
    return Rendered(
        subject=subject,
        text=block(text, "text").strip() + "\n",
        html=block(html, "html").strip() + "\n",
        attachments=attachments,
    )


def calendar(context: dict[str, Any], *, office: str, lang: str, stamp: datetime) -> Attachment:
    """An all-day event on each due date the message names, so the deadline lands in the reader's
    calendar."""
    from icalendar import Calendar, Event

    ics = Calendar()
    ics.add("prodid", "-//duban//督办//ZH")
    ics.add("version", "2.0")
    ics.add("method", "PUBLISH")
    by_day: dict[str, list[dict[str, Any]]] = {}
    for item in context.get("items", []):
        by_day.setdefault(item["due_on"], []).append(item)
    for due_on, items in sorted(by_day.items()):
        day = date.fromisoformat(due_on)
        event = Event()
        first = items[0]
        event.add("uid", f"duban-checkin-{first['checkin_id']}-{due_on}@duban")
        if lang == "zh":
            summary = f"报送截止：{context['round']['name']}（{len(items)} 项任务）"
            lines = [f"任务{i['task_number']} {i['task_title']}：{i['url']}" for i in items]
        else:
            summary = f"Report due: {context['round']['name']} ({len(items)} tasks)"
            lines = [f"Task {i['task_number']} {i['task_title']}: {i['url']}" for i in items]
        event.add("summary", visible(summary))
        event.add("description", visible("\n".join([*lines, office])))
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
        event.add("url", first["url"])
        event.add("dtstamp", stamp)  # when the message was enqueued: the same on every resend
        ics.add_component(event)
    return Attachment(filename="deadline.ics", content_type="text/calendar", data=ics.to_ical())

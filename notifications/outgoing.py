"""The channel-neutral message of one outbox row (`notifications.channels.Outgoing`): the title and
plain text the e-mail says, and the item lines a chat robot lists (each with its page), written
so that nothing in a task title can act as markdown, a link or a mention.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from escaping.terminal import visible
from models.assignment import ROLE_ZH
from notifications.channels import Item, Outgoing, Robot
from notifications.links import item_url, report_url
from notifications.render import render_row

if TYPE_CHECKING:
    from config import Settings

# Markdown's syntax characters, shown as their full-width forms: a title reads the same and can
# neither open a link nor bold the rest of the message. WeCom's and DingTalk's markdown have no
# reliable backslash escape.
_MARKDOWN = str.maketrans("[]()<>*_#`~|\\!", "［］（）＜＞＊＿＃｀～｜＼！")


def markdown_safe(text: str) -> str:
    return visible(" ".join(str(text).split())).translate(_MARKDOWN)


def _day(value: str | None) -> str:
    if not value:
        return "—"
    year, month, day = (int(part) for part in str(value)[:10].split("-"))
    return f"{year}年{month}月{day}日"


def item_lines(payload: dict[str, Any], portal_url: str) -> list[Item]:
    """One line per item of the payload (or its single `item`), in the order the e-mail lists."""
    entries = list(payload.get("items") or ([payload["item"]] if "item" in payload else []))
    lines = []
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            continue
        name = f"第{entry.get('task_number', '')}项 {entry.get('task_title', '')}".strip()
        facts = [ROLE_ZH.get(entry.get("role", ""), "")] if entry.get("role") else []
        if entry.get("due_on"):
            facts.append(f"截止{_day(entry['due_on'])}")
        if entry.get("days_overdue"):
            facts.append(f"已逾期{int(entry['days_overdue'])}个工作日")
        if entry.get("number"):
            facts.append(str(entry["number"]))
        detail = "，".join(f for f in facts if f)
        url = item_url(portal_url, entry)
        plain = f"{index}. {visible(name)}" + (f"（{visible(detail)}）" if detail else "")
        shown = markdown_safe(name)
        marked = f"{index}. [{shown}]({url})" if url else f"{index}. {shown}"
        if detail:
            marked += f"（{markdown_safe(detail)}）"
        lines.append(Item(text=plain, markdown=marked, url=url))
    return lines


def outgoing(row: dict[str, Any], settings: Settings, robot: Robot | None) -> Outgoing:
    """The row's message for a channel that takes an `Outgoing` (a robot, an SMS gateway)."""
    rendered = render_row(row, settings)
    items = item_lines(row["payload"], settings.portal_url)
    if "report_id" in row["payload"]:
        link = report_url(settings.portal_url, row["payload"]["report_id"])
    elif len(items) == 1 and items[0].url:
        link = items[0].url
    else:
        link = settings.portal_url.rstrip("/") + "/"
    address = row.get("address") or ""
    name = visible(row["recipient_name"] or "")
    return Outgoing(
        notification_id=row["id"],
        dedup_key=row["dedup_key"],
        kind=row["kind"],
        unit_id=row["unit_id"],
        address=address,
        title=rendered.subject,
        text=rendered.text,
        lead=f"{name}：" if name else "",
        items=items,
        link=link,
        mentions=[address] if address else [],
        robot=robot,
        payload=row["payload"],
    )

"""The portal's filters for what people read: codes as their Chinese labels (models/labels.py) and
stored times in the office's zone, registered once for every portal template.

    {{ a.state|zh("states") }}   {{ e.actor|actor }}   {{ e.at|local }}   {{ r.as_of|local("day") }}
    {{ message|chinese }}        the Chinese half of a "中文 / English" message
"""

from __future__ import annotations

from typing import Any

import jinja2

from models import labels

TABLES: dict[str, dict[str, str]] = {
    "states": labels.STATES,
    "checkin_states": labels.CHECKIN_STATES,
    "round_states": labels.ROUND_STATES,
    "assignment_roles": labels.ASSIGNMENT_ROLES,
    "user_roles": labels.USER_ROLES,
    "actions": labels.ACTIONS,
    "audit_actions": labels.AUDIT_ACTIONS,
    "unit_kinds": labels.UNIT_KINDS,
    "contact_roles": labels.CONTACT_ROLES,
    "outcomes": labels.OUTCOMES,
    "object_types": labels.OBJECT_TYPES,
    "message_kinds": labels.MESSAGE_KINDS,
    "fields": labels.FIELDS,
}


def settings_of(context: Any) -> Any:
    """The settings of the portal that renders this page, else the configured ones."""
    request = context.get("request")
    settings = getattr(getattr(getattr(request, "app", None), "state", None), "settings", None)
    if settings is None:
        from config.settings import get_settings

        settings = get_settings()
    return settings


@jinja2.pass_context
def local(context: Any, moment: Any, style: str = "minute") -> str:
    return labels.local_time(moment, str(settings_of(context).timezone), style)


@jinja2.pass_context
def office_name(context: Any) -> str:
    """The office's name (DUBAN_OFFICE_NAME), as the login page and the header show it."""
    return str(settings_of(context).office_name)


def zh(code: Any, table: str) -> str:
    return labels.label(TABLES[table], code)


def chinese(message: Any) -> str:
    """The Chinese part of a bilingual message: a page for a person says it once, in Chinese."""
    text = str(message or "")
    return text.split(" / ", 1)[0] if " / " in text else text


def install(env: jinja2.Environment) -> None:
    env.filters.update(local=local, zh=zh, actor=labels.actor_label, chinese=chinese)
    env.globals.update(label_tables=TABLES, office_name=office_name)

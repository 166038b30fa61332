"""Where a message's links point: the portal page of the item, which asks for a sign-in first.

A link never signs anyone in: opened without a session it leads to /login?next=…, and after the
sign-in to the item's page (web/routes/assignments.py), which is 404 for another unit's user.
"""

from __future__ import annotations

from typing import Any


def assignment_url(portal_url: str, assignment_id: int) -> str:
    """The portal page of one assignment: its task, its check-ins and the form to file."""
    return f"{portal_url.rstrip('/')}/assignments/{int(assignment_id)}"


def checkin_url(portal_url: str, checkin_id: int) -> str:
    """A check-in's address, as messages enqueued before assignment links carried it; the portal
    sends it on to the check-in's assignment."""
    return f"{portal_url.rstrip('/')}/checkins/{int(checkin_id)}"


def report_url(portal_url: str, report_id: int) -> str:
    """The portal page of a compiled 通报 (its files are listed there)."""
    return f"{portal_url.rstrip('/')}/reports/{int(report_id)}"


def item_url(portal_url: str, item: dict[str, Any]) -> str | None:
    """The link of one item of a message payload (None when it names no assignment or check-in)."""
    if item.get("assignment_id"):
        return assignment_url(portal_url, item["assignment_id"])
    if item.get("checkin_id"):
        return checkin_url(portal_url, item["checkin_id"])
    return None

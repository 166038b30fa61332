"""What the filing parts of the assignment page and the review queue show: each check-in's versions,
what the latest one changed, how each evidence file is previewed, and the form's text (a refused
submission's, a draft kept from an expired session, or the unreviewed filing being amended)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session

from models.assignment import Assignment
from models.filings import amendable, draft_for, latest_changes, previous_filing, versions_of
from models.round import CheckIn, SupervisionRound
from web.auth import Principal

INLINE_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/bmp", "image/webp"})


def preview_kind(entry: dict[str, Any]) -> str:
    """How the page shows a file: image inline, PDF's first page, HEIC's placeholder, or a link."""
    media = str(entry.get("type", "")).split(";")[0]
    if media in INLINE_IMAGES:
        return "image"
    if media == "application/pdf":
        return "pdf"
    if media == "image/heic":
        return "heic"
    return "file"


def form_values(
    session: Session,
    me: Principal,
    assignment: Assignment,
    open_checkin: CheckIn | None,
    typed: dict[str, Any] | None,
    previous: CheckIn | None = None,
) -> tuple[dict[str, Any], str | None]:
    """The filing form's values and where they came from (None: a blank form); `previous` is the
    earlier period's filing the unit asked to start from (沿用上期)."""
    if typed is not None:
        return typed, "typed"
    draft = draft_for(session, user_id=me.user_id, assignment_id=assignment.id or 0)
    if draft is not None:
        return _values_of(draft, draft.completed), "draft"
    if previous is not None:
        # a completion report is never carried over: the unit says so itself
        return _values_of(previous, False), "previous"
    if open_checkin is not None and amendable(open_checkin):
        return _values_of(open_checkin, open_checkin.completed), "amend"
    return {"text": "", "percent": "", "problems": "", "completed": False}, None


def _values_of(filed: Any, completed: bool) -> dict[str, Any]:
    """A draft's or a filing's fields as the form shows them (a percent not given is blank)."""
    return {
        "text": filed.text or "",
        "percent": "" if filed.percent is None else str(filed.percent),
        "problems": filed.problems or "",
        "completed": completed,
    }


def filing_view(
    session: Session,
    me: Principal,
    assignment: Assignment,
    checkins: Sequence[tuple[CheckIn, SupervisionRound]],
    open_checkin: CheckIn | None,
    *,
    typed: dict[str, Any] | None = None,
    refusal: str | None = None,
    from_previous: bool = False,
) -> dict[str, Any]:
    versions = versions_of(session, [c.id for c, _ in checkins if c.id is not None])
    # 沿用上期 is offered on a check-in not yet filed this period, when an earlier one was.
    earlier = (
        previous_filing([c for c, _ in checkins], open_checkin)
        if open_checkin is not None and not open_checkin.revision
        else None
    )
    rounds = {c.round_id: r.name for c, r in checkins}
    values, source = form_values(
        session, me, assignment, open_checkin, typed, earlier if from_previous else None
    )
    return {
        "versions": versions,
        "changed": {i: latest_changes(v) for i, v in versions.items()},
        "preview_kind": preview_kind,
        "form": values,
        "form_source": source,
        "amending": open_checkin is not None and amendable(open_checkin),
        "refusal": refusal,
        "previous_round": rounds[earlier.round_id] if earlier is not None else None,
    }

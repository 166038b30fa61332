"""The escalated items (督办事项) through the JSON API, the office's alone: the open items once
each with their notes; a note or a 会商 outcome; closing a 督办单; and the printable 督办通知单,
which a unit may also fetch for its own assignments. The same use cases as the
escalations page and `duban escalation`."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from models.clock import utc_now
from models.db import reading, unit_of_work
from models.escalation_desk import NOTE_LIMIT, NoteKind, add_note, close_item, desk_items
from models.lifecycle import OFFICE
from web.auth import Principal
from web.bounds import Id
from web.deps import engine_of, refuse, settings_of
from web.routes.api import bearer

router = APIRouter(prefix="/api/v1", tags=["api"])


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=NOTE_LIMIT)
    kind: Literal["note", "consultation"] = "note"


class CloseIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


def _office(me: Principal, what: str) -> None:
    if me.role not in OFFICE:
        raise refuse(me, status=403, object_type="escalation", object_id=what, why="仅办公室可操作")


@router.get("/escalations")
def list_escalations(
    request: Request,
    level: int | None = Query(default=None, ge=1, le=3),
    unit: str | None = Query(default=None, max_length=200),
    task: Id | None = None,
    me: Principal = Depends(bearer),
) -> list[dict]:
    _office(me, "list")
    zone = settings_of(request).timezone
    with reading(engine_of(request)) as session:
        items = desk_items(session, zone, {"level": level, "unit": unit, "task": task})
    return [{k: v for k, v in i.items() if k != "office"} for i in items]


@router.post("/escalations/{escalation_id}/notes", status_code=201)
def post_note(
    request: Request, body: NoteIn, escalation_id: Id, me: Principal = Depends(bearer)
) -> dict:
    _office(me, str(escalation_id))
    with unit_of_work(engine_of(request)) as session:
        note = add_note(
            session,
            reference=escalation_id,
            text=body.text,
            actor=me.actor,
            now=utc_now(),
            kind=NoteKind(body.kind),
        )
        return {"id": note.id, "kind": body.kind, "text": note.text}


@router.post("/escalations/{escalation_id}/close")
def post_close(
    request: Request, body: CloseIn, escalation_id: Id, me: Principal = Depends(bearer)
) -> dict:
    _office(me, str(escalation_id))
    with unit_of_work(engine_of(request)) as session:
        closed = close_item(
            session, reference=escalation_id, reason=body.reason, actor=me.actor, now=utc_now()
        )
    return {"levels_closed": closed}


@router.get("/escalations/{escalation_id}/notice")
def get_notice(request: Request, escalation_id: Id, me: Principal = Depends(bearer)) -> Response:
    """The 督办通知单 (DOCX) of a level-2 or level-3 escalation: the office's, or the unit's own."""
    from web.routes.notices import notice_download

    with reading(engine_of(request)) as session:
        return notice_download(session, me, escalation_id, settings_of(request))

"""The printable 督办通知单 in the portal: the office prints any level-2 or level-3 escalation's, a
unit the ones raised on its own assignments (another unit's is 404, as its assignment page is).
Printing reads only, as every download of the portal does: no audit event, and an archived plan's
notice still prints."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlmodel import Session

from models.lifecycle import OFFICE, Role
from reports.notice import DOCX, notice_docx, notice_filename, notice_of
from web.auth import Principal
from web.bounds import Id
from web.deps import office_or_unit, read_session, refuse, settings_of
from web.lists import content_disposition
from web.routes.assignments import visible_assignment

router = APIRouter()
PRINTERS = frozenset({*OFFICE, Role.UNIT})  # a leader reads the 通报, not the units' 督办单


def notice_download(session: Session, me: Principal, escalation_id: int, settings) -> Response:
    """The DOCX under its Chinese name, if this caller may see the escalation's assignment."""
    from models.escalation_desk import named_escalation

    if me.role not in PRINTERS:  # the API's token may be a leader's or an auditor's
        raise refuse(
            me,
            status=403,
            object_type="escalation",
            object_id=escalation_id,
            why="仅办公室或被督办单位可查看",
        )
    visible_assignment(session, me, named_escalation(session, escalation_id).assignment_id)
    notice = notice_of(session, escalation_id, settings)
    return Response(
        notice_docx(notice),
        media_type=DOCX,
        headers={"content-disposition": content_disposition(notice_filename(notice))},
    )


@router.get("/escalations/{escalation_id}/notice")
def print_notice(
    request: Request,
    escalation_id: Id,
    me: Principal = Depends(office_or_unit),
    session: Session = Depends(read_session),
):
    return notice_download(session, me, escalation_id, settings_of(request))

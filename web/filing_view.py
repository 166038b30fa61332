"""What the filing parts of the assignment page and the review queue show: each check-in's versions,
what the latest one changed, how each evidence file is previewed, and the form's text (a refused
submission's, a draft kept from an expired session, or the unreviewed filing being amended)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from sqlmodel import Session

from models.assignment import Assignment
from models.evidence import pdf_preview
from models.filings import amendable, draft_for, latest_changes, previous_filing, versions_of
from models.round import CheckIn, CheckInState, SupervisionRound
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


def shown_as(folder: Path, entry: dict[str, Any]) -> str:
    """How the page shows a file: "image" inline, "pdf" as its first page, or "file", a row with
    its type, size and download link (Office, WPS, OFD, text, HEIC, a PDF that cannot be rendered).

    A PDF's first page is rendered here the first time it is listed, so the page already knows
    whether it has one; a failure is remembered and not tried again (models/evidence.py)."""
    kind = preview_kind(entry)
    if kind == "image":
        return "image"
    if kind == "pdf" and pdf_preview(folder, str(entry.get("sha256", ""))) is not None:
        return "pdf"
    return "file"


# The name's extension was checked against the content at upload (web/uploads.py); a file filed
# from the command line has no media type recorded, so the extension is what is read first.
TYPE_WORDS = {
    "pdf": "PDF 文件",
    "ofd": "OFD 文件",
    "doc": "Word 文档",
    "docx": "Word 文档",
    "xls": "Excel 表格",
    "xlsx": "Excel 表格",
    "wps": "WPS 文字",
    "et": "WPS 表格",
    "txt": "文本",
    **dict.fromkeys(("png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"), "图片"),
    **dict.fromkeys(("heic", "heif"), "HEIC 图片"),
}


def file_type(entry: dict[str, Any]) -> str:
    """The file's type in a word a person knows (Word 文档, PDF 文件, 文本 ...)."""
    name = str(entry.get("name", ""))
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension in TYPE_WORDS:
        return TYPE_WORDS[extension]
    media = str(entry.get("type", ""))
    if media.startswith("text/"):
        return "文本"
    if media.startswith("image/"):
        return "图片"
    return "PDF 文件" if media == "application/pdf" else "文件"


def file_size(size: Any) -> str:
    """A size in bytes as a person reads it: 512 字节, 12.3 KB, 1.2 MB (1 KB = 1,024 bytes)."""
    count = int(size or 0)
    if count < 1024:
        return f"{count} 字节"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KB"
    return f"{count / 1024 / 1024:.1f} MB"


def evidence_shown(folder: Path) -> dict[str, Any]:
    """What _evidence.html.j2 calls, for the evidence stored in `folder`."""
    return {
        "preview_kind": partial(shown_as, folder),
        "file_type": file_type,
        "file_size": file_size,
    }


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
    if open_checkin is not None and open_checkin.state == CheckInState.RETURNED:
        # what the office returned, to correct rather than retype (its files stay with it)
        return _values_of(open_checkin, open_checkin.completed), "returned"
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
    folder: Path,
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
        **evidence_shown(folder),
        "form": values,
        "form_source": source,
        "amending": open_checkin is not None and amendable(open_checkin),
        "refusal": refusal,
        "previous_round": rounds[earlier.round_id] if earlier is not None else None,
    }

"""Evidence files (佐证材料): stored under $DUBAN_HOME/evidence by content hash, outside any web
root.

A filing is checked in full (the lifecycle, the unit's quota) before any file
is written: `described` names the files in memory, the use case checks them,
and only then `store` writes them, inside the filing's transaction. A file no
check-in names (a transaction that failed after writing) is an orphan, and
`prune_orphans` removes it once it is old enough not to belong to a filing
still being committed.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from models.assignment import Assignment
from models.errors import DubanError
from models.round import CheckIn

ORPHAN_AGE_S = 3600  # far longer than any filing's transaction


class EvidenceUnreadable(DubanError):
    zh = "无法读取佐证材料“{path}”：{why}"
    en = "cannot read the evidence file {path}: {why}"
    exit_code = 2


class EvidenceQuotaExceeded(DubanError):
    zh = (
        "{unit}的佐证材料已占用 {used}，本次再上传 {adding} 将超过每单位 {quota} 的配额，"
        "未保存任何内容：请压缩或删减后再报送。"
    )
    en = (
        "{unit} already stores {used} of evidence; {adding} more exceeds the {quota} quota "
        "per unit; nothing was saved"
    )
    exit_code = 2


@dataclass(frozen=True)
class Upload:
    """One evidence file held in memory until its filing has been checked."""

    name: str
    data: bytes
    media_type: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


class EvidenceTooLarge(DubanError):
    zh = "佐证材料“{path}”超过 {limit}（每个文件的上限），未保存任何内容"
    en = "the evidence file {path} is larger than {limit} (the limit per file); nothing was saved"
    exit_code = 2


def read_files(files: list[Path], *, max_bytes: int) -> list[Upload]:
    """The CLI's evidence files, read (and refused if unreadable or too large) before anything is
    filed.

    Each is read to one byte past the limit, never further: a device such as /dev/zero, or a file
    still growing, is refused at the limit instead of filling memory."""
    loaded = []
    for path in files:
        try:
            with path.open("rb") as stream:
                data = stream.read(max_bytes + 1)
        except OSError as error:
            raise EvidenceUnreadable(path=str(path), why=error.strerror or str(error)) from error
        if len(data) > max_bytes:
            raise EvidenceTooLarge(path=str(path), limit=_size(max_bytes))
        loaded.append(Upload(path.name, data))
    return loaded


def described(uploads: list[Upload]) -> list[dict[str, Any]]:
    """What the check-in records of each file; nothing is written."""
    entries = []
    for upload in uploads:
        entry: dict[str, Any] = {
            "name": upload.name,
            "sha256": upload.sha256,
            "size": len(upload.data),
        }
        if upload.media_type:
            entry["type"] = upload.media_type
        entries.append(entry)
    return entries


def check_quota(
    session: Session,
    *,
    unit_id: int,
    unit_name: str,
    adding: list[dict[str, Any]],
    quota_bytes: int,
) -> None:
    """Refuse a filing that would take the unit's stored evidence (each distinct file once) past its
    quota."""
    stored: dict[str, int] = {}
    for entry in _named(session, unit_id=unit_id):
        stored[entry["sha256"]] = int(entry.get("size", 0))
    new = {e["sha256"]: int(e["size"]) for e in adding if e["sha256"] not in stored}
    used, more = sum(stored.values()), sum(new.values())
    if more and used + more > quota_bytes:
        raise EvidenceQuotaExceeded(
            unit=unit_name, used=_size(used), adding=_size(more), quota=_size(quota_bytes)
        )


def _named(session: Session, *, unit_id: int | None = None) -> list[dict[str, Any]]:
    """Every evidence entry a check-in names now or a kept version named (a file removed from a
    filing stays stored: the office sees what was removed)."""
    from models.filings import CheckInVersion

    current = select(CheckIn.evidence)
    kept = select(CheckInVersion.evidence).join(
        CheckIn, col(CheckIn.id) == col(CheckInVersion.checkin_id)
    )
    if unit_id is not None:
        mine = select(Assignment.id).where(Assignment.unit_id == unit_id)
        current = current.where(col(CheckIn.assignment_id).in_(mine))
        kept = kept.where(col(CheckIn.assignment_id).in_(mine))
    return [
        entry
        for query in (current, kept)
        for evidence in session.exec(query)
        for entry in evidence or []
    ]


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    return f"{round(size / 1024)} KB"


def store(folder: Path, uploads: list[Upload]) -> None:
    """Write each file under its SHA-256 (same content, one file); call only once the filing is
    checked."""
    for upload in uploads:
        target = path_of(folder, upload.sha256)
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{time.time_ns()}.partial")
        try:
            partial.write_bytes(upload.data)
            shutil.move(partial, target)
        except OSError as error:
            # A full disk mid-write: no half-file is left to look like evidence, and the message
            # names the folder.
            partial.unlink(missing_ok=True)
            raise OSError(error.errno, error.strerror, error.filename or str(folder)) from error
        except BaseException:
            partial.unlink(missing_ok=True)
            raise


def prune_orphans(
    session: Session, folder: Path, *, older_than_s: int = ORPHAN_AGE_S
) -> list[Path]:
    """Delete stored files (and partial writes) that no check-in names, older than
    `older_than_s`."""
    if not folder.is_dir():
        return []
    named = {entry["sha256"] for entry in _named(session)}
    cutoff = time.time() - older_than_s
    removed = []
    for path in [*folder.glob("??/*"), *folder.glob(f"{PREVIEWS}/*")]:
        # A preview (or the marker of one that failed) is named after its evidence file; a partial
        # write of either is never named.
        name = (
            path.name.removesuffix(".png").removesuffix(NO_PREVIEW)
            if path.parent.name == PREVIEWS
            else path.name
        )
        if not path.is_file() or name in named or path.stat().st_mtime > cutoff:
            continue
        try:
            path.unlink()
        except FileNotFoundError:  # pruned by another run at the same moment
            continue
        removed.append(path)
    return removed


def prune_if_due(session: Session, folder: Path) -> list[Path]:
    """Prune orphans at most once per ORPHAN_AGE_S, so that every filing's command cleans up after a
    refused or interrupted one without reading every check-in each time."""
    marker = folder / ".pruned"
    try:
        if time.time() - marker.stat().st_mtime < ORPHAN_AGE_S:
            return []
    except FileNotFoundError:
        pass
    removed = prune_orphans(session, folder)
    if folder.is_dir():
        marker.touch()
    return removed


def path_of(folder: Path, digest: str) -> Path:
    return folder / digest[:2] / digest


PREVIEWS = "previews"
PREVIEW_WIDTH = 600  # pixels: the page shows it at most this wide
NO_PREVIEW = ".none"  # previews/<sha>.none: rendering this file failed once; it is not tried again


def pdf_preview(folder: Path, digest: str) -> Path | None:
    """The first page of a stored PDF as a PNG (rendered once, then kept beside the evidence); None
    when the file cannot be rendered (encrypted, damaged, not really a PDF).

    A failure is remembered by a marker beside the previews, so a damaged file costs one attempt,
    not one on every page that lists it."""
    target = folder / PREVIEWS / f"{digest}.png"
    if target.is_file():
        return target
    failed = target.with_name(f"{digest}{NO_PREVIEW}")
    source = path_of(folder, digest)
    if failed.is_file() or not source.is_file():
        return None
    image = _first_page(source)
    if image is None:
        _mark(failed)
        return None
    partial = target.with_name(f"{target.name}.{time.time_ns()}.partial")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        image.save(partial, format="PNG")
        shutil.move(partial, target)
    except OSError:  # a full or read-only disk: no preview this time, the page is still shown
        partial.unlink(missing_ok=True)
        return None
    return target


def _first_page(source: Path) -> Any:
    """The first page as a Pillow image, or None when the file cannot be rendered."""
    import pypdfium2

    try:
        document = pypdfium2.PdfDocument(str(source))
        try:
            page = document[0]
            scale = PREVIEW_WIDTH / max(page.get_width(), 1)
            return page.render(scale=min(scale, 2.0)).to_pil()
        finally:
            document.close()
    except Exception:  # noqa: BLE001 — any failure to render means "no preview", never a 500
        return None


def _mark(failed: Path) -> None:
    try:
        failed.parent.mkdir(parents=True, exist_ok=True)
        failed.touch()
    except OSError:  # not remembered: the next view tries again, and the page is still shown
        pass

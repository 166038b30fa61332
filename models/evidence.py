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
    zh = ("{unit}的佐证材料已占用 {used}，本次再上传 {adding} 将超过每单位 {quota} 的配额，"
          "未保存任何内容：请压缩或删减后再报送。")
    en = ("{unit} already stores {used} of evidence; {adding} more exceeds the {quota} quota "
          "per unit; nothing was saved")
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


def read_files(files: list[Path]) -> list[Upload]:
    """The CLI's evidence files, read (and refused if unreadable) before anything is filed."""
    loaded = []
    for path in files:
        try:
            loaded.append(Upload(path.name, path.read_bytes()))
        except OSError as error:
            raise EvidenceUnreadable(path=str(path), why=error.strerror or str(error)) from error
    return loaded


def described(uploads: list[Upload]) -> list[dict[str, Any]]:
    """What the check-in records of each file; nothing is written."""
    entries = []
    for upload in uploads:
        entry: dict[str, Any] = {"name": upload.name, "sha256": upload.sha256, "size": len(upload.data)}
        if upload.media_type:
            entry["type"] = upload.media_type
        entries.append(entry)
    return entries


def check_quota(session: Session, *, unit_id: int, unit_name: str, adding: list[dict[str, Any]],
                quota_bytes: int) -> None:
    """Refuse a filing that would take the unit's stored evidence (each distinct file once) past its
    quota."""
    stored: dict[str, int] = {}
    rows = session.exec(select(CheckIn.evidence).join(Assignment, col(Assignment.id) == col(CheckIn.assignment_id))
                        .where(Assignment.unit_id == unit_id))
    for evidence in rows:
        for entry in evidence or []:
            stored[entry["sha256"]] = int(entry.get("size", 0))
    new = {e["sha256"]: int(e["size"]) for e in adding if e["sha256"] not in stored}
    used, more = sum(stored.values()), sum(new.values())
    if more and used + more > quota_bytes:
        raise EvidenceQuotaExceeded(unit=unit_name, used=_size(used), adding=_size(more), quota=_size(quota_bytes))


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
        partial.write_bytes(upload.data)
        shutil.move(partial, target)


def prune_orphans(session: Session, folder: Path, *, older_than_s: int = ORPHAN_AGE_S) -> list[Path]:
    """Delete stored files (and partial writes) that no check-in names, older than
    `older_than_s`."""
    if not folder.is_dir():
        return []
    named = {entry["sha256"] for evidence in session.exec(select(CheckIn.evidence)) for entry in evidence or []}
    cutoff = time.time() - older_than_s
    removed = []
    for path in folder.glob("??/*"):
        if not path.is_file() or path.name in named or path.stat().st_mtime > cutoff:
            continue
        try:
            path.unlink()
        except FileNotFoundError:  # pruned by another run at the same moment
            continue
        removed.append(path)
    return removed


def path_of(folder: Path, digest: str) -> Path:
    return folder / digest[:2] / digest

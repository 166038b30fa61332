"""Evidence files (佐证材料): copied under $DUBAN_HOME/evidence by content hash, outside any web root."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from models.errors import DubanError


class EvidenceUnreadable(DubanError):
    zh = "无法读取佐证材料“{path}”：{why}"
    en = "cannot read the evidence file {path}: {why}"
    exit_code = 2


def store_evidence(folder: Path, files: list[Path]) -> list[dict[str, Any]]:
    """Copy each file in (same content, same stored name); return what the check-in records."""
    loaded = []
    for path in files:
        try:
            loaded.append((path.name, path.read_bytes(), None))
        except OSError as error:
            raise EvidenceUnreadable(path=str(path), why=error.strerror or str(error)) from error
    return store_contents(folder, loaded)


def store_contents(folder: Path, files: list[tuple[str, bytes, str | None]]) -> list[dict[str, Any]]:
    """(name, content, media type) each stored under its SHA-256; what the check-in records."""
    stored = []
    for name, data, media_type in files:
        digest = hashlib.sha256(data).hexdigest()
        target = path_of(folder, digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".partial")
            partial.write_bytes(data)
            shutil.move(partial, target)
        entry = {"name": name, "sha256": digest, "size": len(data)}
        if media_type:
            entry["type"] = media_type
        stored.append(entry)
    return stored


def path_of(folder: Path, digest: str) -> Path:
    return folder / digest[:2] / digest

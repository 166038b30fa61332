"""Office files the tests cannot write in Python (.doc, .xls, .rtf, PDF), made by LibreOffice from
the ones they can.

The tests build a .docx or .xlsx with python-docx/openpyxl and convert it here; without LibreOffice
(`soffice`) the tests that need such a file are skipped with a reason (scripts/system-packages
installs it).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_soffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")


def convert(source: Path, target: Path) -> Path:
    """`source` converted to `target`'s format by LibreOffice headless (a private profile, 120 s at
    most)."""
    if SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    with tempfile.TemporaryDirectory(prefix="duban-test-office-") as folder:
        out = Path(folder) / "out"
        subprocess.run(
            [
                SOFFICE,
                "--headless",
                "--norestore",
                f"-env:UserInstallation={(Path(folder) / 'p').as_uri()}",
                "--convert-to",
                target.suffix.lstrip("."),
                "--outdir",
                str(out),
                str(source),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        shutil.move(out / f"{source.stem}{target.suffix}", target)
    return target


def via_odt(source: Path, target: Path) -> Path:
    """docx -> odt -> target: LibreOffice 7.4 drops python-docx's tables when it writes .doc
    straight from .docx."""
    return convert(convert(source, source.with_suffix(".odt")), target)

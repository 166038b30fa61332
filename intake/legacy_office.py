"""Old and other office formats (.doc, .wps, .rtf, .et, and web tables saved as .xls) converted to
.docx/.xlsx by LibreOffice headless.

Each conversion runs in a fresh temporary folder with its own LibreOffice
profile (-env:UserInstallation), so two conversions never share a lock or a
half-written profile, under a timeout after which the whole process group
is killed. Without LibreOffice the office is told what to install, or how
to save the file itself.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from intake import limits

TARGET = {".doc": ".docx", ".wps": ".docx", ".rtf": ".docx", ".et": ".xlsx", ".html-sheet": ".xlsx"}
WRITTEN_AS = {".html-sheet": ".xls"}  # what the office named it
INSTALL = "apt-get install libreoffice-writer-nogui libreoffice-calc-nogui"


def soffice() -> str | None:
    """The LibreOffice program, if installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def _cap_soffice() -> None:
    """In the child before exec: LibreOffice's own address-space cap (the worker's is too small for
    it)."""
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = (
        limits.CONVERT_MEMORY_BYTES
        if hard == resource.RLIM_INFINITY
        else min(hard, limits.CONVERT_MEMORY_BYTES)
    )
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def convert(data: bytes, suffix: str, source: str) -> tuple[bytes, str]:
    """(the converted file, its suffix) for a .doc/.wps/.rtf/.et notice."""
    target = TARGET[suffix]
    markup = suffix == ".html-sheet"
    suffix = WRITTEN_AS.get(suffix, suffix)
    if not (
        markup
        or data.startswith(limits.OLE_MAGIC)
        or data.startswith(b"{\\rtf")
        or data.startswith(b"PK")
    ):
        raise limits.refuse(
            source,
            f"文件不是有效的 {suffix} 文件——请用办公软件打开后另存为 {target}",
            f"the file is not a valid {suffix}: save it as {target}",
        )
    program = soffice()
    if program is None:
        raise limits.refuse(
            source,
            f"本机未安装 LibreOffice，无法读取 {suffix} 文件——请安装（{INSTALL}），"
            f"或用 WPS/Word/Excel 打开后另存为 {target} 再导入",
            f"LibreOffice is not installed, so {suffix} cannot be read: {INSTALL}, "
            f"or save the file as {target}",
        )
    with tempfile.TemporaryDirectory(prefix="duban-convert-") as folder:
        work = Path(folder)
        original = work / ("notice.html" if markup else f"notice{suffix}")
        original.write_bytes(data)
        out = work / "out"
        command = [
            program,
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--nodefault",
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            *(["--infilter=HTML (StarCalc)"] if markup else []),
            "--convert-to",
            target.lstrip("."),
            "--outdir",
            str(out),
            str(original),
        ]
        # Its own session, so that a timeout kills soffice.bin and any helper it started.
        process = subprocess.Popen(
            command,
            cwd=work,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env={**os.environ, "HOME": str(work)},
            preexec_fn=_cap_soffice,
        )
        try:
            _, errors = process.communicate(timeout=limits.CONVERT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise limits.refuse(
                source,
                f"LibreOffice 转换 {suffix} 文件超过 {limits.CONVERT_TIMEOUT_S} "
                "秒未完成——"
                f"请用办公软件另存为 {target} 后再导入",
                f"converting the {suffix} took more "
                f"than {limits.CONVERT_TIMEOUT_S} s: save it as {target}",
            ) from None
        converted = out / f"notice{target}"
        if process.returncode != 0 or not converted.is_file():
            raise limits.refuse(
                source,
                f"LibreOffice 无法转换此 {suffix} 文件（文件可能已损坏或加密）——"
                f"请用办公软件打开后另存为 {target}",
                f"LibreOffice could not convert the {suffix} (damaged or "
                "encrypted?): "
                f"{errors.decode(errors='replace').strip()[-300:]}",
            )
        if converted.stat().st_size > limits.MAX_FILE_BYTES:
            raise limits.refuse(
                source,
                f"转换后的文件超过上限 {limits.MAX_FILE_BYTES // limits.MB} MB",
                f"the converted file is above the limit of {limits.MAX_FILE_BYTES // limits.MB} MB",
            )
        return converted.read_bytes(), target

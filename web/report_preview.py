"""The 通报 shown in its page, within the page budget (issue 16: no page over 200 KB).

A province's 通报 lists every task's units, every unit's figures and scores: at 100,000 assignments
its HTML file is megabytes. The page shows the file's body section by section (the `<h2>` parts
of reports/templates/results.html.j2) in order while they fit; a section that does not fit keeps its
heading and says where the whole text is (the downloads above it). The charts go first when the
whole does not fit: they are in every downloaded format.
"""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

from markupsafe import Markup

from web.bounded_cache import BoundedCache

BUDGET_BYTES = 120 * 1024  # of the page's 200 KB: the rest is the portal's frame and the forms
FIGURE = re.compile(r"<figure>.*?</figure>\s*", re.S)
MOVED = (
    '<p class="hint">本节内容较长（约 {kb} KB），页面不再显示，请在上方“下载”中打开完整通报。</p>\n'
)
NO_CHARTS = '<p class="hint">图表见上方“下载”中的通报文件。</p>\n'


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def sections(body: str) -> list[str]:
    """The body cut before each `<h2`: the opening (title, issuer, lead paragraph) and the parts."""
    starts = [m.start() for m in re.finditer(r"<h2[ >]", body)]
    bounds = [0, *starts, len(body)]
    return [body[a:b] for a, b in pairwise(bounds) if b > a]


def fit(body: str, budget: int = BUDGET_BYTES) -> tuple[str, bool]:
    """(what the page shows, whether anything was left to the downloads)."""
    if size(body) <= budget:
        return body, False
    parts = sections(body)
    parts = [FIGURE.sub("", p) + NO_CHARTS if FIGURE.search(p) else p for p in parts]
    shown, left = [], budget
    for part in parts:
        if size(part) <= left:
            shown.append(part)
            left -= size(part)
            continue
        heading = part[: part.find("</h2>") + len("</h2>")] if part.startswith("<h2") else ""
        note = heading + "\n" + MOVED.format(kb=round(size(part) / 1024))
        shown.append(note)
        left -= size(note)
    return "".join(shown), True


def preview(html_file_text: str) -> Markup | None:
    """The HTML 通报's body, within the budget; None when the file has no body."""
    start, end = html_file_text.find("<body>"), html_file_text.rfind("</body>")
    if start < 0 or end < start:
        return None
    shown, _ = fit(html_file_text[start + len("<body>") : end])
    return Markup(shown)  # our own rendering, escaped when it was written


class Previews:
    """The previews of the 通报 files, shared by every request of one portal: a province's HTML
    file is tens of megabytes, read and cut in seconds, for a page that shows a few KB of it. Each
    is kept under the file as it stands (its path, size and modification time), so a file written
    again is read again. The portal owns one (`app.state`); the `size` files read last are kept."""

    def __init__(self, size: int = 8) -> None:
        self._kept: BoundedCache[tuple[str, int, int], Markup | None] = BoundedCache(size)

    def of(self, path: Path) -> Markup | None:
        """`preview` of the file at `path` (which exists); one reading at a time, the others wait
        for it rather than redo it."""
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        return self._kept.get(key, lambda: preview(path.read_text("utf-8")))

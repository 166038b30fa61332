"""The page budget (issue 16: no page over 200 KB, every page's server time measured).

The 通报's page shows the HTML 通报 section by section while it fits (web/report_preview.py); the
sizes below are made by hand so that which sections fit is known before the code runs. Every
response says its server time (Server-Timing), which bench/pages.py reads at 100,000 assignments.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.support.portal import Portal, serve_seeded
from web.report_preview import MOVED, NO_CHARTS, Previews, fit, preview

KB = 1024


def section(number: str, kb: int) -> str:
    """An `<h2>` part of about `kb` KB (one ASCII byte a character, so the size is exact)."""
    heading = f"<h2>{number}</h2>\n"
    return heading + "<p>" + "x" * (kb * KB - len(heading) - len("<p></p>\n")) + "</p>\n"


def test_a_small_report_is_shown_whole() -> None:
    body = "<h1>通报</h1>\n" + section("一、总体情况", 2) + section("二、各项任务", 3)
    assert fit(body, budget=120 * KB) == (body, False)


def test_a_section_over_the_budget_keeps_its_heading_and_says_where_the_rest_is() -> None:
    opening = "<h1>通报</h1>\n"
    one, two = section("一、总体情况", 1), section("二、各项任务", 200)
    three = section("三、单位", 1)
    shown, cut = fit(opening + one + two + three, budget=120 * KB)
    assert cut
    # 1 KB + 1 KB fit in 120 KB; the 200 KB one does not: its heading and the note, nothing else.
    assert shown == opening + one + "<h2>二、各项任务</h2>\n" + MOVED.format(kb=200) + three
    assert "约 200 KB" in shown and "请在上方“下载”中打开完整通报" in shown


def test_the_charts_go_first_when_the_whole_does_not_fit() -> None:
    chart = '<figure><img alt="图" src="data:image/png;base64,' + "A" * (130 * KB) + '"></figure>\n'
    one = "<h2>一、总体情况</h2>\n<p>figures</p>\n" + chart
    two = section("二、各项任务", 10)
    shown, cut = fit(one + two, budget=120 * KB)
    assert cut and "<figure>" not in shown
    # Without its 130 KB chart every section fits: all the text stays, with the note on the charts.
    assert shown == "<h2>一、总体情况</h2>\n<p>figures</p>\n" + NO_CHARTS + two


def test_the_preview_is_the_body_of_the_file_and_nothing_without_one() -> None:
    page = "<html><head><style>h1{}</style></head><body><h1>通报</h1></body></html>"
    assert str(preview(page)) == "<h1>通报</h1>"
    assert preview("<html>no body</html>") is None


@pytest.fixture
def portal(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Portal]:
    served = serve_seeded(engine, database_url, tmp_path, upload_max_mb=5)
    yield next(served)
    next(served, None)


def test_a_kept_preview_lasts_while_its_file_stays_as_it_was(tmp_path: Path) -> None:
    """The portal keeps each file's preview under its path, size and modification time: a file
    written again is read again; one changed behind its back, same size and time, is not (which
    shows the preview is kept, not recut)."""
    report = tmp_path / "通报.html"
    report.write_text("<html><body><p>第一稿</p></body></html>", "utf-8")
    kept = Previews(size=1)
    assert kept.of(report) == "<p>第一稿</p>"
    stamp = report.stat().st_mtime_ns
    report.write_text("<html><body><p>第二稿</p></body></html>", "utf-8")  # same size
    os.utime(report, ns=(stamp, stamp))
    assert kept.of(report) == "<p>第一稿</p>"
    report.write_text("<html><body><p>第三稿，更长</p></body></html>", "utf-8")
    assert kept.of(report) == "<p>第三稿，更长</p>"
    other = tmp_path / "另一期.html"
    other.write_text("<html><body><p>另一期</p></body></html>", "utf-8")
    assert kept.of(other) == "<p>另一期</p>"
    assert Previews().of(report) == "<p>第三稿，更长</p>"  # another portal reads for itself


def test_every_response_says_its_server_time(portal: Portal) -> None:
    with portal.login("office") as office:
        for path in ("/dashboard", "/login", "/no-such-page", "/static/portal.css"):
            timing = office.get(path, headers={"accept": "text/html"}).headers["server-timing"]
            assert re.fullmatch(r"app;dur=\d+\.\d", timing), (path, timing)

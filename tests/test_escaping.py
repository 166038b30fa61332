"""The output-safety rules one by one (escaping/): expected values worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from sqlalchemy import Engine

from escaping.cells import neutral, read_back
from escaping.markdown import markdown_text
from escaping.templates import autoescape_for, environment
from escaping.terminal import json_visible, visible
from escaping.xml import xml_text
from tests.support.hostile import (
    HOSTILE,
    formula_cells,
    injected_markup_in,
    marker_of,
    raw_markup_in,
    terminal_escapes_in,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("name", "escapes"),
    [
        ("review.html.j2", True),
        ("reminder.zh.html.j2", True),
        ("_phrases.j2", True),
        ("results.HTML.J2", True),
        ("reminder.zh.txt.j2", False),
        ("results.md.j2", False),
        (None, True),
    ],
)
def test_a_template_escapes_unless_its_name_says_it_is_text(
    name: str | None, escapes: bool
) -> None:
    assert autoescape_for(name) is escapes


def test_every_template_in_the_project_that_writes_html_escapes() -> None:
    folders = [ROOT / "web/templates", ROOT / "notifications/templates", ROOT / "reports/templates"]
    names = [p.name for folder in folders for p in folder.glob("*.j2")]
    text = sorted(n for n in names if not autoescape_for(n))
    assert text == sorted([*(n for n in names if n.endswith(".txt.j2")), "results.md.j2"])
    assert (
        len(names) - len(text) >= 16 + 18 + 1
    )  # portal pages, HTML messages (and _phrases), the 通报 page


def test_the_factory_decides_autoescape_itself() -> None:
    with pytest.raises(TypeError):
        environment(ROOT / "web/templates", autoescape=False)
    page = environment(ROOT / "web/templates").from_string("<p>{{ v }}</p>").render(v="<b>x</b>")
    assert page == "<p>&lt;b&gt;x&lt;/b&gt;</p>"


def test_the_escalations_page_closes_its_title() -> None:
    from web.deps import templates

    page = templates.env.get_template("escalations.html.j2").render(
        me=None, items=[], open_ones=[], levels={}, filters={}, units=[], paging=None
    )
    assert "<title>督办 · 领导小组办公室督办系统</title>" in page  # the default DUBAN_OFFICE_NAME
    assert page.count("<h2>未办结的督办") == 1 and page.index("</title>") < page.index("<h1>")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("已完成=100%", "已完成=100%"),
        ("", ""),
        (5, 5),
        (-2.5, -2.5),
        (None, None),
    ],
)
def test_a_cell_that_would_start_a_formula_gets_a_quote(value: object, expected: object) -> None:
    assert neutral(value) == expected
    if isinstance(value, str):
        assert read_back(neutral(value)) == value
        assert not formula_cells([neutral(value)])


def test_the_whole_corpus_leaves_no_formula_cell() -> None:
    assert formula_cells(list(HOSTILE))  # the check bites on the raw corpus
    assert formula_cells([neutral(v) for v in HOSTILE]) == []


def test_terminal_controls_are_shown_as_escapes() -> None:
    assert visible("\x1b[31mred\x1b[0m\x07") == "\\x1b[31mred\\x1b[0m\\x07"
    assert visible("\u202eabc\u2066") == "\\u202eabc\\u2066"
    assert visible("\x9b2J\x00") == "\\x9b2J\\x00"
    assert (
        visible("市教育局\t第1项\n第2项") == "市教育局\t第1项\n第2项"
    )  # the CLI's own layout stays
    assert not any(terminal_escapes_in(visible(v)) for v in HOSTILE)


def test_json_keeps_its_values_while_showing_controls() -> None:
    value = {"actor": "\x1b]0;owned\x07\u202e\x9b"}
    dumped = json_visible(json.dumps(value, ensure_ascii=False))
    assert (
        json.loads(dumped) == value and not terminal_escapes_in(dumped) and "\u202e" not in dumped
    )


def test_xml_text_writes_out_what_xml_cannot_hold() -> None:
    assert xml_text("a\x1bb\x00c\td\n") == "a\\x1bb\\x00c\td\n"
    assert xml_text("正常文字") == "正常文字"


def test_markdown_text_is_shown_as_written_and_never_becomes_markup_or_a_link() -> None:
    assert markdown_text("[点我](javascript:alert(1)) <b>x</b>") == (
        "\\[点我\\](javascript\\:alert(1)) &lt;b&gt;x&lt;/b&gt;"
    )
    assert (
        markdown_text("第一行\n# 第二行 | *强调* `代码`")
        == "第一行 # 第二行 \\| \\*强调\\* \\`代码\\`"
    )
    assert markdown_text("A&amp;B & C") == "A&amp;amp;B & C"
    renderer = MarkdownIt("commonmark")  # raw HTML passes through this preset when not escaped
    for value in HOSTILE:
        rendered = renderer.render(f"- 任务1：{markdown_text(value)}\n")
        assert not raw_markup_in(rendered) and "<a " not in rendered and "<h1" not in rendered, (
            value
        )
    shown = renderer.renderInline(markdown_text("<b>x</b> [y](z) *w*"))
    assert shown == "&lt;b&gt;x&lt;/b&gt; [y](z) *w*"  # what the reader sees is what was written


def test_the_directory_csv_quotes_formula_names_and_reads_them_back(
    engine: Engine, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from intake.directory import DirectoryEntry, export_directory, read_directory, sync_directory
    from models.db import reading, unit_of_work
    from tests.support.scenario import OFFICE

    now = datetime(2022, 9, 5, tzinfo=UTC)
    with unit_of_work(engine) as session:
        sync_directory(
            session,
            [DirectoryEntry('=HYPERLINK("http://x.example","点击")', aliases=["@SUM(1)"])],
            actor=OFFICE,
            now=now,
        )
    with reading(engine) as session:
        exported = export_directory(session, "csv")
    assert "'=HYPERLINK" in exported and "'@SUM(1)" in exported
    path = tmp_path / "units.csv"
    path.write_text(exported, encoding="utf-8")
    directory = read_directory(path)
    with unit_of_work(engine) as session:
        sync_directory(session, directory, actor=OFFICE, now=now)
    with reading(engine) as session:
        assert (
            export_directory(session, "csv") == exported
        )  # the same names: nothing renamed or added


def test_an_export_to_a_terminal_shows_controls_and_to_a_pipe_stays_exact(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    import os
    import subprocess
    import sys
    from datetime import UTC, datetime

    from intake.directory import DirectoryEntry, sync_directory
    from models.db import unit_of_work
    from tests.support.scenario import OFFICE

    with unit_of_work(engine) as session:
        sync_directory(
            session,
            [DirectoryEntry("\x1b]0;owned\x07市教育局")],
            actor=OFFICE,
            now=datetime(2022, 9, 5, tzinfo=UTC),
        )
    duban = str(Path(sys.executable).parent / "duban")
    env = {**os.environ, "DUBAN_HOME": str(tmp_path), "DUBAN_DATABASE_URL": database_url}
    piped = subprocess.run(
        [duban, "units", "export", "--format", "csv"], env=env, capture_output=True, check=True
    )
    assert b"\x1b]0;owned\x07" in piped.stdout  # a file or a pipe gets the data as stored
    controller, terminal = os.openpty()
    try:
        subprocess.run(
            [duban, "units", "export", "--format", "csv"],
            env=env,
            stdout=terminal,
            check=True,
            timeout=60,
        )
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # the terminal's other end is closed: everything has been read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
    assert "\\x1b]0;owned\\x07市教育局".encode() in shown and b"\x1b" not in shown


@pytest.mark.parametrize("value", HOSTILE, ids=[f"HX{n}" for n in range(len(HOSTILE))])
def test_the_printed_notice_holds_every_hostile_value_as_text(value: str) -> None:
    """The 督办通知单 (reports/notice.py) with the value in every field, NUL included (a file may
    carry what the database refuses): a document python-docx opens, the value shown, no control."""
    import io
    from datetime import date

    from docx import Document

    from reports.notice import Notice, notice_docx, notice_filename

    notice = Notice(
        office=value, number=value, level=2, level_words=value, task=value, content=value,
        plan_title=value, unit=value, role=value, basis=value, action=value,
        deadline=date(2022, 9, 28), issued_on=date(2022, 9, 26),
    )  # fmt: skip
    document = Document(io.BytesIO(notice_docx(notice)))
    text = [p.text for p in document.paragraphs]
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    assert text[0] == xml_text(value) and cells[cells.index("督办事项") + 1] == xml_text(value)
    assert not terminal_escapes_in("".join(text + cells))
    name = notice_filename(notice)
    assert name.endswith(".docx") and not set(name) & set('/\\:*?"<>|\x00\x1b\x07\n\r\t ')


def test_the_list_pages_show_hostile_filter_values_and_names_as_text() -> None:
    """The four long lists (web/routes/office_lists.py) echo their filters into inputs, options and
    page links: every hostile value as a filter, a unit's name, a round's name, a plan's key."""
    from web.dashboard import Cell, Overview, Row
    from web.deps import templates
    from web.lists import paging_of

    env = templates.env
    for value in HOSTILE:
        filters = {
            k: value for k in ("task", "unit", "state", "role", "light", "round", "kind", "plan")
        } | {"since": value, "until": value}
        paging = paging_of(120, 2, 50, "/review", filters, "/review/export")
        view = Overview(
            by_state={},
            total=1,
            overdue=0,
            escalations={1: 0, 2: 0, 3: 0},
            rows=[Row(1, 1, value, [Cell(1, value, "lead", "assigned", "green")])],
            page=2,
            pages=3,
            lights={"green": 1, "yellow": 0, "red": 0, "grey": 0},
            tasks=120,
        )
        pages = {
            "dashboard.html.j2": {"view": view, "today": "2022-09-01", "units": [value]},
            "review.html.j2": {
                "rows": [],
                "units": [(1, value)],
                "rounds": [(1, value, value)],
                "kinds": {"progress": value},
                "changed": {},
            },
            "rounds.html.j2": {"rounds": [], "plan_keys": [value], "plans": []},
            "extensions.html.j2": {"rows": [], "states": {"pending": value}, "units": [(1, value)]},
        }
        for name, context in pages.items():
            page = env.get_template(name).render(
                me=None, filters=filters, paging=paging, counted_at="10:00:00", **context
            )
            assert not injected_markup_in(page), (name, marker_of(value))
            assert "<b>HX14" not in page and "<script>" not in page, name
        for leader in (False, True):  # the dashboard's rows, rendered apart and kept (Figures)
            rows = env.get_template("_dashboard_rows.html.j2").render(view=view, leader=leader)
            assert not injected_markup_in(rows), (leader, marker_of(value))
            assert "<b>HX14" not in rows and "<script>" not in rows
